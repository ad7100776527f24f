// The runs under a prefix as a backup set. A run is complete only when it is whole: a manifest of bounded
// size that parses, names this run and lists parts that are stored, in their original versions, at the
// sizes it says. Everything under the prefix may have been written by an attacker.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { SealdropError } from '../../core/errors.js';
import { mapBounded } from '../../core/pool.js';
import { MANIFEST_NAME, MAX_PARTS, partName, runKey, runObjectOf } from '../../core/layout.js';
import {
  listingVerdict,
  MANIFEST_MAX_BYTES,
  manifestProblems,
  newestFirst,
  parseManifest,
  RunGrouper,
  runSnapshot,
  runTime,
  type ListedRun,
  type Manifest,
  type Strays,
} from '../../core/runs.js';
import type { Snapshot } from '../../core/snapshot.js';
import {
  StoredSet,
  type ListOptions,
  type ObjectRef,
  type OpenedSnapshot,
  type SnapshotListing,
} from './backup-set.js';
import { listEntries } from '../s3/listing.js';
import { oneAhead } from '../s3/download.js';
import { getObjectVersion, readObjectText } from '../s3/objects.js';

/** Manifests read at once while listing. */
const MANIFEST_READS = 8;
/** How much of the next part is read into memory while the current one is decrypted. */
const READ_AHEAD_BYTES = 8 * 1024 ** 2;
/**
 * Parts of judged manifests kept for open() (one largest manifest's worth, ~20 MB): a flood of junk
 * runs costs a second read of a manifest, never the memory of all of them.
 */
const KEPT_MANIFEST_PARTS = MAX_PARTS;

export class RunSet extends StoredSet {
  /** The runs of the last listing, for open(). */
  #runs = new Map<string, ListedRun>();
  /** Manifests judged complete in the last listing, within KEPT_MANIFEST_PARTS: open() needn't read them again. */
  #manifests = new Map<string, Manifest>();
  #keptParts = 0;

  markObject(snapshot: Snapshot): ObjectRef | null {
    const manifest = this.#runs.get(snapshot.id)?.manifest;
    return manifest
      ? { key: runKey(this.location.key, snapshot.id, MANIFEST_NAME), versionId: manifest.versionId }
      : null;
  }

  firstObject(snapshot: Snapshot): ObjectRef | null {
    const first = this.#runs.get(snapshot.id)?.parts.get(1);
    return first
      ? { key: runKey(this.location.key, snapshot.id, partName(1)), versionId: first.versionId }
      : null;
  }

  async list(options: ListOptions = {}): Promise<SnapshotListing> {
    const prefix = this.location.key;
    const grouper = new RunGrouper(prefix);
    // One run only: list under its own prefix, whatever else sits beside it.
    const listed = options.only === undefined ? prefix : runKey(prefix, options.only, '');
    for await (const page of listEntries(this.client, this.location.bucket, listed, {
      pageSize: this.source.pageSize,
      signal: options.signal,
    }))
      for (const entry of page) grouper.add(entry);
    return this.judge(grouper.finish(), options);
  }

  /** The listing of runs already grouped (by list(), or from a listing of a whole bucket): each judged. */
  async judge(
    { runs, strays }: { runs: ListedRun[]; strays: Strays },
    options: Pick<ListOptions, 'newestComplete' | 'signal'> = {},
  ): Promise<SnapshotListing> {
    this.#runs = new Map(runs.map((run) => [run.runId, run]));
    this.#manifests.clear();
    this.#keptParts = 0;
    const judge = (run: ListedRun) => this.#judge(run, options.signal);
    let snapshots: Snapshot[];
    if (options.newestComplete) {
      // Newest first, a batch of manifest reads at a time, until one run is complete.
      const at = options.newestComplete.at?.getTime() ?? Infinity;
      const all = runs.map((run) => ({ run, time: runTime(run).getTime() }));
      all.sort((a, b) => b.time - a.time || (a.run.runId < b.run.runId ? 1 : -1));
      const timed = all.filter((r) => r.time <= at);
      // Every run after `at`: the oldest alone, so that the choice can say which one that is.
      if (timed.length === 0 && all.length > 0) timed.push(all[all.length - 1]!);
      snapshots = [];
      for (let start = 0; start < timed.length; start += MANIFEST_READS) {
        const batch = await mapBounded(timed.slice(start, start + MANIFEST_READS), MANIFEST_READS, (r) =>
          judge(r.run),
        );
        for (const snapshot of batch) snapshots.push(snapshot);
        if (batch.some((snapshot) => snapshot.state === 'complete')) break;
      }
    } else snapshots = await mapBounded(runs, MANIFEST_READS, judge);
    snapshots.sort(newestFirst);
    return { target: this.target, kind: 'run', snapshots, strays };
  }

  /** The listing's verdict, or the manifest's: complete, broken or incomplete. */
  async #judge(run: ListedRun, signal?: AbortSignal): Promise<Snapshot> {
    const verdict = listingVerdict(run);
    if (verdict) return runSnapshot(run, verdict);
    let manifest: Manifest;
    try {
      manifest = await this.#manifest(run, signal);
    } catch (error) {
      if (!(error instanceof SealdropError) || error.code !== 'INTEGRITY') throw error;
      return runSnapshot(run, { state: 'broken', notes: [error.message] });
    }
    const problems = manifestProblems(run, manifest);
    if (problems.length > 0) return runSnapshot(run, { state: 'broken', notes: problems });
    if (this.#keptParts + manifest.parts.length <= KEPT_MANIFEST_PARTS) {
      this.#manifests.set(run.runId, manifest);
      this.#keptParts += manifest.parts.length;
    }
    return runSnapshot(run, { state: 'complete', manifest });
  }

  async #manifest(run: ListedRun, signal?: AbortSignal): Promise<Manifest> {
    const key = runKey(this.location.key, run.runId, MANIFEST_NAME);
    const label = `s3://${this.location.bucket}/${key}`;
    const text = await readObjectText(
      this.client,
      { bucket: this.location.bucket, key, versionId: run.manifest!.versionId },
      `the manifest ${label}`,
      MANIFEST_MAX_BYTES,
      signal,
    );
    return parseManifest(text, {
      prefix: this.location.key,
      runId: run.runId,
    });
  }

  async open(snapshot: Snapshot, options: { signal?: AbortSignal } = {}): Promise<OpenedSnapshot> {
    const run = this.#runs.get(snapshot.id);
    if (!run) throw new Error(`run ${snapshot.id} is not from this set's listing`);
    const label = `${this.target}${run.runId}/`;
    const manifest =
      this.#manifests.get(run.runId) ?? (await this.#checkedManifest(run, label, options.signal));
    const body = Readable.from(this.#parts(run, manifest, label, options.signal), { objectMode: false });
    return { snapshot, label, body, binding: label, notes: snapshot.notes };
  }

  /** A run's manifest read again (not kept from the listing), with the listing's checks. */
  async #checkedManifest(run: ListedRun, label: string, signal?: AbortSignal): Promise<Manifest> {
    let manifest: Manifest;
    try {
      manifest = await this.#manifest(run, signal);
    } catch (error) {
      if (!(error instanceof SealdropError) || error.code !== 'INTEGRITY') throw error;
      throw new SealdropError('INTEGRITY', `${label}: ${error.message}`, { hint: error.hint });
    }
    const problems = manifestProblems(run, manifest);
    if (problems.length > 0)
      throw new SealdropError('INTEGRITY', `${label} is damaged: ${problems.join('; ')}`, {
        hint: 'Restore another run (sealdrop versions lists them) and find out who changed this one.',
      });
    return manifest;
  }

  /**
   * The parts in order, concatenated, the next one downloading while this one is decrypted; fails with
   * INTEGRITY as soon as a part is not what the manifest says.
   */
  async *#parts(
    run: ListedRun,
    manifest: Manifest,
    label: string,
    signal?: AbortSignal,
  ): AsyncGenerator<Buffer> {
    const parts = manifest.parts.map((part, i) => ({ ...part, name: partName(i + 1), number: i + 1 }));
    const open = (part: (typeof parts)[number]) =>
      getObjectVersion(
        this.client,
        {
          bucket: this.location.bucket,
          key: part.key,
          versionId: run.parts.get(part.number)!.versionId,
          size: part.size,
        },
        `${label}${part.name}`,
        signal,
      );
    for await (const { item: part, body } of oneAhead(parts, open, READ_AHEAD_BYTES)) {
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of body) {
        size += chunk.length;
        if (size > part.size) break;
        hash.update(chunk);
        yield chunk;
      }
      if (size !== part.size || hash.digest('hex') !== part.sha256) {
        throw new SealdropError(
          'INTEGRITY',
          `${label}${part.name} FAILED its check against the manifest (${size === part.size ? 'SHA-256 differs' : `${size > part.size ? 'more' : size} bytes, not ${part.size}`}): it is not what was uploaded`,
          { hint: 'Restore another run (sealdrop versions lists them) and find out who changed this one.' },
        );
      }
    }
  }

  /** One pass over the prefix: every version and delete marker of the given runs' objects. */
  async *objectsOf(
    snapshots: readonly Snapshot[],
    options: { signal?: AbortSignal } = {},
  ): AsyncIterable<ObjectRef> {
    const ids = new Set(snapshots.map((s) => s.id));
    if (ids.size === 0) return;
    const prefix = this.location.key;
    for await (const page of listEntries(this.client, this.location.bucket, prefix, {
      pageSize: this.source.pageSize,
      signal: options.signal,
    }))
      for (const entry of page)
        if (ids.has(runObjectOf(prefix, entry.key)?.runId ?? ''))
          yield { key: entry.key, versionId: entry.versionId };
  }
}
