// key retire-check's pure part: which backups only the old key opens, and when prune's plan will have
// removed the last of them, checked against a brute-force walk of the same plan.
import { describe, expect, it } from 'vitest';
import { planPrune } from '../../src/core/prune-plan.js';
import type { Recipients } from '../../src/core/recipients.js';
import type { RetentionPolicy } from '../../src/core/retention.js';
import { classifyBackups, forecastRemoval, usualInterval } from '../../src/core/retire.js';
import type { Snapshot } from '../../src/core/snapshot.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const OLD = 'AAAAAAAAAAAAAAAA';
const NEW = 'BBBBBBBBBBBBBBBB';

/** Backups at the given times (newest first, as listings are). */
function backups(times: number[], extra: Partial<Snapshot> = {}): Snapshot[] {
  return times
    .map((ms, i) => ({
      kind: 'version' as const,
      id: `v${i}`,
      time: new Date(ms),
      size: 1000,
      state: 'complete' as const,
      notes: [],
      objectVersions: 1,
      storedBytes: 1000,
      ...extra,
    }))
    .sort((x, y) => y.time.getTime() - x.time.getTime());
}

/** One a day at 02:00 UTC, the first on `first`. */
const nightly = (first: string, count: number) =>
  Array.from({ length: count }, (_, i) => Date.parse(first) + i * DAY);

/** The first future backup after which prune's plan has removed every one of `ids`: one plan per step. */
function bruteForce(snapshots: Snapshot[], ids: Set<string>, policy: RetentionPolicy, now: Date, max = 400) {
  const interval = usualInterval(snapshots);
  const start = Math.max(snapshots[0]!.time.getTime(), now.getTime());
  for (let k = 0; k <= max; k++) {
    const future = backups(Array.from({ length: k }, (_, i) => start + (i + 1) * interval)).map((s) => ({
      ...s,
      id: `f${s.id}`,
    }));
    const at = k === 0 ? now : new Date(start + k * interval);
    const plan = planPrune([...future, ...snapshots], { policy, now: at, force: true, timeZone: 'UTC' });
    if (!plan.items.some((item) => item.action === 'keep' && ids.has(item.snapshot.id))) return at;
  }
  return null;
}

describe('classifyBackups', () => {
  it('classes complete backups only, by their recipients', () => {
    const snapshots = [
      ...backups([3 * DAY, 2 * DAY, DAY]),
      { ...backups([4 * DAY])[0]!, id: 'gone', state: 'deleted' as const },
    ];
    const read = new Map<string, Recipients>([
      ['v0', { kind: 'read', keyIds: [OLD], passphrases: 0, more: false }],
      ['v1', { kind: 'read', keyIds: [OLD, NEW], passphrases: 0, more: false }],
      ['v2', { kind: 'none', why: 'not OpenPGP' }],
    ]);
    const classes = classifyBackups(snapshots, read, new Set([OLD])).map((b) => [b.snapshot.id, b.class]);
    expect(classes).toEqual([
      ['v0', 'only-old'],
      ['v1', 'other'],
      ['v2', 'unreadable'],
    ]);
  });
});

describe('forecastRemoval', () => {
  const times = nightly('2026-11-01T02:00:00Z', 10);
  const snapshots = backups(times);
  const now = new Date('2026-11-10T12:00:00Z');
  /** The oldest three (v0..v2) were encrypted to the old key only. */
  const oldOnly = new Set(['v0', 'v1', 'v2']);

  it('is now when the next prune removes them already', () => {
    const forecast = forecastRemoval(snapshots, oldOnly, { policy: { last: 5 }, now, timeZone: 'UTC' });
    expect(forecast.at).toEqual(now);
  });

  it('is the prune after the backup that pushes the last of them out of --keep-last', () => {
    const forecast = forecastRemoval(snapshots, oldOnly, { policy: { last: 9 }, now, timeZone: 'UTC' });
    // v2 is the 8th newest: two more backups, a day apart from now, push it out.
    expect(forecast).toMatchObject({
      at: new Date(now.getTime() + 2 * DAY),
      forever: false,
      intervalMs: DAY,
    });
  });

  it('agrees with a brute-force walk of prune plans for calendar rules', () => {
    const long = backups(nightly('2026-01-01T02:00:00Z', 120));
    // Mar 2 to Apr 10, kept now by the weekly and monthly rules.
    const ids = new Set(long.slice(20, 60).map((s) => s.id));
    const at = new Date('2026-05-01T12:00:00Z');
    for (const policy of [
      { daily: 7, weekly: 4, monthly: 3 },
      { daily: 14, weekly: 8 },
      { within: '30d', monthly: 2, earliest: true },
    ] as RetentionPolicy[]) {
      const forecast = forecastRemoval(long, ids, { policy, now: at, timeZone: 'UTC' });
      expect(forecast.at, JSON.stringify(policy)).toEqual(bruteForce(long, ids, policy, at));
    }
  });

  it('says a rule without a limit keeps one forever, and which', () => {
    // The last of 2026 is v0..v2's newest (Dec 31): yearly -1 keeps it for good.
    const year = backups(nightly('2026-12-29T02:00:00Z', 6));
    const forecast = forecastRemoval(year, new Set(['v0', 'v1', 'v2']), {
      policy: { daily: 7, yearly: -1 },
      now: new Date('2027-01-04T03:00:00Z'),
      timeZone: 'UTC',
    });
    expect(forecast.at).toBeNull();
    expect(forecast.forever).toBe(true);
    expect(forecast.keptBy).toContain('yearly');
  });

  it('says no keep rules keep everything forever', () => {
    expect(forecastRemoval(snapshots, oldOnly, { policy: {}, now })).toMatchObject({
      at: null,
      forever: true,
      keptBy: ['no keep rules'],
    });
  });

  it('stops at the horizon for a rule with a limit beyond it', () => {
    const forecast = forecastRemoval(snapshots, oldOnly, {
      policy: { within: '200y' },
      now,
      timeZone: 'UTC',
    });
    expect(forecast.at).toBeNull();
    expect(forecast.forever).toBe(false);
    expect(forecast.keptBy).toEqual(['within 200y']);
    expect(forecast.horizon.getTime()).toBeGreaterThan(now.getTime() + 25 * 365 * DAY);
  });

  it('waits out Object Lock as prune does', () => {
    const until = new Date(now.getTime() + 20 * DAY);
    const locked = snapshots.map((s) =>
      oldOnly.has(s.id)
        ? { ...s, lock: { until, mode: 'COMPLIANCE' as const, legalHold: false, source: 'version' as const } }
        : s,
    );
    const forecast = forecastRemoval(locked, oldOnly, { policy: { last: 5 }, now, timeZone: 'UTC' });
    expect(forecast.at!.getTime()).toBeGreaterThanOrEqual(until.getTime());
    expect(forecast.at!.getTime()).toBeLessThan(until.getTime() + DAY);
  });
});

describe('usualInterval', () => {
  it('is the median of the newest intervals, at least an hour, a day without two backups', () => {
    expect(usualInterval(backups(nightly('2026-11-01T02:00:00Z', 5)))).toBe(DAY);
    expect(usualInterval(backups([0, 60_000, 120_000]))).toBe(HOUR);
    expect(usualInterval(backups([0]))).toBe(DAY);
    expect(usualInterval(backups([0, 2 * HOUR, 4 * HOUR, 40 * HOUR]))).toBe(2 * HOUR);
  });
});
