// Runs a command tree (sealdrop's or the agent's) and maps failures to exit statuses.
import { CommanderError, type Command } from 'commander';
import { EXIT, SealdropError } from '../core/errors.js';
import { errorJson, printJson, reportError } from './output.js';

export async function runProgram(program: Command, argv: string[]): Promise<number> {
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
  const hint =
    command === 'push' && error.code === 'commander.unknownOption'
      ? 'Put -- before the dump command and its options: sealdrop push --policy FILE -- mysqldump --single-transaction …'
      : 'See --help for the options and an example.';
  return new SealdropError('USAGE', error.message.replace(/^error: /, ''), { hint });
}

/** --json before any `--` (what follows belongs to push's dump command). */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}
