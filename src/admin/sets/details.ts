// What a listing doesn't say about a snapshot: its Object Lock retention (and a version's SHA-256 as push
// recorded it), read from the object version that stands for it (HeadObject), and what is proven about
// it (sets/proofs.ts, one listing for all).
// A retention costs a request per snapshot, and a listing may hold a million versions an attacker
// wrote, so every caller reads a bounded number, a few at a time.
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { isSealdropError } from '../../core/errors.js';
import { mapBounded } from '../../core/pool.js';
import { derivedLock, NO_BUCKET_LOCK, readLock, type BucketLock } from '../../core/object-lock.js';
import { SHA256_FIELD } from '../../core/policy-file.js';
import type { Snapshot } from '../../core/snapshot.js';
import type { BackupSet, SnapshotListing } from './backup-set.js';
import { readBucketLock } from '../s3/object-lock.js';
import { s3Error } from '../s3/client.js';
import { provenSnapshots } from './proofs.js';

/** SHA256_FIELD as the SDK names the metadata it returns: without x-amz-meta-. */
const SHA256_METADATA = SHA256_FIELD.slice('x-amz-meta-'.length);

/** Reads in flight at once. */
const CONCURRENCY = 8;

export interface DetailOptions {
  /** The bucket's Object Lock configuration: each read retention is kept only when it is on. */
  bucketLock?: BucketLock;
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
 * `snapshots` with the exact lock of `which` (a few of them, in the order given) read, when the bucket
 * has Object Lock. The rest are as they were.
 */
export async function readDetails(
  set: BackupSet,
  snapshots: readonly Snapshot[],
  which: readonly Snapshot[],
  options: DetailOptions = {},
): Promise<Snapshot[]> {
  const details = await mapBounded(which, CONCURRENCY, (snapshot) => readOne(set, snapshot, options));
  const read = new Map<string, Snapshot>();
  for (const detailed of details) if (detailed) read.set(detailed.id, detailed);
  return snapshots.map((snapshot) => read.get(snapshot.id) ?? snapshot);
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
  // A version's own object carries push's record of its SHA-256; a run's (its manifest's) does not.
  const recorded = head.Metadata?.[SHA256_METADATA];
  const sha256 =
    snapshot.kind === 'version'
      ? { sha256: recorded && /^[0-9a-f]{64}$/.test(recorded) ? recorded : null }
      : {};
  const bucketLock = options.bucketLock ?? NO_BUCKET_LOCK;
  const mode = head.ObjectLockMode;
  const lock = bucketLock.enabled
    ? readLock(snapshot, bucketLock, {
        until: head.ObjectLockRetainUntilDate ?? null,
        mode: mode === 'COMPLIANCE' || mode === 'GOVERNANCE' ? mode : null,
        legalHold: head.ObjectLockLegalHoldStatus === 'ON',
      })
    : snapshot.lock;
  return { ...snapshot, ...sha256, ...(lock ? { lock } : {}) };
}

export interface DetailedListing extends SnapshotListing {
  bucketLock: BucketLock;
  /** How many snapshots (newest first) had their lock read; the others' are derived or unknown. */
  detailed: number;
  warnings: string[];
}

/**
 * The listing `versions` shows: every snapshot's lock derived from the bucket's default retention, and
 * the newest `newest` ones' lock read (one request each), and what is proven about each (one listing).
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
  // Credentials that may list but not read objects still get the listing.
  let proven = derived;
  try {
    proven = (await provenSnapshots(set, derived, signal)).snapshots;
  } catch (error) {
    if (!isSealdropError(error) || error.code !== 'S3_REFUSED') throw error;
    warnings.push(`proofs not read: ${error.message}`);
  }
  const which = proven.filter((s) => set.markObject(s) !== null).slice(0, Math.max(0, newest));
  try {
    const snapshots = await readDetails(set, proven, which, { bucketLock, signal });
    return { ...listing, snapshots, bucketLock, detailed: which.length, warnings };
  } catch (error) {
    if (!isSealdropError(error) || error.code !== 'S3_REFUSED') throw error;
    warnings.push(`retain-until not read: ${error.message}`);
    return { ...listing, snapshots: proven, bucketLock, detailed: 0, warnings };
  }
}
