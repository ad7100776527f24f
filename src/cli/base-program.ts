// What every sealdrop executable's command tree starts from (sealdrop's, program.ts; the agent's,
// agent-program.ts): --version, -q/-v, parse errors left to run.ts.
import { Command } from 'commander';
import { configureOutput } from './output.js';
import { version } from './version.js';

/**
 * A program with what every sealdrop executable shares: --version (VERSION_TEXT, the package's version
 * unless told), -q/-v, errors left to run.ts.
 */
export function baseProgram(name: string, versionText = version): Command {
  return (
    new Command(name)
      .version(versionText)
      .option('-q, --quiet', 'no progress and no summaries on stderr (warnings and errors still)')
      .option('-v, --verbose', 'also say what is being done: S3 requests, retries, timings (never a secret)')
      .exitOverride()
      // Parse errors are reported by run.ts, like every other error: message, hint, exit status.
      .configureOutput({ outputError: () => {} })
      .hook('preAction', (_program, command) => configureOutput(command.optsWithGlobals()))
  );
}
