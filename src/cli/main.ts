// sealdrop's command line (started by bin.cts).
import { buildProgram } from './program.js';
import { runProgram } from './run.js';

process.exitCode = await runProgram(buildProgram(), process.argv);
