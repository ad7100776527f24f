// What every sealdrop executable's command tree starts from (sealdrop's, program.ts; the agent's,
// agent-program.ts): --version, -q/-v, parse errors left to run.ts, help fitted to the screen.
import { Command, Help } from 'commander';
import { configureOutput } from './output.js';
import { version } from './version.js';

/** Help is never wider than this, as clap's and most CLIs' (a terminal narrower than it: its width). */
const HELP_COLUMNS = 100;

/**
 * A program with what every sealdrop executable shares: --version (VERSION_TEXT, the package's version
 * unless told), -q/-v, errors left to run.ts, help fitted to the screen (`rewrite`: done to the text
 * first, as the agent names itself in the examples).
 */
export function baseProgram(name: string, versionText = version, rewrite = (text: string) => text): Command {
  return new Command(name)
    .version(versionText)
    .option('-q, --quiet', 'no progress and no summaries on stderr (warnings and errors still)')
    .option('-v, --verbose', 'also say what is being done: S3 requests, retries, timings (never a secret)')
    .exitOverride()
    .configureOutput({
      // Parse errors are reported by run.ts, like every other error: message, hint, exit status.
      outputError: () => {},
      writeOut: (text) => process.stdout.write(fitHelp(rewrite(text), helpWidth(process.stdout))),
      writeErr: (text) => process.stderr.write(fitHelp(rewrite(text), helpWidth(process.stderr))),
      // Through a pipe commander would wrap nothing (`sealdrop --help | less`: lines of 170 columns).
      getOutHelpWidth: () => helpWidth(process.stdout),
      getErrHelpWidth: () => helpWidth(process.stderr),
    })
    .hook('preAction', (_program, command) => configureOutput(command.optsWithGlobals()));
}

function helpWidth(stream: NodeJS.WriteStream): number {
  return Math.min((stream.isTTY && stream.columns) || HELP_COLUMNS, HELP_COLUMNS);
}

/**
 * The help's prose wrapped to `width`. Its text is hand-wrapped: a line that does not end a sentence
 * (., !, ?) or a heading (: before indented lines) goes on in the next line, and such runs are wrapped
 * again. Indented lines (options, examples) and blank lines stay as they are.
 */
export function fitHelp(text: string, width: number): string {
  const help = new Help();
  const out: string[] = [];
  let run: string[] = [];
  const endRun = () => {
    if (run.length > 0) out.push(help.boxWrap(run.join(' '), width));
    run = [];
  };
  const lines = text.split('\n');
  const verbatim = (line = '') => line.trim() === '' || /^\s/.test(line);
  lines.forEach((line, i) => {
    if (verbatim(line)) {
      endRun();
      out.push(line);
      return;
    }
    const trimmed = line.trimEnd();
    run.push(trimmed);
    // A colon ends a heading only before what it heads (indented lines, a blank line).
    if (/[.!?]$/.test(trimmed) || (trimmed.endsWith(':') && verbatim(lines[i + 1]))) endRun();
  });
  endRun();
  return out.join('\n');
}
