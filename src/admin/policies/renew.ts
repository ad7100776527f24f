// policy renew: a policy file re-minted in place from its own signed conditions, with a new expiry.
import { stat } from 'node:fs/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { SealdropError } from '../../core/errors.js';
import { replaceFile } from '../../core/files.js';
import { recipientKeys, renewalKey, type LoadedPolicy } from '../../core/policy-file.js';
import { createPolicyFile, type MintResult } from './mint.js';
import { checkPolicySignature } from './trust.js';

export interface RenewOptions {
  /** Default: the lifetime the policy had (expiry minus signing time). */
  expiresInMs?: number;
  /** When the new lifetime starts (default: when it is signed). */
  now?: Date;
}

export interface RenewedPolicy extends MintResult {
  path: string;
  previousExpiresAt: string;
}

/** Re-signs with `client`'s credentials; the file keeps its mode and owner and is replaced by rename. */
export async function renewPolicyFile(
  client: S3Client,
  path: string,
  current: LoadedPolicy,
  options: RenewOptions = {},
): Promise<RenewedPolicy> {
  const { file, summary } = current;
  const check = await checkPolicySignature(client, file);
  if (check.state === 'failed')
    throw new SealdropError('POLICY_FILE_INVALID', `${path}: ${check.reason}; not renewing it`);
  const warnings =
    check.state === 'unchecked'
      ? [
          `${path}: renewing a file whose signature can't be checked (${check.reason}): be sure it is your own copy`,
        ]
      : [];
  await recipientKeys(current, path); // the recipients the signature binds, or a refusal
  const lifetimeMs = summary.expiresAt.getTime() - summary.signedAt.getTime();
  const expiresInMs = options.expiresInMs ?? Math.round(lifetimeMs / 1000) * 1000;
  const key = renewalKey(file);
  if (file.renew && key === null)
    throw new SealdropError(
      'POLICY_FILE_INVALID',
      `${path}: its renewal URL names no .sealdrop/renew/ object`,
    );
  // The renewal window keeps its share of the lifetime.
  const windowShare = summary.renewFrom
    ? (summary.expiresAt.getTime() - summary.renewFrom.getTime()) / lifetimeMs
    : 0;
  const created = await createPolicyFile(
    client,
    {
      location: summary.location,
      expiresInMs,
      maxSize: summary.maxSize,
      acl: summary.acl,
      ...(file.name === undefined ? {} : { name: file.name }),
      ...(key === null
        ? {}
        : { renewal: { key, windowMs: Math.max(1000, Math.round(expiresInMs * windowShare)) } }),
      ...(file.partSize === undefined ? {} : { partSize: file.partSize }),
      ...(file.ping === undefined ? {} : { ping: file.ping }),
      // Same recipients: the change that brought them stays, or the host would refuse the file.
      ...(file.recipientChange === undefined ? {} : { recipientChange: file.recipientChange }),
      now: options.now,
    },
    file.recipients.map((armored, i) => ({ armored, source: `${path}: recipient ${i + 1}` })),
    path,
  );
  if (created.summary.url !== summary.url)
    throw new SealdropError(
      'USAGE',
      `${path}: re-minted here the policy would go to ${created.summary.url}, not ${summary.url}; not renewing it`,
      { hint: 'Pass the --endpoint and --region the policy was minted for.' },
    );
  if (summary.minSize !== created.summary.minSize)
    throw new SealdropError(
      'POLICY_FILE_INVALID',
      `${path}: its size range starts at ${summary.minSize}, not 1 byte`,
    );
  if (created.summary.accessKeyId !== summary.accessKeyId)
    warnings.push(
      `${path}: it was signed by ${summary.accessKeyId}; renewed, it is signed by ${created.summary.accessKeyId} (these credentials)`,
    );
  const { mode, uid, gid } = await stat(path);
  await replaceFile(path, created.text, { mode: mode & 0o777, owner: { uid, gid } });
  return {
    ...created,
    warnings: [...warnings, ...created.warnings],
    path,
    previousExpiresAt: summary.expiresAt.toISOString(),
  };
}
