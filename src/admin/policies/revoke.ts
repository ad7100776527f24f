// revoke / unrevoke: a host's uploads denied at once by statements merged into the bucket policy, one per
// place it writes (its policy files work nowhere), and its published successor removed so it can't renew.
import { DeleteObjectCommand, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import { SealdropError } from '../../core/errors.js';
import {
  findRevocation,
  formatBucketPolicy,
  planRevoke,
  planUnrevoke,
  type Statement,
} from '../../core/revocation.js';
import { formatS3Url, type S3Location } from '../../core/s3-url.js';
import { readBucketPolicy, writeBucketPolicy } from '../s3/bucket-policy.js';
import { s3Error } from '../s3/client.js';

export interface RevokeTarget {
  /**
   * Every place the host writes, in one bucket: its key or prefix first, then its WAL archive if it has
   * one. All are revoked (or unrevoked) together, in one change of the bucket policy.
   */
  locations: readonly S3Location[];
  /** The fleet host, or the policy file's name. */
  host: string | null;
  /** Its renewal object under .sealdrop/renew/ (from the admin's copy of its policy), if it has one. */
  renewalKey: string | null;
}

export interface RevokeOptions {
  /** Without it: a dry run that reads and plans, and changes nothing. */
  execute: boolean;
  now?: Date;
}

interface ChangeResult {
  dryRun: boolean;
  host: string | null;
  /** Its backups (the first of `targets`): what this field always named. */
  target: string;
  /** Every location revoked or unrevoked together. */
  targets: string[];
  bucket: string;
  /** The bucket had a policy before. */
  hadPolicy: boolean;
  /** The bucket policy as it is (or, in a dry run, would be) afterwards; null: none. */
  policy: unknown;
  warnings: string[];
}

export interface RevokeResult extends ChangeResult {
  /** Every location was revoked before this run: nothing added. */
  already: boolean;
  /** When the revocation was made (this run's, or the earliest earlier one's). */
  since: string | null;
  added: Statement[];
  /** The host's successor: the versions removed (or, in a dry run, found); null when it has none. */
  renewal: { key: string; versions: number } | null;
}

export interface UnrevokeResult extends ChangeResult {
  removed: Statement[];
  /** Its statement was the bucket policy's last: the policy is deleted. */
  deletesPolicy: boolean;
}

/** Denies the target's uploads wherever it writes (where not denied already), then removes its successor. */
export async function revoke(
  client: S3Client,
  target: RevokeTarget,
  options: RevokeOptions,
): Promise<RevokeResult> {
  const bucket = bucketOf(target);
  const now = options.now ?? new Date();
  const current = await readBucketPolicy(client, bucket);
  const plan = planRevoke(current, target.locations, now);
  if (options.execute && plan.added.length > 0) {
    await writeBucketPolicy(client, bucket, plan.result);
    await confirm(client, target.locations, true);
  }
  const warnings: string[] = [];
  let renewal: RevokeResult['renewal'] = null;
  if (target.renewalKey !== null)
    try {
      renewal = {
        key: target.renewalKey,
        versions: await removeRenewal(client, bucket, target.renewalKey, options.execute),
      };
    } catch (error) {
      warnings.push(
        `could not remove the successor at s3://${bucket}/${target.renewalKey}: ${s3Error(error, 'removing it').message}; run revoke again`,
      );
    }
  const already = plan.added.length === 0;
  const since = earliest([...plan.already.map((r) => r.since), ...(already ? [] : [now])]);
  return {
    ...outcome(target, current, options),
    policy: JSON.parse(formatBucketPolicy(plan.result)),
    warnings,
    already,
    since: since && new Date(Math.floor(since.getTime() / 1000) * 1000).toISOString(),
    added: plan.added,
    renewal,
  };
}

/** What revoke and unrevoke both report: what was asked, where, and whether there was a policy. */
function outcome(target: RevokeTarget, current: unknown, options: RevokeOptions) {
  const targets = target.locations.map(formatS3Url);
  return {
    dryRun: !options.execute,
    host: target.host,
    target: targets[0]!,
    targets,
    bucket: bucketOf(target),
    hadPolicy: current !== null,
  };
}

/** The one bucket whose policy holds the revocation: a target spread over two is a bug of the caller. */
function bucketOf(target: RevokeTarget): string {
  const buckets = new Set(target.locations.map((location) => location.bucket));
  if (buckets.size !== 1)
    throw new Error(`a revocation target must name locations in one bucket, not ${buckets.size}`);
  return [...buckets][0]!;
}

/** The earliest known time among revocations (an unreadable one's time is not known: null alone). */
function earliest(times: readonly (Date | null)[]): Date | null {
  return times.reduce<Date | null>((first, time) => (time && (!first || time < first) ? time : first), null);
}

/** Removes exactly sealdrop's statements for the target; deletes the bucket policy if nothing is left. */
export async function unrevoke(
  client: S3Client,
  target: RevokeTarget,
  options: RevokeOptions,
): Promise<UnrevokeResult> {
  const bucket = bucketOf(target);
  const current = await readBucketPolicy(client, bucket);
  const plan = planUnrevoke(current, target.locations);
  if (options.execute && plan.removed.length > 0) {
    await writeBucketPolicy(client, bucket, plan.result);
    await confirm(client, target.locations, false);
  }
  return {
    ...outcome(target, current, options),
    policy: plan.result && JSON.parse(formatBucketPolicy(plan.result)),
    warnings: [],
    removed: plan.removed,
    deletesPolicy: current !== null && plan.result === null,
  };
}

/**
 * Deletes every version of a renewal object (and its delete markers), so its presigned URL finds
 * nothing: one object per host in the admin's own area, a page of versions at most. Returns how many
 * there were; with `execute` false only counts them.
 */
export async function removeRenewal(
  client: S3Client,
  bucket: string,
  key: string,
  execute: boolean,
): Promise<number> {
  const page = await client.send(
    new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key, MaxKeys: 1000 }),
  );
  const versions = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].filter(
    (version) => version.Key === key,
  );
  if (execute)
    for (const version of versions)
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: version.VersionId }));
  return versions.length;
}

/** Reads the policy back: a store that dropped the change must not leave the admin believing it. */
async function confirm(client: S3Client, locations: readonly S3Location[], revoked: boolean): Promise<void> {
  const policy = await readBucketPolicy(client, locations[0]!.bucket);
  const wrong = locations.find((location) => (findRevocation(policy, location) !== null) !== revoked);
  if (wrong)
    throw new SealdropError(
      'FAILED',
      `the bucket policy of ${wrong.bucket} was written but reads back ${revoked ? 'without' : 'still with'} the revocation of ${formatS3Url(wrong)}`,
      { hint: 'Look at the bucket policy (aws s3api get-bucket-policy) and run the command again.' },
    );
}

export type RevocationCheck =
  { state: 'revoked'; since: Date | null } | { state: 'not-revoked' } | { state: 'unknown'; reason: string };

/** Whether `location` is revoked; a bucket policy these credentials can't read is said so, not fatal. */
export async function checkRevoked(client: S3Client, location: S3Location): Promise<RevocationCheck> {
  try {
    const revocation = findRevocation(await readBucketPolicy(client, location.bucket), location);
    return revocation ? { state: 'revoked', since: revocation.since } : { state: 'not-revoked' };
  } catch (error) {
    if (!(error instanceof SealdropError)) throw error;
    return { state: 'unknown', reason: error.message };
  }
}
