// verify: download, decrypt and decompress to nowhere, so a bad backup is found before it is needed.
// Each outcome is recorded as a proof (core/proofs.ts) where no host can write: good when the backup
// decrypts, passes every integrity check, names its place and continues the content of the good backup
// before it (a keyed sketch, core/sketch.ts); rejected otherwise. Retention ranks only the good.
import { Writable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { isBadBackup, isSealdropError, SealdropError, type ErrorCode } from '../../core/errors.js';
import type { S3Location } from '../../core/s3-url.js';
import {
  snapshotJson,
  type Snapshot,
  type SnapshotJson,
  type SnapshotSelector,
} from '../../core/snapshot.js';
import { roundMs } from '../../core/units.js';
import type { BackupSet } from '../sets/backup-set.js';
import { choose } from '../sets/choose.js';
import { backupSet } from '../sets/open.js';
import { boundRecipients, openAhead } from '../sets/recipients.js';
import { provenSnapshots, readProofRecord, writeProof, type ReadProofs } from '../sets/proofs.js';
import { sketchKey } from '../sets/sketch-key.js';
import {
  goodBefore,
  historyLimit,
  proofSubject,
  standingProof,
  unprovenToVerify,
  type ProofRecord,
} from '../../core/proofs.js';
import { formatS3Url } from '../../core/s3-url.js';
import { decodeSketch, DEFAULT_MIN_OVERLAP, encodeSketch, Sketcher, type Sketch } from '../../core/sketch.js';
import { Keyring, loadIdentities, type PassphraseSource } from '../openpgp/identities.js';
import { judgeContinuity, type Previous } from './continuity.js';
import { outputLimit, unseal, type Compression } from '../openpgp/unseal.js';

export interface VerifyOptions {
  /**
   * One snapshot; 'all': every complete one (and every broken one, as a failure); 'unproven': every
   * complete one with no proof yet (core/proofs.ts unprovenToVerify). Several go oldest first.
   */
  selector: SnapshotSelector | { kind: 'all' } | { kind: 'unproven' };
  identityPaths: string[];
  askPassphrase: PassphraseSource;
  signal?: AbortSignal;
  onStart?: (snapshot: Snapshot) => void;
  onProgress?: (encryptedBytes: number, totalBytes: number) => void;
  /** Each snapshot's outcome as soon as it is known. */
  onChecked?: (check: SnapshotCheck) => void;
  /** Worth knowing, not a failure: what was skipped, objects written over after a run. */
  onNote?: (message: string) => void;
  /** Record each outcome as a proof (default true). */
  mark?: boolean;
  /**
   * What a snapshot may inflate to: a bomb fails, it doesn't run on. Default: 20 times what the good
   * backup before it restored to (historyLimit), else outputLimit() of its size.
   */
  maxOutputBytes?: number;
  /** Accept objects that name no place they belong (a set written with gpg and curl). */
  allowUnbound?: boolean;
  /** Content overlap with the good backup before, under which a backup is rejected (DEFAULT_MIN_OVERLAP). */
  minOverlap?: number;
}

export interface SnapshotCheck {
  snapshot: SnapshotJson;
  ok: boolean;
  /** What failed, when not ok, and what to do about it. */
  problem: string | null;
  hint: string | null;
  code: ErrorCode | null;
  /** Worth knowing about a snapshot that verified (a run written over after the fact). */
  warnings: string[];
  identity: string | null;
  compression: Compression | null;
  encryptedBytes: number;
  /** Bytes after decryption and decompression: the size of the dump. */
  plainBytes: number;
  seconds: number;
  /** Its content's overlap with the good backup before it, when there was one to compare with. */
  continuity: { against: string; overlap: number } | null;
  /** Since when the proof recorded stands (ISO 8601), or null: --no-mark, or it could not be written. */
  markedAt: string | null;
}

export interface VerifyResult {
  target: string;
  checks: SnapshotCheck[];
  failed: number;
}

/** Errors that would fail every snapshot alike: stop at once instead of reporting each. */
export const FATAL: ReadonlySet<ErrorCode> = new Set([
  'WRONG_PASSPHRASE',
  'PASSPHRASE_REQUIRED',
  'CREDENTIALS_MISSING',
  'S3_UNREACHABLE',
  'INTERRUPTED',
  'USAGE',
]);

export async function verify(
  client: S3Client,
  location: S3Location,
  options: VerifyOptions,
): Promise<VerifyResult> {
  const keyring = new Keyring(await loadIdentities(options.identityPaths, 'verify'), options.askPassphrase);
  await keyring.unlockSoleIdentity();
  const set = backupSet(client, location);
  const { selector } = options;
  // One listing, whatever is verified: each snapshot is opened from it.
  let todo: Snapshot[];
  let target: string;
  let proofs: ReadProofs;
  let listed: readonly Snapshot[];
  if (selector.kind === 'all' || selector.kind === 'unproven') {
    const listing = await set.list({ signal: options.signal });
    target = listing.target;
    listed = listing.snapshots;
    const proven = await provenSnapshots(set, listing.snapshots, options.signal);
    proofs = proven.proofs;
    // Oldest first: each is compared with the good one before it, proven a moment ago.
    todo =
      selector.kind === 'all'
        ? proven.snapshots.filter((s) => s.state === 'complete' || s.state === 'broken').reverse()
        : unprovenToVerify(proven.snapshots);
    // Nothing new to prove is fine; nothing complete at all is not (as for the latest): an empty set
    // would otherwise pass as "every backup proven", and fleet verify a host that never pushed.
    const nothing =
      selector.kind === 'all' ? todo.length === 0 : !proven.snapshots.some((s) => s.state === 'complete');
    if (nothing)
      throw new SealdropError('NOT_FOUND', `${target} has no complete backups to verify`, {
        hint: 'List what is stored with `sealdrop versions`.',
      });
  } else {
    const { listing, snapshot } = await choose(set, selector, options);
    target = listing.target;
    listed = listing.snapshots;
    todo = [snapshot];
    ({ proofs } = await provenSnapshots(set, [], options.signal));
  }
  if (todo.length === 0) return { target, checks: [], failed: 0 };
  const key = await sketchKey(set, keyring, options.signal);
  // This run's good ones: the next one is compared with them, not re-read.
  const proven = new Map<string, Previous>();
  const before: Before = { set, keyring, key, proofs, proven, listed, options };
  const checks: SnapshotCheck[] = [];
  for (const snapshot of todo) {
    const previous = await previousGood(before, snapshot);
    const sketcher = new Sketcher(key);
    const check = await verifyOne(set, keyring, snapshot, sketcher, {
      ...options,
      maxOutputBytes:
        options.maxOutputBytes ?? historyLimit(previous?.plainBytes) ?? outputLimit(snapshot.size),
    });
    const sketch = sketcher.digest();
    // The admin's word stands for a change too large to continue (an approved backup).
    if (check.ok && standingProof(proofs, snapshot)?.kind !== 'approved')
      judgeContinuity(check, previous, sketch, {
        minOverlap: options.minOverlap ?? DEFAULT_MIN_OVERLAP,
        approve: `sealdrop approve ${formatS3Url(set.location)} ${snapshot.kind === 'run' ? '--run' : '--version-id'} ${snapshot.id}`,
      });
    if (check.ok)
      proven.set(proofSubject(snapshot), { id: snapshot.id, sketch, plainBytes: check.plainBytes });
    // A check that could not be made (this Node.js has no zstd, no identity given opens it) proves
    // nothing either way: only a good or a bad backup gets a proof.
    if (options.mark !== false && snapshot.state === 'complete' && (check.ok || isBadBackup(check.code)))
      await recordProof(set, proofs, snapshot, check, sketch, options);
    checks.push(check);
    options.onChecked?.(check);
  }
  return { target, checks, failed: checks.filter((check) => !check.ok).length };
}

async function verifyOne(
  set: BackupSet,
  keyring: Keyring,
  snapshot: Snapshot,
  sketcher: Sketcher,
  options: VerifyOptions,
): Promise<SnapshotCheck> {
  const started = performance.now();
  let encryptedBytes = 0;
  const base = { snapshot: snapshotJson(snapshot) };
  try {
    if (snapshot.state === 'broken')
      throw new SealdropError('INTEGRITY', `it is BROKEN: ${snapshot.notes.join('; ')}`, {
        hint: 'Not a backup: prune removes it. Find out who wrote it.',
      });
    await openAhead(set, snapshot, keyring, options.signal);
    const opened = await set.open(snapshot, { signal: options.signal });
    options.onStart?.(snapshot);
    const warnings = [...opened.notes];
    const result = await unseal(opened.body, sketching(sketcher), {
      keyring,
      label: opened.label,
      binding: opened.binding,
      requireBinding: !options.allowUnbound,
      onNote: (note) => warnings.push(note),
      diagnose: true,
      maxOutputBytes: options.maxOutputBytes,
      signal: options.signal,
      onProgress: (bytes) => {
        encryptedBytes = bytes;
        options.onProgress?.(bytes, snapshot.size);
      },
    });
    return {
      ...base,
      ok: true,
      problem: null,
      hint: null,
      code: null,
      warnings,
      identity: result.identity.fingerprint,
      compression: result.compression,
      encryptedBytes: result.encryptedBytes,
      plainBytes: result.outputBytes,
      seconds: roundMs((performance.now() - started) / 1000),
      continuity: null,
      markedAt: null,
    };
  } catch (caught) {
    if (!isSealdropError(caught) || FATAL.has(caught.code)) throw caught;
    const error =
      caught.code === 'NO_MATCHING_KEY'
        ? ((await notForItsRecipients(set, keyring, snapshot, options.signal)) ?? caught)
        : caught;
    return {
      ...base,
      ok: false,
      problem: error.message,
      hint: error.hint,
      code: error.code,
      warnings: [],
      identity: null,
      compression: null,
      encryptedBytes,
      plainBytes: 0,
      seconds: roundMs((performance.now() - started) / 1000),
      continuity: null,
      markedAt: null,
    };
  }
}

/**
 * A backup none of the identities opens is not checked: it may be for a key the drill doesn't hold (a
 * rotation). Unless its policy bound it to one of them: push encrypts to every key its policy binds, so
 * such a message was made by hand, to keep verify from ever judging it. Then it is bad.
 */
async function notForItsRecipients(
  set: BackupSet,
  keyring: Keyring,
  snapshot: Snapshot,
  signal?: AbortSignal,
): Promise<SealdropError | null> {
  const bound = new Set(await boundRecipients(set, snapshot, signal));
  const held = keyring.fingerprints.find(({ fingerprint }) => bound.has(fingerprint));
  if (!held) return null;
  return new SealdropError(
    'INTEGRITY',
    `its policy binds it to ${held.fingerprint} (the key of ${held.source}), but it is not encrypted to that key: push encrypts to every key its policy binds, so the host made it some other way`,
    {
      hint: `Not a backup: find out who pushed it, that host may be compromised. (Or ${held.source} lost the subkey it was encrypted to: then verify with the key as it was.)`,
    },
  );
}

/** What finding the good backup before one needs. */
interface Before {
  set: BackupSet;
  keyring: Keyring;
  key: Uint8Array;
  proofs: ReadProofs;
  /** This run's good ones, by proofSubject; the ones read again to sketch them too. */
  proven: Map<string, Previous>;
  /** The set's listing, where a good one is found to be read again. */
  listed: readonly Snapshot[];
  options: VerifyOptions;
}

/**
 * The good backup before `snapshot` (by time), from this run or from its proof record; null: none.
 * A proof that keeps no sketch (an approval of a backup verify never read, or a damaged record) can't
 * be compared with, and a backup that isn't compared is no proof of anything: the good one is read
 * again to sketch it, once per run.
 */
async function previousGood(before: Before, snapshot: Snapshot): Promise<Previous | null> {
  const { set, proofs, proven, options } = before;
  const good = goodBefore(proofs, snapshot.time);
  if (!good) return null;
  const subject = proofSubject({ id: good.snapshotId, time: good.snapshotTime });
  const known = proven.get(subject);
  if (known) return known;
  const record = await readProofRecord(set, proofs, good, options.signal);
  let sketch: Sketch | null = null;
  try {
    sketch = record?.sketch ? decodeSketch(record.sketch) : null;
  } catch (error) {
    if (!isSealdropError(error) || error.code !== 'SKETCH_INVALID') throw error;
  }
  const previous: Previous = sketch
    ? { id: good.snapshotId, sketch, plainBytes: record?.plainBytes ?? 0 }
    : await sketchAgain(
        before,
        good.snapshotId,
        before.listed.find((s) => proofSubject(s) === subject),
      );
  proven.set(subject, previous);
  return previous;
}

/** Reads a good backup again to sketch its content. */
async function sketchAgain(before: Before, id: string, snapshot: Snapshot | undefined): Promise<Previous> {
  const { set, keyring, key, options } = before;
  if (!snapshot) return { id, sketch: null, plainBytes: 0, unread: 'it is no longer listed' };
  options.onNote?.(`reading ${id} again: its proof keeps no sketch of its content to compare the next with`);
  const sketcher = new Sketcher(key);
  const check = await verifyOne(set, keyring, snapshot, sketcher, {
    ...options,
    onStart: undefined,
    onProgress: undefined,
    maxOutputBytes: options.maxOutputBytes ?? outputLimit(snapshot.size),
  });
  return check.ok
    ? { id, sketch: sketcher.digest(), plainBytes: check.plainBytes }
    : { id, sketch: null, plainBytes: 0, unread: check.problem ?? 'it could not be read' };
}

/**
 * The outcome as a proof, unless the one standing says the same already (no version to keep) or the
 * admin approved the backup (their word stands). Never fails the verify.
 */
async function recordProof(
  set: BackupSet,
  proofs: ReadProofs,
  snapshot: Snapshot,
  check: SnapshotCheck,
  sketch: Sketch,
  options: VerifyOptions,
): Promise<void> {
  const verdict = check.ok ? 'good' : 'rejected';
  const standing = standingProof(proofs, snapshot);
  if (standing && (standing.kind === verdict || standing.kind === 'approved')) {
    check.markedAt = standing.at.toISOString();
    return;
  }
  const record: ProofRecord = {
    v: 1,
    target: formatS3Url(set.location),
    snapshot: {
      kind: snapshot.kind,
      id: snapshot.id,
      time: snapshot.time.toISOString(),
      size: snapshot.size,
    },
    checkedAt: new Date().toISOString(),
    verdict,
    problem: check.problem,
    hint: check.hint,
    plainBytes: check.plainBytes,
    sketch: check.plainBytes > 0 || check.ok ? encodeSketch(sketch) : null,
    continuity: check.continuity,
  };
  try {
    const at = await writeProof(set, snapshot, verdict, record);
    proofs.states.set(proofSubject(snapshot), {
      snapshotId: snapshot.id,
      verdict,
      kind: verdict,
      at,
      snapshotTime: snapshot.time,
    });
    check.markedAt = at.toISOString();
  } catch (error) {
    if (!isSealdropError(error)) throw error;
    options.onNote?.(`the proof of ${snapshot.id} was not recorded: ${error.message}`);
  }
}

/** Nowhere, but every byte goes through the content sketch on its way. */
function sketching(sketcher: Sketcher): Writable {
  return new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _encoding, callback) {
      sketcher.update(chunk);
      callback();
    },
  });
}
