// Point-in-time recovery against the local RGW: a WAL archive set up as the README tells an admin to
// (a prefix policy for the WAL, one for base backups, the admin's key), PostgreSQL 15 archiving into it
// through `sealdrop wal push`, marker rows whose commit times are known, and `sealdrop pg restore` into a
// fresh data directory, run and started as the servers' unprivileged user.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { expect, inject } from 'vitest';
import { archivedFileOf, parseWalFileName, segmentFileName, type WalFile } from '../../src/core/wal.js';
import { backupTarget, mint, PASSPHRASE } from './backup-target.js';
import { CLI, run, runCli, tempDir, type CliResult } from './cli.js';
import {
  giveToServerUser,
  PG_BIN,
  runAsServerUser,
  serverDir,
  serverUser,
  serverUserIds,
  postgresAt,
  startDatabase,
  type Database,
  type Postgres,
} from './databases.js';
import { adminClient } from './s3.js';
import { until } from './until.js';

/**
 * For a test that restores: PostgreSQL runs restore_command once per segment since the base backup,
 * a Node.js process each, which on a busy two-core machine adds up to minutes.
 */
export const RESTORE_TIMEOUT_MS = 300_000;

export interface WalArchive {
  bucket: string;
  host: string;
  /** s3://BUCKET/HOST/wal/ and s3://BUCKET/HOST/base/ */
  walUrl: string;
  baseUrl: string;
  /** HOST/wal/ */
  walPrefix: string;
  /**
   * A directory only the servers' user may enter, holding what it must read: the WAL policy (for
   * archive_command), the admin's key and its passphrase (for pg restore and restore_command).
   */
  secrets: string;
  walPolicy: string;
  basePolicy: string;
  identity: string;
  passphraseFile: string;
  publicKey: string;
  /** Admin credentials and endpoint, and nothing else: what pg restore and restore_command get. */
  awsEnv: Record<string, string>;
  /** process.env with admin credentials, for admin commands run by the tests. */
  adminEnv: NodeJS.ProcessEnv;
  /** No AWS variable at all: what a database server has. */
  agentEnv: NodeJS.ProcessEnv;
}

/** A new bucket set up for `host`: WAL and base-backup prefix policies, the admin's key. */
export async function walArchive(name: string, host = 'db1'): Promise<WalArchive> {
  const target = await backupTarget(name, { key: `${host}/wal/` });
  const secrets = await serverDir(`sealdrop-${name}-secrets-`);
  const walPolicy = join(secrets, 'wal.policy.json');
  const identity = join(secrets, 'admin.key.asc');
  const passphraseFile = join(secrets, 'passphrase');
  await copyFile(target.policyPath, walPolicy);
  await copyFile(target.privateKey, identity);
  await writeFile(passphraseFile, `${PASSPHRASE}\n`, { mode: 0o600 });
  for (const file of [walPolicy, identity, passphraseFile]) await giveToServerUser(file);
  const basePolicy = join(target.dir, 'base.policy.json');
  await mint(`s3://${target.bucket}/${host}/base/`, [target.publicKey], basePolicy);
  const awsEnv = Object.fromEntries(
    Object.entries(inject('s3Exports')).filter(([variable]) => variable.startsWith('AWS_')),
  );
  return {
    bucket: target.bucket,
    host,
    walUrl: `s3://${target.bucket}/${host}/wal/`,
    baseUrl: `s3://${target.bucket}/${host}/base/`,
    walPrefix: `${host}/wal/`,
    secrets,
    walPolicy,
    basePolicy,
    identity,
    passphraseFile,
    publicKey: target.publicKey,
    awsEnv,
    adminEnv: target.adminEnv,
    agentEnv: target.agentEnv,
  };
}

/** A WAL policy for another host of the same admin, in the same bucket: s3://BUCKET/HOST/wal/. */
export async function otherHostPolicy(archive: WalArchive, host: string): Promise<string> {
  const path = join(archive.secrets, `${host}.wal.policy.json`);
  await mint(`s3://${archive.bucket}/${host}/wal/`, [archive.publicKey], path);
  await giveToServerUser(path);
  return path;
}

/** A copy of the archive's WAL policy whose uploads go to `url` (a proxy in front of RGW). */
export async function policyThrough(archive: WalArchive, url: string): Promise<string> {
  const policy = JSON.parse(await readFile(archive.walPolicy, 'utf8'));
  policy.url = `${url}/${archive.bucket}`;
  const path = join(archive.secrets, `wal.via-${new URL(url).port}.policy.json`);
  await writeFile(path, JSON.stringify(policy), { mode: 0o600 });
  await giveToServerUser(path);
  return path;
}

/**
 * A Node.js the servers' user can run: ours, or a copy of it when ours is out of its reach (npx's
 * node@22 lives under /root/.npm, which nobody may enter).
 */
export const serverNode = (() => {
  let path: string | undefined;
  return (): string => {
    if (path !== undefined) return path;
    const reachable =
      process.getuid?.() !== 0 ||
      spawnSync('runuser', ['-u', serverUser(), '--', 'test', '-x', process.execPath]).status === 0;
    if (reachable) return (path = process.execPath);
    const dir = mkdtempSync(join(tmpdir(), 'sealdrop-node-'));
    chmodSync(dir, 0o755);
    path = join(dir, 'node');
    copyFileSync(process.execPath, path);
    chmodSync(path, 0o755);
    return path;
  };
})();

/** The installed `sealdrop` of the build under test (bin/sealdrop beside its dist/), else its bin.cjs. */
function installedCommand(): string {
  const launcher = join(CLI, '../../../bin/sealdrop');
  return existsSync(launcher) ? `"${launcher}"` : `"${serverNode()}" "${CLI}"`;
}

/**
 * What a server's postgresql.conf says to archive with sealdrop: `archive_command = '…'`, the command
 * as installed (bin/sealdrop, which answers calls for files stored ahead without Node.js), with the
 * servers' Node.js first in PATH.
 */
export function archiveCommand(policy: string, options: string[] = []): string {
  const command = [installedCommand(), 'wal push --policy', `"${policy}"`, ...options, '%p'].join(' ');
  return `PATH="${dirname(serverNode())}:/usr/bin:/bin" ${command}`;
}

/** PostgreSQL 15 archiving into the archive with `wal push` (or with `command`), and a markers table. */
export async function startArchivingPostgres(
  archive: WalArchive,
  { policy = archive.walPolicy, command = archiveCommand(policy) } = {},
): Promise<Database> {
  const db = await startDatabase('postgres', {
    settings: ['archive_mode = on', `archive_command = '${command}'`],
  });
  await db.sql('CREATE TABLE markers (id int PRIMARY KEY, at timestamptz NOT NULL);');
  return db;
}

/**
 * `sealdrop push` of pg_basebackup's tar under the base prefix, as a database server would run it;
 * with `added`, a compromised one: the entries of that directory (links too) appended to the tar. With
 * `heldUntil`, the tar isn't read until that file exists: the backup stays open (not stopped) till then.
 */
export async function pushBaseBackup(
  archive: WalArchive,
  db: Database,
  { added, heldUntil }: { added?: string; heldUntil?: string } = {},
): Promise<void> {
  const basebackup = [`${PG_BIN}/pg_basebackup`, '-h', db.dir, '-U', 'postgres', '-D', '-', '-Ft'];
  const tar = added && join(await tempDir(), 'base.tar');
  const script = tar
    ? `"$@" > ${tar} && tar --append -f ${tar} -C ${added} $(ls -A ${added}) && cat ${tar}`
    : heldUntil && `"$@" | { while [ ! -e ${heldUntil} ]; do sleep 0.1; done; cat; }`;
  const command = script ? ['sh', '-c', script, 'sh'] : [];
  const pushed = await runCli(
    ['push', '--policy', archive.basePolicy, '--', ...command, ...basebackup, '-X', 'none', '-c', 'fast'],
    { env: archive.agentEnv },
  );
  expect(pushed.status, pushed.stderr).toBe(0);
}

/** Runs pgbench against the database (`-i -s N` to fill it, `-T SECONDS` to load it). */
export async function pgbench(db: Database, args: string[]): Promise<void> {
  const bench = await run(`${PG_BIN}/pgbench`, ['-h', db.dir, '-U', 'postgres', ...args, db.database]);
  expect(bench.status, bench.stderr).toBe(0);
}

export async function count(db: Database, table: string): Promise<number> {
  return Number(await db.sql(`SELECT count(*) FROM ${table};`));
}

export interface Marker {
  id: number;
  /** Its commit's timestamp (clock_timestamp() just before it). */
  at: Date;
  /** The segment its commit is in. */
  segment: string;
  /** A whole second after the marker before it and before this one: a recovery target between the two. */
  since: string;
}

/**
 * Inserts each marker in a transaction of its own, then switches to a new WAL segment so it gets
 * archived. A whole second starts between two markers, so targets need no sub-second precision.
 */
export async function insertMarkers(db: Database, ids: number[]): Promise<Marker[]> {
  const markers: Marker[] = [];
  for (const id of ids) {
    const since = Math.ceil((Date.now() + 1) / 1000) * 1000;
    await sleep(since + 200 - Date.now());
    const [epoch, segment] = (
      await db.sql(
        `INSERT INTO markers VALUES (${id}, clock_timestamp()) RETURNING extract(epoch FROM at);
         SELECT pg_walfile_name(pg_current_wal_lsn());
         SELECT pg_switch_wal();`,
      )
    ).split('\n');
    const at = new Date(Number(epoch) * 1000);
    expect(at.getTime(), 'the database clock is the one we wait on').toBeGreaterThan(since);
    markers.push({ id, at, segment: segment!, since: isoSecond(since) });
  }
  return markers;
}

function isoSecond(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

export async function markerIds(db: Database): Promise<number[]> {
  const ids = await db.sql('SELECT id FROM markers ORDER BY id;');
  return ids.split('\n').filter(Boolean).map(Number);
}

/** Writes a little and switches WAL `n` times: `n` completed segments, for the archiver or a test. */
export async function completeSegments(db: Database, n: number): Promise<void> {
  const one = 'INSERT INTO filler SELECT generate_series(1, 1000); SELECT pg_switch_wal();';
  await db.sql(`CREATE TABLE IF NOT EXISTS filler (n int); ${one.repeat(n)}`);
}

/** The segments PostgreSQL has completed but not archived yet (`.ready` in pg_wal/archive_status). */
export async function readySegments(db: Database): Promise<string[]> {
  const ready = await db.sql(
    "SELECT name FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready' ORDER BY name;",
  );
  return ready
    .split('\n')
    .filter(Boolean)
    .map((name) => name.replace(/\.ready$/, ''));
}

export interface Archiver {
  archivedCount: number;
  failedCount: number;
  lastArchived: string;
}

export async function archiver(db: Database): Promise<Archiver> {
  const row = await db.sql(
    "SELECT archived_count, failed_count, coalesce(last_archived_wal, '') FROM pg_stat_archiver;",
  );
  const [archived, failed, last] = row.trim().split('|');
  return { archivedCount: Number(archived), failedCount: Number(failed), lastArchived: last! };
}

/** Completes the current segment and waits until PostgreSQL has archived it and everything before it. */
export async function waitArchived(db: Database, timeoutMs = 60_000): Promise<string> {
  const last = (await db.sql('SELECT pg_walfile_name(pg_switch_wal());')).trim();
  await until(
    async () => (await readySegments(db)).length === 0 && (await archiver(db)).lastArchived >= last,
    `${last} and every segment before it archived`,
    { timeoutMs, everyMs: 200 },
  );
  return last;
}

export function identityArgs(archive: WalArchive): string[] {
  return ['--identity', archive.identity, '--passphrase-file', archive.passphraseFile];
}

/** `sealdrop pg restore` run as the servers' user, with admin credentials and no other environment. */
export async function pgRestore(
  archive: WalArchive,
  to: string,
  pgdata: string,
  extra: string[] = [],
): Promise<CliResult> {
  const args = ['pg', 'restore', '--base', archive.baseUrl, '--wal', archive.walUrl, '--to', to];
  return runAsServerUser(
    serverNode(),
    [CLI, ...args, '--pgdata', pgdata, ...identityArgs(archive), ...extra],
    { cwd: archive.secrets, env: archive.awsEnv },
  );
}

/**
 * `pg restore --start` into a fresh data directory: the server it started once recovery has ended.
 * The restored server archives into the base backup's archive only when `archiving` is set.
 */
export async function restoreTo(
  archive: WalArchive,
  to: string,
  { archiving = false, extra = [] as string[] } = {},
): Promise<Postgres> {
  const dir = await serverDir('sealdrop-pitr-restored-');
  const dataDir = join(dir, 'data');
  const mode = ['--archive-mode', archiving ? 'preserve' : 'off'];
  const restored = await pgRestore(archive, to, dataDir, [...mode, ...extra, '--start', '--json']);
  if (restored.status !== 0) await rm(dir, { recursive: true, force: true });
  expect(restored.status, restored.stderr).toBe(0);
  const { server } = JSON.parse(restored.stdout) as { server: { socketDir: string } };
  const db = postgresAt({ dir: server.socketDir, dataDir, database: 'sealdrop' });
  return {
    ...db,
    async stop() {
      await db.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The timeline the server writes on: its current segment's. */
export async function timelineOf(db: Database): Promise<number> {
  const segment = await db.sql('SELECT pg_walfile_name(pg_current_wal_lsn());');
  return parseWalFileName(segment.trim())!.timeline;
}

export interface ArchivedFile {
  file: WalFile;
  /** Its object's key (the suffix says the compression, which depends on the Node.js that pushed it). */
  key: string;
  versions: number;
}

/** What a prefix of the archive's bucket holds, by file name, as the admin lists it: every version. */
export async function archivedFiles(
  archive: WalArchive,
  prefix = archive.walPrefix,
): Promise<Map<string, ArchivedFile>> {
  const files = new Map<string, ArchivedFile>();
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  do {
    const page = await adminClient().send(
      new ListObjectVersionsCommand({ Bucket: archive.bucket, Prefix: prefix, KeyMarker, VersionIdMarker }),
    );
    for (const { Key } of page.Versions ?? []) {
      const archived = archivedFileOf(prefix, Key!);
      if (!archived) continue;
      const versions = (files.get(archived.file.name)?.versions ?? 0) + 1;
      files.set(archived.file.name, { file: archived.file, key: Key!, versions });
    }
    [KeyMarker, VersionIdMarker] = page.IsTruncated
      ? [page.NextKeyMarker, page.NextVersionIdMarker]
      : [undefined, undefined];
  } while (KeyMarker);
  return files;
}

/** The segments of `timeline` missing between the first and the last archived one. */
export function gaps(files: Map<string, ArchivedFile>, timeline = 1): string[] {
  const segnos = [...files.values()]
    .filter(({ file }) => file.kind === 'segment' && file.timeline === timeline)
    .map(({ file }) => file.segno!);
  const have = new Set(segnos);
  const missing: string[] = [];
  for (let segno = Math.min(...segnos); segno < Math.max(...segnos); segno++) {
    if (!have.has(segno)) missing.push(segmentFileName(timeline, segno));
  }
  return missing;
}

/** The segment after `name`, on the same timeline. */
export function nextSegment(name: string): string {
  const file = parseWalFileName(name);
  if (file?.kind !== 'segment') throw new Error(`not a segment name: ${name}`);
  return segmentFileName(file.timeline, file.segno! + 1);
}

/** A segment's size of junk: random, but quick to compress (the tests' machine is small). */
export function junkSegment(): Buffer {
  return Buffer.alloc(16 * 1024 * 1024, randomBytes(8192));
}

/**
 * A host's `wal push` of a file named `name` (junk unless `content` is given) from a data directory of
 * its making, with a policy file for its archive: what a compromised host forges, encrypted and bound
 * like any genuine segment.
 */
export async function pushAsHost(
  policy: string,
  name: string,
  agentEnv: NodeJS.ProcessEnv,
  content: Buffer = junkSegment(),
): Promise<void> {
  const dataDir = await tempDir('sealdrop-host-');
  await mkdir(join(dataDir, 'pg_wal', 'archive_status'), { recursive: true });
  await writeFile(join(dataDir, 'pg_wal', name), content);
  const pushed = await runCli(['wal', 'push', '--policy', policy, `pg_wal/${name}`], {
    env: agentEnv,
    cwd: dataDir,
  });
  expect(pushed.status, pushed.stderr).toBe(0);
}

/** The files `wal push` remembers having stored, in the data directory (pg_wal/sealdrop/). */
export async function remembered(db: Database): Promise<string[]> {
  const names = await readdir(join(db.dataDir, 'pg_wal', 'sealdrop')).catch(() => []);
  return names.filter((name) => parseWalFileName(name));
}

/** `wal push` started as PostgreSQL would start it (its user, in its data directory), to be signalled. */
export function startWalPush(
  db: Database,
  policy: string,
  segment: string,
): { pid: number; exited: Promise<number | null> } {
  const child = spawn(serverNode(), [CLI, 'wal', 'push', '--policy', policy, `pg_wal/${segment}`], {
    ...serverUserIds(),
    cwd: db.dataDir,
    env: { PATH: process.env.PATH, HOME: db.dir, TZ: 'UTC' },
    stdio: 'ignore',
  });
  return {
    pid: child.pid!,
    exited: new Promise((resolve) => child.on('close', (code) => resolve(code))),
  };
}

/** `wal push` run to the end as PostgreSQL would run it. */
export function walPush(db: Database, policy: string, segment: string): Promise<CliResult> {
  return db.asServerUser(serverNode(), [CLI, 'wal', 'push', '--policy', policy, `pg_wal/${segment}`], {
    cwd: db.dataDir,
  });
}
