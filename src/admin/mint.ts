// Minting: sign, offline, a POST policy that allows exactly one kind of upload, and bundle it with
// the recipients' public keys into a policy file.
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { suffixMismatch, type Compression } from '../core/compression.js';
import { SealdropError } from '../core/errors.js';
import { readTextFile, writeNewFile } from '../core/files.js';
import { readRecipient } from '../core/openpgp-keys.js';
import {
  parsePolicyFile,
  POLICY_FILE_VERSION,
  type LoadedPolicy,
  type PolicyFile,
} from '../core/policy-file.js';
import type { S3Location } from '../core/s3-url.js';
import type { S3Client } from '@aws-sdk/client-s3';
import { resolveCredentials, resolveRegion } from './s3-client.js';

/** One POST object is at most 5 GiB on S3. */
const MAX_OBJECT_SIZE = 5 * 1024 ** 3;
const DEFAULT_EXPIRY_MS = 7 * 86_400_000;
/** AWS may not honour SigV4 signatures older than this. */
const SIGV4_MAX_AGE_MS = 7 * 86_400_000;
const OBJECT_CONTENT_TYPE = 'application/pgp-encrypted';
/**
 * The only canned ACL that works everywhere: AWS buckets with ACLs disabled (the default since 2023)
 * refuse any other, and on stores with ACLs (Ceph RGW) it is what lets the bucket owner, the admin,
 * read objects a write-only uploader created. With "private" nobody could restore them.
 */
const DEFAULT_ACL = 'bucket-owner-full-control';

export interface MintOptions {
  location: S3Location;
  recipientFiles: string[];
  expiresInMs?: number;
  maxSize?: number;
  acl?: string;
  name?: string;
  /** Recorded in the policy file: what push compresses with unless told otherwise (default gzip). */
  compression?: Compression;
  out: string;
  force?: boolean;
}

export interface MintResult extends LoadedPolicy {
  warnings: string[];
}

/** Signs with `client`'s credentials (the uploader's), for its endpoint and region; offline. */
export async function mintPolicy(client: S3Client, options: MintOptions): Promise<MintResult> {
  const { location, expiresInMs = DEFAULT_EXPIRY_MS, maxSize = MAX_OBJECT_SIZE, acl = DEFAULT_ACL } = options;
  if (options.recipientFiles.length === 0) {
    throw new SealdropError('USAGE', 'no --recipient given', {
      hint: 'Pass --recipient PUB.asc (the admin public key).',
    });
  }
  if (!(maxSize >= 1 && maxSize <= MAX_OBJECT_SIZE)) {
    throw new SealdropError(
      'USAGE',
      `--max-size must be between 1 byte and 5GiB (S3's limit for one POST object)`,
    );
  }
  if (!(expiresInMs >= 1000)) throw new SealdropError('USAGE', '--expires must be at least 1s');
  const mismatch = location.isPrefix ? null : suffixMismatch(location.key, options.compression ?? 'gzip');
  if (mismatch)
    throw new SealdropError('USAGE', mismatch, {
      hint: 'Name the key for what it holds (.gz.gpg for gzip, .zst.gpg for zstd), or pass the matching --compress.',
    });

  const warnings: string[] = [];
  const recipients: string[] = [];
  for (const path of options.recipientFiles) {
    const key = await readRecipient(await readTextFile(path, 'recipient key'), path);
    recipients.push(key.armor());
  }

  const credentials = await resolveCredentials(client);
  await resolveRegion(client);
  if (credentials.sessionToken) {
    warnings.push(
      'these are temporary credentials (session token): the policy stops working when the session ends, whatever --expires says. Mint with a long-lived uploader key.',
    );
  }
  if (expiresInMs > SIGV4_MAX_AGE_MS) {
    warnings.push(
      '--expires is over 7 days: AWS may refuse SigV4 signatures older than that. Renew weekly instead.',
    );
  }

  const post = await createPresignedPost(client, {
    Bucket: location.bucket,
    // A key ending in ${filename} is how the presigner emits a starts-with condition on the key.
    Key: location.isPrefix ? `${location.key}\${filename}` : location.key,
    Fields: { acl, 'Content-Type': OBJECT_CONTENT_TYPE, success_action_status: '201' },
    Conditions: [['content-length-range', 1, maxSize]],
    Expires: Math.ceil(expiresInMs / 1000),
  });
  const file: PolicyFile = {
    sealdrop: POLICY_FILE_VERSION,
    ...(options.name ? { name: options.name } : {}),
    url: post.url,
    fields: { ...post.fields, key: location.key },
    recipients,
    mintedAt: new Date().toISOString(),
    ...(options.compression ? { compression: options.compression } : {}),
  };
  const text = `${JSON.stringify(file, null, 2)}\n`;
  const loaded = parsePolicyFile(text, options.out);
  await writeNewFile(options.out, text, { overwrite: options.force });
  return { ...loaded, warnings };
}
