// Minting: sign, offline, a POST policy that allows exactly one kind of upload, and bundle it with
// the recipients' public keys into a policy file.
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Compression } from '../../core/compression.js';
import { SealdropError } from '../../core/errors.js';
import { readTextFile, writeNewFile } from '../../core/files.js';
import { compressionOfKey, coversSealdropArea, SEALDROP_AREA, suffixMismatch } from '../../core/layout.js';
import { readRecipient } from '../../core/openpgp-keys.js';
import {
  MAX_RECIPIENTS,
  parsePolicyFile,
  pingUrlProblem,
  POLICY_FILE_VERSION,
  RECIPIENTS_FIELD,
  SHA256_FIELD,
  type LoadedPolicy,
  type PolicyFile,
} from '../../core/policy-file.js';
import { renewalFields } from '../../core/renewal-evidence.js';
import { formatS3Url, type S3Location } from '../../core/s3-url.js';
import type { S3Client } from '@aws-sdk/client-s3';
import { resolveCredentials, resolveRegion } from '../s3/client.js';

/** One POST object is at most 5 GiB on S3. */
const MAX_OBJECT_SIZE = 5 * 1024 ** 3;
const DEFAULT_EXPIRY_MS = 7 * 86_400_000;
/** AWS may not honour SigV4 signatures older than this, and presigned URLs can't last longer. */
const SIGV4_MAX_AGE_MS = 7 * 86_400_000;
const OBJECT_CONTENT_TYPE = 'application/pgp-encrypted';
/**
 * The only canned ACL that works everywhere: AWS buckets with ACLs disabled (the default since 2023)
 * refuse any other, and on stores with ACLs (Ceph RGW) it is what lets the bucket owner, the admin,
 * read objects a write-only uploader created. With "private" nobody could restore them.
 */
const DEFAULT_ACL = 'bucket-owner-full-control';

export interface MintOptions extends PolicyOptions {
  recipientFiles: string[];
  out: string;
  force?: boolean;
}

/** Everything a policy file says, with the recipients as armored keys. */
export interface PolicyOptions {
  location: S3Location;
  expiresInMs?: number;
  maxSize?: number;
  acl?: string;
  name?: string;
  /** Fleet policies: where the agent fetches the successor, and how long before expiry it starts to. */
  renewal?: { key: string; windowMs: number };
  /** Prefix policies: push's default part size. */
  partSize?: number;
  /**
   * Recorded in the policy file: what push compresses with unless told otherwise. Default: what a fixed
   * key's suffix names (.zst.gpg zstd, .gz.gpg gzip), else nothing recorded (push uses gzip).
   */
  compression?: Compression;
  /** Where push reports each run (healthchecks.io's convention). */
  ping?: string;
  /** A signed recipient change (core/recipient-change.ts), carried as it is. */
  recipientChange?: string;
  /** When the lifetime starts (default: when it is signed); a later one mints now what a later run would. */
  now?: Date;
}

/** An armored key, and what to call it in messages (its file). */
export interface Recipient {
  armored: string;
  source: string;
}

export interface MintResult extends LoadedPolicy {
  warnings: string[];
}

export interface CreatedPolicy extends MintResult {
  /** The policy file as written. */
  text: string;
}

/** Signs with `client`'s credentials (the uploader's), for its endpoint and region; offline. */
export async function mintPolicy(client: S3Client, options: MintOptions): Promise<MintResult> {
  if (options.recipientFiles.length === 0) {
    throw new SealdropError('USAGE', 'no --recipient given', {
      hint: 'Pass --recipient PUB.asc (the admin public key).',
    });
  }
  const recipients: Recipient[] = [];
  for (const path of options.recipientFiles)
    recipients.push({ armored: await readTextFile(path, 'recipient key'), source: path });
  const { text, ...created } = await createPolicyFile(client, options, recipients, options.out);
  await writeNewFile(options.out, text, {
    overwrite: options.force,
    existsHint: 'Pass --force to replace it, or choose another --out.',
  });
  return created;
}

/**
 * The policy file's text, signed with `client`'s credentials; `recipients` are armored keys (the public
 * part is kept), `source` names the file in messages. Offline: the renewal URL is presigned too.
 */
export async function createPolicyFile(
  client: S3Client,
  options: PolicyOptions,
  recipients: readonly Recipient[],
  source: string,
): Promise<CreatedPolicy> {
  const { location, expiresInMs = DEFAULT_EXPIRY_MS, maxSize = MAX_OBJECT_SIZE, acl = DEFAULT_ACL } = options;
  if (coversSealdropArea(location))
    throw new SealdropError(
      'USAGE',
      `${formatS3Url(location)} covers ${SEALDROP_AREA}, sealdrop's own area (renewals and proofs): no host may write there`,
      { hint: 'Mint the policy for another key or prefix.' },
    );
  if (recipients.length > MAX_RECIPIENTS)
    throw new SealdropError(
      'USAGE',
      `${recipients.length} recipients: at most ${MAX_RECIPIENTS} are allowed`,
    );
  if (!(maxSize >= 1 && maxSize <= MAX_OBJECT_SIZE)) {
    throw new SealdropError(
      'USAGE',
      `--max-size must be between 1 byte and 5GiB (S3's limit for one POST object)`,
    );
  }
  if (!(expiresInMs >= 1000)) throw new SealdropError('USAGE', '--expires must be at least 1s');
  const compression =
    options.compression ?? (location.isPrefix ? null : compressionOfKey(location.key)) ?? undefined;
  const mismatch = location.isPrefix ? null : suffixMismatch(location.key, compression ?? 'gzip');
  if (mismatch)
    throw new SealdropError('USAGE', mismatch, {
      hint: 'Name the key for what it holds (.gz.gpg for gzip, .zst.gpg for zstd), or leave out --compress: the suffix says it.',
    });
  const pingProblem = options.ping === undefined ? null : pingUrlProblem(options.ping);
  if (pingProblem !== null) throw new SealdropError('USAGE', `--ping ${pingProblem}`);

  const renewal = options.renewal;
  if (renewal && !(renewal.windowMs > 0 && renewal.windowMs <= expiresInMs))
    throw new SealdropError('USAGE', 'the renewal window must be longer than 0s and at most the expiry');
  if (renewal && expiresInMs - renewal.windowMs >= SIGV4_MAX_AGE_MS)
    throw new SealdropError(
      'USAGE',
      'the renewal window must open within 7 days of minting: presigned URLs last at most 7 days',
      { hint: 'Lengthen the renewal window, or mint policies of 7 days at most.' },
    );

  const warnings: string[] = [];
  const keys = [];
  for (const { armored, source } of recipients) {
    keys.push(await readRecipient(armored, source));
    // The armor's header line names the block (RFC 9580, 6.2): the admin's own key, by mistake.
    if (armored.trimStart().startsWith('-----BEGIN PGP PRIVATE KEY BLOCK-----'))
      warnings.push(
        `${source} is a private key: only its public part goes into the policy. Keep the private key off servers and pass its public key (PREFIX.pub.asc from \`sealdrop key generate\`).`,
      );
  }
  const fingerprints = keys.map((key) => key.getFingerprint().toUpperCase());

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

  const now = options.now ?? new Date();
  // The presigner counts from its own clock: a `now` other than this moment shifts the expiry.
  const expiresIn = Math.ceil(expiresInMs / 1000) + Math.round((now.getTime() - Date.now()) / 1000);
  // A renewing policy names itself in what it uploads: fleet status reads which one a host still uses.
  // The presigner's expiry is this, to the second (it signs a moment later, with whole seconds).
  const expiring = new Date(Math.floor((Date.now() + expiresIn * 1000) / 1000) * 1000);
  const post = await createPresignedPost(client, {
    Bucket: location.bucket,
    // A key ending in ${filename} is how the presigner emits a starts-with condition on the key.
    Key: location.isPrefix ? `${location.key}\${filename}` : location.key,
    Fields: {
      acl,
      'Content-Type': OBJECT_CONTENT_TYPE,
      success_action_status: '201',
      [RECIPIENTS_FIELD]: fingerprints.join(','),
      ...(renewal
        ? renewalFields({ expiresAt: expiring, renewFrom: new Date(expiring.getTime() - renewal.windowMs) })
        : {}),
    },
    // Any Content-MD5: the agent sends the file's, and S3 checks the upload against it. Any SHA-256
    // metadata: the agent records the file's, to match a push to its version.
    Conditions: [
      ['content-length-range', 1, maxSize],
      ['starts-with', '$Content-MD5', ''],
      ['starts-with', `$${SHA256_FIELD}`, ''],
    ],
    Expires: expiresIn,
  });
  const file: PolicyFile = {
    sealdrop: POLICY_FILE_VERSION,
    ...(options.name ? { name: options.name } : {}),
    url: post.url,
    fields: { ...post.fields, key: location.key },
    recipients: keys.map((key) => key.armor()),
    mintedAt: now.toISOString(),
    ...(options.partSize !== undefined && location.isPrefix ? { partSize: options.partSize } : {}),
    ...(compression ? { compression } : {}),
    ...(options.ping === undefined ? {} : { ping: options.ping }),
    ...(options.recipientChange === undefined ? {} : { recipientChange: options.recipientChange }),
  };
  if (renewal) {
    const { expiresAt } = parsePolicyFile(JSON.stringify(file), source).summary;
    file.renew = await presignRenewal(client, location.bucket, renewal, expiresAt);
  }
  const text = `${JSON.stringify(file, null, 2)}\n`;
  return { text, ...parsePolicyFile(text, source), warnings };
}

/** A GET URL for the successor's object, valid as long as the policy (presigned URLs: 7 days at most). */
async function presignRenewal(
  client: S3Client,
  bucket: string,
  renewal: { key: string; windowMs: number },
  expiresAt: Date,
) {
  const seconds = Math.floor((expiresAt.getTime() - Date.now()) / 1000);
  const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: renewal.key }), {
    expiresIn: Math.max(1, Math.min(seconds, SIGV4_MAX_AGE_MS / 1000)),
  });
  return { url, from: new Date(expiresAt.getTime() - renewal.windowMs).toISOString() };
}
