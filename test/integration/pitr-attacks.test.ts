// A compromised database server against its own WAL archive (issue 22): it holds the WAL policy, so it
// can add a second version of any segment name, genuinely encrypted and bound. The read side takes the
// first version and status raises the alarm; a segment copied from another place is refused. Its base
// backup carries its settings, which must not run anything on the machine that restores it.
import { existsSync } from 'node:fs';
import { chown, copyFile, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CopyObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, type CliResult } from '../support/cli.js';
import type { Database } from '../support/databases.js';
import {
  archivedFiles,
  identityArgs,
  insertMarkers,
  junkSegment,
  markerIds,
  nextSegment,
  otherHostPolicy,
  pushAsHost,
  pgRestore,
  pushBaseBackup,
  RESTORE_TIMEOUT_MS,
  restoreTo,
  startArchivingPostgres,
  waitArchived,
  walArchive,
  type Marker,
  type WalArchive,
} from '../support/pitr.js';
import { serverDir, serverUserIds } from '../support/databases.js';
import { adminClient } from '../support/s3.js';
import { parseWalFileName } from '../../src/core/wal.js';

describe('a compromised host forging segments', { timeout: RESTORE_TIMEOUT_MS }, () => {
  let archive: WalArchive;
  let db: Database;
  let markers: Marker[];
  /** A segment the restore needs, and the segment the server was about to write: both forged. */
  let forged: string;
  let future: string;
  /** What the host's recovery_end_command would create on the restoring machine. */
  const pwned = join(tmpdir(), `sealdrop-pwned-${process.pid}`);
  /** A file of the restoring user's that a link in the base backup points at. */
  const victim = join(tmpdir(), `sealdrop-victim-${process.pid}`);

  beforeAll(async () => {
    archive = await walArchive('pitr-forged');
    db = await startArchivingPostgres(archive);
    // Settings that load a library and run a command, in the base backup's postgresql.auto.conf.
    await db.sql("ALTER SYSTEM SET shared_preload_libraries = 'sealdrop_attack';");
    await db.sql(`ALTER SYSTEM SET recovery_end_command = 'touch ${pwned}';`);
    // A recovery target of its own: beside pg restore's, PostgreSQL refuses to start (or stops early).
    await db.sql("ALTER SYSTEM SET recovery_target_name = 'sealdrop_attack';");
    await writeFile(victim, 'precious\n');
    const { uid, gid } = serverUserIds();
    await chown(victim, uid, gid);
    // And a link where pg restore writes.
    const added = await tempDir();
    await symlink(victim, join(added, 'recovery.signal'));
    await pushBaseBackup(archive, db, { added });
    markers = await insertMarkers(db, [1, 2, 3]);
    future = nextSegment(await waitArchived(db));
    forged = markers[1]!.segment;
    await pushAsHost(archive.walPolicy, forged, archive.agentEnv);
    await pushAsHost(archive.walPolicy, future, archive.agentEnv);
    const [late] = await insertMarkers(db, [4]); // the genuine `future` is now a second version
    expect(late!.segment).toBe(future);
    await waitArchived(db);
    const files = await archivedFiles(archive);
    expect(files.get(forged)?.versions).toBe(2);
    expect(files.get(future)?.versions).toBe(2);
  }, 240_000);

  afterAll(async () => {
    await db?.stop();
    await rm(pwned, { force: true });
    await rm(victim, { force: true });
  });

  it('pg restore replays the first version of each segment and reaches the target', async () => {
    const restored = await restoreTo(archive, markers[2]!.since);
    try {
      expect(await markerIds(restored)).toEqual([1, 2]);
      // The backup's own settings that load code or run commands were off for the recovery.
      expect(existsSync(pwned)).toBe(false);
      // What pg restore writes goes into the data directory, not through the backup's links.
      expect(await readFile(victim, 'utf8')).toBe('precious\n');
      expect((await restored.sql('SHOW shared_preload_libraries;')).trim()).toBe('');
    } finally {
      await restored.stop();
    }
  });

  it('status on the WAL prefix is CRITICAL, naming both segments with a second version', async () => {
    const status = await runCli(['status', '--wal', archive.walUrl], { env: archive.adminEnv });
    expect(status.status, status.stdout + status.stderr).toBe(2);
    expect(status.stdout).toMatch(/CRITICAL/);
    expect(status.stdout).toContain(forged);
    expect(status.stdout).toContain(future);
  });

  it('a made-up timeline: latest would follow it; --timeline 1 restores the genuine chain', async () => {
    // Timeline 2, forked from timeline 1 where the segment of marker 2 starts: before the target.
    const fork = parseWalFileName(markers[1]!.segment)!.segno! * 16 * 1024 * 1024;
    const lsn = `${Math.floor(fork / 2 ** 32).toString(16)}/${(fork % 2 ** 32).toString(16)}`;
    await pushAsHost(
      archive.walPolicy,
      '00000002.history',
      archive.agentEnv,
      Buffer.from(`1\t${lsn}\tforged\n`),
    );
    const dir = await serverDir('sealdrop-pitr-latest-');
    try {
      const latest = await pgRestore(archive, markers[2]!.since, join(dir, 'data'), ['--json']);
      expect(latest.status, latest.stderr).toBe(0);
      expect(JSON.parse(latest.stdout)).toMatchObject({ timeline: 2 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const restored = await restoreTo(archive, markers[2]!.since, { extra: ['--timeline', '1'] });
    try {
      expect(await markerIds(restored)).toEqual([1, 2]);
    } finally {
      await restored.stop();
    }
  });

  it('--timeline names a timeline the archive has no history file of: exit 1, the directory left empty', async () => {
    const dir = await serverDir('sealdrop-pitr-timeline-');
    try {
      const missing = await pgRestore(archive, 'latest', join(dir, 'data'), ['--timeline', '7']);
      expect(missing.status).toBe(1);
      expect(missing.stderr).toContain('has no history file of timeline 7');
      expect(await readdir(join(dir, 'data'))).toEqual([]);
      const bad = await pgRestore(archive, 'latest', join(dir, 'data'), ['--timeline', '0x2']);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain('--timeline 0x2: not a timeline');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a made-up timeline forked before every base backup: exit 1 naming it, with --timeline as the way out', async () => {
    await pushAsHost(
      archive.walPolicy,
      '00000003.history',
      archive.agentEnv,
      Buffer.from('1\t0/1000000\tforged\n'),
    );
    const dir = await serverDir('sealdrop-pitr-forked-');
    try {
      const refused = await pgRestore(archive, 'latest', join(dir, 'data'));
      expect(refused.status, refused.stderr).toBe(1);
      expect(refused.stderr).toMatch(
        /error: the base backup of \S+ \(timeline 1\) is not on the history of timeline 3, and there is no base backup before it\n/,
      );
      expect(refused.stderr).toMatch(/hint: Name the last timeline you made yourself with --timeline/);
      expect(await readdir(join(dir, 'data'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a base backup with a tablespace link is refused: exit 1, the directory left empty', async () => {
    // WAL replay writes a tablespace's files where its link leads: on the restoring machine. A base
    // backup pushed through sealdrop is one tar on stdout, which pg_basebackup writes only without
    // tablespaces.
    const added = await tempDir();
    await mkdir(join(added, 'pg_tblspc'));
    await symlink(tmpdir(), join(added, 'pg_tblspc', '16384'));
    await pushBaseBackup(archive, db, { added });
    const dir = await serverDir('sealdrop-pitr-tablespace-');
    try {
      const refused = await pgRestore(archive, 'latest', join(dir, 'data'), ['--timeline', '1']);
      expect(refused.status, refused.stderr).toBe(1);
      expect(refused.stderr).toMatch(/the base backup holds tablespace links \(pg_tblspc\/16384\)/);
      expect(await readdir(join(dir, 'data'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a base backup holding a shared library is refused: exit 1, the directory left empty', async () => {
    // A C function in its catalog naming the library by a relative path ('./sealdrop_x/plugin.so')
    // would load it from the data directory, as the restoring user, at the first query that calls it.
    const added = await tempDir();
    await mkdir(join(added, 'sealdrop_x'));
    await copyFile('/usr/lib/x86_64-linux-gnu/libz.so.1', join(added, 'sealdrop_x', 'plugin.so'));
    await pushBaseBackup(archive, db, { added });
    const dir = await serverDir('sealdrop-pitr-library-');
    try {
      const refused = await pgRestore(archive, 'latest', join(dir, 'data'), ['--timeline', '1']);
      expect(refused.status, refused.stderr).toBe(1);
      expect(refused.stderr).toMatch(
        /error: the base backup holds a shared library \(sealdrop_x\/plugin\.so\): PostgreSQL keeps none in its data directory/,
      );
      expect(await readdir(join(dir, 'data'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a segment copied into the archive from another place', () => {
  const SEGMENT = '000000010000000000000005';
  let archive: WalArchive;
  let genuine: Buffer;

  /** `wal fetch` as restore_command runs it, in a fresh data directory; the files it left in pg_wal. */
  async function fetch(name: string): Promise<{ fetched: CliResult; written: string[]; content?: Buffer }> {
    const dataDir = await tempDir('sealdrop-recovering-');
    await mkdir(join(dataDir, 'pg_wal'));
    const fetched = await runCli(
      ['wal', 'fetch', archive.walUrl, name, 'pg_wal/RECOVERYXLOG', ...identityArgs(archive)],
      { env: archive.adminEnv, cwd: dataDir },
    );
    const entries = await readdir(join(dataDir, 'pg_wal'), { withFileTypes: true });
    const written = entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
    const content = written.includes('RECOVERYXLOG')
      ? await readFile(join(dataDir, 'pg_wal', 'RECOVERYXLOG'))
      : undefined;
    return { fetched, written, content };
  }

  /** The admin's CopyObject of the file `name` in `prefix` to `as` in this host's archive. */
  async function copyInto(prefix: string, name: string, as: string): Promise<void> {
    const from = (await archivedFiles(archive, prefix)).get(name)!.key;
    await adminClient().send(
      new CopyObjectCommand({
        Bucket: archive.bucket,
        CopySource: `${archive.bucket}/${from}`,
        Key: archive.walPrefix + as + from.slice(prefix.length + name.length),
      }),
    );
  }

  async function expectRefused(name: string, boundTo: string): Promise<void> {
    const { fetched, written } = await fetch(name);
    expect(fetched.status, fetched.stderr).toBe(126);
    expect(fetched.stderr).toMatch(/binding|belongs|place/i);
    expect(fetched.stderr).toContain(boundTo);
    expect(written).toEqual([]);
  }

  beforeAll(async () => {
    archive = await walArchive('pitr-replayed');
    genuine = junkSegment();
    await pushAsHost(archive.walPolicy, SEGMENT, archive.agentEnv, genuine);
  });

  it('wal fetch hands PostgreSQL a genuine segment', async () => {
    const { fetched, content } = await fetch(SEGMENT);
    expect(fetched.status, fetched.stderr).toBe(0);
    expect(content?.equals(genuine)).toBe(true);
  });

  it('wal fetch answers "not in the archive" (1) for a segment that is not there', async () => {
    const { fetched, written } = await fetch('000000010000000000000006');
    expect(fetched.status, fetched.stderr).toBe(1);
    expect(written).toEqual([]);
    // The normal end of recovery: said in PostgreSQL's log, not as an error.
    expect(fetched.stderr).toMatch(
      /^sealdrop: 000000010000000000000006 is not in the archive s3:\/\/\S+: PostgreSQL ends recovery here/,
    );
    expect(fetched.stderr).not.toMatch(/error/);
  });

  it('wal fetch refuses a segment copied from another host’s archive (126), writing nothing', async () => {
    const theirs = '000000010000000000000008';
    await pushAsHost(await otherHostPolicy(archive, 'db2'), theirs, archive.agentEnv);
    await copyInto('db2/wal/', theirs, theirs);
    await expectRefused(theirs, `db2/wal/${theirs}`);
  });

  it('wal fetch refuses a segment copied from another name in this archive (126), writing nothing', async () => {
    const missing = '000000010000000000000009';
    await copyInto(archive.walPrefix, SEGMENT, missing);
    await expectRefused(missing, `${archive.walPrefix}${SEGMENT}`);
  });
});
