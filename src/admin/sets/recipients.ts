// Whom each backup is encrypted to, read from its first bytes: one ranged GET of RECIPIENT_BYTES per
// backup (a run's: its first part's), a few at a time, for a bounded number of backups. The key packets
// come first in every OpenPGP message, push's and gpg's alike; the data is never read.
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import * as openpgp from 'openpgp';
import { mapBounded } from '../../core/pool.js';
import { RECIPIENTS_FIELD } from '../../core/policy-file.js';
import type { Recipients } from '../../core/recipients.js';
import type { Snapshot } from '../../core/snapshot.js';
import { formatBytes } from '../../core/units.js';
import { sessionKeyRecipients } from '../openpgp/framing.js';
import type { Keyring } from '../openpgp/identities.js';
import { s3Error } from '../s3/client.js';
import type { BackupSet } from './backup-set.js';

/**
 * Bytes read per backup: 8 KiB holds 16 RSA-4096 key packets (a policy's most recipients) or 64 of
 * cv25519. What goes on past it is said ("more"), never read.
 */
export const RECIPIENT_BYTES = 8 * 1024;
/** Reads in flight at once. */
const CONCURRENCY = 8;

const none = (why: string) => ({ kind: 'none' as const, why });

/** The recipients of one snapshot of `set`'s last listing (a run's: its first part's). */
export async function readRecipients(
  set: BackupSet,
  snapshot: Snapshot,
  signal?: AbortSignal,
): Promise<Recipients> {
  const first = await readFirstBytes(set, snapshot, signal);
  return 'why' in first ? first : sessionKeyRecipients(first.head, first.whole);
}

/**
 * Opens `snapshot`'s session from its first bytes, before its download starts, when that may ask
 * something (keyring.asksPerMessage): a gpg PIN, touch or passphrase prompt, or the passphrase of the
 * one of several keys it needs, then comes first, and a cancelled one costs no download. What can't
 * be read here is left to the restore, which reads it again and says what is wrong.
 */
export async function openAhead(
  set: BackupSet,
  snapshot: Snapshot,
  keyring: Keyring,
  signal?: AbortSignal,
): Promise<void> {
  if (!keyring.asksPerMessage) return;
  const first = await readFirstBytes(set, snapshot, signal);
  if ('why' in first) return;
  let message: openpgp.Message<ReadableStream<Uint8Array>>;
  try {
    message = await openpgp.readMessage({
      binaryMessage: new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(first.head);
          controller.close();
        },
      }),
    });
  } catch {
    return;
  }
  await keyring.openAhead(message, first.label);
}

/** The metadata key S3 gives the field back under. */
const RECIPIENTS_METADATA = RECIPIENTS_FIELD.slice('x-amz-meta-'.length);

/**
 * The fingerprints a snapshot's policy bound it to (upper case): the recipients field the signature
 * fixes on every upload under the policy, read from its first object. Empty for objects minted without
 * one, or when the object is gone. The host chose none of it, only its policy's signer did.
 */
export async function boundRecipients(
  set: BackupSet,
  snapshot: Snapshot,
  signal?: AbortSignal,
): Promise<string[]> {
  const ref = set.firstObject(snapshot);
  if (!ref) return [];
  const { bucket } = set.location;
  let head;
  try {
    head = await set.client.send(
      new HeadObjectCommand({ Bucket: bucket, Key: ref.key, VersionId: ref.versionId }),
      { abortSignal: signal },
    );
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return [];
    throw s3Error(error, `reading s3://${bucket}/${ref.key} version ${ref.versionId}`, bucket);
  }
  // S3 keeps 2 KB of user metadata per object: the list is short, whatever it holds.
  return (head.Metadata?.[RECIPIENTS_METADATA] ?? '')
    .split(',')
    .map((fingerprint) => fingerprint.trim().toUpperCase())
    .filter((fingerprint) => /^[0-9A-F]{40}(?:[0-9A-F]{24})?$/.test(fingerprint));
}

/** The first RECIPIENT_BYTES of a snapshot (a run's: its first part's), or why there are none. */
async function readFirstBytes(
  set: BackupSet,
  snapshot: Snapshot,
  signal?: AbortSignal,
): Promise<{ head: Buffer; whole: boolean; label: string } | { kind: 'none'; why: string }> {
  if (snapshot.state === 'deleted') return none('delete marker');
  const ref = set.firstObject(snapshot);
  if (!ref) return none('no first part stored');
  const { bucket } = set.location;
  const label = `s3://${bucket}/${ref.key} version ${ref.versionId}`;
  let answer;
  try {
    answer = await set.client.send(
      new GetObjectCommand({
        Bucket: bucket,
        Key: ref.key,
        VersionId: ref.versionId,
        Range: `bytes=0-${RECIPIENT_BYTES - 1}`,
      }),
      { abortSignal: signal },
    );
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return none('gone since the listing');
    if (status === 405) return none('delete marker');
    if (status === 416) return none('empty');
    throw s3Error(error, `reading the first ${formatBytes(RECIPIENT_BYTES)} of ${label}`, bucket);
  }
  const total = Number(/\/(\d+)$/.exec(answer.ContentRange ?? '')?.[1] ?? answer.ContentLength ?? NaN);
  const head = await firstBytes(answer.Body as unknown as Readable | undefined, RECIPIENT_BYTES);
  return {
    head,
    whole: Number.isFinite(total) ? total <= RECIPIENT_BYTES : head.length < RECIPIENT_BYTES,
    label,
  };
}

/**
 * The recipients of the first `limit` snapshots that have any to read (newest first, as listed), at
 * most CONCURRENCY reads at once; the others are "not read". By snapshot id.
 */
export async function readAllRecipients(
  set: BackupSet,
  snapshots: readonly Snapshot[],
  { limit, signal }: { limit: number; signal?: AbortSignal },
): Promise<Map<string, Recipients>> {
  const readable = snapshots.filter((s) => s.state !== 'deleted' && set.firstObject(s) !== null);
  const which = readable.slice(0, Math.max(0, limit));
  const read = await mapBounded(which, CONCURRENCY, (s) => readRecipients(set, s, signal));
  const byId = new Map<string, Recipients>();
  which.forEach((s, i) => byId.set(s.id, read[i]!));
  for (const s of snapshots)
    if (!byId.has(s.id))
      byId.set(
        s.id,
        s.state === 'deleted'
          ? none('delete marker')
          : set.firstObject(s)
            ? none(`not read: only the newest ${limit} are`)
            : none('no first part stored'),
      );
  return byId;
}

/** At most `max` bytes of a body (a store that ignores Range sends it all: the rest is never read). */
async function firstBytes(body: Readable | undefined, max: number): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      chunks.push(chunk.subarray(0, max - size));
      size += Math.min(chunk.length, max - size);
      if (size >= max) break;
    }
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks, size);
}
