// The agent's command line (started by agent-bin.cts or agent-module.ts). No top-level await: the
// single executable runs it as CommonJS.
import { buildAgentProgram } from './agent-program.js';
import { runProgram } from './run.js';

void runProgram(buildAgentProgram(), process.argv).then((status) => {
  process.exitCode = status;
});
