// What `sealdrop report` shows, worked out from backup sets (pure; src/core/report-html.ts draws it):
// each set's state and thresholds, and its timeline aggregated into a fixed number of columns, so a
// set of a million versions is drawn with as few marks as a set of thirty.
import { DEFAULT_ANOMALY_THRESHOLDS, judgeStream, type Anomaly, type AnomalyRule } from './anomaly.js';
import {
  assessHealth,
  judgeHalfRevoked,
  noCounts,
  type HalfRevoked,
  type Health,
  type HealthThresholds,
} from './health.js';
import { worstState, type HealthState } from './health-state.js';
import { asPushed, type PrunedBackup } from './proofs.js';
import {
  periodFacts,
  summarize,
  type Period,
  type PeriodFacts,
  type PeriodSummary,
} from './report-summary.js';
import type { Snapshot, SnapshotState } from './snapshot.js';

/** Columns of a timeline: every set is drawn with at most this many of each kind of mark. */
export const TIMELINE_COLUMNS = 180;
/** Reasons shown per set (the rest are counted). */
const MAX_REASONS = 4;

/** One backup set as gathered for the report. */
export interface ReportInput {
  /** The fleet's name for it, or null for a set named on the command line. */
  host: string | null;
  /** The set as an s3:// URL. */
  target: string;
  /** Newest first, as listed. */
  snapshots: readonly Snapshot[];
  strays: number;
  thresholds: HealthThresholds;
  policyExpiresAt?: Date;
  /** Why there is no policy expiry to show ("no copy at policies/db1.policy.json"). */
  policyNote?: string;
  /** The newest backup proven good (null: none; undefined: the proofs were not read). */
  newestVerified?: { id: string; time: Date } | null;
  /** When the admin acknowledged the set's alarms, and what prune removed lately (core/proofs.ts). */
  ackedAt?: Date | null;
  pruned?: readonly PrunedBackup[];
  /** The set could not be listed (it is UNKNOWN, for this reason). */
  error?: string;
  /** A WAL archive judged as a chain (core/wal-chain.ts), drawn without a timeline; ageMs: its RPO. */
  wal?: { state: HealthState; reasons: string[]; ageMs: number | null };
  /** When the bucket policy cut it off (fleet revoke): judged as fleet status does; nothing is due after. */
  revokedAt?: Date;
  /** Its host is revoked but its uploads here are not denied: CRITICAL, as fleet status judges it. */
  halfRevoked?: HalfRevoked;
}

export interface ReportOptions {
  now?: Date;
  /** The period the summary counts; the timelines reach as far back (from the oldest backup, if that is more recent). */
  periodMs: number;
}

/** What one column of a timeline holds: counts per state, and the size range of its backups. */
export interface Column {
  index: number;
  /** Complete backups, and the smallest and largest of them (bytes). */
  backups: number;
  minSize: number;
  maxSize: number;
  incomplete: number;
  broken: number;
  deleted: number;
  /** One of the column's incomplete or broken runs or delete markers, to name in a tooltip. */
  sample: Partial<Record<Exclude<SnapshotState, 'complete'>, Snapshot>>;
}

/** A stretch of the timeline without a complete backup for longer than the max age. */
export interface Gap {
  from: Date;
  to: Date;
  /** The longest single gap merged into this stretch. */
  longestMs: number;
}

export interface ReportMark {
  time: Date;
  state: 'WARNING' | 'CRITICAL';
  rule: AnomalyRule;
  message: string;
  snapshotId: string;
}

export interface ReportSet {
  host: string | null;
  target: string;
  state: HealthState;
  reasons: string[];
  /** Reasons not in `reasons`. */
  moreReasons: number;
  latest: Snapshot | null;
  ageMs: number | null;
  counts: Health['counts'];
  thresholds: HealthThresholds;
  policyExpiresAt?: Date;
  policyNote?: string;
  newestVerified?: { id: string; time: Date } | null;
  /** When the bucket policy cut it off (fleet revoke). */
  revokedAt?: Date;
  /** The columns that hold anything, in order. */
  columns: Column[];
  gaps: Gap[];
  /** Anomalies of the stream (judgeStream): the latest backup's, and the one prune holds history from. */
  anomalies: ReportMark[];
  /** A WAL archive: ageMs is its RPO; no backups, no timeline. */
  wal?: boolean;
  /** Backups made and missed and bytes stored over the period (not for a WAL archive or an unlisted set). */
  period?: PeriodFacts;
}

export interface ReportModel {
  generatedAt: Date;
  /** The period asked for: the summary counts from its start. */
  periodFrom: Date;
  summary: PeriodSummary;
  /** The timelines' axis: the period, or from a little before the oldest backup if that is more recent. */
  from: Date;
  to: Date;
  columns: number;
  counts: Record<HealthState, number>;
  /** Worst first (CRITICAL, UNKNOWN, WARNING, OK), then by name. */
  sets: ReportSet[];
}

export function buildReport(inputs: readonly ReportInput[], options: ReportOptions): ReportModel {
  const now = options.now ?? new Date();
  let oldest = now.getTime();
  for (const input of inputs) {
    const last = input.snapshots[input.snapshots.length - 1];
    if (last && last.time.getTime() < oldest) oldest = last.time.getTime();
    // A cut (fleet revoke) keeps whole seconds, so it may come before every backup it follows.
    if (input.revokedAt && input.revokedAt.getTime() < oldest) oldest = input.revokedAt.getTime();
  }
  // From a little before the oldest backup (or cut) in the period (a second at least), to now.
  const span = Math.max(1000, Math.min(options.periodMs, (now.getTime() - oldest) * 1.05));
  const from = now.getTime() - span;
  const axis = { from, to: now.getTime(), columns: TIMELINE_COLUMNS };
  const period = { from: now.getTime() - options.periodMs, to: now.getTime() };
  const sets = inputs.map((input) => reportSet(input, axis, period, now));
  sets.sort(
    (a, b) =>
      (a.state === b.state ? 0 : worstState([a.state, b.state]) === a.state ? -1 : 1) ||
      (a.host ?? a.target).localeCompare(b.host ?? b.target),
  );
  const counts: Record<HealthState, number> = { CRITICAL: 0, UNKNOWN: 0, WARNING: 0, OK: 0 };
  for (const set of sets) counts[set.state]++;
  return {
    generatedAt: now,
    periodFrom: new Date(period.from),
    summary: summarize(sets.map((set) => set.period)),
    from: new Date(from),
    to: now,
    columns: axis.columns,
    counts,
    sets,
  };
}

interface Axis {
  from: number;
  to: number;
  columns: number;
}

/** The column a time falls in, or null outside the axis. */
function columnOf(axis: Axis, time: number): number | null {
  if (time < axis.from || time > axis.to) return null;
  return Math.min(axis.columns - 1, Math.floor(((time - axis.from) / (axis.to - axis.from)) * axis.columns));
}

function reportSet(input: ReportInput, axis: Axis, period: Period, now: Date): ReportSet {
  const base = {
    host: input.host,
    target: input.target,
    thresholds: input.thresholds,
    ...(input.policyExpiresAt ? { policyExpiresAt: input.policyExpiresAt } : {}),
    ...(input.policyNote ? { policyNote: input.policyNote } : {}),
    ...(input.newestVerified === undefined ? {} : { newestVerified: input.newestVerified }),
    ...(input.revokedAt ? { revokedAt: input.revokedAt } : {}),
  };
  // The reasons shown, the rest counted; a place its revoked host can still upload to pages, whatever.
  const shown = (verdict: { state: HealthState; reasons: string[] }) => {
    const { state, reasons } = judgeHalfRevoked(verdict, input.halfRevoked);
    return {
      state,
      reasons: reasons.slice(0, MAX_REASONS),
      moreReasons: Math.max(0, reasons.length - MAX_REASONS),
    };
  };
  const judged =
    input.error === undefined
      ? input.wal
      : { state: 'UNKNOWN' as const, reasons: [`can't tell: ${input.error}`], ageMs: null };
  if (judged)
    return {
      ...base,
      ...(input.wal ? { wal: true } : {}),
      ...shown(judged),
      latest: null,
      ageMs: judged.ageMs,
      counts: noCounts(),
      columns: [],
      gaps: [],
      anomalies: [],
    };
  const health = assessHealth(
    {
      snapshots: input.snapshots,
      strays: input.strays,
      policyExpiresAt: input.policyExpiresAt,
      ackedAt: input.ackedAt ?? null,
      pruned: input.pruned ?? [],
      revokedAt: input.revokedAt,
    },
    input.thresholds,
    now,
  );
  const pushed = asPushed(input.snapshots, input.pruned ?? []);
  const stream = judgeStream(pushed, input.thresholds.anomaly ?? DEFAULT_ANOMALY_THRESHOLDS, now);
  const seen = new Set<Anomaly>();
  const anomalies: ReportMark[] = [];
  for (const anomaly of [...stream.current, ...(stream.since ? [stream.since] : [])]) {
    if (seen.has(anomaly) || columnOf(axis, anomaly.snapshot.time.getTime()) === null) continue;
    seen.add(anomaly);
    anomalies.push({
      time: anomaly.snapshot.time,
      state: anomaly.state,
      rule: anomaly.rule,
      message: `${anomaly.state}: the backup of ${anomaly.snapshot.time.toISOString()} ${anomaly.message}`,
      snapshotId: anomaly.snapshot.id,
    });
  }
  const columns = aggregate(input.snapshots, axis);
  // A host cut off is not expected to push: no stretch after the cut (or the last upload that landed
  // past it, under way then; the cut's time keeps whole seconds) is a gap, nothing there is missed.
  const cut = input.revokedAt
    ? Math.max(input.revokedAt.getTime(), health.latest?.time.getTime() ?? -Infinity)
    : Infinity;
  const until = Math.max(period.from, Math.min(now.getTime(), cut));
  return {
    ...base,
    ...shown(health),
    latest: health.latest,
    ageMs: health.ageMs,
    counts: health.counts,
    columns,
    gaps: gaps(input.snapshots, input.thresholds.maxAgeMs, axis, until),
    anomalies,
    period: periodFacts(pushed, input.thresholds.maxAgeMs, { from: period.from, to: until }),
  };
}

/** The snapshots within the axis, counted into columns: one pass, at most `axis.columns` columns. */
function aggregate(snapshots: readonly Snapshot[], axis: Axis): Column[] {
  const byIndex: (Column | undefined)[] = new Array(axis.columns);
  for (const snapshot of snapshots) {
    const index = columnOf(axis, snapshot.time.getTime());
    if (index === null) continue;
    const column = (byIndex[index] ??= {
      index,
      backups: 0,
      minSize: Number.POSITIVE_INFINITY,
      maxSize: 0,
      incomplete: 0,
      broken: 0,
      deleted: 0,
      sample: {},
    });
    if (snapshot.state === 'complete') {
      column.backups++;
      column.minSize = Math.min(column.minSize, snapshot.size);
      column.maxSize = Math.max(column.maxSize, snapshot.size);
    } else {
      column[snapshot.state]++;
      column.sample[snapshot.state] ??= snapshot;
    }
  }
  const columns: Column[] = [];
  for (const column of byIndex) if (column) columns.push(column);
  return columns;
}

/**
 * Stretches without a complete backup for longer than `maxAgeMs` (the status threshold), clipped to
 * the axis, up to `until` (now, or when the set was cut off); those that touch the same column are
 * merged, so there are at most as many as columns. Before the first backup in the period there is no
 * gap unless nothing is complete at all.
 */
function gaps(snapshots: readonly Snapshot[], maxAgeMs: number, axis: Axis, until: number): Gap[] {
  const found: Gap[] = [];
  const add = (start: number, end: number) => {
    const from = Math.max(start, axis.from);
    if (end <= axis.from || end - from <= 0) return;
    const last = found[found.length - 1];
    if (last && columnOf(axis, from)! <= columnOf(axis, last.to.getTime())!) {
      last.to = new Date(end);
      last.longestMs = Math.max(last.longestMs, end - start);
    } else found.push({ from: new Date(from), to: new Date(end), longestMs: end - start });
  };
  let previous: number | null = null;
  // Newest first in: walk backwards, oldest first.
  for (let i = snapshots.length - 1; i >= 0; i--) {
    const snapshot = snapshots[i]!;
    if (snapshot.state !== 'complete') continue;
    const time = snapshot.time.getTime();
    if (previous !== null && time - previous > maxAgeMs) add(previous, time);
    previous = time;
  }
  if (previous === null) add(axis.from, until);
  else if (until - previous > maxAgeMs) add(previous, until);
  return found;
}
