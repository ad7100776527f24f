// Object Lock as the read side sees it: a bucket's default retention, and until when S3 refuses to
// delete what a snapshot is made of. Exact: a retention read from the object version itself. Derived:
// the time it was written plus the bucket's default retention, which is what S3 gives every version
// written while that default stands (POST uploads included).
import { SealdropError } from './errors.js';
import type { LockMode, Snapshot, SnapshotLock } from './snapshot.js';
import { parseDurationParts } from './units.js';

/** A bucket's default retention: whole days or whole years (S3 takes one of the two). */
export interface DefaultRetention {
  mode: LockMode;
  days?: number;
  years?: number;
}

export interface BucketLock {
  /** Object Lock is on: versions can be locked (on AWS and Ceph RGW only if chosen at creation). */
  enabled: boolean;
  /** What every new version gets; null: nothing unless set per version. */
  defaultRetention: DefaultRetention | null;
}

export const NO_BUCKET_LOCK: BucketLock = { enabled: false, defaultRetention: null };

const DAY_MS = 86_400_000;
/** S3's longest retention: 100 years. */
const MAX_DAYS = 36_500;

/** `30d`, `4w`, `1y` and a mode (`compliance`, `governance`) as a default retention. */
export function parseRetention(text: string, mode = 'compliance'): DefaultRetention {
  const upper = mode.toUpperCase();
  if (upper !== 'COMPLIANCE' && upper !== 'GOVERNANCE')
    throw new SealdropError('USAGE', `--mode ${mode}: give compliance or governance`, {
      hint: 'compliance: no credential can delete a locked version early; governance: credentials with s3:BypassGovernanceRetention can.',
    });
  const parts = parseDurationParts(text, '--object-lock');
  const { years, weeks, days, ...rest } = parts;
  const finer = Object.values(rest).some((value) => value > 0);
  const total = weeks * 7 + days;
  if (finer || (years > 0 && total > 0) || years + total === 0)
    throw new SealdropError(
      'USAGE',
      `--object-lock ${text}: S3 keeps versions locked for whole days or whole years`,
      { hint: 'Write it in days or weeks (30d, 4w) or in years (1y).' },
    );
  if (years * 365 + total > MAX_DAYS)
    throw new SealdropError('USAGE', `--object-lock ${text}: S3 allows at most 100 years`);
  return years > 0 ? { mode: upper, years } : { mode: upper, days: total };
}

/** "COMPLIANCE 30d", "GOVERNANCE 1y". */
export function retentionText(retention: DefaultRetention): string {
  return `${retention.mode} ${retention.years ? `${retention.years}y` : `${retention.days ?? 0}d`}`;
}

/** How long the default keeps a version (a year is 365 days, as S3 counts it). */
function retentionMs(retention: DefaultRetention): number {
  return ((retention.years ?? 0) * 365 + (retention.days ?? 0)) * DAY_MS;
}

/**
 * What removing a snapshot meets, as the bucket's default retention tells: locked until it was last
 * written plus the default. Exact for every version written while that default stood; a version from
 * before it was set or lengthened may be locked for less (or not at all), one an admin locked longer
 * by hand for more. Undefined: nothing there can be locked (no Object Lock, a delete marker).
 */
export function derivedLock(snapshot: Snapshot, bucket: BucketLock): SnapshotLock | undefined {
  if (!bucket.enabled || snapshot.state === 'deleted') return undefined;
  const retention = bucket.defaultRetention;
  const written = snapshot.lastWrite ?? snapshot.time;
  return {
    until: retention ? new Date(written.getTime() + retentionMs(retention)) : null,
    mode: retention?.mode ?? null,
    legalHold: false,
    source: 'default',
  };
}

/**
 * The lock read from a snapshot's own object version (a run's: its manifest, written last). Objects of
 * a run written over later are newer still: for those the default is assumed, when it says longer.
 */
export function readLock(
  snapshot: Snapshot,
  bucket: BucketLock,
  read: Pick<SnapshotLock, 'until' | 'mode' | 'legalHold'>,
): SnapshotLock {
  const later = snapshot.lastWrite ? derivedLock(snapshot, bucket) : undefined;
  if (later?.until && (!read.until || later.until.getTime() > read.until.getTime()))
    return { until: later.until, mode: later.mode, legalHold: read.legalHold, source: 'default' };
  return { ...read, source: 'version' };
}

/** Whether S3 would refuse to delete it now; an unread lock counts as refusing (nothing is known). */
export function isLocked(lock: SnapshotLock | undefined, now: Date): boolean {
  return lockReason(lock, now) !== null;
}

/** Why a snapshot can't be removed now, or null when Object Lock doesn't stop it. */
export function lockReason(lock: SnapshotLock | undefined, now: Date): string | null {
  if (!lock) return null;
  if (lock.source === 'unread')
    return 'Object Lock retention not read (prune reads a bounded number per run): prune again';
  if (lock.legalHold) return 'under an Object Lock legal hold';
  if (lock.until && lock.until.getTime() > now.getTime())
    return `locked until ${lock.until.toISOString()}${lock.source === 'default' ? ' (by the bucket default retention)' : ''}`;
  return null;
}
