// Runs a command tree (sealdrop's or the agent's) and maps failures to exit statuses.
import { CommanderError, type Command } from 'commander';
import { EXIT } from '../core/errors.js';
import { reportError } from './output.js';

export async function runProgram(program: Command, argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? EXIT.ok);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT.ok; // --help, --version
      process.stderr.write('  hint: see --help for the options and an example.\n');
      return EXIT.badInput;
    }
    return reportError(error);
  }
}
