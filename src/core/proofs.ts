// What the admin side has proven about a backup set's snapshots, kept where no host can write: one small
// object per verdict in sealdrop's own area, never a tag on the backup (Ceph RGW moves a tagged version's
// time once its key is written again). A listing of the set's proof folder says every verdict, by key:
//
//   .sealdrop/proofs/<set digest>/<snapshot>/good.json      verify proved it: decrypts, bound, continuous
//   .sealdrop/proofs/<set digest>/<snapshot>/rejected.json  verify proved it bad (what and why inside)
//   .sealdrop/proofs/<set digest>/<snapshot>/approved.json  `sealdrop approve`: good by the admin's word
//   .sealdrop/proofs/<set digest>/ack.json                  `sealdrop ack`: alarms up to then are known
//   .sealdrop/proofs/<set digest>/pruned.json               the times and sizes of backups prune removed
//                                                           lately: the stream as pushed, for its alarms
//
// <snapshot> is its time as listed and its id ("20261205T023000.000Z_<id>"), so the folder's listing
// alone says which good backup came before another.
// The newest of a snapshot's verdicts stands, by the time S3 stored it (an Object Lock bucket may keep a
// superseded one that can't be deleted). Pure: reading and writing is admin/sets/proofs.ts.
import { createHash } from 'node:crypto';
import { SEALDROP_AREA } from './layout.js';
import type { S3Location } from './s3-url.js';
import type { Snapshot } from './snapshot.js';

const PROOF_AREA = `${SEALDROP_AREA}proofs/`;

export type ProofKind = 'good' | 'rejected' | 'approved';
const KINDS: ReadonlySet<string> = new Set<ProofKind>(['good', 'rejected', 'approved']);
const ACK_NAME = 'ack.json';
const PRUNED_NAME = 'pruned.json';

/** A snapshot's standing verdict: proven good (verified, or approved) or proven bad, and since when. */
export interface ProofState {
  snapshotId: string;
  verdict: 'good' | 'rejected';
  kind: ProofKind;
  at: Date;
  /** The proven snapshot's time, as listed when it was proven. */
  snapshotTime: Date;
}

/** What the listing of a set's proof folder says. */
export interface SetProofs {
  /** By the snapshot they are about (proofSubject: its id and time). */
  states: ReadonlyMap<string, ProofState>;
  /** When the admin last acknowledged the set's alarms (`sealdrop ack`), or null. */
  ackedAt: Date | null;
  /** Backups prune removed lately (pruned.json, once read): the stream as pushed. */
  pruned: readonly PrunedBackup[];
}

export const NO_PROOFS: SetProofs = Object.freeze({ states: new Map(), ackedAt: null, pruned: [] });

/** A backup prune removed: when it was pushed and how large, all the stream's alarms need of it. */
export interface PrunedBackup {
  time: Date;
  size: number;
}

/** At most this many removed backups are remembered (the newest), and none older than 2 windows. */
const MAX_PRUNED = 5000;

export function prunedKey(location: S3Location): string {
  return `${proofFolder(location)}${PRUNED_NAME}`;
}

/** pruned.json's text as prune writes it: the remembered and the newly removed, within the bounds. */
export function prunedText(
  remembered: readonly PrunedBackup[],
  removed: readonly PrunedBackup[],
  since: Date,
): string {
  const kept = [...remembered, ...removed]
    .filter((b) => b.time >= since)
    .sort((a, b) => b.time.getTime() - a.time.getTime())
    .slice(0, MAX_PRUNED);
  return `${JSON.stringify({ v: 1, removed: kept.map((b) => [b.time.toISOString(), b.size]) })}\n`;
}

/** pruned.json read back: what is not a [time, size] pair is left out; at most MAX_PRUNED. */
export function parsePruned(text: string): PrunedBackup[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [];
  }
  const removed = (value as { removed?: unknown } | null)?.removed;
  if (!Array.isArray(removed)) return [];
  const pruned: PrunedBackup[] = [];
  for (const entry of removed.slice(0, MAX_PRUNED)) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'number') continue;
    const time = new Date(entry[0]);
    if (!Number.isNaN(time.getTime()) && entry[1] >= 0) pruned.push({ time, size: entry[1] });
  }
  return pruned;
}

const PRUNED_NOTES: readonly string[] = Object.freeze(['removed by prune']);

/**
 * The stream as it was pushed: the snapshots (newest first) with the backups prune removed put back
 * where they were, as complete snapshots of their time and size. Only the stream's alarms read this:
 * thinning by prune is not a change of rhythm.
 */
export function asPushed(snapshots: readonly Snapshot[], pruned: readonly PrunedBackup[]): Snapshot[] {
  if (pruned.length === 0) return [...snapshots];
  const known = new Set(snapshots.map((s) => s.time.getTime()));
  const ghosts: Snapshot[] = pruned
    .filter((b) => !known.has(b.time.getTime()))
    .map((b) => ({
      kind: 'version',
      id: `pruned@${b.time.toISOString()}`,
      time: b.time,
      size: b.size,
      state: 'complete',
      notes: PRUNED_NOTES,
      objectVersions: 0,
      storedBytes: 0,
    }));
  return [...snapshots, ...ghosts].sort((a, b) => b.time.getTime() - a.time.getTime());
}

/** The folder of a set's proofs: a digest of where the set is, so any key or prefix fits. */
export function proofFolder({ bucket, key }: S3Location): string {
  const digest = createHash('sha256').update(`${bucket}\0${key}`).digest('hex').slice(0, 32);
  return `${PROOF_AREA}${digest}/`;
}

export function proofKey(
  location: S3Location,
  snapshot: { id: string; time: Date },
  kind: ProofKind,
): string {
  const stamp = snapshot.time.toISOString().replaceAll('-', '').replaceAll(':', '');
  return `${proofFolder(location)}${stamp}_${encodeURIComponent(snapshot.id)}/${kind}.json`;
}

const STAMP = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d\.\d{3})Z_(.+)$/;

/** The snapshot a proof folder's entry is about, or null. */
function proofSnapshot(name: string): { id: string; time: Date } | null {
  const match = STAMP.exec(name);
  if (!match) return null;
  const [, y, mo, d, h, mi, s, encoded] = match;
  const time = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
  try {
    return Number.isNaN(time.getTime()) ? null : { id: decodeURIComponent(encoded!), time };
  } catch {
    return null;
  }
}

export function ackKey(location: S3Location): string {
  return `${proofFolder(location)}${ACK_NAME}`;
}

/**
 * What a proof is about: a snapshot's id and S3's time of it, to the second (a listing says
 * milliseconds, a HEAD seconds). The id alone would not do: run ids are the agent's, so a compromised
 * host can push a run under the id of a removed one whose proof stayed.
 */
export function proofSubject(snapshot: { id: string; time: Date }): string {
  return `${Math.floor(snapshot.time.getTime() / 1000)} ${snapshot.id}`;
}

/** The standing verdict on a snapshot, if any. */
export function standingProof(
  proofs: SetProofs,
  snapshot: { id: string; time: Date },
): ProofState | undefined {
  return proofs.states.get(proofSubject(snapshot));
}

/** One object of a proof folder as listed: its key (relative to the folder) and when S3 stored it. */
export interface ProofObject {
  name: string;
  time: Date;
}

/** The verdicts a proof folder's objects say; names that are none of sealdrop's are ignored. */
export function readProofFolder(
  objects: Iterable<ProofObject>,
): SetProofs & { states: Map<string, ProofState> } {
  const states = new Map<string, ProofState>();
  let ackedAt: Date | null = null;
  for (const { name, time } of objects) {
    if (name === PRUNED_NAME) continue;
    if (name === ACK_NAME) {
      if (!ackedAt || time > ackedAt) ackedAt = time;
      continue;
    }
    const slash = name.indexOf('/');
    const kind = name.slice(slash + 1).replace(/\.json$/, '');
    const snapshot = slash > 0 && name.endsWith('.json') ? proofSnapshot(name.slice(0, slash)) : null;
    if (!snapshot || !KINDS.has(kind)) continue;
    const subject = proofSubject(snapshot);
    const known = states.get(subject);
    if (known && known.at >= time) continue;
    states.set(subject, {
      snapshotId: snapshot.id,
      verdict: kind === 'rejected' ? 'rejected' : 'good',
      kind: kind as ProofKind,
      at: time,
      snapshotTime: snapshot.time,
    });
  }
  return { states, ackedAt, pruned: [] };
}

/**
 * The snapshots with what is proven about them: `verifiedAt` the time of a standing good verdict (null:
 * none), `rejectedAt` that of a standing rejection (null: none). Every snapshot is then "read".
 */
export function withProofs(snapshots: readonly Snapshot[], proofs: SetProofs): Snapshot[] {
  return snapshots.map((snapshot) => {
    const state = snapshot.state === 'complete' ? standingProof(proofs, snapshot) : undefined;
    return {
      ...snapshot,
      verifiedAt: state?.verdict === 'good' ? state.at : null,
      rejectedAt: state?.verdict === 'rejected' ? state.at : null,
    };
  });
}

/** The proof of the newest snapshot proven good before `time` (by the snapshots' times), or null. */
export function goodBefore(proofs: SetProofs, time: Date): ProofState | null {
  let best: ProofState | null = null;
  for (const state of proofs.states.values())
    if (
      state.verdict === 'good' &&
      state.snapshotTime < time &&
      (!best || state.snapshotTime > best.snapshotTime)
    )
      best = state;
  return best;
}

/** At most this many unproven backups are verified per run (a flood of junk costs no more). */
export const UNPROVEN_MAX = 100;

/**
 * What `verify --unproven` checks of a set's snapshots (newest first, with their proofs): the newest
 * UNPROVEN_MAX complete ones with no verdict yet, oldest first (each is compared with the good one
 * before it, proven a moment ago).
 */
export function unprovenToVerify(snapshots: readonly Snapshot[]): Snapshot[] {
  return snapshots
    .filter((s) => s.state === 'complete' && !s.verifiedAt && !s.rejectedAt)
    .slice(0, UNPROVEN_MAX)
    .reverse();
}

/** How many times its good predecessor's restored size a backup may inflate to, and at least how much. */
const HISTORY_FACTOR = 20;
const HISTORY_MIN_BYTES = 64 * 1024 ** 2;

/**
 * The output limit a set's history gives (restore and verify's default --max-output): 20 times what
 * the good backup restored to, at least 64 MiB; null: no history (a fixed fallback applies).
 */
export function historyLimit(plainBytes: number | undefined): number | null {
  return plainBytes && plainBytes > 0 ? Math.max(HISTORY_FACTOR * plainBytes, HISTORY_MIN_BYTES) : null;
}

/** Whether anything of the set was ever proven (good or bad): if not, prune runs blind. */
export function everProven(snapshots: readonly Snapshot[]): boolean {
  return snapshots.some((s) => Boolean(s.verifiedAt) || Boolean(s.rejectedAt));
}

/** The record verify keeps with a verdict (the body of good.json and rejected.json). */
export interface ProofRecord {
  v: 1;
  /** The set, as an s3:// URL, and the snapshot as it was listed when proven. */
  target: string;
  snapshot: { kind: string; id: string; time: string; size: number };
  checkedAt: string;
  verdict: 'good' | 'rejected';
  /** Why it was rejected, and what to do. */
  problem: string | null;
  hint: string | null;
  plainBytes: number;
  /** The keyed content sketch of what it decrypted to (core/sketch.ts), or null. */
  sketch: string | null;
  /** Its overlap with the good backup before it, when there was one to compare with. */
  continuity: { against: string; overlap: number } | null;
}

/** At most this many bytes of a proof record are read: a sketch is a few KB. */
export const MAX_PROOF_BYTES = 64 * 1024;

/** A proof record read from the bucket, or null when it is not one. */
export function parseProofRecord(text: string): ProofRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const record = value as Partial<ProofRecord> | null;
  if (!record || record.v !== 1 || typeof record.snapshot?.id !== 'string') return null;
  if (record.sketch !== null && typeof record.sketch !== 'string') return null;
  return record as ProofRecord;
}
