// prune: plan with the pure planner (core/prune-plan.ts) and, when told to, delete exactly what the plan
// removes, in DeleteObjects batches. An interruption stops between batches and still reports what was
// deleted; running again continues, since the plan is made afresh from what is left.
import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
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
import { s3Error } from '../s3/client.js';

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
}

/** At most this many retentions are read per prune (one HeadObject each, a few at once). */
const LOCK_READS = 1000;

/** Keys per DeleteObjects request: S3's limit. */
const DELETE_BATCH = 1000;
/** At most this many failures are reported one by one; the rest are counted. */
const FAILURES_LISTED = 100;

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
  };
  const batchSize = options.batchSize ?? DELETE_BATCH;
  if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= DELETE_BATCH))
    throw new SealdropError('USAGE', `--batch-size ${batchSize}: give 1 to ${DELETE_BATCH}`);
  const doomed = plan.items.filter((item) => item.action === 'remove').map((item) => item.snapshot);
  if (!options.execute || doomed.length === 0) return result;
  if (plan.needsForce && !options.force) {
    const { remove, backups } = plan.totals;
    throw new SealdropError(
      'USAGE',
      `refusing to remove ${remove} of ${backups} backups (more than half); nothing was deleted`,
      { hint: 'Check the policy with a dry run (no --yes); pass --force if this is really intended.' },
    );
  }
  const deleteNow = async (batch: ObjectRef[]) => {
    await deleteBatch(client, location.bucket, batch, result);
    options.onProgress?.(result.deleted + result.failures, plan.totals.objectVersions);
  };
  try {
    let batch: ObjectRef[] = [];
    for await (const ref of set.objectsOf(doomed, { signal: options.signal })) {
      if (options.signal?.aborted) break;
      batch.push(ref);
      if (batch.length === batchSize) {
        await deleteNow(batch);
        batch = [];
      }
    }
    if (batch.length > 0 && !options.signal?.aborted) await deleteNow(batch);
  } catch (error) {
    // Listing is abortable: an interruption mid-page is an interruption, not a failure.
    if (!options.signal?.aborted) throw error;
  }
  result.interrupted = options.signal?.aborted ?? false;
  if (result.interrupted || result.failures > 0) return result;
  // The stream's alarms go on judging it as pushed: remember what was removed, for two windows.
  const windowMs = (options.anomaly ?? DEFAULT_ANOMALY_THRESHOLDS).windowMs;
  const removed = doomed.filter((s) => s.state === 'complete');
  await writePruned(set, proofs, removed, new Date(now.getTime() - 2 * windowMs));
  // Nothing left to prove: their proofs go too (the ones S3 would not delete are counted).
  const gone = new Set(removed.filter((s) => s.verifiedAt || s.rejectedAt).map((s) => s.id));
  result.proofsKept = await deleteProofs(set, gone);
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

async function deleteBatch(
  client: S3Client,
  bucket: string,
  batch: ObjectRef[],
  result: PruneResult,
): Promise<void> {
  const fail = (ref: ObjectRef, error: string) => {
    result.failures++;
    if (result.failed.length < FAILURES_LISTED) result.failed.push({ ...ref, error });
  };
  try {
    const response = await client.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: batch.map((v) => ({ Key: v.key, VersionId: v.versionId })), Quiet: true },
      }),
    );
    const errors = response.Errors ?? [];
    for (const e of errors)
      fail({ key: e.Key ?? '', versionId: e.VersionId ?? '' }, `${e.Code}: ${e.Message}`);
    result.deleted += batch.length - errors.length;
  } catch (error) {
    const failure = s3Error(error, 'deleting versions');
    for (const ref of batch) fail(ref, failure.message);
  }
}
