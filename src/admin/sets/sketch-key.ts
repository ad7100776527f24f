// The secret that keys every content sketch of a bucket (core/sketch.ts): 32 random bytes, kept in
// sealdrop's own area encrypted to the admin's identities, so a sketch stored beside a proof tells
// nobody without an identity anything about the data. Made by the first verify that needs it.
import { randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import * as openpgp from 'openpgp';
import { SealdropError } from '../../core/errors.js';
import { SEALDROP_AREA } from '../../core/layout.js';
import type { Keyring } from '../openpgp/identities.js';
import { s3Error } from '../s3/client.js';
import { listEntries } from '../s3/listing.js';
import { readObjectText } from '../s3/objects.js';
import type { BackupSet } from './backup-set.js';

export const SKETCH_KEY = `${SEALDROP_AREA}sketch-key.asc`;
const KEY_BYTES = 32;
const MAX_ARMORED = 64 * 1024;

export async function sketchKey(set: BackupSet, keyring: Keyring, signal?: AbortSignal): Promise<Uint8Array> {
  const stored = await readSketchKey(set, keyring, signal);
  if (stored) return stored;
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
  return (await readSketchKey(set, keyring, signal))!;
}

/** The first version of the sketch key, decrypted; null when there is none yet. */
async function readSketchKey(
  set: BackupSet,
  keyring: Keyring,
  signal?: AbortSignal,
): Promise<Uint8Array | null> {
  const { client } = set;
  const { bucket } = set.location;
  const label = `verify's sketch key s3://${bucket}/${SKETCH_KEY}`;
  // Versions are listed newest first: the last one seen is the first written.
  let first: string | null = null;
  for await (const page of listEntries(client, bucket, SKETCH_KEY, { signal }))
    for (const entry of page) if (entry.key === SKETCH_KEY && !entry.isDeleteMarker) first = entry.versionId;
  if (!first) return null;
  const armored = await readObjectText(
    client,
    { bucket, key: SKETCH_KEY, versionId: first },
    label,
    MAX_ARMORED,
    signal,
  );
  const key = await keyring.decryptSmall(armored, label).catch((error: unknown) => {
    if (!(error instanceof SealdropError) || error.code !== 'NO_MATCHING_KEY') throw error;
    throw new SealdropError('NO_MATCHING_KEY', error.message, {
      hint: `It was made for the identities of the bucket's first verify: give one of them with --identity, beside the others. If none is left (retired after a rotation), delete every version of ${SKETCH_KEY} with admin credentials: the next verify makes a new one, and checks content continuity from there on.`,
      cause: error,
    });
  });
  if (key.length !== KEY_BYTES)
    throw new SealdropError('INTEGRITY', `${label} holds ${key.length} bytes, not ${KEY_BYTES}`);
  return key;
}
