// A backup set's restorable points: the versions of one key, or the runs under a prefix. One type for
// both, so every read-side command is written once over it, and one selector: latest, by id, at a time.
import { SealdropError } from './errors.js';
import { plural } from './words.js';

export type SnapshotKind = 'version' | 'run';

/**
 * - complete: restorable, and counted as a backup.
 * - incomplete: a run without a manifest (a push that failed, or is still running).
 * - broken: a run whose manifest is malformed, too large, lists no parts or names parts that don't
 *   check out: never restored, never counted, removed by prune.
 * - deleted: a delete marker: from then on the key did not exist.
 */
export type SnapshotState = 'complete' | 'incomplete' | 'broken' | 'deleted';

export interface Snapshot {
  kind: SnapshotKind;
  /** The version id of a version, the run id of a run. */
  id: string;
  /** When S3 stored it, by the server's clock: a host can't backdate a backup. */
  time: Date;
  /** Encrypted bytes a restore reads (0 for a delete marker). */
  size: number;
  state: SnapshotState;
  /** Runs: the parts stored. */
  parts?: number;
  /** Why it is not complete, or what is odd about a complete one; each short and bounded. */
  notes: readonly string[];
  /** What removing it deletes: object versions (delete markers included), and their bytes. */
  objectVersions: number;
  storedBytes: number;
  /** Runs: the newest write among what removing it deletes, when later than `time` (objects written over). */
  lastWrite?: Date;
  /** Object Lock on what removing it deletes (core/object-lock.ts); absent: the bucket has none. */
  lock?: SnapshotLock;
  /**
   * Since when the admin side holds it proven good (verified, or approved: core/proofs.ts); null: read,
   * not proven good; absent: not read.
   */
  verifiedAt?: Date | null;
  /** Since when verify holds it proven bad (broken, unbound, discontinuous); null: not; absent: not read. */
  rejectedAt?: Date | null;
  /**
   * Versions: S3's ETag, from the listing (for an object stored by one POST, the MD5 of its bytes: what
   * push prints); null: S3 gave none. Absent for runs (each part has its own).
   */
  etag?: string | null;
  /**
   * SHA-256 of the encrypted bytes as push computed them (what it prints): a run's from its manifest, a
   * version's from its metadata (read with its details). null: read, none recorded; absent: not read.
   */
  sha256?: string | null;
}

export type LockMode = 'COMPLIANCE' | 'GOVERNANCE';

/** What Object Lock says about removing a snapshot: the latest retain-until of what it deletes. */
export interface SnapshotLock {
  /** S3 refuses to delete it before this; null: no retention. */
  until: Date | null;
  mode: LockMode | null;
  /** A legal hold refuses deletion whatever the date. */
  legalHold: boolean;
  /**
   * How it is known: read from the object version itself ("version"), derived from the bucket's
   * default retention and the time it was written ("default"), or not read at all ("unread": reads are
   * bounded, and nothing can be said).
   */
  source: 'version' | 'default' | 'unread';
}

/** One entry of a ListObjectVersions listing: a version or a delete marker of a key. */
export interface ListedVersion {
  key: string;
  versionId: string;
  lastModified: Date;
  /** Bytes stored; 0 for delete markers. */
  size: number;
  etag: string | null;
  isDeleteMarker: boolean;
  /** S3's flag for the current version of the key. */
  isLatest: boolean;
}

/**
 * Merges one ListObjectVersions page's versions and delete markers (S3 returns them apart, each by key,
 * each key's newest first) back into S3's one order. S3's order is kept within each list: it is the true
 * order, while LastModified can disagree with it for concurrent uploads. Only the interleaving of the
 * two goes by key, then time (ties: the latest first).
 */
export function mergeListing(
  versions: readonly ListedVersion[],
  deleteMarkers: readonly ListedVersion[],
): ListedVersion[] {
  const merged: ListedVersion[] = [];
  let v = 0;
  let m = 0;
  while (v < versions.length || m < deleteMarkers.length) {
    const version = versions[v];
    const marker = deleteMarkers[m];
    if (marker === undefined || (version !== undefined && !comesFirst(marker, version))) {
      merged.push(version!);
      v++;
    } else {
      merged.push(marker);
      m++;
    }
  }
  return merged;
}

function comesFirst(a: ListedVersion, b: ListedVersion): boolean {
  if (a.key !== b.key) return a.key < b.key;
  const difference = a.lastModified.getTime() - b.lastModified.getTime();
  return difference > 0 || (difference === 0 && a.isLatest && !b.isLatest);
}

const NO_NOTES: readonly string[] = Object.freeze([]);

/** A key's version (or delete marker) as a snapshot. */
export function versionSnapshot(entry: ListedVersion): Snapshot {
  return {
    kind: 'version',
    id: entry.versionId,
    time: entry.lastModified,
    size: entry.size,
    state: entry.isDeleteMarker ? 'deleted' : 'complete',
    notes: NO_NOTES,
    objectVersions: 1,
    storedBytes: entry.size,
    etag: entry.etag,
  };
}

export type SnapshotSelector =
  | { kind: 'latest' }
  | { kind: 'id'; id: string }
  | { kind: 'at'; at: Date }
  /** The newest proven good, at or before `at` when given. */
  | { kind: 'verified'; at?: Date };

export interface Choice {
  snapshot: Snapshot;
  /** Newer incomplete or broken snapshots passed over on the way (latest, at): worth a note. */
  skipped: Snapshot[];
  /** Newer complete ones passed over as not proven good (verified). */
  unproven?: Snapshot[];
}

/** The words for a kind in messages: "version", and the option that picks one. */
export const SNAPSHOT_WORDS: Record<SnapshotKind, { noun: string; option: string }> = {
  version: { noun: 'version', option: '--version-id' },
  run: { noun: 'run', option: '--run' },
};

/**
 * The snapshot a restore means, from a newest-first list: the newest complete one, one by id, or the
 * newest complete one at or before a time. Incomplete and broken ones are passed over (and reported
 * as skipped); asked for by id they are refused with the reason. A delete marker is never restorable.
 * `label` names the backup set in messages.
 */
export function chooseSnapshot(
  snapshots: readonly Snapshot[],
  selector: SnapshotSelector,
  label: string,
): Choice {
  if (snapshots.length === 0)
    throw new SealdropError('NOT_FOUND', `${label} does not exist (no backups at all)`, {
      hint: 'Check the bucket and the key or prefix (sealdrop versions s3://BUCKET/KEY).',
    });
  const { noun, option } = SNAPSHOT_WORDS[snapshots[0]!.kind];
  if (selector.kind === 'id') {
    const snapshot = snapshots.find((s) => s.id === selector.id);
    if (!snapshot)
      throw new SealdropError('NOT_FOUND', `${label} has no ${noun} ${selector.id}`, {
        hint: 'List them with `sealdrop versions`.',
      });
    if (snapshot.state !== 'complete') throw unrestorable(snapshots, snapshot, label);
    return { snapshot, skipped: [] };
  }
  if (selector.kind === 'verified') return chooseVerified(snapshots, label, selector.at);
  const skipped: Snapshot[] = [];
  for (const snapshot of snapshots) {
    if (selector.kind === 'at' && snapshot.time.getTime() > selector.at.getTime()) continue;
    if (snapshot.state === 'incomplete' || snapshot.state === 'broken') {
      skipped.push(snapshot);
      continue;
    }
    if (snapshot.state === 'deleted') throw unrestorable(snapshots, snapshot, label);
    return { snapshot, skipped };
  }
  if (selector.kind === 'at' && skipped.length === 0) {
    const oldest = snapshots[snapshots.length - 1]!;
    throw new SealdropError(
      'NOT_FOUND',
      `${label} has no ${noun} at or before ${selector.at.toISOString()}; the oldest is from ${oldest.time.toISOString()}`,
      { hint: `Pick a later --at, or list them with \`sealdrop versions\` and pick one with ${option}.` },
    );
  }
  // Nothing but broken runs is damage (exit 3); nothing but unfinished pushes is a failure to push (1).
  throw new SealdropError(
    skipped.some((s) => s.state === 'broken') ? 'INTEGRITY' : 'INCOMPLETE_RUN',
    `${label} has no complete ${noun}${selector.kind === 'at' ? ` at or before ${selector.at.toISOString()}` : ''}: ${describeSkipped(skipped)}`,
    { hint: 'Push again, and find out what broke the runs: `sealdrop versions` shows what is stored.' },
  );
}

/**
 * The newest complete snapshot proven good, at or before `at` if given (core/proofs.ts: the proofs
 * must have been read). Newer complete ones not proven are passed over, and said.
 */
function chooseVerified(snapshots: readonly Snapshot[], label: string, at?: Date): Choice {
  const { noun } = SNAPSHOT_WORDS[snapshots[0]!.kind];
  const eligible = snapshots.filter(
    (s) => s.state === 'complete' && !(at && s.time.getTime() > at.getTime()),
  );
  const index = eligible.findIndex((s) => s.verifiedAt);
  if (index >= 0) return { snapshot: eligible[index]!, skipped: [], unproven: eligible.slice(0, index) };
  const oldest = at && snapshots.filter((s) => s.verifiedAt && s.state === 'complete').at(-1);
  throw new SealdropError(
    'NOT_FOUND',
    `${label} has no verified ${noun}${at ? ` at or before ${at.toISOString()}` : ''}${oldest ? `; the oldest is from ${oldest.time.toISOString()}` : ''}`,
    {
      hint: 'Verify one first (`sealdrop verify TARGET --unproven --identity KEY.asc` records the proofs), or leave out --verified to take one not proven.',
    },
  );
}

function unrestorable(snapshots: readonly Snapshot[], snapshot: Snapshot, label: string): SealdropError {
  const { noun, option } = SNAPSHOT_WORDS[snapshot.kind];
  const before = snapshots.find((s) => s.state === 'complete' && s.time.getTime() <= snapshot.time.getTime());
  const fallback = snapshots.find((s) => s.state === 'complete');
  const hint = (candidate: Snapshot | undefined, which: string) =>
    candidate
      ? `Restore ${which}: ${option} ${candidate.id} (from ${candidate.time.toISOString()}).`
      : `List them with \`sealdrop versions\` and pick one with ${option}.`;
  if (snapshot.state === 'deleted')
    return new SealdropError(
      'NOT_FOUND',
      `${label} ${noun} ${snapshot.id} is a delete marker (the key was deleted at ${snapshot.time.toISOString()}); there is nothing to restore from it`,
      { hint: hint(before, 'the version before it') },
    );
  if (snapshot.state === 'broken')
    return new SealdropError(
      'INTEGRITY',
      `${label} ${noun} ${snapshot.id} is BROKEN (${snapshot.notes.join('; ')}), so it can't be restored`,
      { hint: hint(fallback, 'the latest complete one') },
    );
  return new SealdropError(
    'INCOMPLETE_RUN',
    `${label} ${noun} ${snapshot.id} is INCOMPLETE (${snapshot.notes.join('; ')}), so it can't be restored`,
    { hint: hint(fallback, 'the latest complete one') },
  );
}

/** "2 INCOMPLETE runs (A, B) and 1 BROKEN run (C: no parts)", at most a few ids named. */
export function describeSkipped(skipped: readonly Snapshot[]): string {
  const parts: string[] = [];
  for (const state of ['incomplete', 'broken'] as const) {
    const these = skipped.filter((s) => s.state === state);
    if (these.length === 0) continue;
    const { noun } = SNAPSHOT_WORDS[these[0]!.kind];
    const named = these
      .slice(0, 3)
      .map((s) => (state === 'broken' ? `${s.id}: ${s.notes[0] ?? 'broken'}` : s.id));
    const more = these.length > named.length ? `, and ${these.length - named.length} more` : '';
    parts.push(`${plural(these.length, `${state.toUpperCase()} ${noun}`)} (${named.join(', ')}${more})`);
  }
  return parts.join(' and ');
}

/** "complete", "complete, 3 parts; 1 object written over …", "BROKEN: the manifest is not valid (…)". */
export function stateText(snapshot: Snapshot): string {
  const name =
    snapshot.state === 'complete'
      ? 'complete'
      : snapshot.state === 'deleted'
        ? 'DELETE MARKER'
        : snapshot.state.toUpperCase();
  const parts = snapshot.parts === undefined ? '' : `, ${plural(snapshot.parts, 'part')}`;
  const notes = snapshot.notes.length > 0 ? `: ${snapshot.notes.join('; ')}` : '';
  return `${name}${parts}${notes}`;
}

/** A snapshot in --json documents: the same names everywhere, versionId and runId kept apart. */
export interface SnapshotJson {
  versionId?: string;
  runId?: string;
  time: string;
  size: number;
  state: SnapshotState;
  parts?: number;
  notes: readonly string[];
  /** Object Lock (buckets that have it): when removing it stops being refused; null: no retention. */
  retainUntil?: string | null;
  lockMode?: LockMode;
  legalHold?: true;
  /** How retainUntil is known: read from the version, derived from the bucket default, or not read. */
  lockSource?: SnapshotLock['source'];
  /** Since when it is proven good (`sealdrop verify` or `approve`); null: not; absent: not read. */
  verifiedAt?: string | null;
  /** Since when `sealdrop verify` holds it proven bad; null: not; absent: not read. */
  rejectedAt?: string | null;
  /** Versions: S3's ETag (one POST: the MD5 of the stored bytes); null: none given. */
  etag?: string | null;
  /** SHA-256 of the encrypted bytes as push recorded it; null: none recorded; absent: not read. */
  sha256?: string | null;
}

export function snapshotJson(snapshot: Snapshot): SnapshotJson {
  const { lock, verifiedAt, rejectedAt } = snapshot;
  return {
    ...(snapshot.kind === 'run' ? { runId: snapshot.id } : { versionId: snapshot.id }),
    time: snapshot.time.toISOString(),
    size: snapshot.size,
    state: snapshot.state,
    ...(snapshot.parts === undefined ? {} : { parts: snapshot.parts }),
    notes: snapshot.notes,
    ...(lock
      ? {
          retainUntil: lock.until?.toISOString() ?? null,
          ...(lock.mode ? { lockMode: lock.mode } : {}),
          ...(lock.legalHold ? { legalHold: true as const } : {}),
          lockSource: lock.source,
        }
      : {}),
    ...(verifiedAt === undefined ? {} : { verifiedAt: verifiedAt?.toISOString() ?? null }),
    ...(rejectedAt === undefined ? {} : { rejectedAt: rejectedAt?.toISOString() ?? null }),
    ...(snapshot.etag === undefined ? {} : { etag: snapshot.etag }),
    ...(snapshot.sha256 === undefined ? {} : { sha256: snapshot.sha256 }),
  };
}

/** Quotes a value from the bucket (a name, a manifest's field) for a message, capped in length. */
export function quoteBounded(value: unknown, max = 80): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}
