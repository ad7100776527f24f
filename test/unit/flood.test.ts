// A compromised host can write a million objects. Listing, grouping and planning must stay correct and
// bounded: no spread of an unbounded array into a call (the stack overflows near 125,000), memory well
// under 1 GiB, and the good backups still found.
import { describe, expect, it } from 'vitest';
import { planPrune } from '../../src/core/prune-plan.js';
import { newRunId, partName, runKey } from '../../src/core/layout.js';
import { RunGrouper, runSnapshot, listingVerdict } from '../../src/core/runs.js';
import {
  chooseSnapshot,
  versionSnapshot,
  type ListedVersion,
  type Snapshot,
} from '../../src/core/snapshot.js';
import { assessHealth } from '../../src/core/health.js';
import { proofFolder } from '../../src/core/proofs.js';
import { backupSet } from '../../src/admin/sets/open.js';
import { historyOutputLimit } from '../../src/admin/sets/proofs.js';
import { listing } from '../support/generated-listing.js';

const MILLION = 1_000_000;
const GIB = 1024 ** 3;
const NOW = new Date('2026-12-01T12:00:00Z');

function entry(key: string, ms: number, i: number): ListedVersion {
  return {
    key,
    versionId: `v${i}`,
    lastModified: new Date(ms),
    size: 1,
    etag: `e${i}`,
    isDeleteMarker: false,
    isLatest: i === 0,
  };
}

describe('a million entries', () => {
  it('a key with 1,000,000 junk versions on top of a month of nightly backups: planned, the good ones kept', () => {
    const snapshots: Snapshot[] = [];
    // Newest first, as S3 lists them: the flood (one version every 100 ms in the last day), then 30 nightlies.
    const floodStart = NOW.getTime() - MILLION * 100;
    for (let i = 0; i < MILLION; i++)
      snapshots.push(versionSnapshot(entry('db.gz.gpg', NOW.getTime() - i * 100, i)));
    for (let d = 1; d <= 30; d++)
      snapshots.push(versionSnapshot(entry('db.gz.gpg', floodStart - d * 86_400_000, MILLION + d)));
    const plan = planPrune(snapshots, { policy: { daily: 14, weekly: 8 }, timeZone: 'UTC', now: NOW });
    expect(plan.totals.backups).toBe(MILLION + 30);
    const kept = plan.items.filter((i) => i.action === 'keep');
    expect(kept.length).toBeGreaterThan(14);
    expect(plan.totals.remove).toBe(MILLION + 30 - kept.length);
    expect(
      assessHealth({ snapshots }, { maxAgeMs: 86_400_000, warnAgeMs: null, policyWarnMs: 0 }, NOW).counts
        .backups,
    ).toBe(MILLION + 30);
    expect(chooseSnapshot(snapshots, { kind: 'at', at: new Date(floodStart - 1) }, 'x').snapshot.id).toBe(
      `v${MILLION + 1}`,
    );
    expect(process.memoryUsage().rss).toBeLessThan(GIB);
  }, 120_000);

  it('a prefix with 1,000,000 strays and an incomplete run of 1,000,000 part versions beside a good run: grouped in bounded memory', () => {
    const prefix = 'db/';
    const good = newRunId(new Date('2026-11-30T02:30:00Z'), 'aaaaaa');
    const junk = newRunId(new Date('2026-12-01T10:00:00Z'), 'bbbbbb');
    const grouper = new RunGrouper(prefix);
    // In S3's key order: the good run, the junk run's parts, then the strays ("db/x…" sorts after "db/2…").
    grouper.add(entry(runKey(prefix, good, 'manifest.json'), NOW.getTime() - 9e7, 0));
    grouper.add(entry(runKey(prefix, good, partName(1)), NOW.getTime() - 9e7, 1));
    const parts = 100_000; // MAX_PARTS: the most part numbers a run can have; each written ten times over
    for (let n = 1; n <= parts; n++)
      for (let v = 0; v < MILLION / parts; v++)
        grouper.add(entry(runKey(prefix, junk, partName(n)), NOW.getTime() - v * 1000, n * 10 + v));
    for (let i = 0; i < MILLION; i++)
      grouper.add(entry(`${prefix}x/${String(i).padStart(7, '0')}`, NOW.getTime(), i));
    const { runs, strays } = grouper.finish();
    expect(strays.count).toBe(MILLION);
    expect(strays.sample).toHaveLength(5);
    const byId = new Map(runs.map((r) => [r.runId, r]));
    expect(byId.get(junk)).toMatchObject({ objectVersions: MILLION, overwritten: { count: parts } });
    expect(byId.get(junk)!.overwritten.names).toHaveLength(3);
    expect(byId.get(junk)!.parts.size).toBe(parts);
    expect(listingVerdict(byId.get(good)!)).toBeNull(); // complete-looking: its manifest gets read
    expect(byId.get(good)!.parts.size).toBe(1);
    const snapshot = runSnapshot(byId.get(junk)!, listingVerdict(byId.get(junk)!)!);
    expect(snapshot).toMatchObject({ state: 'incomplete', parts });
    expect(process.memoryUsage().rss).toBeLessThan(GIB);
  }, 120_000);
});

describe('a proof folder past its limit', () => {
  it("leaves restore its fixed output limit instead of stopping it (a verify --all over a flood's junk)", async () => {
    const location = { bucket: 'b', key: 'db1/x.sql.gz.gpg', isPrefix: false };
    const folder = proofFolder(location);
    const rejected = Array.from({ length: 200_001 }, (_, i) => ({
      Key: `${folder}20261201T000000.000Z_junk${i}/rejected.json`,
      VersionId: `p${i}`,
      LastModified: new Date(NOW.getTime() - i),
      Size: 500,
    }));
    const set = backupSet(listing(rejected).client, location);
    const good = versionSnapshot(entry(location.key, NOW.getTime() - 86_400_000, 0));
    expect(await historyOutputLimit(set, good)).toBeNull();
  });
});
