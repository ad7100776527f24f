// sealdrop's command line (started by bin.cts). PostgreSQL's calls of `wal push` for files archived
// ahead, and of `wal fetch` for files fetched ahead, are answered before the command tree (and what it
// imports) is loaded: each costs a process start and a rename or a stat.
import { fetchedAhead } from '../core/wal-ahead.js';
import { archivedAlready } from '../agent/wal-memory.js';

if (!archivedAlready(process.argv) && !fetchedAhead(process.argv)) {
  const [{ buildProgram }, { runToExit }] = await Promise.all([import('./program.js'), import('./run.js')]);
  await runToExit(buildProgram(), process.argv);
}
