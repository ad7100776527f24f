// Reads what a bucket says about all of its backups (versioning, lifecycle rules, Object Lock) for the
// verdict in core/bucket-health.ts. A bucket that can't be read is UNKNOWN, never an exception.
import {
  GetBucketLifecycleConfigurationCommand,
  GetBucketVersioningCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  assessBucket,
  uncheckedBucket,
  type BucketHealth,
  type LifecycleRuleLike,
} from '../../core/bucket-health.js';
import type { BucketLock } from '../../core/object-lock.js';
import { readBucketLock } from './object-lock.js';
import { s3Error } from './client.js';

export async function checkBucket(client: S3Client, bucket: string): Promise<BucketHealth> {
  let versioning: 'Enabled' | 'Suspended' | 'Off';
  let lifecycleRules: LifecycleRuleLike[];
  try {
    const { Status } = await client.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    versioning = Status === 'Enabled' || Status === 'Suspended' ? Status : 'Off';
  } catch (error) {
    return uncheckedBucket(bucket, s3Error(error, `reading the versioning state of ${bucket}`).message);
  }
  try {
    lifecycleRules =
      (await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
  } catch (error) {
    if ((error as Error).name !== 'NoSuchLifecycleConfiguration')
      return uncheckedBucket(bucket, s3Error(error, `reading the lifecycle rules of ${bucket}`).message);
    lifecycleRules = [];
  }
  const lock = await objectLock(client, bucket);
  return assessBucket({ bucket, versioning, lifecycleRules, ...lock });
}

/** Object Lock is reported, never a failure: a bucket that won't say is noted. */
async function objectLock(
  client: S3Client,
  bucket: string,
): Promise<{ objectLock: BucketLock | null; objectLockNote?: string }> {
  try {
    return { objectLock: await readBucketLock(client, bucket) };
  } catch (error) {
    return { objectLock: null, objectLockNote: (error as Error).message };
  }
}
