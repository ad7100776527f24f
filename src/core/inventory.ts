// A bucket's listing grouped into backup sets as it streams: keys with versions, prefixes with runs
// (PREFIX<run-id>/part-NNNNNN, manifest.json), and sealdrop's own .sealdrop/ area. Pure, and bounded:
// it holds one key's versions, one prefix's runs and a bounded queue, never the whole listing.
import { runObjectOf, SEALDROP_AREA } from './layout.js';
import { RunGrouper, type ListedRun, type Strays } from './runs.js';
import type { S3Location } from './s3-url.js';
import { versionSnapshot, type ListedVersion, type Snapshot } from './snapshot.js';
import { WalChainTally, type WalChain } from './wal-chain.js';
import { archivedFileOf } from './wal.js';

export interface GroupedKeySet {
  kind: 'version';
  location: S3Location;
  /** Newest first, delete markers included. */
  snapshots: Snapshot[];
}

export interface GroupedRunSet {
  kind: 'run';
  location: S3Location;
  /** As RunGrouper found them: judged (manifests read) by the admin side. */
  runs: ListedRun[];
  strays: Strays;
}

export interface GroupedArea {
  kind: 'area';
  location: S3Location;
  /** Keys, their versions and delete markers, and the bytes they store. */
  objects: number;
  objectVersions: number;
  storedBytes: number;
}

/** A WAL archive (by the admin's word: a fleet host's `wal:`), tallied as a chain. */
export interface GroupedWal {
  kind: 'wal';
  location: S3Location;
  chain: WalChain;
}

export type GroupedSet = GroupedKeySet | GroupedRunSet | GroupedArea | GroupedWal;

export interface SetGrouperOptions {
  /**
   * The run prefix a key lies under by the admin's word (a fleet's prefix hosts, a prefix policy), or
   * null. Everything under such a prefix is that run set's, runs or strays, whatever it looks like.
   */
  knownRunPrefix?: (key: string) => string | null;
  /**
   * The WAL archive prefix a key lies under by the admin's word, or null (then archives are recognised
   * by their files' names).
   */
  knownWalPrefix?: (key: string) => string | null;
  /** Entries held while waiting to learn whether a key lies under a run prefix (see below). */
  maxHeldEntries?: number;
}

/** About 20 MB of held versions. */
const MAX_HELD_ENTRIES = 100_000;
/** The character after the digits: every run id starts with one, so `D:` sorts after all of D's runs. */
const AFTER_DIGITS = ':';

type Route = 'key' | 'run' | 'area' | 'wal';

/**
 * Groups a listing of everything under `root` (in S3's order: by key, each key's versions newest first)
 * into backup sets. `add` and `finish` return the sets completed so far, in key order.
 *
 * A prefix holds runs once a key `PREFIX<run-id>/part-NNNNNN` or `…/manifest.json` appears; from then on
 * every key under it is that run set's (a run's object, or a stray), as for `sealdrop versions PREFIX`.
 * Keys under a prefix that sort before its first run (`PREFIX.hidden`, `PREFIX0-notes`: run ids start
 * with a digit) are held until the listing has passed every place a run of theirs could still come, and
 * become strays if one does. At most `maxHeldEntries` versions are held: past that the oldest held key
 * is taken for a key set of its own.
 */
export class SetGrouper {
  readonly #bucket: string;
  readonly #root: string;
  readonly #knownRunPrefix: (key: string) => string | null;
  readonly #knownWalPrefix: (key: string) => string | null;
  readonly #maxHeld: number;
  /** Completed sets not yet returned, in key order; key sets among them may still become strays. */
  #queue: { set: GroupedSet; entries: ListedVersion[] | null; weight: number }[] = [];
  #held = 0;
  #current: { key: string; route: Route; entries: ListedVersion[] } | null = null;
  #run: { prefix: string; grouper: RunGrouper } | null = null;
  #area: GroupedArea | null = null;
  #wal: { prefix: string; tally: WalChainTally } | null = null;
  #peakHeld = 0;

  constructor(bucket: string, root: string, options: SetGrouperOptions = {}) {
    this.#bucket = bucket;
    this.#root = root;
    this.#knownRunPrefix = options.knownRunPrefix ?? (() => null);
    this.#knownWalPrefix = options.knownWalPrefix ?? (() => null);
    this.#maxHeld = options.maxHeldEntries ?? MAX_HELD_ENTRIES;
  }

  /** The most entries held at once (for tests of the bound). */
  get peakHeld(): number {
    return this.#peakHeld;
  }

  add(entry: ListedVersion): GroupedSet[] {
    const released = this.#current?.key === entry.key ? [] : this.#startKey(entry.key);
    const current = this.#current!;
    if (current.route === 'run') this.#run!.grouper.add(entry);
    else if (current.route === 'wal') this.#wal!.tally.add(entry);
    else if (current.route === 'area') {
      const area = this.#area!;
      area.objectVersions++;
      area.storedBytes += entry.size;
    } else {
      current.entries.push(entry);
      this.#hold(1);
    }
    return released;
  }

  finish(): GroupedSet[] {
    this.#endKey();
    this.#closeWal();
    this.#closeRun();
    this.#closeArea();
    return this.#release(null);
  }

  /** Ends the key before, routes this one, and returns what can no longer change from here on. */
  #startKey(key: string): GroupedSet[] {
    this.#endKey();
    const inArea = key.startsWith(SEALDROP_AREA);
    const wal = inArea ? null : this.#walPrefixOf(key);
    if (this.#wal && wal !== this.#wal.prefix) this.#closeWal();
    if (wal !== null) {
      // An archive's files are one chain, never key sets or a run set's strays.
      this.#closeRun();
      this.#closeArea();
      this.#wal ??= { prefix: wal, tally: new WalChainTally(wal) };
      this.#current = { key, route: 'wal', entries: [] };
      return this.#release(key);
    }
    // The admin's word beats what the listing suggests.
    const known = inArea ? null : this.#knownRunPrefix(key);
    if (this.#run && (known === null ? !key.startsWith(this.#run.prefix) : known !== this.#run.prefix))
      this.#closeRun();
    if (!inArea) this.#closeArea();
    let route: Route;
    if (this.#run) route = 'run';
    else if (inArea) {
      this.#area ??= {
        kind: 'area',
        location: { bucket: this.#bucket, key: SEALDROP_AREA, isPrefix: true },
        objects: 0,
        objectVersions: 0,
        storedBytes: 0,
      };
      this.#area.objects++;
      route = 'area';
    } else {
      const prefix = known ?? this.#runPrefixOf(key);
      if (prefix !== null) {
        this.#openRun(prefix);
        route = 'run';
      } else route = 'key';
    }
    this.#current = { key, route, entries: [] };
    return this.#release(key);
  }

  /**
   * The WAL archive a key lies in: by the admin's word, else recognised by its files (one named as
   * PostgreSQL archives them: a thousand segments are one archive, not a thousand key sets). Once one is
   * open, every other key directly under its prefix is its (a stray). Never inside a run prefix known
   * or open: a run set's strays stay its own. (A WAL-named file before a prefix's first run, which
   * sorts first, becomes an archive of its own: a CRITICAL one, never a silenced run set.)
   */
  #walPrefixOf(key: string): string | null {
    const known = this.#knownWalPrefix(key);
    if (known !== null) return known;
    const open = this.#wal?.prefix;
    if (open !== undefined && key.startsWith(open) && !key.includes('/', open.length)) return open;
    if (this.#run && key.startsWith(this.#run.prefix)) return null;
    if (this.#knownRunPrefix(key) !== null) return null;
    const prefix = key.slice(0, key.lastIndexOf('/') + 1);
    return prefix.startsWith(this.#root) && archivedFileOf(prefix, key) ? prefix : null;
  }

  /** The prefix a run object's key names (PREFIX<run-id>/part-…), if it lies within the listing. */
  #runPrefixOf(key: string): string | null {
    const slash = key.lastIndexOf('/');
    const start = key.lastIndexOf('/', slash - 1) + 1;
    const prefix = key.slice(0, start);
    if (slash < 0 || prefix === '' || !prefix.startsWith(this.#root)) return null;
    return runObjectOf(prefix, key) ? prefix : null;
  }

  #endKey(): void {
    const current = this.#current;
    this.#current = null;
    if (current?.route !== 'key') return;
    const set: GroupedKeySet = {
      kind: 'version',
      location: { bucket: this.#bucket, key: current.key, isPrefix: false },
      snapshots: current.entries.map(versionSnapshot),
    };
    this.#queue.push({ set, entries: current.entries, weight: current.entries.length });
  }

  /** Opens the run set at `prefix`; held key sets under it were its strays all along. */
  #openRun(prefix: string): void {
    const grouper = new RunGrouper(prefix);
    let first = this.#queue.length;
    while (first > 0 && isUnder(this.#queue[first - 1]!, prefix)) first--;
    for (const item of this.#queue.splice(first)) {
      for (const entry of item.entries!) grouper.add(entry);
      this.#held -= item.weight;
    }
    this.#run = { prefix, grouper };
  }

  #closeRun(): void {
    if (!this.#run) return;
    const { prefix, grouper } = this.#run;
    this.#run = null;
    const { runs, strays } = grouper.finish();
    const set: GroupedRunSet = {
      kind: 'run',
      location: { bucket: this.#bucket, key: prefix, isPrefix: true },
      runs,
      strays,
    };
    this.#queue.push({ set, entries: null, weight: 0 });
  }

  #closeWal(): void {
    if (!this.#wal) return;
    const { prefix, tally } = this.#wal;
    this.#wal = null;
    const set: GroupedWal = {
      kind: 'wal',
      location: { bucket: this.#bucket, key: prefix, isPrefix: true },
      chain: tally.finish(),
    };
    this.#queue.push({ set, entries: null, weight: 0 });
  }

  #closeArea(): void {
    if (!this.#area) return;
    this.#queue.push({ set: this.#area, entries: null, weight: 0 });
    this.#area = null;
  }

  #hold(entries: number): void {
    this.#held += entries;
    this.#peakHeld = Math.max(this.#peakHeld, this.#held);
  }

  /**
   * Returns the queued sets that can no longer change, now that the listing stands at `position`
   * (null: at its end). Over the bound, the oldest held key set is decided as it is.
   */
  #release(position: string | null): GroupedSet[] {
    const released: GroupedSet[] = [];
    while (this.#queue.length > 0) {
      const item = this.#queue[0]!;
      const settled =
        item.entries === null ||
        position === null ||
        this.#held > this.#maxHeld ||
        !this.#mayStillJoinRun(item.set.location.key, position);
      if (!settled) break;
      this.#queue.shift();
      this.#held -= item.weight;
      released.push(item.set);
    }
    return released;
  }

  /** Whether a run of some prefix of `key` (within the listing) can still come at or after `position`. */
  #mayStillJoinRun(key: string, position: string): boolean {
    for (let slash = key.indexOf('/'); slash !== -1; slash = key.indexOf('/', slash + 1)) {
      const prefix = key.slice(0, slash + 1);
      if (prefix.startsWith(this.#root) && position < prefix + AFTER_DIGITS) return true;
    }
    return false;
  }
}

function isUnder(item: { set: GroupedSet; entries: ListedVersion[] | null }, prefix: string): boolean {
  return item.entries !== null && item.set.location.key.startsWith(prefix);
}

/** A set in one line of an inventory: its backups, the newest complete one, and what else it holds. */
export interface SetSummary {
  /** Complete backups. */
  backups: number;
  latest: Snapshot | null;
  /** The newest snapshot's state; empty: nothing but strays (or nothing at all). */
  state: Snapshot['state'] | 'empty';
  incomplete: number;
  broken: number;
  deleteMarkers: number;
  strays: number;
}

export function summarizeSet(snapshots: readonly Snapshot[], strays: number): SetSummary {
  const summary: SetSummary = {
    backups: 0,
    latest: null,
    state: snapshots[0]?.state ?? 'empty',
    incomplete: 0,
    broken: 0,
    deleteMarkers: 0,
    strays,
  };
  for (const snapshot of snapshots) {
    if (snapshot.state === 'complete') {
      summary.backups++;
      summary.latest ??= snapshot;
    } else if (snapshot.state === 'deleted') summary.deleteMarkers++;
    else summary[snapshot.state]++;
  }
  return summary;
}
