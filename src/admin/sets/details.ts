// What a listing doesn't say about a snapshot: its Object Lock retention and its verified mark, read
// from the object version that stands for it (HeadObject; its tags only when it has some). That costs a
// request per snapshot, and a listing may hold a million versions an attacker wrote, so every caller
// reads a bounded number, a few at a time: the newest N, or until the first one that answers its question.
import {
  DeleteObjectTaggingCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectTaggingCommand,
  type Tag,
} from '@aws-sdk/client-s3';
import { isSealdropError } from '../../core/errors.js';
import { mapBounded } from '../../core/pool.js';
import { derivedLock, NO_BUCKET_LOCK, readLock, type BucketLock } from '../../core/object-lock.js';
import type { Snapshot } from '../../core/snapshot.js';
import type { BackupSet, ObjectRef, SnapshotListing } from './backup-set.js';
import { readBucketLock } from '../s3/object-lock.js';
import { s3Error } from '../s3/client.js';

/** The object tag `sealdrop verify` sets: its value is when (ISO 8601, UTC, to the second). */
const VERIFIED_TAG = 'sealdrop-verified';
/** Reads in flight at once. */
const CONCURRENCY = 8;
/** At most this many snapshots are read to find the newest verified one (status, restore --verified). */
const MARK_READS = 1000;

export interface DetailOptions {
  /** The bucket's Object Lock configuration: each read retention is kept only when it is on. */
  bucketLock?: BucketLock;
  /** Read the verified marks too. */
  marks?: boolean;
  /** Stop reading once a snapshot read satisfies this (reads in flight still finish). */
  stopAt?: (snapshot: Snapshot) => boolean;
  signal?: AbortSignal;
}

/** Each snapshot's lock derived from the bucket's default retention (no request per snapshot). */
export function withDerivedLocks(snapshots: readonly Snapshot[], bucketLock: BucketLock): Snapshot[] {
  if (!bucketLock.enabled) return [...snapshots];
  return snapshots.map((snapshot) => {
    const lock = derivedLock(snapshot, bucketLock);
    return lock ? { ...snapshot, lock } : snapshot;
  });
}

/**
 * `snapshots` with the details of `which` (a few of them, in the order given) read: the exact lock
 * (when the bucket has Object Lock) and the verified mark (with `marks`). The rest are as they were.
 */
export async function readDetails(
  set: BackupSet,
  snapshots: readonly Snapshot[],
  which: readonly Snapshot[],
  options: DetailOptions = {},
): Promise<Snapshot[]> {
  const details = await mapBounded(which, CONCURRENCY, (snapshot) => readOne(set, snapshot, options), {
    until: options.stopAt,
  });
  const read = new Map<string, Snapshot>();
  for (const detailed of details) if (detailed) read.set(detailed.id, detailed);
  return snapshots.map((snapshot) => read.get(snapshot.id) ?? snapshot);
}

/**
 * The newest complete snapshots' verified marks, read newest first until one is verified, at most
 * MARK_READS: what status --max-unverified-age and restore --verified need.
 */
export function readNewestMark(
  set: BackupSet,
  snapshots: readonly Snapshot[],
  signal?: AbortSignal,
): Promise<Snapshot[]> {
  const complete = snapshots.filter((s) => s.state === 'complete').slice(0, MARK_READS);
  return readDetails(set, snapshots, complete, {
    marks: true,
    stopAt: (s) => Boolean(s.verifiedAt),
    signal,
  });
}

async function readOne(set: BackupSet, snapshot: Snapshot, options: DetailOptions): Promise<Snapshot> {
  const ref = set.markObject(snapshot);
  if (!ref) return snapshot;
  const { bucket } = set.location;
  let head;
  try {
    head = await set.client.send(
      new HeadObjectCommand({ Bucket: bucket, Key: ref.key, VersionId: ref.versionId }),
      { abortSignal: options.signal },
    );
  } catch (error) {
    // Gone since the listing (pruned meanwhile): nothing more to say about it.
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
      return snapshot;
    throw s3Error(error, `reading s3://${bucket}/${ref.key} version ${ref.versionId}`, bucket);
  }
  const bucketLock = options.bucketLock ?? NO_BUCKET_LOCK;
  const mode = head.ObjectLockMode;
  const lock = bucketLock.enabled
    ? readLock(snapshot, bucketLock, {
        until: head.ObjectLockRetainUntilDate ?? null,
        mode: mode === 'COMPLIANCE' || mode === 'GOVERNANCE' ? mode : null,
        legalHold: head.ObjectLockLegalHoldStatus === 'ON',
      })
    : snapshot.lock;
  // HeadObject says how many tags there are: the tag set is read only when there is one.
  const verifiedAt = options.marks
    ? head.TagCount
      ? markOf(await readTags(set, ref, options.signal))
      : null
    : snapshot.verifiedAt;
  return {
    ...snapshot,
    ...(lock ? { lock } : {}),
    ...(verifiedAt === undefined ? {} : { verifiedAt }),
  };
}

/** Sets the verified mark (keeping the object's other tags); returns the time it records. */
export async function markVerified(set: BackupSet, snapshot: Snapshot, at = new Date()): Promise<Date> {
  const ref = set.markObject(snapshot);
  if (!ref) throw new Error(`snapshot ${snapshot.id} has no object to mark`);
  const when = new Date(Math.floor(at.getTime() / 1000) * 1000);
  const others = (await readTags(set, ref)).filter((tag) => tag.Key !== VERIFIED_TAG);
  await writeTags(set, ref, [
    ...others,
    { Key: VERIFIED_TAG, Value: when.toISOString().replace('.000Z', 'Z') },
  ]);
  return when;
}

/** Removes the verified mark of a snapshot that failed verification; returns whether it had one. */
export async function clearMark(set: BackupSet, snapshot: Snapshot): Promise<boolean> {
  const ref = set.markObject(snapshot);
  if (!ref) return false;
  const tags = await readTags(set, ref);
  const others = tags.filter((tag) => tag.Key !== VERIFIED_TAG);
  if (others.length === tags.length) return false;
  await writeTags(set, ref, others);
  return true;
}

/** The mark's time, or null: no such tag, or a value that is not a time. */
function markOf(tags: readonly Tag[]): Date | null {
  const value = tags.find((tag) => tag.Key === VERIFIED_TAG)?.Value ?? '';
  const time = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/.test(value) ? new Date(value) : null;
  return time && !Number.isNaN(time.getTime()) ? time : null;
}

async function readTags(set: BackupSet, ref: ObjectRef, signal?: AbortSignal): Promise<Tag[]> {
  const { bucket } = set.location;
  try {
    const response = await set.client.send(
      new GetObjectTaggingCommand({ Bucket: bucket, Key: ref.key, VersionId: ref.versionId }),
      { abortSignal: signal },
    );
    return response.TagSet ?? [];
  } catch (error) {
    throw s3Error(error, `reading the tags of s3://${bucket}/${ref.key} version ${ref.versionId}`, bucket);
  }
}

async function writeTags(set: BackupSet, ref: ObjectRef, tags: Tag[]): Promise<void> {
  const { bucket } = set.location;
  const where = { Bucket: bucket, Key: ref.key, VersionId: ref.versionId };
  try {
    if (tags.length > 0)
      await set.client.send(new PutObjectTaggingCommand({ ...where, Tagging: { TagSet: tags } }));
    else await set.client.send(new DeleteObjectTaggingCommand(where));
  } catch (error) {
    throw s3Error(error, `tagging s3://${bucket}/${ref.key} version ${ref.versionId}`, bucket);
  }
}

export interface DetailedListing extends SnapshotListing {
  bucketLock: BucketLock;
  /** How many snapshots (newest first) had their lock and mark read; the others' are derived or unknown. */
  detailed: number;
  warnings: string[];
}

/**
 * The listing `versions` shows: every snapshot's lock derived from the bucket's default retention, and
 * the newest `newest` ones' lock and verified mark read (one request each).
 */
export async function listWithDetails(
  set: BackupSet,
  { newest, signal }: { newest: number; signal?: AbortSignal },
): Promise<DetailedListing> {
  const listing = await set.list({ signal });
  const warnings: string[] = [];
  let bucketLock = NO_BUCKET_LOCK;
  try {
    bucketLock = await readBucketLock(set.client, set.location.bucket);
  } catch (error) {
    if (!isSealdropError(error) || error.code !== 'S3_REFUSED') throw error;
    warnings.push(`retain-until not shown: ${error.message}`);
  }
  const derived = withDerivedLocks(listing.snapshots, bucketLock);
  const which = listing.snapshots.filter((s) => set.markObject(s) !== null).slice(0, Math.max(0, newest));
  // Credentials that may list but not read objects (or their tags) still get the listing.
  try {
    const snapshots = await readDetails(set, derived, which, { bucketLock, marks: true, signal });
    return { ...listing, snapshots, bucketLock, detailed: which.length, warnings };
  } catch (error) {
    if (!isSealdropError(error) || error.code !== 'S3_REFUSED') throw error;
    warnings.push(`retain-until and verified marks not read: ${error.message}`);
    return { ...listing, snapshots: derived, bucketLock, detailed: 0, warnings };
  }
}
