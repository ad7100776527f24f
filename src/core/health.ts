// Is a backup still arriving? One verdict per backup set in the monitoring-plugin convention (Nagios,
// Icinga). Only complete snapshots count as backups; the rest is reported, never counted.
import { DEFAULT_ANOMALY_THRESHOLDS, judgeStream, type Anomaly, type AnomalyThresholds } from './anomaly.js';
import { asPushed, type PrunedBackup } from './proofs.js';
import { worstState, type HealthState } from './health-state.js';
import { STALLED_MS } from './prune-plan.js';
import type { S3Location } from './s3-url.js';
import { describeSkipped, type Snapshot } from './snapshot.js';
import { formatBytes, formatDuration as format } from './units.js';
import type { WalThresholds } from './wal-chain.js';

export interface HealthThresholds {
  /** CRITICAL when the latest backup is older. */
  maxAgeMs: number;
  /** WARNING when the latest backup is older; null: no warning stage. */
  warnAgeMs: number | null;
  /** WARNING when the policy file expires within this (policy targets only). */
  policyWarnMs: number;
  /** Alarms for a backup stream that looks wrong (default: DEFAULT_ANOMALY_THRESHOLDS). */
  anomaly?: AnomalyThresholds;
  /**
   * The verdict when nothing at all is stored: UNKNOWN by default (a mistyped key, say), CRITICAL where
   * backups must exist (a fleet's hosts: "never backed up").
   */
  nothingStored?: 'UNKNOWN' | 'CRITICAL';
  /**
   * WARNING when the newest backup proven good (`sealdrop verify`) is older, or, none proven, the
   * oldest backup is; null or absent: not judged. The proofs must have been read (verifiedAt).
   */
  maxUnverifiedAgeMs?: number | null;
  /** A WAL archive's RPO and base-backup age (default: DEFAULT_WAL_THRESHOLDS). */
  wal?: WalThresholds;
}

/**
 * A backup set as the admin watches it (status, report, a fleet's hosts): where it is, and what the
 * admin knows of it beyond the bucket.
 */
export interface WatchedSet {
  location: S3Location;
  /** The fleet host it is. */
  host?: string;
  /** This set's own thresholds (a fleet host's), instead of the ones given for all. */
  thresholds?: HealthThresholds;
  /** Its policy file's expiry, when it came from one: judged too. */
  policyExpiresAt?: Date;
  /** Why there is no expiry to judge, where one was looked for (a fleet host's policy copy). */
  policyNote?: string;
  /** A prefix that is one run set by the admin's word (a prefix policy, a fleet host), not several sets. */
  whole?: boolean;
  /** When the bucket policy cut it off (sealdrop revoke); absent: not revoked. */
  revokedAt?: Date;
  /** A PostgreSQL WAL archive (core/wal-chain.ts) by the admin's word, not a backup set. */
  wal?: boolean;
  /** Its host is revoked but its uploads here are not denied (judgeHalfRevoked). */
  halfRevoked?: HalfRevoked;
}

/**
 * A fleet host whose backups are revoked (what makes it revoked) since `since`, and another place of it
 * not (revoked before revoke covered WAL archives, or a statement taken out by hand): not cut off.
 */
export interface HalfRevoked {
  host: string;
  since: Date;
  /** The fleet file, for the command that closes it. */
  fleet: string;
}

export interface HealthInput {
  /** Newest first, as listed. */
  snapshots: readonly Snapshot[];
  /** Objects under a prefix that belong to no run. */
  strays?: number;
  /** The expiry of the policy file the target came from, if it came from one. */
  policyExpiresAt?: Date;
  /** When the admin last acknowledged the set's alarms (`sealdrop ack`): older ones are cleared. */
  ackedAt?: Date | null;
  /** Backups prune removed lately: the stream's alarms judge it as pushed, not as prune thinned it. */
  pruned?: readonly PrunedBackup[];
  /** When its uploads were revoked: then staleness and expiry are expected, not alarms. */
  revokedAt?: Date;
}

/** An upload under way when the revocation was made may still land; later ones should not. */
const REVOKED_SLACK_MS = 10 * 60_000;

export interface Health {
  state: HealthState;
  /** Why, in a few words: "latest is 27h 3min old (max 26h)". */
  reasons: string[];
  /** The newest complete snapshot. */
  latest: Snapshot | null;
  ageMs: number | null;
  counts: {
    backups: number;
    incomplete: number;
    broken: number;
    deleteMarkers: number;
    strays: number;
    /** Complete backups proven bad, and not proven yet (once the set was ever verified; else 0). */
    rejected: number;
    unproven: number;
  };
}

/** The counts of a set with nothing in it (or that could not be listed). */
export function noCounts(): Health['counts'] {
  return { backups: 0, incomplete: 0, broken: 0, deleteMarkers: 0, strays: 0, rejected: 0, unproven: 0 };
}

export function assessHealth(input: HealthInput, thresholds: HealthThresholds, now = new Date()): Health {
  const counts = { ...noCounts(), strays: input.strays ?? 0 };
  let latest: Snapshot | null = null;
  const newer: Snapshot[] = [];
  for (const snapshot of input.snapshots) {
    if (snapshot.state === 'complete') counts.backups++;
    else if (snapshot.state === 'deleted') counts.deleteMarkers++;
    else counts[snapshot.state]++;
    if (snapshot.state === 'complete') latest ??= snapshot;
    else if (!latest) newer.push(snapshot);
  }
  const verdicts: { state: HealthState; reason: string }[] = [];
  const newest = input.snapshots[0];
  if (!newest)
    verdicts.push(
      thresholds.nothingStored === 'CRITICAL'
        ? { state: 'CRITICAL', reason: 'never backed up (nothing stored)' }
        : { state: 'UNKNOWN', reason: 'no such key (no backups at all)' },
    );
  else if (newest.state === 'deleted')
    verdicts.push({
      state: 'CRITICAL',
      reason: `the latest version is a delete marker (deleted ${format(now.getTime() - newest.time.getTime())} ago)`,
    });
  else if (!latest) verdicts.push({ state: 'CRITICAL', reason: 'no complete backup at all' });
  const ageMs = latest ? now.getTime() - latest.time.getTime() : null;
  if (ageMs !== null && newest?.state !== 'deleted') {
    if (ageMs > thresholds.maxAgeMs)
      verdicts.push({
        state: 'CRITICAL',
        reason: `latest is ${format(ageMs)} old (max ${format(thresholds.maxAgeMs)})`,
      });
    else if (thresholds.warnAgeMs !== null && ageMs > thresholds.warnAgeMs)
      verdicts.push({
        state: 'WARNING',
        reason: `latest is ${format(ageMs)} old (warn at ${format(thresholds.warnAgeMs)})`,
      });
  }
  // What the admin acknowledged (`sealdrop ack`) stays quiet until something new happens.
  const acked = input.ackedAt?.getTime() ?? -Infinity;
  const fresh = (anomaly: Anomaly) => anomaly.snapshot.time.getTime() > acked;
  const stream = judgeStream(
    asPushed(input.snapshots, input.pruned ?? []),
    thresholds.anomaly ?? DEFAULT_ANOMALY_THRESHOLDS,
    now,
  );
  const current = stream.current.filter(fresh);
  for (const anomaly of current)
    verdicts.push({ state: anomaly.state, reason: `the latest backup ${anomaly.message}` });
  // Junk pushed often enough becomes the history the newest is compared with, and the alarm of now
  // falls silent: the anomaly of the window keeps it raised, for as long as the window.
  const { since } = stream;
  if (since && fresh(since) && !current.some((a) => a.snapshot === since.snapshot))
    verdicts.push({
      state: 'WARNING',
      reason: `the backup stream looked wrong at ${since.snapshot.time.toISOString()}: it ${since.message}; \`sealdrop ack\` once checked`,
    });
  for (const verdict of proofVerdicts(input.snapshots, counts, acked)) verdicts.push(verdict);
  if (latest && thresholds.maxUnverifiedAgeMs != null)
    verdicts.push(verification(input, thresholds.maxUnverifiedAgeMs, now));
  const pending = newer.filter((s) => s.state === 'incomplete');
  if (pending.length > 0) {
    // A push in progress is incomplete too; one that stored nothing for an hour has failed.
    const stalled = now.getTime() - pending[0]!.time.getTime() > STALLED_MS;
    verdicts.push({
      state: stalled ? 'WARNING' : 'OK',
      reason: `newer than it: ${describeSkipped(pending)}${stalled ? '' : ', maybe still running'}`,
    });
  }
  if (counts.broken > 0)
    verdicts.push({
      state: 'WARNING',
      reason: describeSkipped(input.snapshots.filter((s) => s.state === 'broken')),
    });
  if (counts.strays > 0)
    verdicts.push({
      state: 'OK',
      reason: `${counts.strays} other object(s) under the prefix belong to no run`,
    });
  if (input.policyExpiresAt) {
    const leftMs = input.policyExpiresAt.getTime() - now.getTime();
    if (leftMs <= 0)
      verdicts.push({
        state: 'CRITICAL',
        reason: `the policy file expired ${format(-leftMs)} ago: pushes fail`,
      });
    else if (leftMs < thresholds.policyWarnMs)
      verdicts.push({ state: 'WARNING', reason: `the policy file expires in ${format(leftMs)}` });
  }
  const arrived = input.snapshots.reduce<Date | null>(
    (newest, s) => (s.state !== 'deleted' && (!newest || s.time > newest) ? s.time : newest),
    null,
  );
  const judged = input.revokedAt ? judgeRevoked(input.revokedAt, arrived, 'a backup', now) : verdicts;
  return {
    state: worstState(judged.map(({ state }) => state)),
    reasons: judged.map(({ reason }) => reason),
    latest,
    ageMs,
    counts,
  };
}

/**
 * What verify proved: a rejection is CRITICAL until acknowledged (it stays as evidence), and once the
 * set was ever verified, the backups not proven yet are counted. Fills in the counts.
 */
function proofVerdicts(
  snapshots: readonly Snapshot[],
  counts: Health['counts'],
  ackedMs: number,
): { state: HealthState; reason: string }[] {
  let proven = false;
  let unprovenBytes = 0;
  let rejectedBytes = 0;
  let newestRejected: Snapshot | null = null;
  let standing = 0;
  for (const s of snapshots) {
    if (s.state !== 'complete') continue;
    if (s.verifiedAt) proven = true;
    else if (s.rejectedAt) {
      proven = true;
      counts.rejected++;
      rejectedBytes += s.storedBytes;
      if (s.rejectedAt.getTime() > ackedMs) {
        standing++;
        newestRejected ??= s;
      }
    } else if (s.verifiedAt === null) {
      counts.unproven++;
      unprovenBytes += s.storedBytes;
    }
  }
  if (!proven) {
    counts.unproven = 0;
    return [];
  }
  const verdicts: { state: HealthState; reason: string }[] = [];
  if (newestRejected)
    verdicts.push({
      state: 'CRITICAL',
      reason: `${standing === 1 ? 'a backup' : `${standing} backups`} REJECTED by verify (the newest ${newestRejected.id} of ${newestRejected.time.toISOString()}): not restored by --verified, kept as evidence; \`sealdrop approve\` one that is genuine, \`sealdrop ack\` once known`,
    });
  else if (counts.rejected > 0)
    verdicts.push({
      state: 'OK',
      reason: `${counts.rejected} rejected backup(s) (${formatBytes(rejectedBytes)}) kept as evidence, acknowledged; prune --remove-rejected removes them`,
    });
  if (counts.unproven > 0)
    verdicts.push({
      state: 'OK',
      reason: `${counts.unproven} backup(s) (${formatBytes(unprovenBytes)}) not proven yet by sealdrop verify`,
    });
  return verdicts;
}

/**
 * A revoked host's verdict, for its backups and its WAL archive alike: OK, saying so, whatever its age or
 * policy (it is cut off on purpose; the alarm would ring until it leaves the fleet file), but CRITICAL
 * when something (`what`: "a backup") was stored after the cut, the newest at `newestUpload`.
 */
export function judgeRevoked(
  since: Date,
  newestUpload: Date | null,
  what: string,
  now: Date,
): { state: HealthState; reason: string }[] {
  const verdicts: { state: HealthState; reason: string }[] = [
    {
      state: 'OK',
      reason: `REVOKED since ${since.toISOString()} (${format(now.getTime() - since.getTime())} ago): its uploads are denied by the bucket policy`,
    },
  ];
  if (newestUpload && newestUpload.getTime() > since.getTime() + REVOKED_SLACK_MS)
    verdicts.push({
      state: 'CRITICAL',
      reason: `${what} arrived ${format(newestUpload.getTime() - since.getTime())} after the revocation: is the Deny still in the bucket policy?`,
    });
  return verdicts;
}

/**
 * A WAL archive's verdict (core/wal-chain.ts) with its host's revocation: judged as its backups are
 * (judgeRevoked, by its newest upload), or as it was when not revoked.
 */
export function judgeArchiveRevoked(
  verdict: { state: HealthState; reasons: string[] },
  revokedAt: Date | undefined,
  newestUpload: Date | null,
  now: Date,
): { state: HealthState; reasons: string[] } {
  if (!revokedAt) return { state: verdict.state, reasons: verdict.reasons };
  const judged = judgeRevoked(revokedAt, newestUpload, 'a WAL file', now);
  return { state: worstState(judged.map(({ state }) => state)), reasons: judged.map(({ reason }) => reason) };
}

/**
 * A place a revoked host can still upload to (fleet status and the report alike): CRITICAL, saying so
 * first, with the command that closes it; otherwise the verdict as it was.
 */
export function judgeHalfRevoked(
  verdict: { state: HealthState; reasons: string[] },
  open: HalfRevoked | undefined,
): { state: HealthState; reasons: string[] } {
  if (!open) return { state: verdict.state, reasons: verdict.reasons };
  return {
    state: 'CRITICAL',
    reasons: [
      `${open.host} is revoked (since ${open.since.toISOString()}) but uploads here are not denied: run sealdrop fleet revoke ${open.fleet} ${open.host} --yes again`,
      ...verdict.reasons,
    ],
  };
}

/** The newest backup proven good against the threshold (the proofs must have been read). */
function verification(
  { snapshots, pruned = [] }: HealthInput,
  maxMs: number,
  now: Date,
): { state: HealthState; reason: string } {
  let oldest = Infinity;
  let rejected = 0;
  for (const snapshot of snapshots) {
    if (snapshot.state !== 'complete') continue;
    oldest = snapshot.time.getTime();
    if (snapshot.rejectedAt) rejected++;
    if (!snapshot.verifiedAt) continue;
    const ageMs = now.getTime() - snapshot.time.getTime();
    const facts = `the newest verified backup is ${format(ageMs)} old (verified ${format(now.getTime() - snapshot.verifiedAt.getTime())} ago`;
    return ageMs > maxMs
      ? { state: 'WARNING', reason: `${facts}; max ${format(maxMs)})` }
      : { state: 'OK', reason: `${facts})` };
  }
  // None proven: the set had as long as the threshold to be, counted from its oldest backup, or the
  // oldest one prune removed (a blind prune keeping only young backups doesn't make the set new).
  for (const removed of pruned) oldest = Math.min(oldest, removed.time.getTime());
  const ageMs = oldest === Infinity ? 0 : now.getTime() - oldest;
  const facts = `the oldest is ${format(ageMs)} old (max ${format(maxMs)})`;
  if (rejected > 0)
    return {
      state: ageMs > maxMs ? 'WARNING' : 'OK',
      reason: `no backup proven good (${rejected} rejected), and ${facts}`,
    };
  return ageMs > maxMs
    ? {
        state: 'WARNING',
        reason: `no backup proven yet, and ${facts}: the nightly proof (sealdrop verify --unproven) proves them`,
      }
    : { state: 'OK', reason: `no backup proven yet; ${facts}` };
}
