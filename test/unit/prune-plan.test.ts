// The prune planner's own guards, over snapshots (the retention rules are tested in retention.test.ts).
import { describe, expect, it } from 'vitest';
import { planPrune, type PrunePlan } from '../../src/core/prune-plan.js';
import { COUNT_RULES, WITHIN_RULE_NAMES } from '../../src/core/retention.js';
import type { Snapshot } from '../../src/core/snapshot.js';
import { run, snapshot } from '../support/snapshots.js';

const NOW = new Date('2024-05-10T12:00:00Z');
const plan = (snapshots: Snapshot[], extra: Partial<Parameters<typeof planPrune>[1]> = {}) =>
  planPrune(snapshots, { policy: { last: 1 }, timeZone: 'UTC', now: NOW, ...extra });
const actions = (p: PrunePlan) => p.items.map((i) => [i.snapshot.id, i.action, i.reasons.join(', ')]);

describe('planPrune', () => {
  it('plans over complete backups with the retention rules, keeping every reason', () => {
    const p = plan(
      [
        snapshot('v3', '2024-05-03T00:00:00Z'),
        snapshot('v2', '2024-05-02T00:00:00Z'),
        snapshot('v1', '2024-05-01T00:00:00Z'),
      ],
      { policy: { daily: 2 } },
    );
    expect(actions(p)).toEqual([
      ['v3', 'keep', 'daily'],
      ['v2', 'keep', 'daily'],
      ['v1', 'remove', ''],
    ]);
    expect(p.totals).toEqual({
      backups: 3,
      keep: 2,
      remove: 1,
      otherRemoved: 0,
      locked: 0,
      objectVersions: 1,
      bytesFreed: 100,
      rejected: { count: 0, bytes: 0 },
      unproven: { count: 0, bytes: 0 },
    });
    expect(p.blind).toBe(true);
    expect(p.warnings[0]).toMatch(/^prune is running blind: no backup of this set was ever verified/);
    expect(p.needsForce).toBe(false);
  });

  it('keeps the newest complete backup under any policy', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const [rules, withins] = [COUNT_RULES, WITHIN_RULE_NAMES];
    for (let round = 0; round < 200; round++) {
      const list = Array.from({ length: 1 + Math.floor(random() * 20) }, (_, i) =>
        snapshot(`s${i}`, new Date(NOW.getTime() - i * 3600_000 * (1 + random() * 100)).toISOString()),
      );
      const policy =
        random() < 0.5
          ? { [rules[Math.floor(random() * rules.length)]!]: 1 + Math.floor(random() * 3) }
          : { [withins[Math.floor(random() * withins.length)]!]: `${1 + Math.floor(random() * 30)}min` };
      expect(plan(list, { policy }).items[0]!.action, JSON.stringify(policy)).toBe('keep');
    }
  });

  it('keeps delete markers unless asked, and never counts them as backups', () => {
    const list = [
      snapshot('dm', '2024-05-04T00:00:00Z', { state: 'deleted', size: 0, storedBytes: 0 }),
      snapshot('v1', '2024-05-01T00:00:00Z'),
    ];
    expect(actions(plan(list))[0]).toEqual(['dm', 'keep', 'delete marker']);
    const removing = plan(list, { deleteMarkers: true });
    expect(actions(removing)[0]).toEqual(['dm', 'remove', 'delete marker']);
    expect(removing.totals).toMatchObject({ backups: 1, keep: 1, otherRemoved: 1 });
  });

  it('removes broken runs and stalled or superseded incomplete ones; keeps one that may still be running', () => {
    const p = plan([
      run('running', '2024-05-10T11:30:00Z', 'incomplete'),
      run('junk', '2024-05-10T11:00:00Z', 'broken', { notes: ['it has a manifest but no parts'] }),
      run('good', '2024-05-10T02:30:00Z'),
      run('failed', '2024-05-09T02:30:00Z', 'incomplete'),
    ]);
    expect(actions(p)).toEqual([
      ['running', 'keep', 'incomplete, may still be running'],
      ['junk', 'remove', 'broken: it has a manifest but no parts'],
      ['good', 'keep', 'last'],
      ['failed', 'remove', 'incomplete: the push did not finish'],
    ]);
    expect(p.totals).toMatchObject({ backups: 1, keep: 1, remove: 0, otherRemoved: 2 });
    const stalled = plan([
      run('stalled', '2024-05-10T10:00:00Z', 'incomplete'),
      run('good', '2024-05-10T02:30:00Z'),
    ]);
    expect(actions(stalled)[0]).toEqual(['stalled', 'remove', 'incomplete: the push did not finish']);
  });

  it('asks for --force when more than half of the backups would go', () => {
    const list = ['04', '03', '02', '01'].map((d) => snapshot(d, `2024-05-${d}T00:00:00Z`));
    expect(plan(list, { policy: { last: 2 } }).needsForce).toBe(false);
    expect(plan(list, { policy: { last: 1 } }).needsForce).toBe(true);
  });

  it('refuses an empty policy and warns about --keep-last alone', () => {
    expect(() => plan([], { policy: {} })).toThrow(
      expect.objectContaining({
        code: 'USAGE',
        message: expect.stringMatching(/no retention policy/),
        // The README's recommendation for nightly dumps, not another one.
        hint: expect.stringContaining('--keep-daily 14 --keep-weekly 8 --keep-monthly 24 --keep-yearly -1'),
      }),
    );
    expect(plan([], { policy: { last: 3 } }).warnings).toEqual([
      expect.stringMatching(/--keep-last alone is fragile/),
    ]);
    expect(plan([], { policy: { last: 3, daily: 7 } }).warnings).toEqual([]);
  });

  it('once proven, ranks only the good: junk keeps no period, unproven young ones stay, rejected ones are evidence', () => {
    const now = new Date('2026-03-20T12:00:00Z');
    const day = (d: number, hour = 2) => new Date(Date.UTC(2026, 2, d, hour, 30)).toISOString();
    const good = (id: string, time: string) => ({
      ...snapshot(id, time, { size: 100 }),
      verifiedAt: new Date(time),
      rejectedAt: null,
    });
    const junk = (id: string, time: string) => ({
      ...snapshot(id, time, { size: 100 }),
      verifiedAt: null,
      rejectedAt: new Date(time),
    });
    const unproven = (id: string, time: string) => ({
      ...snapshot(id, time, { size: 100 }),
      verifiedAt: null,
      rejectedAt: null,
    });
    const snapshots = [
      unproven('u20', day(20)),
      junk('j19', day(19)),
      junk('j18', day(18)),
      good('g17', day(17)),
      good('g16', day(16)),
      unproven('old', day(1, 5)),
      good('g1', day(1)),
    ].sort((a, b) => Date.parse(b.time.toISOString()) - Date.parse(a.time.toISOString()));
    const p = planPrune(snapshots, { policy: { last: 1 }, timeZone: 'UTC', now });
    const actions = Object.fromEntries(p.items.map((i) => [i.snapshot.id, [i.action, i.reasons.join(', ')]]));
    expect(actions).toEqual({
      u20: ['keep', 'not proven yet: kept while younger than 30 days'],
      j19: ['keep', 'rejected by verify: kept as evidence (prune --remove-rejected removes it)'],
      j18: ['keep', 'rejected by verify: kept as evidence (prune --remove-rejected removes it)'],
      g17: ['keep', 'last'],
      g16: ['remove', ''],
      old: ['keep', 'not proven yet: kept while younger than 30 days'],
      g1: ['remove', ''],
    });
    expect(p.blind).toBe(false);
    expect(p.totals).toMatchObject({
      rejected: { count: 2, bytes: 200 },
      unproven: { count: 2, bytes: 200 },
    });
    // Two of three good ones go: more than half of what is ranked needs --force.
    expect(p.needsForce).toBe(true);
    const removing = planPrune(snapshots, {
      policy: { last: 1 },
      timeZone: 'UTC',
      now: new Date('2026-04-10T12:00:00Z'),
      removeRejected: true,
    });
    const removed = removing.items.filter((i) => i.action === 'remove').map((i) => i.snapshot.id);
    expect(removed).toEqual(['j19', 'j18', 'g16', 'old', 'g1']);
  });

  it('keeps an unproven backup past 30 days while no backup after it is proven (a flood verify cannot get through)', () => {
    // Each night a genuine dump, then more junk than the nightly verify's 100: verify reaches only
    // junk (rejected), and the genuine ones stay unproven. None may go for its age: it may be the last
    // genuine one. Once a later backup is proven good, the old unproven ones go as before.
    const day = (d: number, minute = 30) => new Date(Date.UTC(2026, 2, d, 2, minute));
    const entry = (id: string, time: Date, proof: { verifiedAt?: Date; rejectedAt?: Date }) => ({
      ...snapshot(id, time.toISOString(), { size: 100 }),
      verifiedAt: proof.verifiedAt ?? null,
      rejectedAt: proof.rejectedAt ?? null,
    });
    const nights = [5, 4, 3, 2].flatMap((d) => [
      entry(`junk${d}`, day(d, 40), { rejectedAt: day(d + 1) }),
      entry(`genuine${d}`, day(d), {}),
    ]);
    const snapshots = [...nights, entry('good1', day(1), { verifiedAt: day(2) })];
    const plan = (now: Date, list = snapshots) =>
      Object.fromEntries(
        planPrune(list, { policy: { last: 1 }, timeZone: 'UTC', now }).items.map((i) => [
          i.snapshot.id,
          [i.action, i.reasons.join(', ')],
        ]),
      );
    const later = plan(new Date('2026-05-01T12:00:00Z'));
    for (const d of [2, 3, 4, 5])
      expect(later[`genuine${d}`]).toEqual([
        'keep',
        'not proven yet, and no later backup is proven good: kept (it may be the last genuine one)',
      ]);
    expect(later.good1).toEqual(['keep', 'last']);
    const proven = [entry('good6', day(6), { verifiedAt: day(7) }), ...snapshots];
    const after = plan(new Date('2026-05-01T12:00:00Z'), proven);
    expect(after.genuine2).toEqual(['remove', 'not proven within 30 days']);
  });
});
