// Retiring a key (key retire-check): which backups only that key opens, and when prune's own plan
// (core/prune-plan.ts, the same function prune carries out) will have removed the last of them, if every
// backup from now on is encrypted to other keys and keeps coming at the set's usual interval.
import { planPrune, type PrunePlanOptions } from './prune-plan.js';
import { everProven } from './proofs.js';
import { retireClass, type Recipients, type RetireClass } from './recipients.js';
import { COUNT_RULES, isEmptyPolicy, type RetentionPolicy } from './retention.js';
import type { Snapshot } from './snapshot.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Future backups simulated at most, and the furthest the forecast looks (whichever comes first). */
export const FORECAST_BACKUPS = 10_000;
export const FORECAST_HORIZON_MS = 100 * 365 * DAY_MS;
/** Intervals the usual one is the median of (the newest backups'). */
const INTERVAL_SAMPLE = 10;

export interface RetireBackup {
  snapshot: Snapshot;
  recipients: Recipients;
  class: RetireClass;
}

/** The complete backups (newest first) with their recipients' class; incomplete, broken, deleted: none. */
export function classifyBackups(
  snapshots: readonly Snapshot[],
  recipients: ReadonlyMap<string, Recipients>,
  oldKeyIds: ReadonlySet<string>,
): RetireBackup[] {
  return snapshots
    .filter((s) => s.state === 'complete')
    .map((snapshot) => {
      const read = recipients.get(snapshot.id) ?? { kind: 'none' as const, why: 'not read' };
      return { snapshot, recipients: read, class: retireClass(read, oldKeyIds) };
    });
}

export interface ForecastOptions extends Omit<PrunePlanOptions, 'now' | 'force'> {
  now: Date;
}

export interface Forecast {
  /**
   * When a prune removes the last of the backups: `now` when the next prune does; null when none
   * within the horizon does (`keptBy` says why, `forever` whether it ever will).
   */
  at: Date | null;
  /** What still keeps the last of them at the horizon (the plan's reasons); empty when `at` is set. */
  keptBy: string[];
  /** No prune ever removes it: no keep rules, or a rule without a limit keeps it (yearly -1). */
  forever: boolean;
  /** The interval assumed between future backups: the median of the newest ones', at least an hour. */
  intervalMs: number;
  /** The time of the last future backup simulated. */
  horizon: Date;
}

/**
 * When prune's plan will have removed every backup of `ids`: prune is assumed to run after each future
 * backup, the backups to come every `intervalMs` (proven good if the set was ever proven, as a nightly
 * verify would), the circuit breaker quiet. Object Lock's retain-until counts as prune counts it.
 * Exact to one interval; the plan keeps ever fewer old backups as new ones come, so the first future
 * backup after which all are gone is found by bisection.
 */
export function forecastRemoval(
  snapshots: readonly Snapshot[],
  ids: ReadonlySet<string>,
  options: ForecastOptions,
): Forecast {
  const intervalMs = usualInterval(snapshots);
  const newest = snapshots.find((s) => s.state === 'complete');
  const start = Math.max(newest?.time.getTime() ?? 0, options.now.getTime());
  const steps = Math.max(1, Math.min(FORECAST_BACKUPS, Math.floor(FORECAST_HORIZON_MS / intervalMs)));
  const horizon = new Date(start + steps * intervalMs);
  if (isEmptyPolicy(options.policy))
    return { at: null, keptBy: ['no keep rules'], forever: true, intervalMs, horizon };
  const proven = everProven(snapshots);
  const kept = (k: number): string[] | null => {
    const now = k === 0 ? options.now : new Date(start + k * intervalMs);
    const future: Snapshot[] = [];
    for (let i = k; i >= 1; i--) {
      const time = new Date(start + i * intervalMs);
      future.push({
        kind: newest?.kind ?? 'version',
        id: `\0forecast-${i}`,
        time,
        size: newest?.size ?? 0,
        state: 'complete',
        notes: [],
        objectVersions: 1,
        storedBytes: newest?.size ?? 0,
        ...(proven ? { verifiedAt: time, rejectedAt: null } : {}),
      });
    }
    const plan = planPrune([...future, ...snapshots], { ...options, now, force: true });
    const left = plan.items.filter((item) => item.action === 'keep' && ids.has(item.snapshot.id));
    return left.length > 0 ? left.flatMap((item) => item.reasons) : null;
  };
  if (kept(0) === null) return { at: options.now, keptBy: [], forever: false, intervalMs, horizon };
  const last = kept(steps);
  if (last !== null) {
    const keptBy = [...new Set(last)];
    return { at: null, keptBy, forever: keepsForever(keptBy, options.policy), intervalMs, horizon };
  }
  let lo = 0;
  let hi = steps;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (kept(mid) === null) hi = mid;
    else lo = mid;
  }
  return { at: new Date(start + hi * intervalMs), keptBy: [], forever: false, intervalMs, horizon };
}

/** The median of the newest backups' intervals, at least an hour; a day when there are fewer than two. */
export function usualInterval(snapshots: readonly Snapshot[]): number {
  const times = snapshots
    .filter((s) => s.state === 'complete')
    .slice(0, INTERVAL_SAMPLE + 1)
    .map((s) => s.time.getTime());
  const gaps = times.slice(1).map((time, i) => times[i]! - time);
  if (gaps.length === 0) return DAY_MS;
  gaps.sort((a, b) => a - b);
  return Math.max(HOUR_MS, gaps[Math.floor(gaps.length / 2)]!);
}

/**
 * A count rule without a limit ("yearly", "oldest yearly", "earliest yearly" for yearly -1), or an
 * Object Lock legal hold (until someone lifts it).
 */
function keepsForever(reasons: readonly string[], policy: RetentionPolicy): boolean {
  return reasons.some((reason) => {
    if (reason.includes('legal hold')) return true;
    const rule = COUNT_RULES.find((name) => reason === name || reason.endsWith(` ${name}`));
    return rule !== undefined && policy[rule] === -1;
  });
}
