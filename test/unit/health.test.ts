import { describe, expect, it } from 'vitest';
import { assessHealth, judgeRevoked, type HealthThresholds } from '../../src/core/health.js';
import { worstState } from '../../src/core/health-state.js';
import { run, snapshot } from '../support/snapshots.js';

const MiB = 1024 ** 2;
const at = (iso: string) => new Date(iso);
const now = at('2024-05-10T12:00:00Z');
const thresholds: HealthThresholds = {
  maxAgeMs: 26 * 3600_000,
  warnAgeMs: null,
  policyWarnMs: 3 * 86_400_000,
};
const ago = (hours: number) => new Date(now.getTime() - hours * 3600_000).toISOString();
const hoursAgo = (hours: number) => snapshot(`v${hours}`, ago(hours));

describe('assessHealth', () => {
  it('is OK for a fresh backup, counting backups but not delete markers', () => {
    const health = assessHealth(
      {
        snapshots: [
          hoursAgo(3),
          snapshot('old', '2024-05-01T00:00:00Z'),
          snapshot('dm', '2024-04-30T00:00:00Z', { state: 'deleted' }),
        ],
      },
      thresholds,
      now,
    );
    expect(health).toMatchObject({
      state: 'OK',
      reasons: [],
      ageMs: 3 * 3600_000,
      counts: { backups: 2, deleteMarkers: 1, incomplete: 0, broken: 0, strays: 0 },
    });
  });

  it('is CRITICAL past --max-age, saying by how much', () => {
    expect(assessHealth({ snapshots: [hoursAgo(27)] }, thresholds, now)).toMatchObject({
      state: 'CRITICAL',
      reasons: ['latest is 1d 3h old (max 1d 2h)'],
    });
  });

  it('warns only when a warning age is set', () => {
    expect(assessHealth({ snapshots: [hoursAgo(25)] }, thresholds, now).state).toBe('OK');
    expect(
      assessHealth({ snapshots: [hoursAgo(25)] }, { ...thresholds, warnAgeMs: 24 * 3600_000 }, now).state,
    ).toBe('WARNING');
  });

  it('is CRITICAL when the latest is a delete marker, however fresh', () => {
    expect(
      assessHealth(
        { snapshots: [snapshot('dm', ago(1), { state: 'deleted' }), hoursAgo(2)] },
        thresholds,
        now,
      ),
    ).toMatchObject({ state: 'CRITICAL', reasons: [expect.stringMatching(/delete marker/)] });
  });

  it('is UNKNOWN for a key without versions', () => {
    expect(assessHealth({ snapshots: [] }, thresholds, now)).toMatchObject({
      state: 'UNKNOWN',
      latest: null,
      counts: { backups: 0 },
    });
  });

  it('never counts an incomplete or broken run as the latest backup', () => {
    const health = assessHealth(
      { snapshots: [run('junk', ago(0.5), 'broken'), run('good', ago(30))] },
      thresholds,
      now,
    );
    expect(health.latest?.id).toBe('good');
    expect(health.state).toBe('CRITICAL');
    expect(health.reasons).toEqual([
      expect.stringMatching(/^latest is 1d 6h old/),
      expect.stringMatching(/1 BROKEN run \(junk/),
    ]);
  });

  it('notes a newer incomplete run, and warns once it stored nothing for an hour', () => {
    const running = assessHealth(
      { snapshots: [run('r2', ago(0.2), 'incomplete'), run('r1', ago(3))] },
      thresholds,
      now,
    );
    expect(running).toMatchObject({
      state: 'OK',
      reasons: [expect.stringMatching(/INCOMPLETE run \(r2\), maybe still running/)],
    });
    const stalled = assessHealth(
      { snapshots: [run('r2', ago(2), 'incomplete'), run('r1', ago(3))] },
      thresholds,
      now,
    );
    expect(stalled.state).toBe('WARNING');
  });

  it('is CRITICAL when nothing under a prefix is complete', () => {
    expect(assessHealth({ snapshots: [run('r1', ago(1), 'incomplete')] }, thresholds, now)).toMatchObject({
      state: 'CRITICAL',
      reasons: ['no complete backup at all', expect.stringMatching(/INCOMPLETE/)],
    });
  });

  it('counts strays and says so', () => {
    expect(assessHealth({ snapshots: [run('r1', ago(1))], strays: 7 }, thresholds, now)).toMatchObject({
      state: 'OK',
      counts: { strays: 7 },
      reasons: ['7 other object(s) under the prefix belong to no run'],
    });
  });

  it('judges the policy file: WARNING when it expires soon, CRITICAL once expired', () => {
    const fresh = [hoursAgo(1)];
    expect(
      assessHealth({ snapshots: fresh, policyExpiresAt: at('2024-05-20T00:00:00Z') }, thresholds, now).state,
    ).toBe('OK');
    expect(
      assessHealth({ snapshots: fresh, policyExpiresAt: at('2024-05-11T00:00:00Z') }, thresholds, now),
    ).toMatchObject({
      state: 'WARNING',
      reasons: ['the policy file expires in 12h'],
    });
    expect(
      assessHealth({ snapshots: fresh, policyExpiresAt: at('2024-05-10T00:00:00Z') }, thresholds, now).state,
    ).toBe('CRITICAL');
  });

  it('sums several targets up as the worst, CRITICAL above UNKNOWN', () => {
    expect(worstState([])).toBe('OK');
    expect(worstState(['OK', 'WARNING'])).toBe('WARNING');
    expect(worstState(['WARNING', 'UNKNOWN'])).toBe('UNKNOWN');
    expect(worstState(['UNKNOWN', 'CRITICAL', 'OK'])).toBe('CRITICAL');
  });

  it('stays WARNING while prune holds history, after the junk has become the median the alarm compares with', () => {
    // Nightly 1.6 MiB dumps for a month, then a compromised host pushes 232 B every 4 hours for 2 days.
    const genuine = Array.from({ length: 30 }, (_, night) =>
      snapshot(`g${night}`, ago(72 + 24 * night), { size: 1.6 * 1024 ** 2 }),
    );
    const junk = Array.from({ length: 12 }, (_, i) => snapshot(`j${i}`, ago(2 + 4 * i), { size: 232 }));
    const health = assessHealth({ snapshots: [...junk, ...genuine] }, thresholds, now);
    expect(health.state).toBe('WARNING');
    expect(health.reasons.join('; ')).toMatch(
      /the backup stream looked wrong at .*: it shrank .*; `sealdrop ack` once checked/,
    );
    // Acknowledged, it clears; an acknowledgement from before the junk clears nothing.
    const acked = assessHealth({ snapshots: [...junk, ...genuine], ackedAt: new Date(now) }, thresholds, now);
    expect(acked.state).toBe('OK');
    const afterAck = assessHealth(
      { snapshots: [...junk, ...genuine], ackedAt: new Date(Date.parse(ago(50))) },
      thresholds,
      now,
    );
    expect(afterAck.state).toBe('WARNING');
  });

  it('judges the stream as pushed: backups prune removed are no gap, and thinning is no flood', () => {
    // Nightly for 60 nights, thinned by prune to 14 dailies and weeklies before them.
    const nights = Array.from({ length: 60 }, (_, night) => ({ night, time: ago(2 + 24 * night) }));
    const kept = nights.filter(({ night }) => night < 14 || night % 7 === 0);
    const removed = nights.filter(({ night }) => !(night < 14 || night % 7 === 0));
    const snapshots = kept.map(({ night, time }) => snapshot(`n${night}`, time, { size: MiB }));
    const thinned = assessHealth({ snapshots }, thresholds, now);
    expect(thinned.reasons.join('; ')).toMatch(/a flood\?/);
    const pruned = removed.map(({ time }) => ({ time: new Date(time), size: MiB }));
    expect(assessHealth({ snapshots, pruned }, thresholds, now)).toMatchObject({ state: 'OK' });
  });

  it('a backup verify rejected is CRITICAL until acknowledged, and stays counted', () => {
    const good = snapshot('g', ago(26), { size: MiB });
    const junk = snapshot('j', ago(2), { size: MiB });
    const snapshots = [
      { ...junk, verifiedAt: null, rejectedAt: new Date(Date.parse(ago(1))) },
      { ...good, verifiedAt: new Date(Date.parse(ago(25))), rejectedAt: null },
    ];
    const health = assessHealth({ snapshots }, thresholds, now);
    expect(health.state).toBe('CRITICAL');
    expect(health.reasons.join('; ')).toMatch(/a backup REJECTED by verify \(the newest j of .*\)/);
    expect(health.counts).toMatchObject({ backups: 2, rejected: 1, unproven: 0 });
    const acked = assessHealth({ snapshots, ackedAt: new Date(now) }, thresholds, now);
    expect(acked.state).toBe('OK');
    expect(acked.reasons.join('; ')).toMatch(
      /1 rejected backup\(s\) \(100 B\) kept as evidence, acknowledged/,
    );
  });

  describe('a revoked host', () => {
    const revokedAt = new Date(ago(24 * 10));

    it('is OK and says REVOKED, however stale its backups or expired its policy', () => {
      const health = assessHealth(
        { snapshots: [hoursAgo(24 * 11)], policyExpiresAt: new Date(ago(24 * 5)), revokedAt },
        { ...thresholds, nothingStored: 'CRITICAL' },
        now,
      );
      expect(health.state).toBe('OK');
      expect(health.reasons).toEqual([
        `REVOKED since ${revokedAt.toISOString()} (10d ago): its uploads are denied by the bucket policy`,
      ]);
      expect(health.ageMs).toBe(11 * 86_400_000);
    });

    it('is OK with nothing stored at all', () => {
      expect(
        assessHealth({ snapshots: [], revokedAt }, { ...thresholds, nothingStored: 'CRITICAL' }, now).state,
      ).toBe('OK');
    });

    it('is CRITICAL when a backup arrived well after the revocation', () => {
      const health = assessHealth(
        { snapshots: [hoursAgo(3), hoursAgo(24 * 11)], revokedAt },
        thresholds,
        now,
      );
      expect(health.state).toBe('CRITICAL');
      expect(health.reasons[1]).toMatch(/a backup arrived 9d 21h after the revocation/);
    });

    it('judges a WAL archive by its newest upload the same way', () => {
      const late = judgeRevoked(revokedAt, new Date(ago(1)), 'a WAL file', now);
      expect(late.map(({ state }) => state)).toEqual(['OK', 'CRITICAL']);
      expect(late[1]!.reason).toMatch(/^a WAL file arrived 9d 23h after the revocation/);
      const underWay = new Date(revokedAt.getTime() + 60_000);
      expect(judgeRevoked(revokedAt, underWay, 'a WAL file', now).map(({ state }) => state)).toEqual(['OK']);
      expect(judgeRevoked(revokedAt, null, 'a WAL file', now).map(({ state }) => state)).toEqual(['OK']);
    });

    it('lets an upload under way at the revocation land without an alarm', () => {
      const justAfter = snapshot('v', new Date(revokedAt.getTime() + 60_000).toISOString());
      expect(assessHealth({ snapshots: [justAfter], revokedAt }, thresholds, now).state).toBe('OK');
    });
  });
});
