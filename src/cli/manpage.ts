// A man page (roff, man(7) macros) made from a command tree: every command's usage, description,
// options and --help text, so `man sealdrop` says what --help says. scripts/build-man.mjs writes them.
import type { Command, Help } from 'commander';

export interface ManPageOptions {
  version: string;
  /** Applied to each command's --help text, as the program applies it when it prints help. */
  helpText?: (text: string) => string;
  seeAlso?: string[];
  /** Extra sections after the commands: title → plain text. */
  sections?: Record<string, string>;
}

export function manPage(program: Command, options: ManPageOptions): string {
  const help = program.createHelp();
  const name = program.name();
  const text = options.helpText ?? ((t: string) => t);
  const lines = [
    `.TH ${name.toUpperCase().replaceAll('-', '\\-')} 1 "" "${name} ${options.version}" "User Commands"`,
    '.SH NAME',
    `${roff(name)} \\- ${roff(firstSentence(help.commandDescription(program)))}`,
    '.SH SYNOPSIS',
    `.B ${roff(name)}`,
    '.I command',
    '.RI [ options ] " " [ arguments ]',
    '.SH DESCRIPTION',
    ...paragraphs(help.commandDescription(program)),
    ...helpTail(program, text),
    '.SH COMMANDS',
    ...commands(program, help).flatMap((command) => section(command, help, text)),
    ...Object.entries(options.sections ?? {}).flatMap(([title, body]) => [
      `.SH ${title}`,
      ...paragraphs(body),
    ]),
    ...(options.seeAlso?.length ? ['.SH SEE ALSO', options.seeAlso.map(roff).join(', ')] : []),
  ];
  return `${lines.join('\n')}\n`;
}

/** Every command below the program that does something or groups others, depth first. */
function commands(command: Command, help: Help): Command[] {
  return help
    .visibleCommands(command)
    .filter((child) => child.name() !== 'help')
    .flatMap((child) => [child, ...commands(child, help)]);
}

function section(command: Command, help: Help, text: (t: string) => string): string[] {
  const options = help.visibleOptions(command).filter((option) => option.long !== '--help');
  const args = help.visibleArguments(command);
  return [
    `.SS ${roff(help.commandUsage(command))}`,
    ...paragraphs(help.commandDescription(command)),
    ...args.flatMap((arg) => [
      '.TP',
      `.I ${roff(help.argumentTerm(arg))}`,
      roff(help.argumentDescription(arg)),
    ]),
    ...options.flatMap((option) => [
      '.TP',
      `.B ${roff(help.optionTerm(option))}`,
      roff(help.optionDescription(option)),
    ]),
    ...helpTail(command, text),
  ];
}

/** What --help prints after the generated part (addHelpText): prose and indented examples. */
function helpTail(command: Command, text: (t: string) => string): string[] {
  let printed = '';
  const { writeOut } = command.configureOutput();
  command.configureOutput({ writeOut: (chunk) => (printed += chunk) });
  try {
    command.outputHelp();
  } finally {
    command.configureOutput({ writeOut });
  }
  return paragraphs(text(printed.slice(command.helpInformation().length)));
}

/** Plain text to roff: blank lines part paragraphs, lines indented by two spaces stay as they are. */
function paragraphs(text: string): string[] {
  const out: string[] = [];
  let verbatim = false;
  for (const line of text.split('\n')) {
    const indented = /^ {2}/.test(line);
    if (indented !== verbatim) {
      out.push(indented ? '.RS 2\n.nf' : '.fi\n.RE');
      verbatim = indented;
    }
    if (!line.trim()) {
      if (!verbatim && out.at(-1) !== '.PP') out.push('.PP');
    } else out.push(roff(indented ? line.slice(2) : line));
  }
  if (verbatim) out.push('.fi\n.RE');
  while (out[0] === '.PP') out.shift();
  while (out.at(-1) === '.PP') out.pop();
  return ['.PP', ...out];
}

function firstSentence(text: string): string {
  return text.replace(/[.:].*$/s, '');
}

/** Escapes text for roff: backslashes, minus signs, a leading control character, non-ASCII. */
function roff(text: string): string {
  return text
    .replaceAll('\\', '\\e')
    .replaceAll('-', '\\-')
    .replace(/^[.']/, '\\&$&')
    .replace(
      /[^ -~]/gu,
      (char) => `\\[u${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`,
    );
}
