// The admin side of a recipient change: what a host's next policy carries so that the host takes it.
// The same recipients carry the change in place (no key needed: the daily publish runs unattended);
// other recipients need a change signed by one of the host's current recipients (--sign-with).
import { SealdropError } from '../../core/errors.js';
import { recipientKeys, type LoadedPolicy } from '../../core/policy-file.js';
import { changeStatement, verifyRecipientChange, type ChangeSigner } from '../../core/recipient-change.js';
import type { S3Location } from '../../core/s3-url.js';

/**
 * The recipient change for `host`'s next policy, encrypting to `next` (fingerprints): undefined for a
 * first policy (installed by hand) or one never changed. `copy` is the admin's copy of its policy now.
 * A new change is signed with `signer`, then verified as the host will verify it.
 */
export async function recipientChangeFor(
  host: string,
  location: S3Location,
  next: readonly string[],
  copy: LoadedPolicy | null,
  signer?: ChangeSigner,
  now = new Date(),
): Promise<string | undefined> {
  if (copy === null) return undefined;
  const source = `the copy of ${host}'s policy`;
  // The bound fingerprints are enough to compare (older files bind none: read their keys).
  const fingerprints = copy.summary.boundRecipients ?? (await recipientKeys(copy, source)).fingerprints;
  if (fingerprints.length === next.length && next.every((fingerprint) => fingerprints.includes(fingerprint)))
    return copy.file.recipientChange;
  const change = `${host}: its recipients change (${fingerprints.join(', ')} → ${next.join(', ')})`;
  if (signer === undefined)
    throw new SealdropError(
      'USAGE',
      `${change}, and its host accepts new recipients only when one of its current recipients signs the change`,
      {
        hint: 'Pass --sign-with OLD.key.asc (the private key of a current recipient: the old admin key when adding a new one), or --sign-with gpg:FINGERPRINT for a key in gpg.',
      },
    );
  const armored = await signer.sign(changeStatement({ location, fingerprints: [...next], signedAt: now }));
  const checked = await verifyRecipientChange(armored, (await recipientKeys(copy, source)).keys);
  if (!checked.ok)
    throw new SealdropError(
      'USAGE',
      `${change}: the key given to --sign-with (${signer.source}) is not one of its current recipients, so its host would refuse it (the change ${checked.problem})`,
      {
        hint: 'Sign with the private key of one of its current recipients (when adding a key, the old one): --sign-with OLD.key.asc or gpg:FINGERPRINT.',
      },
    );
  return armored;
}
