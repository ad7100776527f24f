// pg restore --start: the recovered server, started on a unix socket in a private temp directory (no TCP,
// so it can't clash with a running server), waited for until recovery has ended and it has promoted.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { SealdropError } from '../../core/errors.js';

const run = promisify(execFile);

export interface StartedServer {
  /** The socket directory: psql -h SOCKET_DIR -U … */
  socketDir: string;
  log: string;
  pgCtl: string;
  seconds: number;
}

/** PostgreSQL's own tools for the data directory's major version (Debian's layout), else from PATH. */
async function binDir(pgdata: string): Promise<string> {
  const version = (await readFile(join(pgdata, 'PG_VERSION'), 'utf8')).trim();
  return /^\d{1,3}$/.test(version) ? `/usr/lib/postgresql/${version}/bin/` : '';
}

export async function startRecovered(
  pgdata: string,
  { timeoutMs, signal }: { timeoutMs: number; signal?: AbortSignal },
): Promise<StartedServer> {
  if (process.getuid?.() === 0)
    throw new SealdropError('USAGE', 'PostgreSQL refuses to run as root: --start needs the database user', {
      hint: 'Run pg restore --start as the user that is to own the data directory (e.g. sudo -u postgres), or leave out --start and start it yourself.',
    });
  const started = performance.now();
  const bin = await binDir(pgdata);
  const socketDir = await mkdtemp(join(tmpdir(), 'sealdrop-pg-'));
  const log = join(socketDir, 'server.log');
  const pgCtl = `${bin}pg_ctl`;
  const options = `-c listen_addresses='' -c unix_socket_directories='${socketDir}'`;
  try {
    await run(pgCtl, ['-D', pgdata, '-l', log, '-o', options, '-w', '-t', '120', 'start'], { signal });
  } catch (error) {
    throw new SealdropError('FAILED', `PostgreSQL did not start on ${pgdata}: ${await tail(log)}`, {
      hint: `See ${log}.`,
      cause: error,
    });
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const inRecovery = await run(
      `${bin}psql`,
      [
        '-X',
        '-A',
        '-t',
        '-h',
        socketDir,
        '-U',
        'postgres',
        '-d',
        'postgres',
        '-c',
        'select pg_is_in_recovery()',
      ],
      { signal },
    ).then(
      ({ stdout }) => stdout.trim(),
      () => null,
    );
    if (inRecovery === 'f') return { socketDir, log, pgCtl, seconds: (performance.now() - started) / 1000 };
    const running = await run(pgCtl, ['-D', pgdata, 'status']).then(
      () => true,
      () => false,
    );
    if (!running)
      throw new SealdropError('FAILED', `PostgreSQL stopped during recovery: ${await tail(log)}`, {
        hint: `See ${log}: a FATAL from restore_command names the file it could not fetch.`,
      });
    if (Date.now() > deadline)
      throw new SealdropError(
        'FAILED',
        `recovery is still going on after the --start-timeout; the server runs on`,
        {
          hint: `Watch ${log}; psql -h ${socketDir} -U postgres shows when pg_is_in_recovery() turns false.`,
        },
      );
    await sleep(500, undefined, { signal });
  }
}

async function tail(log: string): Promise<string> {
  const text = await readFile(log, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-3).join(' | ').slice(-600);
}
