// Is this policy file what its signer signed? The policy document is signed again with the credentials
// at hand, the way @aws-sdk/s3-presigned-post signs it (@smithy/signature-v4's signing key, then an
// HMAC-SHA256 of the base64 document), and compared with the file's signature.
import { timingSafeEqual } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { getSigningKey } from '@smithy/signature-v4';
import { signedParts, type PolicyFile } from '../../core/policy-file.js';

export type SignatureCheck =
  | { state: 'verified' }
  /** The signature does not match: the file was changed after signing, or signed with another secret. */
  | { state: 'failed'; reason: string }
  /** Nothing to check it with here. */
  | { state: 'unchecked'; reason: string };

export async function checkPolicySignature(client: S3Client, file: PolicyFile): Promise<SignatureCheck> {
  const parts = signedParts(file);
  let credentials;
  try {
    credentials = await client.config.credentials();
  } catch {
    return { state: 'unchecked', reason: `no AWS credentials here (it was signed by ${parts.accessKeyId})` };
  }
  if (credentials.accessKeyId !== parts.accessKeyId)
    return {
      state: 'unchecked',
      reason: `it was signed by ${parts.accessKeyId}, and the credentials here are ${credentials.accessKeyId}`,
    };
  const { sha256 } = client.config;
  const signingKey = await getSigningKey(sha256, credentials, parts.day, parts.region, parts.service);
  const hmac = new sha256(signingKey);
  hmac.update(Buffer.from(parts.encodedPolicy, 'utf8'));
  const expected = Buffer.from(await hmac.digest());
  const actual = Buffer.from(parts.signature, 'hex');
  if (actual.length === expected.length && timingSafeEqual(actual, expected)) return { state: 'verified' };
  return {
    state: 'failed',
    reason: `its signature does not match the policy it carries (signed by ${parts.accessKeyId}): the file was changed after signing`,
  };
}
