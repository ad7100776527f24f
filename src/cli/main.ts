// sealdrop's command line (started by bin.cts): run the command tree, map failures to exit statuses.
import { CommanderError } from 'commander';
import { EXIT } from '../core/errors.js';
import { reportError } from './output.js';
import { buildProgram } from './program.js';

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
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

process.exitCode = await main(process.argv);
