// Runs a command tree (sealdrop's or the agent's) and maps failures to exit statuses.
import { CommanderError, type Command } from 'commander';
import { EXIT, SealdropError } from '../core/errors.js';
import { errorJson, printJson, reportError } from './output.js';
import { exitIfInterrupted } from './signals.js';

/** Runs the command line and ends the process with its exit status (an interrupted one: at once). */
export async function runToExit(program: Command, argv: string[]): Promise<void> {
  const status = await runProgram(program, argv);
  await exitIfInterrupted(status);
  process.exitCode = status;
}

async function runProgram(program: Command, argv: string[]): Promise<number> {
  // `sealdrop --help | head -1`: a reader that goes away early is not our failure. Commands that stream
  // (restore) see the broken pipe in their own writes and say so.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? EXIT.ok);
  } catch (error) {
    const failure = error instanceof CommanderError ? usageError(error, argv) : error;
    if (failure === null) return EXIT.ok; // --help, --version
    if (failure instanceof SealdropError && wantsJson(argv)) printJson(errorJson(failure));
    return reportError(failure);
  }
}

/** A parse error of commander's as a usage error; null for --help and --version. */
function usageError(error: CommanderError, argv: readonly string[]): SealdropError | null {
  if (error.exitCode === 0) return null;
  const command = argv.slice(2).find((arg) => !arg.startsWith('-'));
  const unknown =
    error.code === 'commander.unknownOption' ? /'(--?[^']*)'/.exec(error.message)?.[1] : undefined;
  let hint = 'See --help for the options and an example.';
  if (command === 'push' && unknown)
    hint =
      'Put -- before the dump command and its options: sealdrop push --policy FILE -- mysqldump --single-transaction …';
  // The other single-backup commands take --fleet FILE --host NAME; prune's rules are the fleet file's.
  if (command === 'prune' && (unknown === '--fleet' || unknown === '--host'))
    hint = `A fleet's hosts are pruned by the fleet file's keep rules: sealdrop fleet prune ${[
      valuesOf(argv, '--fleet')[0] ?? 'FILE',
      ...valuesOf(argv, '--host').map((host) => `--host ${host}`),
    ].join(' ')}`;
  return new SealdropError('USAGE', error.message.replace(/^error: /, ''), { hint });
}

/** The values given to a long option, as `--name V` or `--name=V`. */
function valuesOf(argv: readonly string[], name: string): string[] {
  return argv.flatMap((arg, i) =>
    arg === name && i + 1 < argv.length
      ? [argv[i + 1]!]
      : arg.startsWith(`${name}=`)
        ? [arg.slice(name.length + 1)]
        : [],
  );
}

/** --json before any `--` (what follows belongs to push's dump command). */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}
