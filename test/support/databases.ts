// Throwaway database servers for tests and measurements: PostgreSQL 15 and MariaDB from Debian's packages,
// each in its own temporary directory, listening only on a unix socket there, run as an unprivileged
// user (`nobody` when we are root), and removed again by stop(). Never the machine's own servers.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { appendFile, chmod, chown, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type CliResult } from './cli.js';
import { gone, until } from './until.js';

export type DatabaseKind = 'postgres' | 'mariadb';

export interface DatabaseOptions {
  /** Extra server settings: lines for postgresql.conf, or `name=value` options for mariadbd. */
  settings?: string[];
  /** The database to create and to run SQL in (default "sealdrop"). */
  database?: string;
}

/** How to run a server's tool: more environment, another working directory than the server's. */
export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
}

export interface Database {
  kind: DatabaseKind;
  /** The temporary directory: data/, the socket, the server's log. Owned by `user`. */
  dir: string;
  dataDir: string;
  /** Who the server runs as. */
  user: string;
  database: string;
  /** Runs SQL (any number of statements) in the database; resolves with what the client printed. */
  sql(text: string): Promise<string>;
  /** The stock dump tool's plain SQL dump of the database (pg_dump / mariadb-dump), written to `file`. */
  dump(file: string): Promise<void>;
  /** Runs one of the server's own tools as the server's user (pg_ctl, pg_basebackup, mariadb-backup…). */
  asServerUser(command: string, args: string[], options?: RunOptions): Promise<CliResult>;
  /** Stops the server and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

export const PG_BIN = '/usr/lib/postgresql/15/bin';
const NEED = fileURLToPath(new URL('../../scripts/need', import.meta.url));
/** Where Debian puts what we run: mariadbd lives in /usr/sbin, PostgreSQL's tools in its own bin. */
const TOOL_PATH = `${PG_BIN}:/usr/sbin:/usr/bin:/sbin:/bin:${process.env.PATH ?? ''}`;

/** Installs the server packages that are missing (scripts/need: apt-get as root). */
export async function installDatabases(kinds: DatabaseKind[] = ['postgres', 'mariadb']): Promise<void> {
  const specs = kinds.flatMap((kind) =>
    kind === 'postgres'
      ? ['initdb:postgresql-15', 'pg_dump:postgresql-client-15']
      : // mariadb-server-core: the server binaries without the package that sets up and starts a system server.
        [
          'mariadbd:mariadb-server-core',
          'mariadb-dump:mariadb-client',
          'mariadb-install-db:mariadb-server-core',
        ],
  );
  await check(await run(NEED, specs, { env: { ...process.env, PATH: TOOL_PATH } }), 'scripts/need');
}

export async function startDatabase(kind: DatabaseKind, options: DatabaseOptions = {}): Promise<Database> {
  await installDatabases([kind]);
  const dir = await serverDir(`sealdrop-${kind}-`);
  const database = options.database ?? 'sealdrop';
  try {
    return kind === 'postgres'
      ? await startPostgres(dir, database, options.settings ?? [])
      : await startMariadb(dir, serverUser(), database, options.settings ?? []);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Who the servers run as: `nobody` when we are root (they refuse to run as root), else ourselves. */
export function serverUser(): string {
  return process.getuid?.() === 0 ? 'nobody' : (process.env.USER ?? 'nobody');
}

/** Hands a file or directory to the servers' user (when we are root), so that it can read it. */
export async function giveToServerUser(path: string): Promise<void> {
  if (process.getuid?.() === 0) await chown(path, uidOf(serverUser()), gidOf(serverUser()));
}

/** A new temporary directory only the servers' user may enter. */
export async function serverDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await giveToServerUser(dir);
  await chmod(dir, 0o700);
  return dir;
}

/** Runs a command as the servers' user, in `cwd`, with the servers' environment plus `env`. */
export function runAsServerUser(
  command: string,
  args: string[],
  options: RunOptions & { cwd: string },
): Promise<CliResult> {
  return asUser(serverUser(), options.cwd)(command, args, options);
}

/** The servers' user's ids, for spawning a process as that user directly (to signal it, say). */
export function serverUserIds(): { uid: number; gid: number } {
  return { uid: uidOf(serverUser()), gid: gidOf(serverUser()) };
}

async function startPostgres(dir: string, database: string, settings: string[]): Promise<Database> {
  const dataDir = join(dir, 'data');
  const as = asUser(serverUser(), dir);
  await check(
    await as(`${PG_BIN}/initdb`, [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '--no-sync',
      '-E',
      'UTF8',
      '--locale=C',
    ]),
    'initdb',
  );
  // Only the socket in our directory; no TCP, so nothing can clash with another server on the machine.
  const conf = [
    "listen_addresses = ''",
    `unix_socket_directories = '${dir}'`,
    'fsync = off',
    'full_page_writes = off',
  ];
  await appendFile(join(dataDir, 'postgresql.conf'), [...conf, ...settings, ''].join('\n'));
  await check(
    await as(`${PG_BIN}/pg_ctl`, ['-D', dataDir, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']),
    'pg_ctl start',
  );
  const db = postgresAt({ dir, dataDir, database });
  try {
    await db.sql(`CREATE DATABASE ${database};`, 'postgres');
  } catch (err) {
    await db.stop();
    throw err;
  }
  return db;
}

export interface Postgres extends Database {
  /** Runs SQL in the database, or in `database`. */
  sql(text: string, database?: string): Promise<string>;
}

/**
 * The PostgreSQL running on `dataDir` with its socket in `dir`, whoever started it (`pg restore --start`,
 * say). stop() stops it and removes `dir`.
 */
export function postgresAt({
  dir,
  dataDir,
  database,
}: {
  dir: string;
  dataDir: string;
  database: string;
}): Postgres {
  const as = asUser(serverUser(), dir);
  const client = ['-h', dir, '-U', 'postgres'];
  const psql = (db: string, text: string) =>
    run(`${PG_BIN}/psql`, ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', ...client, '-d', db], {
      input: text,
    });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await as(`${PG_BIN}/pg_ctl`, ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
    await rm(dir, { recursive: true, force: true });
  };
  return {
    kind: 'postgres',
    dir,
    dataDir,
    user: serverUser(),
    database,
    sql: async (text, db = database) => check(await psql(db, text), 'psql'),
    dump: (file) => dumpTo(`${PG_BIN}/pg_dump`, [...client, '--no-sync', database], file),
    asServerUser: as,
    stop,
  };
}

async function startMariadb(
  dir: string,
  user: string,
  database: string,
  settings: string[],
): Promise<Database> {
  const dataDir = join(dir, 'data');
  const socket = join(dir, 'mysqld.sock');
  const as = asUser(user, dir);
  await check(
    await as('mariadb-install-db', [
      '--no-defaults',
      `--datadir=${dataDir}`,
      '--auth-root-authentication-method=normal', // root without a password over our socket, whoever we are
      '--skip-test-db',
      '--skip-name-resolve',
    ]),
    'mariadb-install-db',
  );
  const server = [
    '--no-defaults',
    `--datadir=${dataDir}`,
    `--socket=${socket}`,
    `--pid-file=${join(dir, 'mysqld.pid')}`,
    `--log-error=${join(dir, 'server.log')}`,
    '--skip-networking',
    '--innodb-flush-log-at-trx-commit=0',
    '--innodb-buffer-pool-size=256M',
    ...settings.map((setting) => `--${setting}`),
  ];
  const child = spawnAs(user, dir, '/usr/sbin/mariadbd', server);
  let exited = false;
  child.on('exit', () => (exited = true));
  const client = ['--no-defaults', `--socket=${socket}`, '--user=root'];
  const mariadb = (db: string[], text: string) =>
    run('mariadb', [...client, '--batch', '--skip-column-names', ...db], { input: text });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      await run('mariadb-admin', [...client, 'shutdown']);
      await until(() => exited, 'mariadbd to exit', { timeoutMs: 30_000 }).catch(() => child.kill('SIGKILL'));
    }
    if (child.pid !== undefined) await until(gone(child.pid), 'mariadbd to be gone', { timeoutMs: 10_000 });
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await until(
      async () => {
        if (exited) throw new Error(`mariadbd exited while starting; see ${join(dir, 'server.log')}`);
        return (await run('mariadb-admin', [...client, 'ping'])).status === 0;
      },
      'mariadbd to answer on its socket',
      { timeoutMs: 60_000, everyMs: 100 },
    );
    await check(await mariadb([], `CREATE DATABASE ${database};`), 'CREATE DATABASE');
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    kind: 'mariadb',
    dir,
    dataDir,
    user,
    database,
    sql: async (text) => check(await mariadb([database], text), 'mariadb'),
    dump: (file) => dumpTo('mariadb-dump', [...client, '--single-transaction', database], file),
    asServerUser: as,
    stop,
  };
}

/** Runs the dump tool with its stdout going straight to the file (no dump held in memory). */
async function dumpTo(command: string, args: string[], file: string): Promise<void> {
  const out = await open(file, 'w');
  try {
    const child = spawn(command, args, {
      stdio: ['ignore', out.fd, 'pipe'],
      env: { ...process.env, PATH: TOOL_PATH },
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const status = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    if (status !== 0) throw new Error(`${command} exited with ${status}: ${stderr.trim()}`);
  } finally {
    await out.close();
  }
}

function asUser(
  user: string,
  home: string,
): (command: string, args: string[], options?: RunOptions) => Promise<CliResult> {
  return (command, args, options = {}) => {
    const [file, argv] = wrap(user, command, args);
    return run(file, argv, { env: { ...serverEnv(home), ...options.env }, cwd: options.cwd ?? home });
  };
}

function spawnAs(user: string, home: string, command: string, args: string[]): ChildProcess {
  const [file, argv] = wrap(user, command, args);
  return spawn(file, argv, { env: serverEnv(home), cwd: home, stdio: 'ignore' });
}

/** As root, `runuser -u USER --` (util-linux, on every Debian): the servers refuse to run as root. */
function wrap(user: string, command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', user, '--', command, ...args]] : [command, args];
}

function serverEnv(home: string): NodeJS.ProcessEnv {
  return { PATH: TOOL_PATH, HOME: home, LANG: 'C.UTF-8', TZ: 'UTC' };
}

async function check(result: CliResult, what: string): Promise<string> {
  if (result.status !== 0)
    throw new Error(`${what} exited with ${result.status}: ${(result.stderr || result.stdout).trim()}`);
  return result.stdout;
}

function uidOf(user: string): number {
  return idOf(user, 2);
}

function gidOf(user: string): number {
  return idOf(user, 3);
}

/** A field of the user's /etc/passwd line (Node has no getpwnam). */
function idOf(user: string, field: number): number {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.split(':')[0] === user);
  const value = Number(line?.split(':')[field]);
  if (!line || !Number.isInteger(value)) throw new Error(`no user ${user} in /etc/passwd`);
  return value;
}
