// pg restore: point-in-time recovery into a new data directory. The newest complete base backup at or
// before the target (proven good, if asked) is extracted, its WAL checked in the archive, and the
// recovery settings written (restore_command calling `sealdrop wal fetch`), so PostgreSQL replays to
// the target when it starts.
import { spawn } from 'node:child_process';
import { appendFile, lstat, mkdir, open, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { SealdropError } from '../../core/errors.js';
import type { S3Location } from '../../core/s3-url.js';
import type { SnapshotJson } from '../../core/snapshot.js';
import {
  backupHistoryName,
  historyFileName,
  MAX_LABEL_BYTES,
  onTimeline,
  parseBackupHistory,
  parseBackupLabel,
  parseTimelineHistory,
  segmentFileName,
  segnoOfLsn,
  type BackupLabel,
  type TimelineSwitch,
} from '../../core/wal.js';
import { restore } from '../backups/restore.js';
import { resolveEndpoint, resolveRegion } from '../s3/client.js';
import { Keyring, loadIdentities, type PassphraseSource } from '../openpgp/identities.js';
import { scanArchive } from './archive.js';
import { checkBaseContents } from './base-contents.js';
import { NotArchived, walFetch } from './fetch.js';

export interface PgRestoreOptions {
  base: S3Location;
  wal: S3Location;
  /** Replay up to this time, or to the end of the archive. */
  to: Date | 'latest';
  /** The timeline to recover along (recovery_target_timeline); default the latest archived one. */
  timeline?: number;
  pgdata: string;
  identityPaths: string[];
  askPassphrase: PassphraseSource;
  /** The command PostgreSQL runs for each file, %f and %p appended by it (restore_command). */
  restoreCommand: string;
  /** What the server does at the target (default promote). */
  targetAction?: 'promote' | 'pause' | 'shutdown';
  /** false: archive_mode = off in the restored server, so it doesn't archive into the host's prefix. */
  keepArchiving?: boolean;
  /** Only base backups proven good (by verify or approve): junk the host pushed is passed over. */
  verified?: boolean;
  allowUnbound?: boolean;
  signal?: AbortSignal;
  onNote?: (message: string) => void;
  onProgress?: (encryptedBytes: number, totalBytes: number) => void;
}

export interface PgRestoreResult {
  base: { target: string; snapshot: SnapshotJson };
  label: BackupLabel;
  pgdata: string;
  to: string;
  /** The WAL from the base backup's start to its end (consistency), all present in the archive. */
  requiredWal: { from: string; to: string };
  /** The timeline recovery follows. */
  timeline: number;
}

export async function pgRestore(client: S3Client, options: PgRestoreOptions): Promise<PgRestoreResult> {
  await emptyDirectory(options.pgdata);
  const keyring = new Keyring(
    await loadIdentities(options.identityPaths, 'pg restore'),
    options.askPassphrase,
  );
  const timeline = await targetTimeline(client, options, keyring);
  // The newest base backup before the target that lies on the latest timeline's history: one that
  // ended on a timeline after the latest forked off it can't reach it, so the next older one is tried.
  let before = options.to === 'latest' ? null : options.to;
  let skipped: string | null = null;
  for (let tried = 1; ; tried++) {
    const { restored, label } = await layDown(client, options, keyring, before).catch((error) => {
      throw skipped && error instanceof SealdropError && error.code === 'NOT_FOUND'
        ? offTimeline(`${skipped}, and there is no ${options.verified ? 'proven ' : ''}base backup before it`)
        : error;
    });
    try {
      const stopLsn = await backupEnd(client, options, label, keyring);
      if (onTimeline({ timeline: label.timeline, stopLsn }, timeline.id, timeline.history)) {
        const requiredWal = await checkArchive(client, options, label, stopLsn);
        await writeRecoverySettings(options);
        return {
          base: { target: restored.target, snapshot: restored.snapshot },
          label,
          pgdata: options.pgdata,
          to: options.to === 'latest' ? 'latest' : options.to.toISOString(),
          timeline: timeline.id,
          requiredWal,
        };
      }
    } catch (error) {
      await clear(options.pgdata);
      throw error;
    }
    await clear(options.pgdata);
    skipped = `the base backup of ${restored.snapshot.time} (timeline ${label.timeline}) is not on the history of timeline ${timeline.id}`;
    if (tried >= MAX_TRIED_BASES)
      throw offTimeline(`${skipped}, nor are the ${MAX_TRIED_BASES - 1} before it`);
    options.onNote?.(`${skipped}: trying the one before it`);
    before = new Date(Date.parse(restored.snapshot.time) - 1);
  }
}

/** No base backup on the timeline recovery follows: a made-up history file is one way to get there. */
function offTimeline(message: string): SealdropError {
  return new SealdropError('NOT_FOUND', message, {
    hint: 'Name the last timeline you made yourself with --timeline (1 unless you promoted a restore), or pick a base backup by time with --to; `sealdrop status --wal` checks the archive.',
  });
}

/**
 * restore_command: `args` (the wal fetch command line) with the endpoint and region this run reads
 * from, so the server needs only credentials in its environment; each argument shell-quoted.
 */
export async function restoreCommand(client: S3Client, args: string[], endpoint?: string): Promise<string> {
  const resolved = resolveEndpoint(endpoint);
  const all = [
    ...args,
    ...(resolved ? ['--endpoint', resolved] : []),
    '--region',
    await resolveRegion(client),
  ];
  return all.map((arg) => `'${arg.replaceAll("'", `'\\''`)}'`).join(' ');
}

/** Base backups tried, newest first, before pg restore gives up on finding one on the timeline. */
const MAX_TRIED_BASES = 5;

/**
 * The newest base backup (proven good, with `verified`) at or before `before` (null: the newest),
 * extracted; on failure the directory is emptied.
 */
async function layDown(client: S3Client, options: PgRestoreOptions, keyring: Keyring, before: Date | null) {
  const tar = untar(options.pgdata);
  const at = before === null ? {} : { at: before };
  try {
    const restored = await restore(client, options.base, {
      selector: options.verified
        ? { kind: 'verified', ...at }
        : before === null
          ? { kind: 'latest' }
          : { kind: 'at', at: before },
      keyring,
      output: tar.input,
      allowUnbound: options.allowUnbound,
      signal: options.signal,
      onNote: options.onNote,
      onProgress: options.onProgress,
    });
    await tar.end(`the base backup of ${restored.snapshot.time}`);
    await checkBaseContents(options.pgdata);
    const label = parseBackupLabel(
      await readBounded(join(options.pgdata, 'backup_label')),
      `backup_label of ${restored.target}`,
    );
    return { restored, label };
  } catch (error) {
    await tar.kill();
    await clear(options.pgdata);
    throw error;
  }
}

/**
 * The timeline recovery follows, and the timelines it descends from: the one asked for, else
 * (recovery_target_timeline = 'latest') the highest one whose history file is archived, probed upward
 * as PostgreSQL does.
 */
async function targetTimeline(
  client: S3Client,
  options: PgRestoreOptions,
  keyring: Keyring,
): Promise<{ id: number; history: TimelineSwitch[] }> {
  if (options.timeline === 1) return { id: 1, history: [] };
  if (options.timeline !== undefined) {
    const history = await timelineHistory(client, options, keyring, options.timeline);
    if (history) return { id: options.timeline, history };
    throw new SealdropError(
      'NOT_FOUND',
      `the WAL archive s3://${options.wal.bucket}/${options.wal.key} has no history file of timeline ${options.timeline}`,
      {
        hint: 'Name a timeline whose history file (TTTTTTTT.history, T in hex) is in the archive, or leave out --timeline.',
      },
    );
  }
  let latest = { id: 1, history: [] as TimelineSwitch[] };
  for (let id = 2; id <= MAX_TIMELINES; id++) {
    const history = await timelineHistory(client, options, keyring, id);
    if (!history) break;
    latest = { id, history };
  }
  return latest;
}

/** Timeline `id`'s history file (the first version of it), parsed; null when it isn't archived. */
async function timelineHistory(
  client: S3Client,
  options: PgRestoreOptions,
  keyring: Keyring,
  id: number,
): Promise<TimelineSwitch[] | null> {
  const name = historyFileName(id);
  const path = join(options.pgdata, `.${name}`);
  try {
    await walFetch(client, options.wal, {
      name,
      destination: path,
      keyring,
      batch: 1,
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof NotArchived) return null;
    throw error;
  }
  try {
    return parseTimelineHistory(await readBounded(path), name);
  } finally {
    await rm(path, { force: true });
  }
}

/** Timelines probed at most: each is one request. */
const MAX_TIMELINES = 1000;

/**
 * Where the base backup ends: it is usable only from there on. Its backup history file, archived when
 * the backup stopped, says so.
 */
async function backupEnd(
  client: S3Client,
  options: PgRestoreOptions,
  label: BackupLabel,
  keyring: Keyring,
): Promise<number> {
  const historyName = backupHistoryName(label);
  const historyPath = join(options.pgdata, `.${historyName}`);
  try {
    await walFetch(client, options.wal, { name: historyName, destination: historyPath, keyring, batch: 1 });
  } catch (error) {
    throw new SealdropError(
      'NOT_FOUND',
      `the WAL archive s3://${options.wal.bucket}/${options.wal.key} has no ${historyName} for this base backup: ${(error as Error).message}`,
      {
        hint: 'Was the base backup taken with archive_command set to wal push into this archive? Name the right --wal, or pick an earlier base with --to.',
      },
    );
  }
  const history = parseBackupHistory(await readBounded(historyPath), historyName);
  await rm(historyPath, { force: true });
  return history.stopLsn;
}

/** Every segment from the base backup's start to its end (`stopLsn`) must be in the archive. */
async function checkArchive(
  client: S3Client,
  options: PgRestoreOptions,
  label: BackupLabel,
  stopLsn: number,
): Promise<{ from: string; to: string }> {
  const start = segnoOfLsn(label.startLsn);
  const stop = segnoOfLsn(stopLsn);
  const needed: string[] = [];
  for (let segno = start; segno <= stop; segno++) needed.push(segmentFileName(label.timeline, segno));
  const found = await scanArchive(client, options.wal.bucket, options.wal.key, needed, {
    required: new Set(needed),
    signal: options.signal,
  });
  const present = new Set(found.map(({ file }) => file.name));
  for (const name of needed) {
    if (!present.has(name))
      throw new SealdropError(
        'NOT_FOUND',
        `the WAL archive lacks ${name}, which the base backup needs to become consistent`,
        { hint: 'Pick an earlier base backup (--to), and check the archive with `sealdrop status`.' },
      );
  }
  return { from: label.startSegment, to: segmentFileName(label.timeline, stop) };
}

/** What a restored server must not take from its base backup (names PostgreSQL 12 and later know). */
const UNTRUSTED_SETTINGS_OFF = [
  "listen_addresses = ''",
  "shared_preload_libraries = ''",
  "session_preload_libraries = ''",
  "local_preload_libraries = ''",
  "dynamic_library_path = '$libdir'",
  'jit = off',
  'ssl = off',
  "recovery_end_command = ''",
  "archive_cleanup_command = ''",
  "primary_conninfo = ''",
  "external_pid_file = ''",
  'logging_collector = off',
];

async function writeRecoverySettings(options: PgRestoreOptions): Promise<void> {
  const conf = (value: string) => `'${value.replaceAll("'", "''")}'`;
  const lines = [
    '',
    `# sealdrop pg restore, ${new Date().toISOString()}: recovery from ${`s3://${options.wal.bucket}/${options.wal.key}`}`,
    `restore_command = ${conf(`${options.restoreCommand} %f %p`)}`,
    `recovery_target_timeline = ${conf(options.timeline ? String(options.timeline) : 'latest')}`,
    // Ours, and none of the backup's: beside another target PostgreSQL won't start, alone it stops early.
    "recovery_target = ''",
    "recovery_target_lsn = ''",
    "recovery_target_name = ''",
    "recovery_target_xid = ''",
    `recovery_target_time = ${conf(options.to === 'latest' ? '' : options.to.toISOString().replace('T', ' ').replace('Z', '+00'))}`,
    `recovery_target_action = ${conf(options.targetAction ?? 'promote')}`,
    ...(options.keepArchiving ? [] : ["archive_mode = 'off'"]),
    "# The backup is the host's, and the host may be compromised: its settings that load code, run",
    '# commands or write files elsewhere are off here (read last, these lines win). Review them after.',
    ...UNTRUSTED_SETTINGS_OFF,
    '',
  ];
  // A link the backup holds there would point at a file of this machine: written into pgdata alone.
  const autoConf = join(options.pgdata, 'postgresql.auto.conf');
  const signal = join(options.pgdata, 'recovery.signal');
  for (const path of [autoConf, signal])
    if ((await lstat(path).catch(() => null))?.isSymbolicLink()) await rm(path);
  await appendFile(autoConf, lines.join('\n'), { mode: 0o600 });
  // Recovery, not a standby that follows a primary the backup names.
  await rm(join(options.pgdata, 'standby.signal'), { force: true });
  await writeFile(signal, '', { mode: 0o600 });
}

/** The data directory: created, or an existing empty one. Anything in it is refused and left alone. */
async function emptyDirectory(path: string): Promise<void> {
  const entries = await readdir(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw new SealdropError('USAGE', `can't use --pgdata ${path}: ${error.message}`);
  });
  if (entries === null) await mkdir(path, { recursive: true, mode: 0o700 });
  else if (entries.length > 0)
    throw new SealdropError(
      'FILE_EXISTS',
      `--pgdata ${path} is not empty; restoring only into an empty directory`,
      {
        hint: 'Name a new or empty directory; stop and move away the old data directory first if it is the one to replace.',
      },
    );
}

/** After a failure: the directory as it was (empty), never half a cluster that might be started. */
async function clear(path: string): Promise<void> {
  const entries = await readdir(path).catch(() => [] as string[]);
  await Promise.all(entries.map((name) => rm(join(path, name), { recursive: true, force: true })));
}

interface Extraction {
  input: Writable;
  /** The data (`what`, in messages) is all written: waits for tar to finish, and fails if it did. */
  end(what: string): Promise<void>;
  kill(): Promise<void>;
}

/**
 * GNU tar extracts the base backup: it refuses members with `..` and keeps links from leading out of
 * the directory, and files are the restorer's own (--no-same-owner), with their modes (0600/0700).
 */
function untar(dir: string): Extraction {
  const tar = spawn('tar', ['-x', '-f', '-', '-C', dir, '--no-same-owner'], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  tar.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  tar.stdin.on('error', () => {}); // tar's exit says what went wrong
  const exited = new Promise<number | null>((resolve) => {
    tar.on('error', () => resolve(null));
    tar.on('close', resolve);
  });
  return {
    input: tar.stdin,
    async end(what) {
      tar.stdin.end();
      const code = await exited;
      const said = stderr.trim().split('\n').join('; ');
      if (code !== 0)
        throw new SealdropError('OBJECT_FORMAT', `tar could not extract ${what}: ${said || `exit ${code}`}`, {
          hint: 'A base backup is pg_basebackup -Ft -D - output (one tar, no compression of its own): a host that pushed something else may be compromised. --verified takes the newest one proven good.',
        });
    },
    async kill() {
      tar.kill();
      await exited;
    },
  };
}

async function readBounded(path: string): Promise<string> {
  const handle = await open(path, 'r').catch(() => {
    throw new SealdropError('OBJECT_FORMAT', `the base backup has no ${path.split('/').pop()}`, {
      hint: 'The base backup must be pg_basebackup -Ft -X none output, with backup_label in it.',
    });
  });
  try {
    const buffer = Buffer.alloc(MAX_LABEL_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}
