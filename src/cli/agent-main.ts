// The agent's command line (started by agent-bin.cts or agent-module.ts). No top-level await: the
// single executable runs it as CommonJS. PostgreSQL's calls of `wal push` for files already archived
// ahead return before the command tree is loaded.
import { archivedAlready } from '../agent/wal-memory.js';

if (!archivedAlready(process.argv))
  void Promise.all([import('./agent-program.js'), import('./run.js')]).then(
    ([{ buildAgentProgram }, { runToExit }]) => runToExit(buildAgentProgram(), process.argv),
  );
