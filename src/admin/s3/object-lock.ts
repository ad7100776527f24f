// A bucket's Object Lock configuration: whether it is on, and the default retention every new version
// gets. Read once per command; the default is what lets the read side derive each version's lock.
import {
  GetObjectLockConfigurationCommand,
  PutObjectLockConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SealdropError } from '../../core/errors.js';
import { NO_BUCKET_LOCK, type BucketLock, type DefaultRetention } from '../../core/object-lock.js';
import { s3Error } from './client.js';

interface AwsError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * The bucket's configuration: off when it has none or the store has no Object Lock at all (501).
 * Other refusals (no s3:GetBucketObjectLockConfiguration) are thrown, named.
 */
export async function readBucketLock(client: S3Client, bucket: string): Promise<BucketLock> {
  let config;
  try {
    config = (await client.send(new GetObjectLockConfigurationCommand({ Bucket: bucket })))
      .ObjectLockConfiguration;
  } catch (error) {
    const aws = error as AwsError;
    const status = aws.$metadata?.httpStatusCode;
    if (
      aws.name === 'ObjectLockConfigurationNotFoundError' ||
      status === 501 ||
      aws.name === 'NotImplemented'
    )
      return NO_BUCKET_LOCK;
    throw s3Error(error, `reading the Object Lock configuration of ${bucket}`, bucket);
  }
  const retention = config?.Rule?.DefaultRetention;
  const mode = retention?.Mode;
  return {
    enabled: config?.ObjectLockEnabled === 'Enabled',
    defaultRetention:
      mode === 'COMPLIANCE' || mode === 'GOVERNANCE'
        ? {
            mode,
            ...(retention?.Years ? { years: retention.Years } : { days: retention?.Days ?? 0 }),
          }
        : null,
  };
}

/**
 * Turns Object Lock on with this default retention, and reads it back. AWS can turn it on for an
 * existing versioned bucket; Ceph RGW only when a bucket is created with it, and refuses here.
 */
export async function setDefaultRetention(
  client: S3Client,
  bucket: string,
  retention: DefaultRetention,
): Promise<BucketLock> {
  try {
    await client.send(
      new PutObjectLockConfigurationCommand({
        Bucket: bucket,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: {
            DefaultRetention: {
              Mode: retention.mode,
              ...(retention.years ? { Years: retention.years } : { Days: retention.days }),
            },
          },
        },
      }),
    );
  } catch (error) {
    const aws = error as AwsError;
    if (aws.name === 'InvalidBucketState' || aws.$metadata?.httpStatusCode === 409)
      throw new SealdropError(
        'FAILED',
        `Object Lock is off on ${bucket}, and this store turns it on only when a bucket is created`,
        {
          hint: 'Create a new bucket with it: sealdrop setup s3://NEW-BUCKET --create --object-lock 30d; then mint the policies for that bucket.',
        },
      );
    throw s3Error(error, `setting the default retention of ${bucket}`, bucket);
  }
  const lock = await readBucketLock(client, bucket);
  const read = lock.defaultRetention;
  if (
    !lock.enabled ||
    read?.mode !== retention.mode ||
    (read.days ?? 0) !== (retention.days ?? 0) ||
    (read.years ?? 0) !== (retention.years ?? 0)
  )
    throw new SealdropError(
      'FAILED',
      `the default retention of ${bucket} reads back as ${read ? JSON.stringify(read) : 'none'}`,
      { hint: 'The store may not support Object Lock; check it with its own tools.' },
    );
  return lock;
}
