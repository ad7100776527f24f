// sealdrop completion bash | zsh | fish: a completion script made from the command tree itself, so it
// lists exactly the commands and options that exist.
import type { Command, Help, Option } from 'commander';
import { SealdropError } from '../core/errors.js';
import { printData } from './output.js';

const SHELLS = { bash, zsh, fish } as const;
type Shell = keyof typeof SHELLS;

export function registerCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a completion script for bash, zsh or fish')
    .argument('<bash|zsh|fish>', 'the shell')
    .addHelpText(
      'after',
      `
Examples:
  source <(sealdrop completion bash)                      # in ~/.bashrc
  sealdrop completion bash > /etc/bash_completion.d/sealdrop
  sealdrop completion zsh > "\${fpath[1]}/_sealdrop"       # then restart zsh (compinit)
  sealdrop completion fish > ~/.config/fish/completions/sealdrop.fish`,
    )
    .action((shell: string, _options: unknown, command: Command) => {
      if (!Object.hasOwn(SHELLS, shell)) {
        throw new SealdropError('USAGE', `completion ${shell}: use bash, zsh or fish`);
      }
      printData(completionScript(command.parent!, shell as Shell));
    });
}

/** One command of the tree: its path of names and what can follow it. */
interface Node {
  path: string;
  description: string;
  commands: Node[];
  options: { flags: string[]; takesValue: boolean; description: string }[];
}

function completionScript(program: Command, shell: Shell): string {
  return SHELLS[shell](program.name(), nodes(program, program.createHelp()));
}

/** Every command, depth first, starting with the program itself (path ''). */
function nodes(command: Command, help: Help, path = ''): Node[] {
  const children = help.visibleCommands(command).filter((child) => child.name() !== 'help');
  const own: Node = {
    path,
    description: help.commandDescription(command),
    commands: children.map((child) => ({
      path: join(path, child.name()),
      description: help.subcommandDescription(child),
      commands: [],
      options: [],
    })),
    options: help.visibleOptions(command).map((option: Option) => ({
      flags: [option.short, option.long].filter((flag): flag is string => Boolean(flag)),
      takesValue: option.required || option.optional,
      description: option.description,
    })),
  };
  return [own, ...children.flatMap((child) => nodes(child, help, join(path, child.name())))];
}

const join = (path: string, name: string) => (path ? `${path} ${name}` : name);
const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
const firstLine = (text: string) => text.split('\n')[0]!;

// bash: walk the words typed so far through the tree, then offer the subcommands or (after a -) the
// options of the command reached. Nothing offered means file names (complete -o default).
function bash(name: string, tree: Node[]): string {
  const fn = `_${name.replace(/\W/g, '_')}`;
  const cases = tree.map(
    (node) =>
      `    ${quote(node.path)}) commands=${quote(node.commands.map((c) => c.path.split(' ').pop()).join(' '))} options=${quote(node.options.flatMap((o) => o.flags).join(' '))} ;;`,
  );
  return `# bash completion for ${name} (made by \`${name} completion bash\`)
${fn}_node() {
  case $1 in
${cases.join('\n')}
    *) commands= options= ;;
  esac
}
${fn}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} path= word i commands options
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=\${COMP_WORDS[i]}
    [[ $word == -- ]] && return 0
    ${fn}_node "$path"
    [[ " $commands " == *" $word "* ]] && path=\${path:+$path }$word
  done
  ${fn}_node "$path"
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
  elif [[ -n $commands ]]; then
    COMPREPLY=($(compgen -W "$commands" -- "$cur"))
  fi
}
complete -o default -F ${fn} ${name}`;
}

// zsh: the same walk, with descriptions. Works sourced (compdef) and as an fpath file (_NAME).
function zsh(name: string, tree: Node[]): string {
  const fn = `_${name.replace(/\W/g, '_')}`;
  const described = (name: string, description: string) =>
    quote(`${name.replaceAll(':', '\\:')}:${firstLine(description)}`);
  const cases = tree.map((node) =>
    [
      `    ${quote(node.path)})`,
      `      commands=(${node.commands.map((c) => described(c.path.split(' ').pop()!, c.description)).join(' ')})`,
      `      options=(${node.options.flatMap((o) => o.flags.map((flag) => described(flag, o.description))).join(' ')}) ;;`,
    ].join('\n'),
  );
  return `#compdef ${name}
# zsh completion for ${name} (made by \`${name} completion zsh\`)
${fn}_node() {
  case $1 in
${cases.join('\n')}
    *) commands=() options=() ;;
  esac
}
${fn}() {
  local path= word
  local -a commands options
  for word in "\${(@)words[2,CURRENT-1]}"; do
    [[ $word == -- ]] && { _files; return }
    ${fn}_node "$path"
    (( \${commands[(I)\${word}:*]} )) && path=\${path:+$path }$word
  done
  ${fn}_node "$path"
  if [[ $PREFIX == -* ]]; then
    _describe -t options option options
  elif (( $#commands )); then
    _describe -t commands command commands
  else
    _files
  fi
}
if [[ $funcstack[1] == ${fn} ]]; then ${fn} "$@"; else compdef ${fn} ${name}; fi`;
}

// fish: a function finds the command reached so far; each completion is conditioned on it.
function fish(name: string, tree: Node[]): string {
  const fn = `__${name.replace(/\W/g, '_')}`;
  const cases = tree
    .filter((node) => node.commands.length)
    .map(
      (node) =>
        `        case ${quote(node.path)}\n            echo ${node.commands.map((c) => c.path.split(' ').pop()).join(' ')}`,
    );
  const lines = tree.flatMap((node) => {
    const when = `-n ${quote(`test "$(${fn}_node)" = "${node.path}"`)}`;
    return [
      ...node.commands.map(
        (c) =>
          `complete -c ${name} ${when} -f -a ${quote(c.path.split(' ').pop()!)} -d ${quote(firstLine(c.description))}`,
      ),
      ...node.options.map((o) => {
        const flags = o.flags.map((flag) =>
          flag.startsWith('--') ? `-l ${flag.slice(2)}` : `-s ${flag.slice(1)}`,
        );
        return `complete -c ${name} ${when} ${flags.join(' ')}${o.takesValue ? ' -r' : ''} -d ${quote(firstLine(o.description))}`;
      }),
    ];
  });
  return `# fish completion for ${name} (made by \`${name} completion fish\`)
function ${fn}_commands
    switch $argv[1]
${cases.join('\n')}
    end
end
function ${fn}_node
    set -l path ''
    set -l words (commandline -opc)
    for word in $words[2..]
        test "$word" = -- && break
        if contains -- $word (string split ' ' (${fn}_commands $path))
            set path (string trim "$path $word")
        end
    end
    echo $path
end
${lines.join('\n')}`;
}
