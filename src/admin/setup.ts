// Bucket preparation: versioning on (and read back), lifecycle rules that would eat history flagged,
// and the write-only access policies printed for the uploader identity.
import { readFile } from 'node:fs/promises';
import {
  CreateBucketCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketVersioningCommand,
  HeadBucketCommand,
  PutBucketVersioningCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SealdropError } from '../core/errors.js';
import { createS3Client, s3Error, type S3ClientOptions } from './s3-client.js';

export interface SetupOptions extends S3ClientOptions {
  bucket: string;
  create?: boolean;
  /** Principal ARN of the uploader identity, filled into the bucket policy. */
  uploaderArn?: string;
}

export interface SetupResult {
  bucket: string;
  created: boolean;
  versioning: 'Enabled';
  warnings: string[];
  policies: { iamUserPolicy: unknown; bucketPolicy: unknown };
}

const POLICIES_DIR = new URL('../../policies/', import.meta.url);
export const UPLOADER_PLACEHOLDER = 'arn:aws:iam::ACCOUNT-ID:user/UPLOADER';

export async function setupBucket(options: SetupOptions): Promise<SetupResult> {
  const client = createS3Client(options);
  const { bucket } = options;
  const created = options.create ? await createBucket(client, bucket) : false;
  try {
    await client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    const { Status } = await client.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    if (Status !== 'Enabled') {
      throw new SealdropError('FAILED', `versioning on ${bucket} reads back as ${Status ?? 'never enabled'}`, {
        hint: 'The store may not support versioning; without it a server could overwrite backups.',
      });
    }
  } catch (error) {
    const failure = s3Error(error, `enabling versioning on ${bucket}`);
    if (failure.code !== 'NOT_FOUND') throw failure;
    throw new SealdropError('NOT_FOUND', `bucket ${bucket} does not exist`, { hint: 'Pass --create to create it, or check the name and the endpoint.' });
  }
  const warnings = await lifecycleWarnings(client, bucket);
  const fill = (text: string) =>
    text.replaceAll('BUCKET-NAME', bucket).replaceAll(UPLOADER_PLACEHOLDER, options.uploaderArn ?? UPLOADER_PLACEHOLDER);
  return {
    bucket,
    created,
    versioning: 'Enabled',
    warnings,
    policies: {
      iamUserPolicy: JSON.parse(fill(await readFile(new URL('iam-user-policy.json', POLICIES_DIR), 'utf8'))),
      bucketPolicy: JSON.parse(fill(await readFile(new URL('bucket-policy.json', POLICIES_DIR), 'utf8'))),
    },
  };
}

/** Creates the bucket unless it exists (some stores answer a repeated CreateBucket with success). */
async function createBucket(client: S3Client, bucket: string): Promise<boolean> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return false;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) {
      throw s3Error(error, `looking for bucket ${bucket}`);
    }
  }
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
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
  return rules
    .filter((rule) => rule.Status === 'Enabled' && (rule.NoncurrentVersionExpiration || rule.Expiration?.Days || rule.Expiration?.Date))
    .map(
      (rule) =>
        `lifecycle rule ${rule.ID ?? '(unnamed)'} expires ${rule.NoncurrentVersionExpiration ? 'noncurrent versions' : 'objects'}: it deletes backup history regardless of sealdrop prune`,
    );
}
