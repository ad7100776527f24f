// issue 13's scenario through the planner, with simulated times: nightly genuine backups at 02:30 for 18
// days, a compromise at 10:00 on day 18, junk every 4 hours after it, and prune run every night at 03:00
// with the README's recommended policy. What survives when every alarm is ignored?
import { describe, expect, it } from 'vitest';
import { planPrune } from '../../src/core/prune-plan.js';
import type { RetentionPolicy } from '../../src/core/retention.js';
import type { Snapshot } from '../../src/core/snapshot.js';
import { snapshot } from '../support/snapshots.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = Date.parse('2026-03-02T00:00:00Z'); // a Monday: day 1
const at = (day: number, hour: number, minute = 0) => START + (day - 1) * DAY + hour * HOUR + minute * 60_000;
const COMPROMISE = at(18, 10);
const RECOMMENDED: RetentionPolicy = { daily: 14, weekly: 8, monthly: 24, yearly: -1, earliest: true };

/** Every backup ever pushed up to `until`, newest first: genuine nightly, then junk every 4 h. */
function pushedUntil(until: number): Snapshot[] {
  const all: Snapshot[] = [];
  for (let day = 1; at(day, 2, 30) <= until; day++)
    if (at(day, 2, 30) < COMPROMISE)
      all.push(
        snapshot(`genuine-${day}`, new Date(at(day, 2, 30)).toISOString(), { size: 1_700_000 + day * 1000 }),
      );
  for (let t = COMPROMISE; t <= until; t += 4 * HOUR)
    all.push(snapshot(`junk-${t}`, new Date(t).toISOString(), { size: 232 }));
  return all.sort((a, b) => b.time.getTime() - a.time.getTime());
}

/** Nightly prunes at 03:00 from day 1 to `lastDay`; returns what is left, newest first. */
function pruneNightly(lastDay: number, policy: RetentionPolicy, force: boolean): Snapshot[] {
  const removed = new Set<string>();
  for (let day = 1; day <= lastDay; day++) {
    const now = at(day, 3);
    const stored = pushedUntil(now).filter((s) => !removed.has(s.id));
    const plan = planPrune(stored, { policy, timeZone: 'UTC', now: new Date(now), force });
    for (const item of plan.items) if (item.action === 'remove') removed.add(item.snapshot.id);
  }
  return pushedUntil(at(lastDay, 3)).filter((s) => !removed.has(s.id));
}

const genuineLeft = (left: Snapshot[]) => left.filter((s) => s.id.startsWith('genuine')).map((s) => s.id);

describe('a compromise on day 18, unnoticed for 15 days', () => {
  it('restic rules alone: the newest genuine backup is gone the first night after the compromise', () => {
    const restic: RetentionPolicy = { ...RECOMMENDED, earliest: false };
    expect(genuineLeft(pruneNightly(18, restic, true))).toContain('genuine-18');
    expect(genuineLeft(pruneNightly(19, restic, true))).not.toContain('genuine-18');
    // 15 days on, every genuine daily is gone: junk is the newest of every day, of the compromise's
    // week and of its month. Only the weeklies of the weeks before it are left, and the oldest.
    expect(genuineLeft(pruneNightly(33, restic, true))).toEqual(['genuine-14', 'genuine-7', 'genuine-1']);
  });

  it('the recommended policy with the circuit breaker: nothing genuine older than the first junk is removed', () => {
    const beforeCompromise = genuineLeft(pruneNightly(18, RECOMMENDED, false));
    expect(beforeCompromise).toContain('genuine-18');
    const left = pruneNightly(33, RECOMMENDED, false);
    expect(genuineLeft(left)).toEqual(beforeCompromise);
    const plan = planPrune(left, { policy: RECOMMENDED, timeZone: 'UTC', now: new Date(at(33, 3)) });
    // Since the oldest junk left (prune removes junk the policy does not keep): still younger than all it holds.
    expect(plan.held?.snapshot.id).toMatch(/^junk-/);
    expect(plan.warnings.join('\n')).toMatch(
      /held: the backup stream looks anomalous since 2026-03-\d\dT\S+: shrank 1\.\d+ MiB -> 232 B/,
    );
  });

  it('the recommended policy with the breaker lifted every night (--force): the newest genuine backup outlives the week', () => {
    // Kept as the earliest of its day for the 14 daily periods; then the earliest of its week (day 15,
    // Monday) for 8 weeks and of its month for 24 months.
    for (const lastDay of [19, 25, 30])
      expect(genuineLeft(pruneNightly(lastDay, RECOMMENDED, true)), `day ${lastDay}`).toContain('genuine-18');
    const later = genuineLeft(pruneNightly(33, RECOMMENDED, true));
    expect(later).not.toContain('genuine-18');
    expect(later).toEqual(expect.arrayContaining(['genuine-15', 'genuine-1']));
  });
});
