// prune: plan with the pure planner (core/prune-plan.ts) and, when told to, delete exactly what the plan
// removes, in DeleteObjects batches. An interruption stops between batches and still reports what was
// deleted; running again continues, since the plan is made afresh from what is left.
import type { S3Client } from '@aws-sdk/client-s3';
import { SealdropError } from '../../core/errors.js';
import { isLocked } from '../../core/object-lock.js';
import { planPrune, type PrunePlan, type PrunePlanOptions } from '../../core/prune-plan.js';
import type { S3Location } from '../../core/s3-url.js';
import type { Snapshot } from '../../core/snapshot.js';
import type { BackupSet, ObjectRef } from '../sets/backup-set.js';
import { readDetails, withDerivedLocks } from '../sets/details.js';
import { readBucketLock } from '../s3/object-lock.js';
import { backupSet } from '../sets/open.js';
import { deleteProofs, provenSnapshots, writePruned } from '../sets/proofs.js';
import { DEFAULT_ANOMALY_THRESHOLDS } from '../../core/anomaly.js';
import { DELETE_BATCH, deleteAll } from '../s3/delete.js';
import { planWal, sweepWal, type WalPruneResult } from '../wal/prune.js';

export interface PruneOptions extends PrunePlanOptions {
  /** Delete (true) or only plan (false: dry run). */
  execute: boolean;
  /** Object versions per DeleteObjects request: 1 to S3's limit of 1000 (the default). */
  batchSize?: number;
  signal?: AbortSignal;
  /** Object versions deleted so far, of the planned total. */
  onProgress?: (deleted: number, total: number) => void;
  /** Retentions read at most (Object Lock buckets; default 1000). */
  lockReads?: number;
  /** The base backups' WAL archive: what only the removed ones need goes too (core/wal-prune.ts). */
  wal?: S3Location;
}

/** At most this many retentions are read per prune (one HeadObject each, a few at once). */
const LOCK_READS = 1000;

export interface PruneResult {
  target: string;
  plan: PrunePlan;
  dryRun: boolean;
  /** Object versions (and delete markers) deleted. */
  deleted: number;
  /** What S3 refused to delete (the first ones), and how many in all. */
  failed: (ObjectRef & { error: string })[];
  failures: number;
  /** Stopped by a signal between batches: what is not deleted is still there. */
  interrupted: boolean;
  /** Proofs of removed backups S3 refused to delete (an Object Lock bucket keeps them a while). */
  proofsKept: number;
  /** With `wal`: the WAL part of the plan, and what became of it. */
  wal: WalPruneResult | null;
}

export async function prune(
  client: S3Client,
  location: S3Location,
  options: PruneOptions,
): Promise<PruneResult> {
  const set = backupSet(client, location);
  const listing = await set.list({ signal: options.signal });
  const now = options.now ?? new Date();
  const { snapshots: proven, proofs } = await provenSnapshots(set, listing.snapshots, options.signal);
  const planning = { ...options, now, pruned: proofs.pruned };
  const snapshots = await withLocks(set, proven, planning);
  const plan = planPrune(snapshots, planning);
  const result: PruneResult = {
    target: listing.target,
    plan,
    dryRun: !options.execute,
    deleted: 0,
    failed: [],
    failures: 0,
    interrupted: false,
    proofsKept: 0,
    wal: null,
  };
  const batchSize = options.batchSize ?? DELETE_BATCH;
  if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= DELETE_BATCH))
    throw new SealdropError('USAGE', `--batch-size ${batchSize}: give 1 to ${DELETE_BATCH}`);
  if (options.wal) result.wal = await planWal(client, options.wal, plan, options.signal);
  const doomed = plan.items.filter((item) => item.action === 'remove').map((item) => item.snapshot);
  if (options.execute && plan.needsForce && !options.force) {
    const { remove, backups } = plan.totals;
    throw new SealdropError(
      'USAGE',
      `refusing to remove ${remove} of ${backups} backups (more than half); nothing was deleted`,
      { hint: 'Check the policy with a dry run (no --yes); pass --force if this is really intended.' },
    );
  }
  if (options.execute && doomed.length > 0) {
    await deleteAll(client, location.bucket, set.objectsOf(doomed, { signal: options.signal }), result, {
      batchSize,
      signal: options.signal,
      onBatch: () => options.onProgress?.(result.deleted + result.failures, plan.totals.objectVersions),
    });
    result.interrupted = options.signal?.aborted ?? false;
    if (result.interrupted || result.failures > 0) {
      // The WAL of base backups that are still there stays with them: the next prune trims it.
      if (result.wal) result.wal.skipped = "the base backups' prune did not finish";
      return result;
    }
    // The stream's alarms go on judging it as pushed: remember what was removed, for two windows.
    const windowMs = (options.anomaly ?? DEFAULT_ANOMALY_THRESHOLDS).windowMs;
    const removed = doomed.filter((s) => s.state === 'complete');
    await writePruned(set, proofs, removed, new Date(now.getTime() - 2 * windowMs));
    // Nothing left to prove: their proofs go too (the ones S3 would not delete are counted).
    const gone = new Set(removed.filter((s) => s.verifiedAt || s.rejectedAt).map((s) => s.id));
    result.proofsKept = await deleteProofs(set, gone);
  }
  if (result.wal && options.wal) {
    await sweepWal(client, options.wal, result.wal, {
      execute: options.execute,
      batchSize,
      signal: options.signal,
    });
    result.interrupted = options.signal?.aborted ?? false;
  }
  return result;
}

/**
 * The snapshots with their Object Lock, as far as prune needs it: derived from the bucket's default
 * retention for all, read exactly for those the retention rules would remove (at most `lockReads`).
 * First those the default says are free (an admin may have locked them longer by hand), then those it
 * says are locked, oldest first (the likeliest to predate the default, and so be free already). One the
 * default locks and that was not read stays locked; one it frees and that was not read is "unread" and
 * kept: the next prune reads it.
 */
async function withLocks(
  set: BackupSet,
  listed: readonly Snapshot[],
  options: PrunePlanOptions & { now: Date; lockReads?: number; signal?: AbortSignal },
): Promise<Snapshot[]> {
  const bucketLock = await readBucketLock(set.client, set.location.bucket);
  if (!bucketLock.enabled) return [...listed];
  const derived = withDerivedLocks(listed, bucketLock);
  const byId = new Map(derived.map((s) => [s.id, s]));
  // Delete markers can't be locked: nothing to read for them.
  const removed = planPrune(listed, options)
    .items.filter((item) => item.action === 'remove' && item.snapshot.state !== 'deleted')
    .map((item) => byId.get(item.snapshot.id)!);
  const [free, held] = partition(removed, (s) => !isLocked(s.lock, options.now));
  const which = [...free, ...held.reverse()].slice(0, options.lockReads ?? LOCK_READS);
  const read = await readDetails(set, derived, which, { bucketLock, signal: options.signal });
  const readIds = new Set(which.map((s) => s.id));
  const unread = new Set(free.filter((s) => !readIds.has(s.id)).map((s) => s.id));
  return read.map((s) =>
    unread.has(s.id) ? { ...s, lock: { until: null, mode: null, legalHold: false, source: 'unread' } } : s,
  );
}

function partition<T>(items: readonly T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}
