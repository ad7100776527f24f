// WAL archiving survives what goes wrong on an honest server (issue 22): S3 unreachable for a while,
// and `wal push` killed in the middle of its uploads. Afterwards the archive has every segment once.
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../support/databases.js';
import {
  archiveCommand,
  archivedFiles,
  archiver,
  completeSegments,
  count,
  gaps,
  insertMarkers,
  markerIds,
  pgbench,
  policyThrough,
  pushBaseBackup,
  readySegments,
  remembered,
  RESTORE_TIMEOUT_MS,
  restoreTo,
  startArchivingPostgres,
  startWalPush,
  waitArchived,
  walArchive,
  walPush,
  type WalArchive,
} from '../support/pitr.js';
import { faultyProxy, type Proxy } from '../support/proxy.js';
import { until } from '../support/until.js';

/** What each test started: servers are stopped before the proxies close (a server may still archive). */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function proxy(...args: Parameters<typeof faultyProxy>): Promise<Proxy> {
  const started = await faultyProxy(...args);
  cleanups.push(() => started.close());
  return started;
}

async function archivingPostgres(
  archive: WalArchive,
  options: Parameters<typeof startArchivingPostgres>[1],
): Promise<Database> {
  const db = await startArchivingPostgres(archive, options);
  cleanups.unshift(() => db.stop());
  return db;
}

/** Every file archived is there once, and the segments of timeline 1 have no gap. */
async function expectCompleteChain(archive: WalArchive, segments: string[]): Promise<void> {
  const files = await archivedFiles(archive);
  expect(gaps(files)).toEqual([]);
  expect(segments.filter((name) => !files.has(name))).toEqual([]);
  const repeated = [...files].filter(([, { versions }]) => versions > 1).map(([name]) => name);
  expect(repeated).toEqual([]);
}

describe('S3 unreachable while PostgreSQL archives', { timeout: RESTORE_TIMEOUT_MS }, () => {
  it('PostgreSQL retries until S3 is back; then the chain has no gap and nothing is lost', async () => {
    const archive = await walArchive('pitr-outage');
    let s3 = await proxy();
    const port = Number(new URL(s3.url).port);
    // PostgreSQL does the retrying: wal push gives up at once instead of backing off for half a minute.
    const policy = await policyThrough(archive, s3.url);
    const db = await archivingPostgres(archive, { command: archiveCommand(policy, ['--retries', '0']) });
    await pgbench(db, ['-i', '-s', '1', '-q']);
    await pushBaseBackup(archive, db);
    await insertMarkers(db, [1]);
    await waitArchived(db);

    s3.close(); // RGW gone: connections refused
    const load = pgbench(db, ['-T', '3', '-c', '2']);
    await insertMarkers(db, [2, 3]);
    await load;
    await until(async () => (await archiver(db)).failedCount > 0, 'archive_command to fail', {
      timeoutMs: 90_000,
      everyMs: 500,
    });
    const piledUp = await readySegments(db);
    expect(piledUp.length).toBeGreaterThanOrEqual(2);
    const transactions = await count(db, 'pgbench_history');

    s3 = await proxy(undefined, port); // RGW back, at the same address
    await insertMarkers(db, [4]);
    await waitArchived(db, 120_000);

    await expectCompleteChain(archive, piledUp);
    const restored = await restoreTo(archive, 'latest');
    try {
      expect(await markerIds(restored)).toEqual([1, 2, 3, 4]);
      expect(await count(restored, 'pgbench_history')).toBe(transactions);
    } finally {
      await restored.stop();
    }
  });
});

describe('wal push killed with kill -9 in the middle of its uploads', () => {
  it('called again, it stores what was missing: no gap and no second version of anything', async () => {
    const archive = await walArchive('pitr-kill');
    // The first two uploads go through; the others hang until wal push dies, and are never stored.
    let hold = true;
    const s3 = await proxy((n) => (n <= 2 || !hold ? 'forward' : { holdUntil: new Promise(() => {}) }));
    const policy = await policyThrough(archive, s3.url);
    const db = await archivingPostgres(archive, { command: 'false' }); // segments pile up as .ready
    await completeSegments(db, 6);
    const ready = await readySegments(db);
    expect(ready.length).toBeGreaterThanOrEqual(6);

    const push = startWalPush(db, policy, ready[0]!);
    await until(
      async () =>
        s3.requests() > 2 && (await archivedFiles(archive)).size >= 2 && (await remembered(db)).length >= 2,
      'two uploads stored and remembered, and a third one under way',
    );
    process.kill(push.pid, 'SIGKILL');
    expect(await push.exited).toBeNull();
    const stored = await archivedFiles(archive);
    expect(stored.size).toBeLessThan(ready.length);

    hold = false;
    const again = await walPush(db, policy, ready[0]!);
    expect(again.status, again.stderr).toBe(0);
    await db.sql(`ALTER SYSTEM SET archive_command = '${archiveCommand(policy)}'; SELECT pg_reload_conf();`);
    await waitArchived(db);
    await expectCompleteChain(archive, ready);
  });
});
