// A recipient change: the admin's OpenPGP-signed word that a host's backups go to other recipients from
// now on. A self-renewing host accepts a successor with other recipients only with one signed by a key it
// already encrypts to, for its own bucket and key, naming exactly those recipients, newer than the last.
import * as openpgp from 'openpgp';
import type { S3Location } from './s3-url.js';

/** The statement's first line: what it is, and the version of its format. */
const FORMAT = 'sealdrop recipient change 1';
/** A statement and its signature are under 2 KiB (16 fingerprints, one RSA-4096 signature). */
export const MAX_RECIPIENT_CHANGE_CHARS = 16 * 1024;
/** Key ids named when a statement is signed by none of the keys wanted (it may list many). */
const NAMED_SIGNERS = 4;

export interface RecipientChange {
  location: S3Location;
  /** The recipients from now on, in the policy's order (upper-case hex). */
  fingerprints: string[];
  /** When the admin signed it: a host takes only changes newer than the one it holds. */
  signedAt: Date;
}

/** Whoever signs a change for the admin (--sign-with: admin/openpgp/signer.ts). */
export interface ChangeSigner {
  /** As given: the key file, or "gpg:…". */
  source: string;
  /** The armored cleartext-signed message of `text`. */
  sign(text: string): Promise<string>;
}

export type CheckedChange = { ok: true; change: RecipientChange } | { ok: false; problem: string };

/** The canonical text that is signed: one field a line, nothing else. */
export function changeStatement(change: RecipientChange): string {
  const { location } = change;
  return [
    FORMAT,
    `bucket: ${location.bucket}`,
    `${location.isPrefix ? 'prefix' : 'key'}: ${location.key}`,
    `recipients: ${change.fingerprints.join(',')}`,
    `signed-at: ${change.signedAt.toISOString()}`,
  ].join('\n');
}

/**
 * Verifies `armored` (a cleartext-signed statement) with `keys` alone, the recipients a host holds
 * now, and reads it. Never throws: what is wrong comes back as a problem ("is …").
 */
export async function verifyRecipientChange(
  armored: string,
  keys: readonly openpgp.Key[],
): Promise<CheckedChange> {
  let message: openpgp.CleartextMessage;
  try {
    message = await openpgp.readCleartextMessage({ cleartextMessage: armored });
  } catch (error) {
    return { ok: false, problem: `is not an OpenPGP signed message (${(error as Error).message})` };
  }
  const wanted = keys.map((key) => key.getFingerprint().toUpperCase()).join(', ');
  let verified: openpgp.VerifyMessageResult<string>;
  try {
    verified = await openpgp.verify({ message, verificationKeys: [...keys] });
  } catch (error) {
    return { ok: false, problem: `can't be verified (${(error as Error).message})` };
  }
  const failures: string[] = [];
  let valid = false;
  for (const signature of verified.signatures) {
    try {
      valid = (await signature.verified) || valid;
    } catch (error) {
      if (failures.length < NAMED_SIGNERS)
        failures.push(`key id ${signature.keyID.toHex().toUpperCase()}: ${(error as Error).message}`);
    }
    if (valid) break;
  }
  if (!valid)
    return {
      ok: false,
      problem: `is not signed by a current recipient (${wanted}): signed by ${failures.join('; ') || 'nobody'}`,
    };
  const change = readStatement(verified.data);
  return change === null ? { ok: false, problem: `is not a ${FORMAT} statement` } : { ok: true, change };
}

/** The statement a host already holds (verified when it was accepted), read without its signature. */
export async function heldRecipientChange(armored: string): Promise<RecipientChange | null> {
  try {
    return readStatement((await openpgp.readCleartextMessage({ cleartextMessage: armored })).getText());
  } catch {
    return null;
  }
}

/** Strictly the canonical form: any other line, or a field out of place, is not a statement. */
function readStatement(text: string): RecipientChange | null {
  const lines = text.replace(/\r\n/g, '\n').replace(/\n+$/, '').split('\n');
  if (lines.length !== 5 || lines[0] !== FORMAT) return null;
  const bucket = /^bucket: (\S{1,255})$/.exec(lines[1]!)?.[1];
  const place = /^(key|prefix): (.{1,1024})$/.exec(lines[2]!);
  const recipients =
    /^recipients: ((?:[0-9A-F]{40}|[0-9A-F]{64})(?:,(?:[0-9A-F]{40}|[0-9A-F]{64})){0,15})$/.exec(
      lines[3]!,
    )?.[1];
  const signedAt = /^signed-at: (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)$/.exec(lines[4]!)?.[1];
  if (!bucket || !place || !recipients || !signedAt || Number.isNaN(Date.parse(signedAt))) return null;
  return {
    location: { bucket, key: place[2]!, isPrefix: place[1] === 'prefix' },
    fingerprints: recipients.split(','),
    signedAt: new Date(signedAt),
  };
}
