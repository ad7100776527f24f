// Reading one object version, resumed across broken connections, with S3's refusals turned into errors
// people can act on.
import type { Readable } from 'node:stream';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SealdropError } from '../../core/errors.js';
import { download } from './download.js';
import { s3Error } from './client.js';

export interface ObjectVersionRef {
  bucket: string;
  key: string;
  versionId: string;
}

export interface HeadResult {
  time: Date;
  size: number;
  etag: string | null;
}

/**
 * The body of one version, `size` bytes if known (from the listing); `label` names it in messages.
 * A connection that breaks mid-body is resumed (download.ts); a refusal fails here, before any data.
 */
export async function getObjectVersion(
  client: S3Client,
  ref: ObjectVersionRef & { size?: number },
  label: string,
  signal?: AbortSignal,
): Promise<Readable> {
  const { body } = await download(client, ref, {
    label,
    signal,
    refused: (error) => readError(error, label),
  });
  return body;
}

/**
 * The body of one small version as text, refused past `maxBytes` (what the bucket says is bounded):
 * manifests, proof records.
 */
export async function readObjectText(
  client: S3Client,
  ref: ObjectVersionRef,
  label: string,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<string> {
  const body = await getObjectVersion(client, ref, label, signal);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes)
        throw new SealdropError('INTEGRITY', `${label} is over the limit of ${maxBytes} bytes`);
      chunks.push(chunk);
    }
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The time, size and ETag of one version, without downloading it; null when there is no such version. */
export async function headObjectVersion(
  client: S3Client,
  ref: ObjectVersionRef,
  label: string,
): Promise<HeadResult | null> {
  try {
    const head = await client.send(
      new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }),
    );
    return {
      time: head.LastModified ?? new Date(0),
      size: head.ContentLength ?? 0,
      etag: head.ETag ? head.ETag.replaceAll('"', '') : null,
    };
  } catch (error) {
    if (isMissing(error)) return null;
    throw readError(error, label);
  }
}

interface AwsError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** No such version: 404 NoSuchVersion, NoSuchKey on Ceph RGW for an unknown id, 400 on some stores. */
function isMissing(error: unknown): boolean {
  const aws = error as AwsError;
  const status = aws.$metadata?.httpStatusCode;
  return (
    status === 404 ||
    aws.name === 'NoSuchVersion' ||
    aws.name === 'NoSuchKey' ||
    (status === 400 && /version|BadRequest/i.test(String(aws.message ?? aws.name)))
  );
}

function readError(error: unknown, label: string): SealdropError {
  if (error instanceof SealdropError) return error;
  const aws = error as AwsError;
  const status = aws.$metadata?.httpStatusCode;
  // A delete marker's id answers 405.
  if (status === 405 || aws.name === 'MethodNotAllowed')
    return new SealdropError(
      'NOT_FOUND',
      `${label} is a delete marker; there is nothing to restore from it`,
      { hint: 'Pick a real version from `sealdrop versions` (delete markers are marked there).' },
    );
  if (isMissing(error))
    return new SealdropError('NOT_FOUND', `${label} does not exist`, {
      hint: 'List what exists with `sealdrop versions` (or check the bucket and key).',
    });
  const refused = s3Error(error, `reading ${label}`);
  if (status === 403)
    // The usual cause: the uploader owns what it wrote (Ceph RGW; AWS buckets with ObjectWriter ownership).
    return new SealdropError(refused.code, refused.message, {
      hint: 'Use admin credentials. If they are, the object belongs to the uploader: mint policies with --acl bucket-owner-full-control (or set the bucket to BucketOwnerEnforced on AWS).',
      cause: error,
    });
  return refused;
}
