// Whether a bucket is there, asked with the credentials at hand (HeadBucket): fleet check's catch for a
// misspelled bucket name. No credentials is an answer too: the check was skipped, and why.
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { isSealdropError } from '../../core/errors.js';
import { resolveCredentials, s3Error } from './client.js';

/**
 * found: it answered; missing: no such bucket at this endpoint (404); denied: it exists, but these
 * credentials may not look at it (403); skipped: no credentials to ask with.
 */
export type BucketProbe =
  { state: 'found' | 'missing' | 'denied'; accessKeyId: string } | { state: 'skipped'; reason: string };

/** Asks S3 whether `bucket` exists; an unreachable endpoint or another refusal is a SealdropError. */
export async function probeBucket(client: S3Client, bucket: string): Promise<BucketProbe> {
  let accessKeyId: string;
  try {
    ({ accessKeyId } = await resolveCredentials(client));
  } catch (error) {
    if (isSealdropError(error) && error.code === 'CREDENTIALS_MISSING')
      return { state: 'skipped', reason: error.message };
    throw error;
  }
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return { state: 'found', accessKeyId };
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return { state: 'missing', accessKeyId };
    if (status === 403) return { state: 'denied', accessKeyId };
    throw s3Error(error, `asking whether s3://${bucket} exists (HeadBucket)`, bucket);
  }
}
