// Bucket preparation: versioning on (and read back), Object Lock's default retention set or reported,
// lifecycle rules that would eat history flagged, and the write-only access policies printed for the
// uploader identity.
import { readFile } from 'node:fs/promises';
import {
  CreateBucketCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  HeadBucketCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { historyRuleWarnings } from '../../core/bucket-health.js';
import { SealdropError } from '../../core/errors.js';
import type { BucketLock, DefaultRetention } from '../../core/object-lock.js';
import { readBucketLock, setDefaultRetention } from '../s3/object-lock.js';
import { s3Error } from '../s3/client.js';

export interface SetupOptions {
  bucket: string;
  create?: boolean;
  /** Principal ARN of the uploader identity, filled into the bucket policy. */
  uploaderArn?: string;
  /** Attach the bucket policy (only to a bucket with no policy, or the same one). */
  applyBucketPolicy?: boolean;
  /** Object Lock: create the bucket with it, and set this default retention (read back). */
  objectLock?: DefaultRetention;
}

export interface SetupResult {
  bucket: string;
  created: boolean;
  versioning: 'Enabled';
  /** As read back: set by this run (objectLock given) or as it was. */
  objectLock: BucketLock;
  /** The write-only bucket policy is attached (applyBucketPolicy)… */
  bucketPolicyApplied: boolean;
  /** …by this run (false: it was already). */
  bucketPolicyChanged: boolean;
  warnings: string[];
  policies: { iamUserPolicy: unknown; bucketPolicy: unknown };
}

const POLICIES_DIR = new URL('../../../policies/', import.meta.url);
const UPLOADER_PLACEHOLDER = 'arn:aws:iam::ACCOUNT-ID:user/UPLOADER';

export async function setupBucket(client: S3Client, options: SetupOptions): Promise<SetupResult> {
  const { bucket } = options;
  // Before anything changes on S3: found later, it left a bucket created, versioned or locked.
  if (options.applyBucketPolicy && !options.uploaderArn)
    throw new SealdropError(
      'USAGE',
      '--apply-bucket-policy needs --uploader ARN (whose writes the policy allows)',
      { hint: 'Add --uploader arn:aws:iam::ACCOUNT-ID:user/NAME (Ceph RGW: arn:aws:iam:::user/UID).' },
    );
  const created = options.create
    ? await createBucket(client, bucket, { objectLock: options.objectLock !== undefined })
    : false;
  try {
    await client.send(
      new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    const { Status } = await client.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    if (Status !== 'Enabled') {
      throw new SealdropError(
        'FAILED',
        `versioning on ${bucket} reads back as ${Status ?? 'never enabled'}`,
        {
          hint: 'The store may not support versioning; without it a server could overwrite backups.',
        },
      );
    }
  } catch (error) {
    const failure = s3Error(error, `enabling versioning on ${bucket}`);
    if (failure.code !== 'NOT_FOUND') throw failure;
    throw new SealdropError('NOT_FOUND', `bucket ${bucket} does not exist`, {
      hint: 'Pass --create to create it, or check the name and the endpoint.',
    });
  }
  // Versioning first: AWS turns Object Lock on only for versioned buckets.
  const objectLock = options.objectLock
    ? await setDefaultRetention(client, bucket, options.objectLock)
    : await readBucketLock(client, bucket);
  const warnings = await lifecycleWarnings(client, bucket);
  const fill = (text: string) =>
    text
      .replaceAll('BUCKET-NAME', bucket)
      .replaceAll(UPLOADER_PLACEHOLDER, options.uploaderArn ?? UPLOADER_PLACEHOLDER);
  const policies = {
    iamUserPolicy: JSON.parse(
      fill(await readFile(new URL('iam-user-policy.json', POLICIES_DIR), 'utf8')),
    ) as unknown,
    bucketPolicy: JSON.parse(
      fill(await readFile(new URL('bucket-policy.json', POLICIES_DIR), 'utf8')),
    ) as unknown,
  };
  let bucketPolicyChanged = false;
  if (options.applyBucketPolicy) {
    bucketPolicyChanged = await applyBucketPolicy(client, bucket, policies.bucketPolicy);
  }
  return {
    bucket,
    created,
    versioning: 'Enabled',
    objectLock,
    bucketPolicyApplied: Boolean(options.applyBucketPolicy),
    bucketPolicyChanged,
    warnings,
    policies,
  };
}

/**
 * Attaches the policy unless the bucket already has another one, which must be merged by a person.
 * False when it was attached already.
 */
async function applyBucketPolicy(client: S3Client, bucket: string, policy: unknown): Promise<boolean> {
  let existing: string | undefined;
  try {
    existing = (await client.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy;
  } catch (error) {
    if ((error as Error).name !== 'NoSuchBucketPolicy')
      throw s3Error(error, `reading the policy of ${bucket}`);
  }
  if (existing !== undefined) {
    if (JSON.stringify(JSON.parse(existing)) === JSON.stringify(policy)) return false;
    throw new SealdropError('FAILED', `${bucket} already has a different bucket policy; not replacing it`, {
      hint: 'Merge the printed bucket policy into the existing one by hand (aws s3api put-bucket-policy).',
    });
  }
  try {
    await client.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
  } catch (error) {
    throw s3Error(error, `attaching the bucket policy to ${bucket}`);
  }
  return true;
}

/** Creates the bucket unless it exists (some stores answer a repeated CreateBucket with success). */
async function createBucket(
  client: S3Client,
  bucket: string,
  { objectLock }: { objectLock: boolean },
): Promise<boolean> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return false;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) {
      throw s3Error(error, `looking for bucket ${bucket}`);
    }
  }
  try {
    await client.send(
      new CreateBucketCommand({
        Bucket: bucket,
        ...(objectLock ? { ObjectLockEnabledForBucket: true } : {}),
      }),
    );
    return true;
  } catch (error) {
    throw s3Error(error, `creating bucket ${bucket}`);
  }
}

async function lifecycleWarnings(client: S3Client, bucket: string): Promise<string[]> {
  let rules;
  try {
    rules = (await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
  } catch (error) {
    if ((error as Error).name === 'NoSuchLifecycleConfiguration') return [];
    throw s3Error(error, `reading the lifecycle rules of ${bucket}`);
  }
  return historyRuleWarnings(rules).map(({ warning }) => warning);
}
