// s3://BUCKET/KEY targets. A trailing slash means a prefix (multi-object runs), not one key.
import { createHash } from 'node:crypto';
import { SealdropError } from './errors.js';

export interface S3Location {
  bucket: string;
  /** The exact key, or the prefix when isPrefix (may be "" for the whole bucket). */
  key: string;
  isPrefix: boolean;
}

/** S3's rule for bucket names (lower case, digits, dots and hyphens; 3 to 63 characters). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function parseS3Url(text: string, { requireKey = true } = {}): S3Location {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(text);
  const bucket = match?.[1];
  if (!match || !bucket || !BUCKET_NAME.test(bucket)) {
    throw new SealdropError('USAGE', `"${text}" is not an s3://BUCKET/KEY address`, {
      hint: 'Write s3://my-backups/db1/dump.sql.gz.gpg (one key) or s3://my-backups/db1/ (a prefix).',
    });
  }
  const key = match[2] ?? '';
  const isPrefix = key === '' || key.endsWith('/');
  if (requireKey && key === '') {
    throw new SealdropError('USAGE', `"${text}" names a bucket but no key`, {
      hint: 'Add the key (s3://BUCKET/db1.sql.gz.gpg) or a prefix ending in / (s3://BUCKET/db1/).',
    });
  }
  return { bucket, key, isPrefix };
}

/**
 * A bucket alone (s3://BUCKET, or s3://BUCKET/), for what acts on a whole bucket: a key or prefix is
 * refused, since ignoring it would prepare more than was named.
 */
export function parseBucketUrl(text: string, command: string): string {
  const match = /^s3:\/\/([^/]+)(\/.*)?$/.exec(text);
  const bucket = match?.[1];
  if (!match || !bucket || !BUCKET_NAME.test(bucket))
    throw new SealdropError('USAGE', `"${text}" is not an s3://BUCKET address`, {
      hint: 'Write the bucket as s3://my-backups.',
    });
  const key = match[2]?.slice(1) ?? '';
  if (key !== '')
    throw new SealdropError(
      'USAGE',
      `"${text}" names a ${key.endsWith('/') ? 'prefix' : 'key'}: ${command} takes a bucket`,
      { hint: `Name the bucket alone: s3://${bucket}` },
    );
  return bucket;
}

export function formatS3Url(location: S3Location): string {
  return `s3://${location.bucket}/${location.key}`;
}

/**
 * The name an object carries inside its encrypted envelope (the OpenPGP literal data packet's file
 * name): where it belongs. That field holds 255 bytes at most, so longer addresses are hashed.
 */
export function bindingName(url: string): string {
  return Buffer.byteLength(url) <= 255
    ? url
    : `sealdrop-sha256:${createHash('sha256').update(url).digest('hex')}`;
}

/** Whether an envelope's file name is a sealdrop binding at all (gpg and curl uploads carry none). */
export function isBindingName(name: string): boolean {
  return name.startsWith('s3://') || name.startsWith('sealdrop-sha256:');
}
