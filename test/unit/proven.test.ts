// Proofs in the pure code: what a proof folder's listing says, restore --verified's choice, status's
// judgement of the proofs' age, and the output limit a set's history gives.
import { describe, expect, it } from 'vitest';
import { assessHealth, type HealthThresholds } from '../../src/core/health.js';
import {
  goodBefore,
  historyLimit,
  proofFolder,
  proofKey,
  readProofFolder,
  withProofs,
} from '../../src/core/proofs.js';
import type { SealdropError } from '../../src/core/errors.js';
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

  it('--verified with a time: the newest proven one at or before it, and a refusal naming the time', () => {
    const snapshots = [
      marked('v4', 0, new Date(daysAgo(0))),
      marked('v3', 1, null),
      marked('v2', 2, new Date(daysAgo(1.9))),
      marked('v1', 3, new Date(daysAgo(2.9))),
    ];
    const at = (days: number) => ({ kind: 'verified' as const, at: new Date(daysAgo(days)) });
    expect(chooseSnapshot(snapshots, at(0.5), 's3://b/k').snapshot.id).toBe('v2');
    expect(chooseSnapshot(snapshots, at(2), 's3://b/k').snapshot.id).toBe('v2');
    expect(chooseSnapshot(snapshots, at(2.5), 's3://b/k').snapshot.id).toBe('v1');
    expect(() => chooseSnapshot(snapshots, at(3.5), 's3://b/k')).toThrow(
      `s3://b/k has no verified version at or before ${daysAgo(3.5)}; the oldest is from ${daysAgo(3)}`,
    );
    try {
      chooseSnapshot(snapshots, at(3.5), 's3://b/k');
    } catch (error) {
      // Neither restore's --at nor an id: pg restore has neither.
      expect((error as SealdropError).hint).toBe(
        'Verify one first (`sealdrop verify TARGET --unproven --identity KEY.asc` records the proofs), or leave out --verified to take one not proven.',
      );
    }
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

  it('status is OK while the newest proven backup is younger than --max-unverified-age, WARNING once older', () => {
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
  });

  it('none proven: OK while the oldest backup is younger than --max-unverified-age (a new set awaits its first proof), then WARNING', () => {
    const young = assessHealth(
      { snapshots: [marked('v2', 0.5, null), marked('v1', 1, null)] },
      thresholds,
      now,
    );
    expect(young.state).toBe('OK');
    expect(young.reasons).toContain('no backup proven yet; the oldest is 1d old (max 8d)');
    const old = assessHealth(
      { snapshots: [marked('v2', 0.5, null), marked('v1', 9, null)] },
      thresholds,
      now,
    );
    expect(old.state).toBe('WARNING');
    expect(old.reasons).toContain(
      'no backup proven yet, and the oldest is 9d old (max 8d): the nightly proof (sealdrop verify --unproven) proves them',
    );
  });

  it('none proven: a blind prune that keeps only young backups does not make the set new again', () => {
    const pruned = assessHealth(
      {
        snapshots: [marked('v2', 0.5, null), marked('v1', 1, null)],
        pruned: [{ time: new Date(daysAgo(9)), size: 100 }],
      },
      thresholds,
      now,
    );
    expect(pruned.state).toBe('WARNING');
    expect(pruned.reasons).toContain(
      'no backup proven yet, and the oldest is 9d old (max 8d): the nightly proof (sealdrop verify --unproven) proves them',
    );
  });

  it('none proven good, but the drill ran: says how many it rejected', () => {
    const rejected = assessHealth(
      {
        snapshots: [
          snapshot('v2', daysAgo(0.5), { verifiedAt: null, rejectedAt: new Date(daysAgo(0.4)) }),
          snapshot('v1', daysAgo(9), { verifiedAt: null, rejectedAt: new Date(daysAgo(8.9)) }),
        ],
        ackedAt: new Date(daysAgo(0.1)),
      },
      thresholds,
      now,
    );
    expect(rejected.state).toBe('WARNING');
    expect(rejected.reasons).toContain(
      'no backup proven good (2 rejected), and the oldest is 9d old (max 8d)',
    );
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

describe('a proof folder', () => {
  const location = { bucket: 'b', key: 'db1/x.sql.gz.gpg', isPrefix: false };
  const t = (iso: string) => new Date(iso);
  const name = (id: string, time: string, kind: 'good' | 'rejected' | 'approved') =>
    proofKey(location, { id, time: t(time) }, kind).slice(proofFolder(location).length);

  it("says each snapshot's standing verdict: the newest stands, an approval makes a rejected one good", () => {
    const proofs = readProofFolder([
      { name: name('v1', '2026-06-01T02:30:00.000Z', 'good'), time: t('2026-06-01T04:00:00Z') },
      { name: name('v/2', '2026-06-02T02:30:00.123Z', 'rejected'), time: t('2026-06-02T04:00:00Z') },
      { name: name('v3', '2026-06-03T02:30:00.000Z', 'rejected'), time: t('2026-06-03T04:00:00Z') },
      { name: name('v3', '2026-06-03T02:30:00.000Z', 'approved'), time: t('2026-06-03T09:00:00Z') },
      { name: 'ack.json', time: t('2026-06-02T08:00:00Z') },
      { name: 'not-ours/whatever.json', time: t('2026-06-02T08:00:00Z') },
      { name: '20260601T023000.000Z_v9/forged.json', time: t('2026-06-02T08:00:00Z') },
    ]);
    expect([...proofs.states.values()].map((s) => [s.snapshotId, s.verdict, s.kind])).toEqual([
      ['v1', 'good', 'good'],
      ['v/2', 'rejected', 'rejected'],
      ['v3', 'good', 'approved'],
    ]);
    expect(proofs.ackedAt).toEqual(t('2026-06-02T08:00:00Z'));
    expect(goodBefore(proofs, t('2026-06-03T02:30:00.000Z'))?.snapshotId).toBe('v1');
    expect(goodBefore(proofs, t('2026-06-04T00:00:00Z'))?.snapshotId).toBe('v3');
    expect(goodBefore(proofs, t('2026-06-01T00:00:00Z'))).toBeNull();
    const [v2] = withProofs([snapshot('v/2', '2026-06-02T02:30:00.123Z')], proofs);
    expect(v2).toMatchObject({ verifiedAt: null, rejectedAt: t('2026-06-02T04:00:00Z') });
  });

  it('proves only the snapshot it was made of: a run id pushed again later is not proven', () => {
    // A removed run's proof can stay behind (a prune interrupted between the run and its proofs, an
    // Object Lock on the proof); the agent picks run ids, so a compromised host can reuse that one.
    const proofs = readProofFolder([
      {
        name: name('20260601T023000Z-a1b2c3', '2026-06-01T02:30:05.000Z', 'good'),
        time: t('2026-06-01T04:00:00Z'),
      },
    ]);
    const [again, genuine] = withProofs(
      [
        run('20260601T023000Z-a1b2c3', '2026-06-09T02:30:05.000Z'),
        run('20260601T023000Z-a1b2c3', '2026-06-01T02:30:05.000Z'),
      ],
      proofs,
    );
    expect(again).toMatchObject({ verifiedAt: null, rejectedAt: null });
    expect(genuine).toMatchObject({ verifiedAt: t('2026-06-01T04:00:00Z') });
    expect(goodBefore(proofs, t('2026-06-10T00:00:00Z'))?.snapshotTime).toEqual(
      t('2026-06-01T02:30:05.000Z'),
    );
  });

  it("gives the output limit of a history: 20x the good backup's restored size, at least 64 MiB", () => {
    expect(historyLimit(undefined)).toBeNull();
    expect(historyLimit(0)).toBeNull();
    expect(historyLimit(1024)).toBe(64 * 1024 ** 2);
    expect(historyLimit(1024 ** 3)).toBe(20 * 1024 ** 3);
  });
});
