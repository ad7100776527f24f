// Does the backup stream look wrong? A compromised host can push plausible junk that no content check
// catches, but it can't make junk look like the history it follows: a backup that shrank far below
// the ones before it or grew far past them, or backups arriving far more often than they used to.
// Pure: status raises the alarms, prune holds history while they stand.
import { SealdropError } from './errors.js';
import type { Snapshot } from './snapshot.js';
import { formatBytes, formatDuration, parseDuration, parseSize } from './units.js';

export interface AnomalyThresholds {
  /** WARNING when a backup is smaller than the median of the ones before it by this fraction or more (0.4). */
  warnShrink: number;
  /** CRITICAL when it shrank by this fraction or more (0.9). */
  critShrink: number;
  /** CRITICAL when a backup is smaller than this (bytes); 0: off. */
  minSize: number;
  /**
   * WARNING when a backup is this many times the median of the ones before it (10); 0: off. A dump that
   * swallowed what it shouldn't have, or a host filling the bucket.
   */
  growthFactor: number;
  /** WARNING when a backup follows the one before it sooner than the usual interval divided by this (4); 0: off. */
  floodFactor: number;
  /** Anomalies within this long before now hold prune (ms). */
  windowMs: number;
}

export const DEFAULT_ANOMALY_THRESHOLDS: AnomalyThresholds = {
  warnShrink: 0.4,
  critShrink: 0.9,
  minSize: 0,
  growthFactor: 10,
  floodFactor: 4,
  windowMs: 30 * 86_400_000,
};

export interface AnomalyThresholdsText {
  /** "40%" */
  warnShrink?: string;
  critShrink?: string;
  /** "1MiB" */
  minSize?: string;
  /** "10", or "off" */
  growthFactor?: string;
  /** "4", or "off" */
  floodFactor?: string;
  /** "30d" */
  window?: string;
}

/** The thresholds as options and the fleet file write them; what is not given is the default. */
export function parseAnomalyThresholds(text: AnomalyThresholdsText): AnomalyThresholds {
  const d = DEFAULT_ANOMALY_THRESHOLDS;
  const fraction = (value: string | undefined, what: string, fallback: number) => {
    if (value === undefined) return fallback;
    const match = /^(\d+(?:\.\d+)?)%$/.exec(value.trim());
    const parsed = match ? Number(match[1]) / 100 : Number.NaN;
    if (!(parsed > 0 && parsed <= 1))
      throw new SealdropError('USAGE', `${what} "${value}" is not a percentage between 0% and 100%`, {
        hint: `Write it like ${what} 40%.`,
      });
    return parsed;
  };
  const factor = (value: string | undefined, what: string, fallback: number) => {
    const parsed = value === undefined ? fallback : value === 'off' ? 0 : Number(value);
    if (!(parsed === 0 || parsed > 1))
      throw new SealdropError('USAGE', `${what} factor "${value}" must be a number over 1, or off`, {
        hint: `Write it like --${what}-factor ${fallback} (or off).`,
      });
    return parsed;
  };
  return {
    warnShrink: fraction(text.warnShrink, '--warn-shrink', d.warnShrink),
    critShrink: fraction(text.critShrink, '--crit-shrink', d.critShrink),
    minSize: text.minSize === undefined ? d.minSize : parseSize(text.minSize, '--min-size'),
    growthFactor: factor(text.growthFactor, 'growth', d.growthFactor),
    floodFactor: factor(text.floodFactor, 'flood', d.floodFactor),
    windowMs: text.window === undefined ? d.windowMs : parseDuration(text.window, '--anomaly-window'),
  };
}

/** How many complete backups before one make its history, and how many it takes at least. */
const HISTORY = 7;
const MIN_HISTORY = 3;

export type AnomalyRule = 'shrank' | 'grew' | 'min-size' | 'flood';

export interface Anomaly {
  rule: AnomalyRule;
  state: 'WARNING' | 'CRITICAL';
  /** The backup that broke the rule. */
  snapshot: Snapshot;
  /** Which rule fired and the numbers: "shrank 1.63 MiB -> 232 B (-100%; warn at -40%)". */
  message: string;
}

export interface StreamVerdict {
  /** What the newest complete backup breaks: the alarms of now. */
  current: Anomaly[];
  /** The oldest anomalous backup within the window: prune removes nothing older while it stands. */
  since: Anomaly | null;
}

/**
 * Judges each complete backup against the ones before it (newest first in, as listed). A backup's
 * history is the median size of, and the median gap between, up to 7 complete backups before it; with
 * fewer than 3 there is nothing to compare with, and nothing is anomalous.
 */
export function judgeStream(
  snapshots: readonly Snapshot[],
  thresholds: AnomalyThresholds = DEFAULT_ANOMALY_THRESHOLDS,
  now = new Date(),
): StreamVerdict {
  const backups: Snapshot[] = [];
  for (const s of snapshots) if (s.state === 'complete') backups.push(s);
  backups.reverse(); // oldest first
  const sizes = Float64Array.from(backups, (s) => s.size);
  const times = Float64Array.from(backups, (s) => s.time.getTime());
  let current: Anomaly[] = [];
  let since: Anomaly | null = null;
  const windowStart = now.getTime() - thresholds.windowMs;
  // Only backups within the window can hold prune, and only the newest raises alarms now.
  let i = 0;
  while (i < backups.length - 1 && times[i]! < windowStart) i++;
  for (; i < backups.length; i++) {
    if (since && i < backups.length - 1) continue;
    const found = anomaliesOf(backups[i]!, sizes, times, i, thresholds);
    if (i === backups.length - 1) current = found;
    if (!since && found.length > 0 && times[i]! >= windowStart) since = worst(found);
  }
  return { current, since };
}

const scratch = new Float64Array(HISTORY);

function anomaliesOf(
  snapshot: Snapshot,
  sizes: Float64Array,
  times: Float64Array,
  i: number,
  t: AnomalyThresholds,
): Anomaly[] {
  const found: Anomaly[] = [];
  if (t.minSize > 0 && snapshot.size < t.minSize)
    found.push({
      rule: 'min-size',
      state: 'CRITICAL',
      snapshot,
      message: `${formatBytes(snapshot.size)}, under the minimum of ${formatBytes(t.minSize)}`,
    });
  const first = Math.max(0, i - HISTORY);
  const count = i - first;
  if (count < MIN_HISTORY) return found;
  const usualSize = median(sizes, first, count);
  const shrink = usualSize > 0 ? 1 - snapshot.size / usualSize : 0;
  if (shrink >= t.warnShrink)
    found.push({
      rule: 'shrank',
      state: shrink >= t.critShrink ? 'CRITICAL' : 'WARNING',
      snapshot,
      message: `shrank ${formatBytes(usualSize)} -> ${formatBytes(snapshot.size)} (-${percent(shrink)}; warn at -${percent(t.warnShrink)}, critical at -${percent(t.critShrink)}; against the median of the ${count} before it)`,
    });
  if (t.growthFactor > 0 && usualSize > 0 && snapshot.size >= usualSize * t.growthFactor)
    found.push({
      rule: 'grew',
      state: 'WARNING',
      snapshot,
      message: `grew ${formatBytes(usualSize)} -> ${formatBytes(snapshot.size)} (${ratio(snapshot.size / usualSize)}; warn at ${t.growthFactor}x; against the median of the ${count} before it)`,
    });
  for (let j = 1; j < count; j++) scratch[j - 1] = times[first + j]! - times[first + j - 1]!;
  const usualGap = median(scratch, 0, count - 1);
  const gap = times[i]! - times[i - 1]!;
  if (t.floodFactor > 0 && usualGap > 0 && gap * t.floodFactor < usualGap)
    found.push({
      rule: 'flood',
      state: 'WARNING',
      snapshot,
      message: `arrived ${formatDuration(gap)} after the one before, where backups usually come every ${formatDuration(usualGap)} (a flood? warn under 1/${t.floodFactor} of it)`,
    });
  return found;
}

function worst(anomalies: readonly Anomaly[]): Anomaly {
  return anomalies.find((a) => a.state === 'CRITICAL') ?? anomalies[0]!;
}

/** The median of `count` values from `start` (sorts a copy: at most 7 of them). */
function median(values: Float64Array, start: number, count: number): number {
  const sorted = values.slice(start, start + count).sort();
  const middle = count >> 1;
  return count % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function ratio(times: number): string {
  return `${times >= 100 ? Math.round(times) : Math.round(times * 10) / 10}x`;
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}
