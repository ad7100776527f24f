// The secret that keys every content sketch of a bucket (core/sketch.ts): 32 random bytes, kept in
// sealdrop's own area encrypted to the admin's identities, so a sketch stored beside a proof tells
// nobody without an identity anything about the data. Made by the first verify that needs it; a verify
// given identities it is not encrypted to keeps a copy for them (a rotation: old and new key, then the
// new one alone).
import { createHash, randomBytes } from 'node:crypto';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import * as openpgp from 'openpgp';
import { SealdropError } from '../../core/errors.js';
import { SEALDROP_AREA } from '../../core/layout.js';
import type { Keyring } from '../openpgp/identities.js';
import { s3Error } from '../s3/client.js';
import { listEntries } from '../s3/listing.js';
import { readObjectText } from '../s3/objects.js';
import type { BackupSet } from './backup-set.js';

export const SKETCH_KEY = `${SEALDROP_AREA}sketch-key.asc`;
/** Copies of the key, each encrypted to the identities of a verify its first version was not for. */
const COPIES = `${SEALDROP_AREA}sketch-key-copies/`;
/** Copies tried at most: one per set of identities ever given together. */
const MAX_COPIES = 100;
const KEY_BYTES = 32;
const MAX_ARMORED = 64 * 1024;

export async function sketchKey(set: BackupSet, keyring: Keyring, signal?: AbortSignal): Promise<Uint8Array> {
  const stored = await readSketchKey(set, keyring, signal);
  if (stored) {
    if (!(await keyring.reachesAll(stored.armored))) await keepCopy(set, keyring, stored.key);
    return stored.key;
  }
  const { bucket } = set.location;
  const armored = await openpgp.encrypt({
    message: await openpgp.createMessage({ binary: new Uint8Array(randomBytes(KEY_BYTES)) }),
    encryptionKeys: await keyring.publicKeys(),
  });
  try {
    await set.client.send(
      new PutObjectCommand({ Bucket: bucket, Key: SKETCH_KEY, Body: armored, ContentType: 'text/plain' }),
    );
  } catch (error) {
    throw s3Error(error, `writing s3://${bucket}/${SKETCH_KEY}`, bucket);
  }
  // Two first verifies at once (fleet verify's jobs) each wrote one: the first version stands for both.
  return (await readSketchKey(set, keyring, signal))!.key;
}

/**
 * A copy of the key encrypted to every identity given, named by their fingerprints, unless there is one.
 * Written only with the key just read, so every copy holds the first version's key; one that can't be
 * written (a verify with --no-mark's credentials) is a convenience lost, not a failure.
 */
async function keepCopy(set: BackupSet, keyring: Keyring, key: Uint8Array): Promise<void> {
  const publicKeys = await keyring.publicKeys();
  const fingerprints = publicKeys.map((k) => k.getFingerprint()).sort();
  const name = createHash('sha256').update(fingerprints.join(',')).digest('hex').slice(0, 32);
  const Bucket = set.location.bucket;
  const Key = `${COPIES}${name}.asc`;
  // Each nightly verify with these identities would otherwise add a version.
  const missing = await set.client.send(new HeadObjectCommand({ Bucket, Key })).then(
    () => false,
    (error: { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode === 404,
  );
  if (!missing) return;
  const armored = await openpgp.encrypt({
    message: await openpgp.createMessage({ binary: key }),
    encryptionKeys: publicKeys,
  });
  await set.client
    .send(new PutObjectCommand({ Bucket, Key, Body: armored, ContentType: 'text/plain' }))
    .catch(() => {});
}

/**
 * The first version of the sketch key, or a copy of it, decrypted (with the text that opened); null when
 * there is none yet.
 */
async function readSketchKey(
  set: BackupSet,
  keyring: Keyring,
  signal?: AbortSignal,
): Promise<{ key: Uint8Array; armored: string } | null> {
  const { client } = set;
  const { bucket } = set.location;
  const label = `verify's sketch key s3://${bucket}/${SKETCH_KEY}`;
  // Versions are listed newest first: the last one seen is the first written.
  let first: string | null = null;
  for await (const page of listEntries(client, bucket, SKETCH_KEY, { signal }))
    for (const entry of page) if (entry.key === SKETCH_KEY && !entry.isDeleteMarker) first = entry.versionId;
  if (!first) return null;
  let refused: SealdropError | undefined;
  /** The key in one stored copy, or null when none of the identities opens it. */
  const open = async (ref: { key: string; versionId: string }) => {
    const armored = await readObjectText(client, { bucket, ...ref }, label, MAX_ARMORED, signal);
    try {
      const key = await keyring.decryptSmall(armored, label);
      if (key.length !== KEY_BYTES)
        throw new SealdropError('INTEGRITY', `${label} holds ${key.length} bytes, not ${KEY_BYTES}`);
      return { key, armored };
    } catch (error) {
      if (!(error instanceof SealdropError) || error.code !== 'NO_MATCHING_KEY') throw error;
      refused ??= error;
      return null;
    }
  };
  const opened = await open({ key: SKETCH_KEY, versionId: first });
  if (opened) return opened;
  // Only when the first version is not for these identities: the copies made for others.
  for (const copy of await copies(set, signal)) {
    const fromCopy = await open(copy);
    if (fromCopy) return fromCopy;
  }
  throw new SealdropError('NO_MATCHING_KEY', refused!.message, {
    hint: `It was made for the identities of the bucket's first verify (and copied for those given with them since): give one of them with --identity, beside the others. If none is left (retired after a rotation), delete every version of ${SKETCH_KEY} with admin credentials: the next verify makes a new one, and checks content continuity from there on.`,
    cause: refused,
  });
}

/** The copies' current versions, a bounded number. */
async function copies(set: BackupSet, signal?: AbortSignal): Promise<{ key: string; versionId: string }[]> {
  const found: { key: string; versionId: string }[] = [];
  for await (const page of listEntries(set.client, set.location.bucket, COPIES, { signal }))
    for (const entry of page) {
      if (entry.isLatest && !entry.isDeleteMarker) found.push({ key: entry.key, versionId: entry.versionId });
      if (found.length >= MAX_COPIES) return found;
    }
  return found;
}
