// Point-in-time recovery with real PostgreSQL 15 (issue 22): a server archiving its WAL through a prefix
// policy while pgbench writes, a base backup pushed during the load, then `pg restore` into fresh data
// directories to a time between two markers, and to the end of a later timeline.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgRestore as pgRestoreIn } from '../../src/admin/wal/pg-restore.js';
import { parseS3Url } from '../../src/core/s3-url.js';
import { PASSPHRASE } from '../support/backup-target.js';
import { runCli, tempDir } from '../support/cli.js';
import { serverDir, type Database } from '../support/databases.js';
import { adminClient } from '../support/s3.js';
import { until } from '../support/until.js';
import {
  count,
  identityArgs,
  RESTORE_TIMEOUT_MS,
  insertMarkers,
  markerIds,
  pgbench,
  pgRestore,
  pushBaseBackup,
  restoreTo,
  startArchivingPostgres,
  timelineOf,
  waitArchived,
  walArchive,
  type Marker,
  type WalArchive,
} from '../support/pitr.js';

describe('point-in-time recovery from a write-only WAL archive', { timeout: RESTORE_TIMEOUT_MS }, () => {
  let archive: WalArchive;
  let source: Database;
  let markers: Marker[];
  /** pgbench's transactions, all committed before the first marker. */
  let transactions: number;

  beforeAll(async () => {
    archive = await walArchive('pitr');
    source = await startArchivingPostgres(archive);
    await pgbench(source, ['-i', '-s', '2', '-q']);
    const load = pgbench(source, ['-T', '6', '-c', '2']);
    await sleep(1000);
    await pushBaseBackup(archive, source); // while pgbench writes
    await load;
    transactions = await count(source, 'pgbench_history');
    markers = await insertMarkers(source, [1, 2, 3, 4]);
    await waitArchived(source);
  }, 300_000);

  afterAll(async () => {
    await source?.stop();
  });

  it('restores to a time between two markers: exactly the markers before it, and all of the load', async () => {
    const restored = await restoreTo(archive, markers[2]!.since);
    try {
      expect(await markerIds(restored)).toEqual([1, 2]);
      expect(await count(restored, 'pgbench_history')).toBe(transactions);
      // Replayed through the installed command, which moves the segments fetched ahead without Node.js.
      const conf = await readFile(join(restored.dataDir, 'postgresql.auto.conf'), 'utf8');
      expect(conf).toMatch(/^restore_command = .*\/bin\/sealdrop'' ''wal'' ''fetch''/m);
    } finally {
      await restored.stop();
    }
  });

  it('refuses a data directory that is not empty, and leaves it as it was', async () => {
    const dir = await serverDir('sealdrop-pitr-occupied-');
    await writeFile(join(dir, 'PG_VERSION'), '15\n');
    const refused = await pgRestore(archive, 'latest', dir);
    expect(refused.status, refused.stderr).not.toBe(0);
    expect(refused.stderr).toMatch(/not empty/);
    expect(await readdir(dir)).toEqual(['PG_VERSION']);
    await rm(dir, { recursive: true });
  });

  it('restores --to latest along the timeline an earlier PITR started and archived', async () => {
    const branched = await restoreTo(archive, markers[1]!.since, { archiving: true });
    try {
      expect(await markerIds(branched)).toEqual([1]);
      expect(await timelineOf(branched)).toBeGreaterThan(1);
      await insertMarkers(branched, [11, 12]);
      await waitArchived(branched);
    } finally {
      await branched.stop();
    }
    // The abandoned server's next base backup, after the fork: it can't reach the new timeline, so
    // pg restore must pass over it to the one before.
    await pushBaseBackup(archive, source);
    await waitArchived(source);
    const latest = await restoreTo(archive, 'latest');
    try {
      expect(await markerIds(latest)).toEqual([1, 11, 12]);
      expect(await count(latest, 'pgbench_history')).toBe(transactions);
    } finally {
      await latest.stop();
    }
  });

  it('junk pushed as the newest base backup stops pg restore; --verified restores from the proven ones', async () => {
    const proven = await runCli(['verify', archive.baseUrl, '--unproven', ...identityArgs(archive)], {
      env: archive.adminEnv,
    });
    expect(proven.status, proven.stdout + proven.stderr).toBe(0);
    const junk = await runCli(
      ['push', '--policy', archive.basePolicy, '--', 'head', '-c', '4000000', '/dev/urandom'],
      { env: archive.agentEnv },
    );
    expect(junk.status, junk.stderr).toBe(0);
    const dir = await serverDir('sealdrop-pitr-junk-');
    try {
      const stopped = await pgRestore(archive, 'latest', join(dir, 'data'));
      expect(stopped.status).toBe(1);
      expect(stopped.stderr).toMatch(
        /error: tar could not extract the base backup of \S+: tar: This does not look like a tar archive; /,
      );
      expect(stopped.stderr).toMatch(/hint: .*--verified takes the newest one proven good/);
      expect(await readdir(join(dir, 'data'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // The newest proven one is the abandoned server's, off the latest timeline: the one before it.
    const restored = await restoreTo(archive, 'latest', { extra: ['--verified'] });
    try {
      expect(await markerIds(restored)).toEqual([1, 11, 12]);
      expect(await count(restored, 'pgbench_history')).toBe(transactions);
    } finally {
      await restored.stop();
    }
    // Two base backups tried, one passphrase asked.
    let asked = 0;
    const laid = await pgRestoreIn(adminClient(), {
      base: parseS3Url(archive.baseUrl),
      wal: parseS3Url(archive.walUrl),
      to: 'latest',
      verified: true,
      pgdata: await tempDir('sealdrop-pitr-asked-'),
      identityPaths: [archive.identity],
      askPassphrase: async () => {
        asked++;
        return PASSPHRASE;
      },
      restoreCommand: 'false',
    });
    expect(laid.timeline).toBeGreaterThan(1);
    expect(asked).toBe(1);
  });
});

describe(
  'a base backup taken across the point where a later timeline forked',
  { timeout: RESTORE_TIMEOUT_MS },
  () => {
    let archive: WalArchive;
    let source: Database;

    beforeAll(async () => {
      archive = await walArchive('pitr-straddle');
      source = await startArchivingPostgres(archive);
      await pushBaseBackup(archive, source);
      await insertMarkers(source, [1]);
    }, 300_000);

    afterAll(async () => {
      await source?.stop();
    });

    it('pg restore passes over it to the base backup before, whose end the fork keeps', async () => {
      // The second base backup starts, markers 2 and 3 are written, and only then does it stop.
      const held = join(await tempDir(), 'read-now');
      const second = pushBaseBackup(archive, source, { heldUntil: held });
      await until(
        async () =>
          (
            await source.sql(
              "SELECT count(*) FROM pg_stat_progress_basebackup WHERE phase = 'streaming database files';",
            )
          ).trim() === '1',
        'the second base backup streaming',
      );
      const [, third] = await insertMarkers(source, [2, 3]);
      await writeFile(held, '');
      await second;
      await waitArchived(source);
      // A restore from the first base to before marker 3, promoted: timeline 2 forks inside the second
      // base backup, between its start and its end.
      const branched = await restoreTo(archive, third!.since, { archiving: true });
      try {
        expect(await markerIds(branched)).toEqual([1, 2]);
        await insertMarkers(branched, [11]);
        await waitArchived(branched);
      } finally {
        await branched.stop();
      }
      // The second base backup starts before the fork but becomes consistent only after it, on the
      // abandoned timeline: recovery from it can't follow timeline 2.
      const latest = await restoreTo(archive, 'latest');
      try {
        expect(await markerIds(latest)).toEqual([1, 2, 11]);
      } finally {
        await latest.stop();
      }
    });
  },
);
