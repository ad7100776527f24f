// Checking a policy file's signature from the command line. The check needs the AWS SDK and the
// signer's credentials; where either is missing (an agent host) it says so instead.
import type { SignatureCheck } from '../admin/policies/trust.js';
import { SealdropError } from '../core/errors.js';
import type { LoadedPolicy } from '../core/policy-file.js';

/** The command's own connection: --endpoint must win over the environment here as everywhere. */
export interface SignatureConnection {
  endpoint?: string;
}

export async function checkSignature(
  loaded: LoadedPolicy,
  connection: SignatureConnection = {},
): Promise<SignatureCheck> {
  let modules;
  try {
    modules = await Promise.all([import('../admin/policies/trust.js'), import('../admin/s3/client.js')]);
  } catch {
    return { state: 'unchecked', reason: 'the AWS SDK is not installed here' };
  }
  const [{ checkPolicySignature }, { createS3Client }] = modules;
  return checkPolicySignature(
    createS3Client({ endpoint: connection.endpoint, region: loaded.summary.region }),
    loaded.file,
  );
}

/** Throws for a signature that does not match; returns why it could not be checked, or null. */
export async function assertSignature(
  loaded: LoadedPolicy,
  source: string,
  connection: SignatureConnection = {},
): Promise<string | null> {
  const check = await checkSignature(loaded, connection);
  if (check.state === 'failed')
    throw new SealdropError('POLICY_FILE_INVALID', `${source}: ${check.reason}`, {
      hint: 'Use your own copy of the policy file, or mint it again (sealdrop policy mint).',
    });
  return check.state === 'unchecked' ? check.reason : null;
}

export function describeSignature(check: SignatureCheck): string {
  if (check.state === 'verified') return 'verified';
  return `not checked: ${check.reason}`;
}
