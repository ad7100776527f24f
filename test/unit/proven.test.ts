// Verified marks in the pure code: restore --verified chooses the newest verified backup, status judges
// its age against --max-unverified-age, and both say when marks were not read.
import { describe, expect, it } from 'vitest';
import { assessHealth, type HealthThresholds } from '../../src/core/health.js';
import { chooseSnapshot } from '../../src/core/snapshot.js';
import { run, snapshot } from '../support/snapshots.js';

const DAY = 86_400_000;
const now = new Date('2026-06-10T12:00:00Z');
const daysAgo = (days: number) => new Date(now.getTime() - days * DAY).toISOString();

describe('the newest verified backup', () => {
  const marked = (id: string, days: number, verifiedAt: Date | null | undefined) =>
    snapshot(id, daysAgo(days), verifiedAt === undefined ? {} : { verifiedAt });

  it('restore --verified picks the newest complete one with a mark, past newer unverified ones', () => {
    const snapshots = [
      marked('v4', 0, null),
      run('broken', daysAgo(0.5), 'broken', { verifiedAt: new Date(daysAgo(0.5)) }),
      marked('v3', 1, new Date(daysAgo(0.9))),
      marked('v2', 2, new Date(daysAgo(1.9))),
    ];
    expect(chooseSnapshot(snapshots, { kind: 'verified' }, 's3://b/k').snapshot.id).toBe('v3');
  });

  it('refuses when none is verified', () => {
    expect(() =>
      chooseSnapshot([marked('v2', 0, null), marked('v1', 1, null)], { kind: 'verified' }, 's3://b/k'),
    ).toThrow(/^s3:\/\/b\/k has no verified version$/);
  });

  const thresholds: HealthThresholds = {
    maxAgeMs: 2 * DAY,
    warnAgeMs: null,
    policyWarnMs: DAY,
    maxUnverifiedAgeMs: 8 * DAY,
  };

  it('status is OK while it is younger than --max-unverified-age, WARNING once older or when none is', () => {
    const recent = assessHealth(
      { snapshots: [marked('v2', 0.5, null), marked('v1', 3, new Date(daysAgo(1)))] },
      thresholds,
      now,
    );
    expect(recent.state).toBe('OK');
    expect(recent.reasons).toEqual([
      '1 backup(s) (100 B) not proven yet by sealdrop verify',
      'the newest verified backup is 3d old (verified 1d ago)',
    ]);
    const stale = assessHealth(
      { snapshots: [marked('v2', 0.5, null), marked('v1', 9, new Date(daysAgo(9)))] },
      thresholds,
      now,
    );
    expect(stale.state).toBe('WARNING');
    expect(stale.reasons).toContain('the newest verified backup is 9d old (verified 9d ago; max 8d)');
    const none = assessHealth(
      { snapshots: [marked('v2', 0.5, null), marked('v1', 1, null)] },
      thresholds,
      now,
    );
    expect(none.state).toBe('WARNING');
    expect(none.reasons[0]).toMatch(/^no verified backup: the nightly proof \(sealdrop verify --unproven\)/);
  });

  it('is not judged without the threshold', () => {
    const health = assessHealth(
      { snapshots: [marked('v1', 0.5, null)] },
      { ...thresholds, maxUnverifiedAgeMs: null },
      now,
    );
    expect(health).toMatchObject({ state: 'OK', reasons: [] });
  });
});
