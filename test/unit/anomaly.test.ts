// The anomaly detector on generated histories: what a compromised host's junk looks like against the
// backups before it, and what ordinary life looks like.
import { describe, expect, it } from 'vitest';
import { DEFAULT_ANOMALY_THRESHOLDS, judgeStream } from '../../src/core/anomaly.js';
import type { Snapshot } from '../../src/core/snapshot.js';
import { snapshot } from '../support/snapshots.js';

const DAY = 86_400_000;
const NOW = new Date('2026-12-01T12:00:00Z');
const MiB = 1024 ** 2;

/** Newest first, as listed: `sizes[i]` is the backup `i` nights before `NOW` (plus `shiftMs`). */
function nightly(sizes: number[], shiftMs = -9.5 * 3_600_000): Snapshot[] {
  return sizes.map((size, i) =>
    snapshot(`n${i}`, new Date(NOW.getTime() + shiftMs - i * DAY).toISOString(), { size }),
  );
}

let seed = 42;
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

describe('judgeStream', () => {
  it('is quiet on a steady history, a growing one and a noisy one (±20% night to night)', () => {
    const steady = nightly(Array.from({ length: 30 }, () => 1.63 * MiB));
    const growing = nightly(Array.from({ length: 30 }, (_, i) => (100 - i) * MiB));
    const noisy = nightly(Array.from({ length: 60 }, () => MiB * (0.8 + 0.4 * random())));
    for (const history of [steady, growing, noisy])
      expect(judgeStream(history, DEFAULT_ANOMALY_THRESHOLDS, NOW)).toEqual({ current: [], since: null });
  });

  it('says nothing with less than three backups to compare with, even for a tiny first backup', () => {
    expect(judgeStream(nightly([232]), DEFAULT_ANOMALY_THRESHOLDS, NOW).current).toEqual([]);
    expect(judgeStream(nightly([232, MiB, MiB]), DEFAULT_ANOMALY_THRESHOLDS, NOW).current).toEqual([]);
  });

  it('is CRITICAL for 1.6 MiB -> 232 B, naming the rule and the numbers', () => {
    const verdict = judgeStream(
      nightly([232, ...Array.from({ length: 10 }, () => 1.63 * MiB)]),
      DEFAULT_ANOMALY_THRESHOLDS,
      NOW,
    );
    expect(verdict.current).toEqual([
      expect.objectContaining({
        rule: 'shrank',
        state: 'CRITICAL',
        message: expect.stringMatching(/^shrank 1\.63 MiB -> 232 B \(-100%; warn at -40%/),
      }),
    ]);
    expect(verdict.since?.snapshot.id).toBe('n0');
  });

  it('warns for a backup far larger than its history (150x), not for a big but ordinary jump (5x)', () => {
    const history = Array.from({ length: 10 }, () => 195 * 1024);
    const grew = judgeStream(nightly([28.6 * MiB, ...history]), DEFAULT_ANOMALY_THRESHOLDS, NOW);
    expect(grew.current).toEqual([
      expect.objectContaining({
        rule: 'grew',
        state: 'WARNING',
        message: expect.stringMatching(
          /^grew 195\.0 KiB -> 28\.6 MiB \(150x; warn at 10x; against the median of the 7/,
        ),
      }),
    ]);
    expect(grew.since?.snapshot.id).toBe('n0');
    const jump = judgeStream(nightly([5 * 195 * 1024, ...history]), DEFAULT_ANOMALY_THRESHOLDS, NOW);
    expect(jump.current).toEqual([]);
    const off = { ...DEFAULT_ANOMALY_THRESHOLDS, growthFactor: 0 };
    expect(judgeStream(nightly([28.6 * MiB, ...history]), off, NOW).current).toEqual([]);
  });

  it('warns for a dump cut in half, and a minimum size is CRITICAL', () => {
    const half = judgeStream(
      nightly([0.5 * MiB, ...Array.from({ length: 10 }, () => MiB)]),
      DEFAULT_ANOMALY_THRESHOLDS,
      NOW,
    );
    expect(half.current).toEqual([expect.objectContaining({ rule: 'shrank', state: 'WARNING' })]);
    const small = judgeStream(
      nightly([0.9 * MiB, MiB, MiB, MiB]),
      { ...DEFAULT_ANOMALY_THRESHOLDS, minSize: MiB },
      NOW,
    );
    expect(small.current).toEqual([expect.objectContaining({ rule: 'min-size', state: 'CRITICAL' })]);
  });

  it('warns for a flood: backups every 4 hours after nightly ones, and keeps the first junk as the start', () => {
    const genuine = Array.from({ length: 10 }, (_, i) =>
      snapshot(`g${i}`, new Date(NOW.getTime() - 2 * DAY - i * DAY).toISOString(), { size: MiB }),
    );
    const junk = Array.from({ length: 12 }, (_, i) =>
      snapshot(`j${i}`, new Date(NOW.getTime() - i * 4 * 3_600_000).toISOString(), { size: MiB }),
    );
    const verdict = judgeStream([...junk, ...genuine], DEFAULT_ANOMALY_THRESHOLDS, NOW);
    // The first junk backups arrive 4 h apart after a day-long rhythm: a flood; the history adapts later.
    expect(verdict.since).toMatchObject({ rule: 'flood', snapshot: { id: 'j11' } });
    expect(verdict.since?.message).toMatch(
      /arrived 4h after the one before, where backups usually come every 1d/,
    );
  });

  it('a single drop long ago (out of the window) holds nothing; a recent one holds from it', () => {
    const sizes = Array.from({ length: 60 }, (_, i) => (i === 45 ? 0.1 * MiB : MiB));
    expect(judgeStream(nightly(sizes), DEFAULT_ANOMALY_THRESHOLDS, NOW).since).toBeNull();
    sizes[45] = MiB;
    sizes[5] = 0.1 * MiB;
    const recent = judgeStream(nightly(sizes), DEFAULT_ANOMALY_THRESHOLDS, NOW);
    expect(recent.since?.snapshot.id).toBe('n5');
    expect(recent.current).toEqual([]); // the newest backup is fine again
  });

  it('judges a million backups in bounded time', () => {
    const million = Array.from({ length: 1_000_000 }, (_, i) =>
      snapshot(`v${i}`, new Date(NOW.getTime() - i * 60_000).toISOString(), { size: 1000 }),
    );
    expect(judgeStream(million, DEFAULT_ANOMALY_THRESHOLDS, NOW).current).toEqual([]);
  }, 60_000);
});
