// Multi-object runs under a prefix policy (named as core/layout.ts says). Pure: the manifest format,
// grouping a listing into runs and judging each run.
// Everything under a prefix may have been written by an attacker: counts, sizes and texts are bounded.
import { COMPRESSIONS, type Compression } from './compression.js';
import { SealdropError } from './errors.js';
import { isRecord } from './json.js';
import { MAX_PARTS, partName, runIdTime, runKey, runObjectOf } from './layout.js';
import { quoteBounded, type ListedVersion, type Snapshot } from './snapshot.js';
import { plural } from './words.js';

/** Bumped only with an incompatible change of the manifest. */
export const MANIFEST_FORMAT = 1;
/** Manifests are read up to this size; one listing MAX_PARTS parts takes about 13 MB. */
export const MANIFEST_MAX_BYTES = 16 * 1024 ** 2;
/** What push's manifest holds besides its parts, at most: the prefix (1,024 bytes, JSON-escaped) and the facts. */
const MANIFEST_HEADER_BYTES = 16 * 1024;
/** A part's entry at most: its key (1,024 bytes, each escaped to at most 6), its size and SHA-256. */
const MANIFEST_PART_BYTES = 7 * 1024;

export interface ManifestPart {
  key: string;
  size: number;
  sha256: string;
}

/** What the agent uploads last; its presence makes a run complete. */
export interface Manifest {
  sealdropRun: typeof MANIFEST_FORMAT;
  runId: string;
  prefix: string;
  parts: ManifestPart[];
  /** Encrypted bytes: the sum of the part sizes. */
  totalBytes: number;
  /** SHA-256 of the whole encrypted stream (all parts in order). */
  sha256: string;
  /** Bytes read from the dump. */
  bytesIn: number;
  compression: Compression;
  partSize: number;
  startedAt: string;
  finishedAt: string;
  seconds: number;
}

/**
 * Parses and checks a manifest against the run it was found in. Throws INTEGRITY with a short message
 * ("the manifest is not valid (…)"): whatever the manifest holds, the message stays bounded.
 */
export function parseManifest(text: string, expected: { prefix: string; runId: string }): Manifest {
  const bad = (problem: string) =>
    new SealdropError('INTEGRITY', `the manifest is not valid (${problem})`, {
      hint: 'The run cannot be trusted as a whole: restore another run (sealdrop versions lists them).',
    });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw bad(`not JSON: ${(error as Error).message.slice(0, 100)}`);
  }
  if (!isRecord(raw)) throw bad('not a JSON object');
  const m = raw;
  if (m.sealdropRun !== MANIFEST_FORMAT)
    throw bad(`format ${quoteBounded(m.sealdropRun)}; this sealdrop reads format ${MANIFEST_FORMAT}`);
  if (m.runId !== expected.runId) throw bad(`it names run ${quoteBounded(m.runId)}`);
  if (m.prefix !== expected.prefix) throw bad(`it names prefix ${quoteBounded(m.prefix)}`);
  if (!(COMPRESSIONS as readonly unknown[]).includes(m.compression)) throw bad('unknown compression');
  for (const field of ['totalBytes', 'bytesIn', 'partSize', 'seconds'] as const) {
    if (typeof m[field] !== 'number' || !((m[field] as number) >= 0)) throw bad(`"${field}" is not a number`);
  }
  for (const field of ['startedAt', 'finishedAt', 'sha256'] as const) {
    if (typeof m[field] !== 'string') throw bad(`"${field}" is missing`);
  }
  if (!/^[0-9a-f]{64}$/.test(m.sha256 as string)) throw bad('"sha256" is not a SHA-256');
  if (!Array.isArray(m.parts) || m.parts.length === 0) throw bad('no parts');
  if (m.parts.length > MAX_PARTS) throw bad(`${m.parts.length} parts, over the limit of ${MAX_PARTS}`);
  let total = 0;
  const parts: ManifestPart[] = [];
  for (const [i, part] of (m.parts as unknown[]).entries()) {
    const p = (typeof part === 'object' && part !== null ? part : {}) as Record<string, unknown>;
    const key = runKey(expected.prefix, expected.runId, partName(i + 1));
    if (p.key !== key) throw bad(`part ${i + 1} is ${quoteBounded(p.key)}, expected ${key}`);
    if (typeof p.size !== 'number' || !Number.isSafeInteger(p.size) || p.size < 1)
      throw bad(`part ${i + 1} has no valid size`);
    if (typeof p.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(p.sha256))
      throw bad(`part ${i + 1} has no valid sha256`);
    total += p.size;
    parts.push({ key, size: p.size, sha256: p.sha256 });
  }
  if (total !== m.totalBytes)
    throw bad(`the parts add up to ${total} bytes, not ${quoteBounded(m.totalBytes)}`);
  return { ...(m as unknown as Manifest), parts };
}

/** The version of a run's object that counts: the oldest real one, written during the run. */
export interface RunObjectVersion {
  versionId: string;
  size: number;
  time: Date;
}

/** A run as the listing shows it; O(parts) memory, whatever else sits under the prefix. */
export interface ListedRun {
  runId: string;
  /** The manifest's original version; null: no manifest (yet). */
  manifest: RunObjectVersion | null;
  /**
   * Each part's original version, by part number. With versioning, later writes (a compromised server
   * re-uploading a part) add versions but cannot change this one, which is what restore reads.
   */
  parts: Map<number, RunObjectVersion>;
  /** Objects with later versions of other content (ETag or size): someone wrote over them. */
  overwritten: Tally;
  /** Objects whose newest entry is a delete marker: stock tools (aws s3 cp --recursive) skip them. */
  hidden: Tally;
  /** Every version and delete marker of every object of the run, and their bytes: what removing it deletes. */
  objectVersions: number;
  storedBytes: number;
  /** When the newest of those versions was written (ms; later than the manifest if written over). */
  lastWrite: number;
}

/** A count, and the first few names counted. */
export interface Tally {
  count: number;
  names: string[];
}

function tally(t: Tally, name: string): void {
  if (t.count++ < 3) t.names.push(name);
}

export interface Strays {
  /** Keys under the prefix that belong to no run (never counted, deleted only when asked). */
  count: number;
  /** The first few of them, for messages. */
  sample: string[];
}

const STRAY_SAMPLE = 5;
/** Distinct contents tracked per key to tell overwrites apart; more count as "other". */
const MAX_SIGNATURES = 16;

/** One key's versions as they stream past, newest first (S3's order). */
interface KeyHistory {
  key: string;
  newestIsMarker: boolean;
  /** The oldest real version so far (the last one seen). */
  original: (RunObjectVersion & { signature: string }) | null;
  signatures: Map<string, number>;
  realVersions: number;
  entries: number;
  bytes: number;
  /** The newest real version's time (ms): the first one seen. */
  newest: number;
}

/**
 * Groups a listing of everything under `prefix` into runs. Feed it entries in S3's order (by key, each
 * key's versions newest first): it keeps one key's history at a time, a count of the strays and, per
 * run, only the original version of each object.
 */
export class RunGrouper {
  readonly #prefix: string;
  readonly #runs = new Map<string, ListedRun>();
  readonly #strays: Strays = { count: 0, sample: [] };
  #key: KeyHistory | null = null;

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  add(entry: ListedVersion): void {
    if (this.#key?.key !== entry.key) {
      this.#endKey();
      this.#key = {
        key: entry.key,
        newestIsMarker: entry.isDeleteMarker,
        original: null,
        signatures: new Map(),
        realVersions: 0,
        entries: 0,
        bytes: 0,
        newest: 0,
      };
    }
    const history = this.#key;
    history.entries++;
    history.bytes += entry.size;
    if (entry.isDeleteMarker) return;
    const signature = `${entry.size}:${entry.etag ?? ''}`;
    history.realVersions++;
    history.newest = Math.max(history.newest, entry.lastModified.getTime());
    if (history.signatures.has(signature) || history.signatures.size < MAX_SIGNATURES)
      history.signatures.set(signature, (history.signatures.get(signature) ?? 0) + 1);
    history.original = {
      versionId: entry.versionId,
      size: entry.size,
      time: entry.lastModified,
      signature,
    };
  }

  /** The runs (in no particular order) and the strays. */
  finish(): { runs: ListedRun[]; strays: Strays } {
    this.#endKey();
    return { runs: [...this.#runs.values()], strays: this.#strays };
  }

  #endKey(): void {
    const history = this.#key;
    this.#key = null;
    if (!history) return;
    const object = runObjectOf(this.#prefix, history.key);
    if (!object) {
      this.#strays.count++;
      if (this.#strays.sample.length < STRAY_SAMPLE) this.#strays.sample.push(history.key.slice(0, 200));
      return;
    }
    let run = this.#runs.get(object.runId);
    if (!run) {
      run = {
        runId: object.runId,
        manifest: null,
        parts: new Map(),
        overwritten: { count: 0, names: [] },
        hidden: { count: 0, names: [] },
        objectVersions: 0,
        storedBytes: 0,
        lastWrite: 0,
      };
      this.#runs.set(object.runId, run);
    }
    run.objectVersions += history.entries;
    run.storedBytes += history.bytes;
    run.lastWrite = Math.max(run.lastWrite, history.newest);
    const name = baseName(history.key);
    if (history.newestIsMarker) tally(run.hidden, name);
    const { original } = history;
    if (!original) return;
    if (history.realVersions > (history.signatures.get(original.signature) ?? 0))
      tally(run.overwritten, name);
    const version = { versionId: original.versionId, size: original.size, time: original.time };
    if (object.part === null) run.manifest = version;
    else run.parts.set(object.part, version);
  }
}

/** What the listing alone says of a run: incomplete or broken, or null when its manifest must be read. */
export function listingVerdict(run: ListedRun): { state: 'incomplete' | 'broken'; notes: string[] } | null {
  if (!run.manifest)
    return {
      state: 'incomplete',
      notes: [
        `no manifest: ${plural(run.parts.size, 'part')} stored, the push did not finish (or is still running)`,
      ],
    };
  if (run.manifest.size > MANIFEST_MAX_BYTES)
    return {
      state: 'broken',
      notes: [`the manifest is ${run.manifest.size} bytes, over the limit of ${MANIFEST_MAX_BYTES}`],
    };
  if (run.parts.size === 0) return { state: 'broken', notes: ['it has a manifest but no parts'] };
  // Read and parsed by every listing: junk's size must not buy it a parse (JSON.parse makes 20 times
  // a `[{},{},…]`'s bytes of heap).
  const most = MANIFEST_HEADER_BYTES + run.parts.size * MANIFEST_PART_BYTES;
  if (run.manifest.size > most)
    return {
      state: 'broken',
      notes: [
        `the manifest is ${run.manifest.size} bytes, more than a manifest of ${plural(run.parts.size, 'part')} can be (at most ${most})`,
      ],
    };
  return null;
}

/** A valid manifest against the listing: each part stored, in its original version, at the size named. */
export function manifestProblems(run: ListedRun, manifest: Manifest): string[] {
  const problems: string[] = [];
  let count = 0;
  for (const [i, part] of manifest.parts.entries()) {
    const stored = run.parts.get(i + 1);
    const problem = !stored
      ? `${partName(i + 1)} is missing`
      : stored.size !== part.size
        ? `${partName(i + 1)} is ${stored.size} bytes, the manifest says ${part.size}`
        : null;
    if (problem === null) continue;
    if (++count <= 3) problems.push(problem);
  }
  if (count > 3) problems.push(`and ${count - 3} more parts missing or of the wrong size`);
  return problems;
}

/** A run's time, known from the listing: its manifest's (S3's clock), else its newest part's, else its id's. */
export function runTime(run: ListedRun): Date {
  if (run.manifest) return run.manifest.time;
  let newestPart = 0;
  for (const part of run.parts.values()) newestPart = Math.max(newestPart, part.time.getTime());
  return new Date(newestPart || runIdTime(run.runId)!.getTime());
}

/** The run as a snapshot, once judged: by the listing, or by its manifest (`manifest`: its total). */
export function runSnapshot(
  run: ListedRun,
  verdict: { state: 'incomplete' | 'broken'; notes: string[] } | { state: 'complete'; manifest: Manifest },
): Snapshot {
  let partBytes = 0;
  for (const part of run.parts.values()) partBytes += part.size;
  const time = runTime(run);
  const notes = verdict.state === 'complete' ? completeNotes(run, verdict.manifest) : verdict.notes;
  return {
    kind: 'run',
    id: run.runId,
    time,
    size: verdict.state === 'complete' ? verdict.manifest.totalBytes : partBytes,
    state: verdict.state,
    parts: run.parts.size,
    notes,
    objectVersions: run.objectVersions,
    storedBytes: run.storedBytes,
    ...(run.lastWrite > time.getTime() ? { lastWrite: new Date(run.lastWrite) } : {}),
    ...(verdict.state === 'complete' ? { sha256: verdict.manifest.sha256 } : {}),
  };
}

/** What is odd about a complete run: restore uses the originals, but someone wrote there. */
function completeNotes(run: ListedRun, manifest: Manifest): string[] {
  const notes: string[] = [];
  if (run.overwritten.count > 0)
    notes.push(`${named(run.overwritten)} written over after the run (restore reads the originals)`);
  if (run.hidden.count > 0)
    notes.push(
      `${named(run.hidden)} hidden by a delete marker (stock tools such as aws s3 cp --recursive skip ${run.hidden.count === 1 ? 'it' : 'them'}; restore reads the originals)`,
    );
  const extra = run.parts.size - manifest.parts.length;
  if (extra > 0) notes.push(`${plural(extra, 'part')} beyond the manifest's ${manifest.parts.length} added`);
  return notes;
}

/** Newest first by server time; the run id (agent time, then random) breaks ties. */
export function newestFirst(a: Snapshot, b: Snapshot): number {
  return b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** "part-000002", "part-000002, manifest.json", "part-000001, … and 7 more". */
function named(t: Tally): string {
  return `${t.names.join(', ')}${t.count > t.names.length ? ` and ${t.count - t.names.length} more` : ''}`;
}

function baseName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}
