// A bucket's policy: read (none is null), replaced, or deleted. Where revocations live, so every admin
// command that must know which hosts are cut off reads it here.
import {
  DeleteBucketPolicyCommand,
  GetBucketPolicyCommand,
  PutBucketPolicyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SealdropError } from '../../core/errors.js';
import { formatBucketPolicy, parseBucketPolicy, type BucketPolicy } from '../../core/revocation.js';
import { s3Error } from './client.js';

const PERMISSION_HINT =
  'Use admin credentials that may s3:GetBucketPolicy, s3:PutBucketPolicy and s3:DeleteBucketPolicy on the bucket (the bucket owner can).';

/** The bucket's policy, parsed (refused when it can't be merged into), or null when it has none. */
export async function readBucketPolicy(client: S3Client, bucket: string): Promise<BucketPolicy | null> {
  let text: string | undefined;
  try {
    text = (await client.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy;
  } catch (error) {
    if ((error as Error).name === 'NoSuchBucketPolicy') return null;
    throw refused(error, `reading the bucket policy of ${bucket}`, bucket);
  }
  return text === undefined || text === '' ? null : parseBucketPolicy(text, bucket);
}

/** Replaces the bucket's policy with `policy`, or deletes it (null). */
export async function writeBucketPolicy(
  client: S3Client,
  bucket: string,
  policy: BucketPolicy | null,
): Promise<void> {
  try {
    if (policy === null) await client.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
    else
      await client.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: formatBucketPolicy(policy) }));
  } catch (error) {
    throw refused(
      error,
      `${policy === null ? 'deleting' : 'writing'} the bucket policy of ${bucket}`,
      bucket,
    );
  }
}

/** S3's refusal, with a hint naming the permissions a bucket policy needs. */
function refused(error: unknown, what: string, bucket: string): SealdropError {
  const failure = s3Error(error, what, bucket);
  if (failure.code !== 'S3_REFUSED') return failure;
  return new SealdropError('S3_REFUSED', failure.message, {
    hint: /403|AccessDenied/.test(failure.message) ? PERMISSION_HINT : failure.hint,
    cause: error,
  });
}
