// Reading and writing a set's proofs (core/proofs.ts) in sealdrop's own area of the bucket: one listing
// says every verdict, a record is read only for the sketch it keeps, and nothing touches a backup.
import { DeleteObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { isSealdropError, SealdropError } from '../../core/errors.js';
import {
  ackKey,
  goodBefore,
  historyLimit,
  MAX_PROOF_BYTES,
  NO_PROOFS,
  parseProofRecord,
  parsePruned,
  prunedKey,
  prunedText,
  proofFolder,
  proofKey,
  readProofFolder,
  standingProof,
  withProofs,
  type ProofKind,
  type ProofObject,
  type ProofRecord,
  type ProofState,
  type PrunedBackup,
  type SetProofs,
} from '../../core/proofs.js';
import type { Snapshot } from '../../core/snapshot.js';
import { s3Error } from '../s3/client.js';
import { listEntries } from '../s3/listing.js';
import { readObjectText } from '../s3/objects.js';
import type { BackupSet, ObjectRef } from './backup-set.js';

/** Proof objects read at most per set: two per backup kept, and then some. */
const MAX_PROOF_OBJECTS = 200_000;

/** What is proven about a set, and where each verdict's current version is; verify adds its own. */
export interface ReadProofs extends SetProofs {
  states: Map<string, ProofState>;
  /** The current version of each verdict object, by key (for reading a record). */
  versions: Map<string, string>;
}

export async function readProofs(set: BackupSet, signal?: AbortSignal): Promise<ReadProofs> {
  const folder = proofFolder(set.location);
  const objects: ProofObject[] = [];
  const versions = new Map<string, string>();
  let seen = 0;
  for await (const page of listEntries(set.client, set.location.bucket, folder, { signal })) {
    for (const entry of page) {
      if (++seen > MAX_PROOF_OBJECTS)
        throw new SealdropError(
          'FAILED',
          `s3://${set.location.bucket}/${folder} holds over ${MAX_PROOF_OBJECTS} proof objects: more than sealdrop reads`,
          {
            hint: 'Verdicts on a flood of junk (verify --all over it), or another writer: find out which (restore still works, with its fixed output limit).',
          },
        );
      if (!entry.isLatest || entry.isDeleteMarker) continue;
      objects.push({ name: entry.key.slice(folder.length), time: entry.lastModified });
      versions.set(entry.key, entry.versionId);
    }
  }
  // A map of its own: verify records its verdicts in it, and NO_PROOFS is every set's.
  if (objects.length === 0) return { ...NO_PROOFS, states: new Map(), versions };
  const prunedAt = prunedKey(set.location);
  const prunedVersion = versions.get(prunedAt);
  const pruned = prunedVersion
    ? parsePruned(
        await readObjectText(
          set.client,
          { bucket: set.location.bucket, key: prunedAt, versionId: prunedVersion },
          `s3://${set.location.bucket}/${prunedAt}`,
          MAX_PRUNED_BYTES,
          signal,
        ),
      )
    : [];
  return { ...readProofFolder(objects), pruned, versions };
}

/** pruned.json: MAX_PRUNED entries of about 40 bytes. */
const MAX_PRUNED_BYTES = 1024 ** 2;

/** Remembers what prune removed (with what was remembered), from `since` on: the stream as pushed. */
export async function writePruned(
  set: BackupSet,
  proofs: SetProofs,
  removed: readonly PrunedBackup[],
  since: Date,
): Promise<void> {
  if (removed.length === 0) return;
  await put(set, prunedKey(set.location), prunedText(proofs.pruned, removed, since));
}

/** The snapshots with their proofs read (core/proofs.ts withProofs), and the proofs. */
export async function provenSnapshots(
  set: BackupSet,
  snapshots: readonly Snapshot[],
  signal?: AbortSignal,
): Promise<{ snapshots: Snapshot[]; proofs: ReadProofs }> {
  const proofs = await readProofs(set, signal);
  return { snapshots: withProofs(snapshots, proofs), proofs };
}

/** The record a standing verdict keeps, or null: not one sealdrop wrote. */
export async function readProofRecord(
  set: BackupSet,
  proofs: ReadProofs,
  state: ProofState,
  signal?: AbortSignal,
): Promise<ProofRecord | null> {
  const key = proofKey(set.location, { id: state.snapshotId, time: state.snapshotTime }, state.kind);
  const versionId = proofs.versions.get(key);
  if (!versionId) return null;
  const text = await readObjectText(
    set.client,
    { bucket: set.location.bucket, key, versionId },
    `the proof s3://${set.location.bucket}/${key}`,
    MAX_PROOF_BYTES,
    signal,
  );
  return parseProofRecord(text);
}

/**
 * The output limit the set's history gives a restore of `snapshot` (core/proofs.ts historyLimit of the
 * good backup at or before it), or null: no history, or the proofs can't be read.
 */
export async function historyOutputLimit(
  set: BackupSet,
  snapshot: Snapshot,
  signal?: AbortSignal,
): Promise<number | null> {
  try {
    const proofs = await readProofs(set, signal);
    const standing = standingProof(proofs, snapshot);
    const good = standing?.verdict === 'good' ? standing : goodBefore(proofs, snapshot.time);
    if (!good) return null;
    return historyLimit((await readProofRecord(set, proofs, good, signal))?.plainBytes);
  } catch (error) {
    // Proofs that can't be read (these credentials, a folder past its limit) leave the fixed limit.
    if (isSealdropError(error) && (error.code === 'S3_REFUSED' || error.code === 'FAILED')) return null;
    throw error;
  }
}

/** Records a verdict (or an approval) of a snapshot; returns the time it stands from. */
export async function writeProof(
  set: BackupSet,
  snapshot: { id: string; time: Date },
  kind: ProofKind,
  record: object,
): Promise<Date> {
  await put(set, proofKey(set.location, snapshot, kind), record);
  return new Date();
}

/** Records the admin's acknowledgement of the set's alarms so far (`sealdrop ack`). */
export async function writeAck(set: BackupSet, record: object): Promise<void> {
  await put(set, ackKey(set.location), record);
}

/** Writes one of sealdrop's own objects: a record as JSON, or text as it is. */
async function put(set: BackupSet, key: string, record: object | string): Promise<void> {
  const { bucket } = set.location;
  try {
    await set.client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: typeof record === 'string' ? record : `${JSON.stringify(record, null, 2)}\n`,
        ContentType: 'application/json',
      }),
    );
  } catch (error) {
    throw s3Error(error, `writing s3://${bucket}/${key}`, bucket);
  }
}

/**
 * Deletes every version of the proofs of these snapshots (pruned: nothing left to prove). Best effort:
 * returns how many S3 refused (an Object Lock bucket keeps them until their retention ends).
 */
export async function deleteProofs(
  set: BackupSet,
  snapshotIds: ReadonlySet<string>,
  signal?: AbortSignal,
): Promise<number> {
  if (snapshotIds.size === 0) return 0;
  const folder = proofFolder(set.location);
  const { bucket } = set.location;
  let refused = 0;
  const flush = async (batch: ObjectRef[]) => {
    try {
      const response = await set.client.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: batch.map((v) => ({ Key: v.key, VersionId: v.versionId })), Quiet: true },
        }),
      );
      refused += response.Errors?.length ?? 0;
    } catch {
      refused += batch.length;
    }
  };
  let batch: ObjectRef[] = [];
  for await (const page of listEntries(set.client, bucket, folder, { signal })) {
    for (const entry of page) {
      const name = entry.key.slice(folder.length);
      const slash = name.indexOf('/');
      const underscore = name.indexOf('_');
      if (underscore < 0 || slash < underscore) continue;
      if (!snapshotIds.has(safeDecode(name.slice(underscore + 1, slash)))) continue;
      batch.push({ key: entry.key, versionId: entry.versionId });
      if (batch.length === 1000) {
        await flush(batch);
        batch = [];
      }
    }
  }
  if (batch.length > 0) await flush(batch);
  return refused;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
