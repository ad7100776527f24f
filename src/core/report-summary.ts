// What a manager reads first in `sealdrop report`: over the period, per set and for all of them, the
// backups made and missed, the bytes stored and how they changed (pure; core/report.ts calls it).
import type { Snapshot } from './snapshot.js';

/** One set over the period. */
export interface PeriodFacts {
  /** Complete backups pushed in the period (those prune removed since included). */
  made: number;
  /** Backups the set's usual rhythm would have made in its stretches longer than the max age. */
  missed: number;
  /** The usual interval between backups: the median in the period, the max age when unknown. */
  cadenceMs: number;
  /** The bytes the set stores now (every version listed), and those of them pushed in the period. */
  storedBytes: number;
  addedBytes: number;
  /** The size of the first and of the latest complete backup in the period (null: none). */
  firstSize: number | null;
  latestSize: number | null;
}

/** All sets over the period (WAL archives and sets that could not be listed have no facts). */
export interface PeriodSummary {
  made: number;
  missed: number;
  storedBytes: number;
  addedBytes: number;
  /** The first and latest backups' sizes summed over the sets that have both in the period. */
  firstBytes: number;
  latestBytes: number;
}

export interface Period {
  from: number;
  to: number;
}

/**
 * The usual interval is bounded: a flood of backups must not turn one missed night into thousands of
 * missed backups, and a set is never expected less often than its max age.
 */
const CADENCE_FLOOR = 1 / 24;

/**
 * `pushed`: the set's snapshots as pushed, newest first (core/proofs.ts asPushed): the backups prune
 * removed count as made, and store nothing.
 */
export function periodFacts(pushed: readonly Snapshot[], maxAgeMs: number, period: Period): PeriodFacts {
  let storedBytes = 0;
  let addedBytes = 0;
  for (const snapshot of pushed) {
    storedBytes += snapshot.storedBytes;
    if (snapshot.time.getTime() >= period.from) addedBytes += snapshot.storedBytes;
  }
  // The period's complete backups oldest first, and the last one before the period.
  const times: number[] = [];
  let before: number | null = null;
  let firstSize: number | null = null;
  let latestSize: number | null = null;
  for (let i = pushed.length - 1; i >= 0; i--) {
    const snapshot = pushed[i]!;
    const time = snapshot.time.getTime();
    if (snapshot.state !== 'complete' || time > period.to) continue;
    if (time < period.from) before = time;
    else {
      times.push(time);
      firstSize ??= snapshot.size;
      latestSize = snapshot.size;
    }
  }
  const cadenceMs = cadence(before, times, maxAgeMs);
  return {
    made: times.length,
    missed: missed(before, times, maxAgeMs, cadenceMs, period),
    cadenceMs,
    storedBytes,
    addedBytes,
    firstSize,
    latestSize,
  };
}

export function summarize(facts: readonly (PeriodFacts | undefined)[]): PeriodSummary {
  const summary: PeriodSummary = {
    made: 0,
    missed: 0,
    storedBytes: 0,
    addedBytes: 0,
    firstBytes: 0,
    latestBytes: 0,
  };
  for (const set of facts) {
    if (!set) continue;
    summary.made += set.made;
    summary.missed += set.missed;
    summary.storedBytes += set.storedBytes;
    summary.addedBytes += set.addedBytes;
    if (set.firstSize !== null && set.latestSize !== null && set.made > 1) {
      summary.firstBytes += set.firstSize;
      summary.latestBytes += set.latestSize;
    }
  }
  return summary;
}

/** The median interval between the period's backups (and the one before), within [max age / 24, max age]. */
function cadence(before: number | null, times: readonly number[], maxAgeMs: number): number {
  const intervals = new Float64Array(Math.max(0, times.length - (before === null ? 1 : 0)));
  let previous = before;
  let i = 0;
  for (const time of times) {
    if (previous !== null) intervals[i++] = time - previous;
    previous = time;
  }
  if (intervals.length === 0) return maxAgeMs;
  intervals.sort();
  const median = intervals[Math.floor((intervals.length - 1) / 2)]!;
  return Math.min(maxAgeMs, Math.max(maxAgeMs * CADENCE_FLOOR, median));
}

/**
 * In every stretch without a backup for longer than the max age, the backups that were due every
 * `cadenceMs` after the last one and within the period: before the next backup came (half an interval
 * early counts as on time), or before the period's end. A set with nothing at all missed the period.
 */
function missed(
  before: number | null,
  times: readonly number[],
  maxAgeMs: number,
  cadenceMs: number,
  period: Period,
): number {
  const due = (start: number, last: number) => {
    const first = Math.max(1, Math.ceil((period.from - start) / cadenceMs));
    return Math.max(0, Math.floor((last - start) / cadenceMs) - first + 1);
  };
  let count = 0;
  let previous = before;
  for (const time of times) {
    if (previous !== null && time - previous > maxAgeMs) count += due(previous, time - cadenceMs / 2);
    previous = time;
  }
  if (previous === null) return Math.floor((period.to - period.from) / cadenceMs);
  if (period.to - previous > maxAgeMs) count += due(previous, period.to);
  return count;
}
