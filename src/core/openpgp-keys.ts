// OpenPGP keys: load, inspect and refuse at the door what cannot serve (or that gpg 2.2 could not read).
import * as openpgp from 'openpgp';
import { SealdropError } from './errors.js';
import type { KnownKey } from './recipients.js';

export interface KeyInfo {
  fingerprint: string;
  userIds: string[];
  algorithm: string;
  encryptionAlgorithm: string | null;
  created: Date;
  /** null: never expires. */
  expires: Date | null;
  isPrivate: boolean;
  isProtected: boolean;
  /** Why the key can't be a recipient; empty when it can. */
  problems: string[];
}

/** An armored key block's first line, public or private. */
const ARMORED_KEY = /^-----BEGIN PGP (?:PUBLIC|PRIVATE) KEY BLOCK-----/m;

/**
 * Refuses, naming the file, text with no armored key block at all (an empty file, /dev/null, the wrong
 * file) before OpenPGP.js does, in words about its own arguments ("readKeys: must pass options…").
 */
export function assertArmoredKeyText(text: string, source: string, hint?: string): void {
  const why =
    text.trim() === ''
      ? 'it is empty'
      : ARMORED_KEY.test(text)
        ? null
        : 'it has no -----BEGIN PGP … KEY BLOCK----- line';
  if (why !== null)
    throw new SealdropError(
      'KEY_INVALID',
      `${source} holds no armored OpenPGP key: ${why}`,
      hint === undefined ? {} : { hint },
    );
}

export async function readArmoredKey(armored: string, source: string): Promise<openpgp.Key> {
  assertArmoredKeyText(armored, source);
  try {
    return await openpgp.readKey({ armoredKey: armored });
  } catch (error) {
    throw new SealdropError(
      'KEY_INVALID',
      `${source}: not an armored OpenPGP key (${(error as Error).message})`,
    );
  }
}

export async function inspectKey(key: openpgp.Key, now = new Date()): Promise<KeyInfo> {
  const problems: string[] = [];
  const primary = key.getAlgorithmInfo();
  if (primary.algorithm === 'dsa') problems.push('DSA keys are obsolete and refused');
  if (isWeakRsa(primary)) problems.push(`RSA-${primary.bits} is too short (at least 2048 bits)`);
  if (await key.isRevoked(undefined, undefined, now)) problems.push('the key is revoked');
  const expiration = await key.getExpirationTime();
  const expires = expiration instanceof Date ? expiration : null;
  if (expires && expires.getTime() <= now.getTime())
    problems.push(`the key expired on ${expires.toISOString()}`);

  let encryptionAlgorithm: string | null = null;
  const subkeyAlgorithms = key.getSubkeys().map((subkey) => subkey.getAlgorithmInfo());
  try {
    const encryptionKey = await key.getEncryptionKey(undefined, now);
    const info = encryptionKey.getAlgorithmInfo();
    encryptionAlgorithm = describeAlgorithm(info);
    if (isWeakRsa(info))
      problems.push(`its RSA-${info.bits} encryption key is too short (at least 2048 bits)`);
  } catch {
    if (problems.length === 0) {
      problems.push(
        subkeyAlgorithms.some((info) => info.algorithm === 'elgamal')
          ? 'its only encryption key is ElGamal, which is obsolete and refused'
          : 'it has no valid encryption-capable key',
      );
    }
  }
  return {
    fingerprint: key.getFingerprint().toUpperCase(),
    userIds: key.getUserIDs(),
    algorithm: describeAlgorithm(primary),
    encryptionAlgorithm,
    created: key.getCreationTime(),
    expires,
    isPrivate: key.isPrivate(),
    isProtected: key.isPrivate() && !(key as openpgp.PrivateKey).isDecrypted(),
    problems,
  };
}

/** Loads a recipient key, refusing keys that can't encrypt (expired, revoked, weak, obsolete). */
export async function readRecipient(armored: string, source: string): Promise<openpgp.Key> {
  const key = await readArmoredKey(armored, source);
  const { problems, fingerprint } = await inspectKey(key);
  if (problems.length > 0) {
    throw new SealdropError(
      'KEY_UNUSABLE',
      `${source}: key ${fingerprint} can't be a recipient: ${problems.join('; ')}`,
    );
  }
  return key.toPublic();
}

/** A key as the recipients of a backup name it: its fingerprint and every key id (primary and subkeys). */
export function knownKey(key: openpgp.Key): KnownKey {
  return {
    fingerprint: key.getFingerprint().toUpperCase(),
    keyIds: key.getKeys().map((k) => k.getKeyID().toHex().toUpperCase()),
  };
}

function isWeakRsa(info: openpgp.AlgorithmInfo): boolean {
  return info.algorithm.startsWith('rsa') && (info.bits ?? 0) < 2047;
}

function describeAlgorithm(info: openpgp.AlgorithmInfo): string {
  if (info.algorithm.startsWith('rsa')) return `RSA-${info.bits}`;
  return info.curve ? `${info.algorithm} (${info.curve})` : info.algorithm;
}
