// A WAL archive's health from its listing: how fresh it is (the RPO), gaps in the segment sequence, names
// written more than once, where base backups start. Pure: one pass over the listing, bounded.
import type { Strays } from './runs.js';
import type { ListedVersion } from './snapshot.js';
import { formatDuration as format } from './units.js';
import { plural } from './words.js';
import { archivedFileOf, segmentFileName, type WalFile } from './wal.js';
import { worstState, type HealthState } from './health-state.js';
import type { Compression } from './compression.js';

/** An archived file as the read side sees it: its first version, and how many there are. */
export interface ArchivedName extends WalFile {
  /** When its first version was stored (by S3's clock): the version the read side takes. */
  time: Date;
  size: number;
  /** Versions stored under its name, whatever the compression (delete markers aside). */
  versions: number;
  /** Every version has the same size and compression: a re-upload by every sign there is (see below). */
  sameSize: boolean;
}

/** Segments present without a hole, from `from` to `to` (segment numbers, inclusive). */
export interface SegmentRange {
  from: number;
  to: number;
  /** The timeline of the file at `to`: missing segments are named on it. */
  timeline: number;
}

export interface NameSample {
  count: number;
  /** The first few, in name order. */
  names: string[];
}

export interface WalChain {
  /** Names present (files with at least one version), object versions, delete markers, bytes stored. */
  files: number;
  objectVersions: number;
  deleteMarkers: number;
  storedBytes: number;
  /** The segment (or .partial) stored last: its age is the RPO. */
  newestSegment: ArchivedName | null;
  /**
   * When the newest object version under the prefix was stored, whatever its name (a second version, a
   * history file, a stray): what shows that uploads still land after a revocation.
   */
  newestUpload: Date | null;
  /** The backup history files (NAME.OFFSET.backup): the oldest by position, the newest by time. */
  oldestBackup: ArchivedName | null;
  newestBackup: ArchivedName | null;
  /** Every backup history file in name order, up to MAX_BACKUP_FILES (`backupFilesComplete` says). */
  backupFiles: ArchivedName[];
  backupFilesComplete: boolean;
  /** The segments present across timelines, merged, in order; `rangesComplete` false: there were more. */
  ranges: SegmentRange[];
  rangesComplete: boolean;
  /** Names with several versions: of differing sizes or compressions, and all of the same size. */
  differing: NameSample;
  reuploaded: NameSample;
  strays: Strays;
}

/** Separate runs of segments tracked; an archive with more is broken beyond listing its holes. */
const MAX_RANGES = 100_000;
/** Backup history files held (one per base backup ever taken, unless pruned): about 2 MB. */
const MAX_BACKUP_FILES = 10_000;
const SAMPLE = 10;

/**
 * Reads a WAL prefix's listing in S3's order (by key, each key's versions newest first). All the files of
 * one segment position (the segment, its .partial, backup history files, any compression) share their
 * first 24 characters, so they are adjacent in that order: the tally holds one position's names at a
 * time, and per timeline the positions come in ascending order, so segments present fold into ranges.
 */
export class WalChainTally {
  readonly #prefix: string;
  #stem = '';
  #names = new Map<string, { name: ArchivedName; compression: Compression }>();
  #strayKey = '';
  readonly #chain: WalChain = {
    files: 0,
    objectVersions: 0,
    deleteMarkers: 0,
    storedBytes: 0,
    newestSegment: null,
    newestUpload: null,
    oldestBackup: null,
    newestBackup: null,
    backupFiles: [],
    backupFilesComplete: true,
    ranges: [],
    rangesComplete: true,
    differing: { count: 0, names: [] },
    reuploaded: { count: 0, names: [] },
    strays: { count: 0, sample: [] },
  };

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  add(entry: ListedVersion): void {
    const chain = this.#chain;
    chain.objectVersions++;
    chain.storedBytes += entry.size;
    if (entry.isDeleteMarker) chain.deleteMarkers++;
    else if (!chain.newestUpload || entry.lastModified > chain.newestUpload)
      chain.newestUpload = entry.lastModified;
    const archived = archivedFileOf(this.#prefix, entry.key);
    if (!archived) {
      if (entry.key !== this.#strayKey && chain.strays.count++ < SAMPLE) chain.strays.sample.push(entry.key);
      this.#strayKey = entry.key;
      return;
    }
    const { file, compression } = archived;
    const stem = file.kind === 'history' ? file.name : file.name.slice(0, 24);
    if (stem !== this.#stem) this.#flush();
    this.#stem = stem;
    if (entry.isDeleteMarker) return;
    const seen = this.#names.get(file.name);
    if (!seen) {
      const { lastModified: time, size } = entry;
      this.#names.set(file.name, {
        name: { ...file, time, size, versions: 1, sameSize: true },
        compression,
      });
      return;
    }
    const { name } = seen;
    name.versions++;
    if (entry.size !== name.size || compression !== seen.compression) name.sameSize = false;
    // Each key's versions come newest first, so on a tie the one listed later is the older.
    if (entry.lastModified.getTime() <= name.time.getTime()) {
      name.time = entry.lastModified;
      name.size = entry.size;
    }
  }

  finish(): WalChain {
    this.#flush();
    const chain = this.#chain;
    chain.ranges = merged(chain.ranges);
    return chain;
  }

  /** Folds the names of the position just passed into the chain. */
  #flush(): void {
    const chain = this.#chain;
    for (const { name } of this.#names.values()) {
      chain.files++;
      if (name.versions > 1) sample(name.sameSize ? chain.reuploaded : chain.differing, name.name);
      if (name.kind === 'backup') {
        if (chain.backupFiles.length < MAX_BACKUP_FILES) chain.backupFiles.push(name);
        else chain.backupFilesComplete = false;
        if (!chain.oldestBackup || name.segno! < chain.oldestBackup.segno!) chain.oldestBackup = name;
        if (!chain.newestBackup || name.time > chain.newestBackup.time) chain.newestBackup = name;
      } else if (name.kind !== 'history') {
        if (!chain.newestSegment || name.time > chain.newestSegment.time) chain.newestSegment = name;
        this.#present(name.segno!, name.timeline);
      }
    }
    this.#names.clear();
  }

  #present(segno: number, timeline: number): void {
    const { ranges } = this.#chain;
    const last = ranges[ranges.length - 1];
    if (last?.timeline === timeline && segno <= last.to + 1) last.to = Math.max(last.to, segno);
    else if (ranges.length < MAX_RANGES) ranges.push({ from: segno, to: segno, timeline });
    else this.#chain.rangesComplete = false;
  }
}

function sample(into: NameSample, name: string): void {
  if (into.count++ < SAMPLE) into.names.push(name);
}

/** One timeline's ranges after another's, merged into one ascending sequence. */
function merged(ranges: readonly SegmentRange[]): SegmentRange[] {
  const sorted = [...ranges].sort((a, b) => a.from - b.from || a.to - b.to);
  const out: SegmentRange[] = [];
  for (const range of sorted) {
    const last = out[out.length - 1];
    if (last && range.from <= last.to + 1) {
      if (range.to > last.to) Object.assign(last, { to: range.to, timeline: range.timeline });
    } else out.push({ ...range });
  }
  return out;
}

export interface Gaps {
  /** Segments missing, and the runs of them (the first few named). */
  missing: number;
  count: number;
  sample: string[];
}

/**
 * The holes between the ranges: those that reach segment `from` or beyond (from `from` on: the part
 * before it is needed by no one), and those wholly before it. Before the first range, only the part
 * from `from` is a hole.
 */
export function chainGaps(ranges: readonly SegmentRange[], from: number): { since: Gaps; before: Gaps } {
  const since: Gaps = { missing: 0, count: 0, sample: [] };
  const before: Gaps = { missing: 0, count: 0, sample: [] };
  let previous: SegmentRange | null = null;
  for (const range of ranges) {
    const start = previous ? previous.to + 1 : from;
    const end = range.from - 1;
    if (end >= start) {
      const into = end < from ? before : since;
      const first = Math.max(start, end < from ? start : from);
      const name = (segno: number) => segmentFileName((previous ?? range).timeline, segno);
      into.missing += end - first + 1;
      if (into.count++ < SAMPLE)
        into.sample.push(first === end ? name(first) : `${name(first)}…${name(end)}`);
    }
    previous = range;
  }
  return { since, before };
}

export interface WalThresholds {
  /** WARNING and CRITICAL when the newest segment is older (the RPO). */
  warnAgeMs: number;
  maxAgeMs: number;
  /** WARNING when the newest base backup (its backup history file) is older. */
  baseAgeMs: number;
}

/** An archive_timeout of 60s keeps a quiet database's RPO near a minute; these leave room for retries. */
export const DEFAULT_WAL_THRESHOLDS: WalThresholds = {
  warnAgeMs: 5 * 60_000,
  maxAgeMs: 15 * 60_000,
  baseAgeMs: 8 * 86_400_000,
};

export interface WalVerdict {
  state: HealthState;
  reasons: string[];
  /** The age of the newest segment; of the newest base backup's history file. */
  rpoMs: number | null;
  baseAgeMs: number | null;
  gaps: { since: Gaps; before: Gaps };
}

/**
 * The archive judged. Gaps count from the oldest backup history file kept, that is from the start of the
 * oldest base backup whose WAL is still there (prune --wal removes the history files of the bases it
 * removes); a hole there makes every restore across it stop short: CRITICAL. Without one, from the
 * oldest segment.
 */
export function judgeWalChain(
  chain: WalChain,
  thresholds: WalThresholds & { nothingStored?: 'UNKNOWN' | 'CRITICAL' },
  now: Date,
): WalVerdict {
  const verdicts: { state: HealthState; reason: string }[] = [];
  const say = (state: HealthState, reason: string) => verdicts.push({ state, reason });
  const newest = chain.newestSegment;
  const rpoMs = newest ? now.getTime() - newest.time.getTime() : null;
  if (!newest || rpoMs === null)
    say(
      thresholds.nothingStored ?? 'UNKNOWN',
      `no WAL segment archived${chain.strays.count > 0 ? ` (only ${plural(chain.strays.count, 'other key')})` : ''}`,
    );
  else {
    const facts = `newest segment ${newest.name} archived ${format(rpoMs)} ago`;
    if (rpoMs > thresholds.maxAgeMs) say('CRITICAL', `${facts} (max ${format(thresholds.maxAgeMs)})`);
    else if (rpoMs > thresholds.warnAgeMs)
      say('WARNING', `${facts} (warn at ${format(thresholds.warnAgeMs)})`);
    else say('OK', facts);
  }
  const from = chain.oldestBackup?.segno ?? chain.ranges[0]?.from ?? 0;
  const gaps = chainGaps(chain.ranges, from);
  const since = chain.oldestBackup
    ? `the oldest base backup's start (${chain.oldestBackup.name})`
    : 'its start';
  if (!chain.rangesComplete)
    say('CRITICAL', `the archive holds more than ${MAX_RANGES} separate runs of segments: not a chain`);
  if (gaps.since.count > 0)
    say(
      'CRITICAL',
      `${plural(gaps.since.missing, 'segment')} missing since ${since}, in ${plural(gaps.since.count, 'gap')}: ${listed(gaps.since.sample, gaps.since.count)}; a restore stops at the first`,
    );
  if (gaps.before.count > 0)
    say('OK', `${plural(gaps.before.count, 'gap')} before ${since}: no kept base backup needs them`);
  // The read side takes a name's first version. Several versions of different sizes are either a forgery
  // (a compromised host can add a version of any name) or a bug: CRITICAL, named. A re-upload of the same
  // file (the agent lost its memory of what it uploaded) encrypts the same plaintext with the same
  // compression, and OpenPGP's framing makes the ciphertext's size a function of the plaintext's alone
  // (a fresh session key changes the bytes, never the length): all versions of one size are, by every
  // sign the listing gives, a re-upload. A forgery can match the size too, so it still warns, and
  // `wal fetch` checks the binding of the first version, which is the one it reads.
  if (chain.differing.count > 0)
    say(
      'CRITICAL',
      `${plural(chain.differing.count, 'archived file')} with several versions of differing sizes (the first is read): ${listed(chain.differing.names, chain.differing.count)}`,
    );
  if (chain.reuploaded.count > 0)
    say(
      'WARNING',
      `${plural(chain.reuploaded.count, 'archived file')} stored more than once at the same size (a re-upload?): ${listed(chain.reuploaded.names, chain.reuploaded.count)}`,
    );
  const base = chain.newestBackup;
  const baseAgeMs = base ? now.getTime() - base.time.getTime() : null;
  if (!base || baseAgeMs === null) {
    if (newest) say('WARNING', 'no backup history file (.backup): no base backup to restore from');
  } else {
    const facts = `newest base backup started ${format(baseAgeMs)} ago (${base.name})`;
    if (baseAgeMs > thresholds.baseAgeMs)
      say('WARNING', `${facts} (warn at ${format(thresholds.baseAgeMs)})`);
    else say('OK', facts);
  }
  if (chain.strays.count > 0)
    say(
      'OK',
      `${plural(chain.strays.count, 'key')} under the prefix ${chain.strays.count === 1 ? 'is' : 'are'} not archived WAL (ignored)`,
    );
  if (chain.deleteMarkers > 0) say('OK', `${plural(chain.deleteMarkers, 'delete marker')}`);
  const state = worstState(verdicts.map((v) => v.state));
  return { state, reasons: verdicts.map((v) => v.reason), rpoMs, baseAgeMs, gaps };
}

function listed(names: readonly string[], count: number): string {
  return `${names.join(', ')}${count > names.length ? `, and ${count - names.length} more` : ''}`;
}
