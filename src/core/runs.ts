// Multi-object runs under a prefix policy: PREFIX<run-id>/part-000001 … then PREFIX<run-id>/manifest.json.
// Pure: run ids, key names, the manifest format, and grouping a bucket listing into runs.
import { COMPRESSIONS, type Compression } from './compression.js';
import { SealdropError } from './errors.js';

/** Bumped only with an incompatible change of the manifest. */
export const MANIFEST_FORMAT = 1;
export const MANIFEST_NAME = 'manifest.json';
/** part-000001 … part-999999: fixed width, so the keys sort in part order (and `cat part-*` works). */
export const MAX_PARTS = 999_999;

const RUN_ID = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z-([0-9a-f]{6})$/;
const PART_NAME = /^part-(\d{6})$/;

/** "20261126T105300Z-3fa9c1": UTC time (sorts by time) and a random suffix (two runs in one second). */
export function newRunId(now: Date, randomHex: string): string {
  if (!/^[0-9a-f]{6}$/.test(randomHex)) throw new Error('randomHex must be 6 lowercase hex digits');
  const stamp = now
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replaceAll('-', '')
    .replaceAll(':', '');
  return `${stamp}-${randomHex}`;
}

/** The time encoded in a run id (the agent's clock), or null when `id` is not a run id. */
export function runIdTime(id: string): Date | null {
  const match = RUN_ID.exec(id);
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match;
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function partName(number: number): string {
  if (!(Number.isInteger(number) && number >= 1 && number <= MAX_PARTS))
    throw new RangeError(`part number ${number} out of range`);
  return `part-${String(number).padStart(6, '0')}`;
}

export function runKey(prefix: string, runId: string, name: string): string {
  return `${prefix}${runId}/${name}`;
}

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

/** Parses and checks a manifest against the run it was found in; `source` names it in messages. */
export function parseManifest(
  text: string,
  expected: { prefix: string; runId: string },
  source: string,
): Manifest {
  const bad = (problem: string) =>
    new SealdropError('INTEGRITY', `${source}: the manifest is not valid (${problem})`, {
      hint: 'The run cannot be trusted as a whole: restore another run (sealdrop versions lists them).',
    });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw bad(`not JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('not a JSON object');
  const m = raw as Record<string, unknown>;
  if (m.sealdropRun !== MANIFEST_FORMAT)
    throw bad(`format ${JSON.stringify(m.sealdropRun)}; this sealdrop reads format ${MANIFEST_FORMAT}`);
  if (m.runId !== expected.runId) throw bad(`it names run ${JSON.stringify(m.runId)}`);
  if (m.prefix !== expected.prefix) throw bad(`it names prefix ${JSON.stringify(m.prefix)}`);
  if (!(COMPRESSIONS as readonly unknown[]).includes(m.compression)) throw bad('unknown compression');
  for (const field of ['totalBytes', 'bytesIn', 'partSize', 'seconds'] as const) {
    if (typeof m[field] !== 'number' || !((m[field] as number) >= 0)) throw bad(`"${field}" is not a number`);
  }
  for (const field of ['startedAt', 'finishedAt', 'sha256'] as const) {
    if (typeof m[field] !== 'string') throw bad(`"${field}" is missing`);
  }
  if (!/^[0-9a-f]{64}$/.test(m.sha256 as string)) throw bad('"sha256" is not a SHA-256');
  if (!Array.isArray(m.parts) || m.parts.length === 0) throw bad('no parts');
  if (m.parts.length > MAX_PARTS) throw bad('too many parts');
  let total = 0;
  const parts = m.parts.map((part: unknown, i): ManifestPart => {
    const p = (typeof part === 'object' && part !== null ? part : {}) as Record<string, unknown>;
    const key = runKey(expected.prefix, expected.runId, partName(i + 1));
    if (p.key !== key) throw bad(`part ${i + 1} is ${JSON.stringify(p.key)}, expected ${key}`);
    if (typeof p.size !== 'number' || !Number.isSafeInteger(p.size) || p.size < 1)
      throw bad(`part ${i + 1} has no valid size`);
    if (typeof p.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(p.sha256))
      throw bad(`part ${i + 1} has no valid sha256`);
    total += p.size;
    return { key, size: p.size, sha256: p.sha256 };
  });
  if (total !== m.totalBytes) throw bad(`the parts add up to ${total} bytes, not ${String(m.totalBytes)}`);
  return { ...(m as unknown as Manifest), parts };
}

/** One stored version of an object under the prefix, as listed. */
export interface ListedVersion {
  key: string;
  versionId: string;
  lastModified: Date;
  size: number;
  etag: string | null;
  isDeleteMarker: boolean;
}

/** One object of a run and the version of it that counts. */
export interface RunObject {
  key: string;
  /**
   * The oldest real version: the one written during the run. With versioning, later writes (a
   * compromised server re-uploading a part) add versions but cannot change this one.
   */
  original: ListedVersion | null;
  /** Later versions whose content differs (ETag or size) from the original: someone wrote over it. */
  overwrites: ListedVersion[];
  /** Every version and delete marker, newest first: what pruning the run deletes. */
  all: ListedVersion[];
}

export interface Run {
  runId: string;
  /**
   * When the run ended by the S3 server's clock (the manifest's original version, or the newest part
   * of an incomplete run). The server sets it, so a server can't backdate a run.
   */
  time: Date;
  complete: boolean;
  manifest: RunObject | null;
  /** In part order; gaps are possible (then it is damaged). */
  parts: (RunObject & { number: number })[];
  /** Bytes of the original versions of the parts. */
  size: number;
}

export interface RunListing {
  /** Newest first. */
  runs: Run[];
  /** Keys under the prefix that are not part of any run (not counted, never deleted). */
  strays: string[];
}

/** Groups a listing of everything under `prefix` into runs, newest first. */
export function groupRuns(prefix: string, listed: readonly ListedVersion[]): RunListing {
  const byKey = new Map<string, ListedVersion[]>();
  for (const version of listed) {
    if (!version.key.startsWith(prefix)) continue;
    const versions = byKey.get(version.key) ?? [];
    versions.push(version);
    byKey.set(version.key, versions);
  }
  const runs = new Map<string, { manifest: RunObject | null; parts: (RunObject & { number: number })[] }>();
  const strays: string[] = [];
  for (const [key, versions] of byKey) {
    const [runId, name, ...more] = key.slice(prefix.length).split('/');
    const partMatch = PART_NAME.exec(name ?? '');
    if (!runId || runIdTime(runId) === null || more.length > 0 || (name !== MANIFEST_NAME && !partMatch)) {
      strays.push(key);
      continue;
    }
    const run = runs.get(runId) ?? { manifest: null, parts: [] };
    runs.set(runId, run);
    const object = toRunObject(key, versions);
    if (name === MANIFEST_NAME) run.manifest = object;
    else run.parts.push({ ...object, number: Number(partMatch![1]) });
  }
  const result: Run[] = [];
  for (const [runId, { manifest, parts }] of runs) {
    parts.sort((a, b) => a.number - b.number);
    const complete = manifest?.original != null;
    const partTimes = parts.flatMap((p) => (p.original ? [p.original.lastModified.getTime()] : []));
    const time = complete
      ? manifest!.original!.lastModified
      : new Date(partTimes.length ? Math.max(...partTimes) : runIdTime(runId)!.getTime());
    const size = parts.reduce((sum, p) => sum + (p.original?.size ?? 0), 0);
    result.push({ runId, time, complete, manifest, parts, size });
  }
  // Newest first by server time; the run id (agent time, then random) breaks ties.
  result.sort((a, b) => b.time.getTime() - a.time.getTime() || (a.runId < b.runId ? 1 : -1));
  return { runs: result, strays: strays.sort() };
}

function toRunObject(key: string, versions: ListedVersion[]): RunObject {
  const all = [...versions].sort((a, b) => b.lastModified.getTime() - a.lastModified.getTime());
  const real = all.filter((v) => !v.isDeleteMarker);
  const original = real[real.length - 1] ?? null;
  const overwrites = original
    ? real.filter((v) => v !== original && (v.size !== original.size || v.etag !== original.etag))
    : [];
  return { key, original, overwrites, all };
}

export type RunSelector = { kind: 'latest' } | { kind: 'id'; runId: string } | { kind: 'at'; at: Date };

/**
 * The run a restore means: the newest complete one, one by id, or the newest complete at or before a
 * time. An incomplete run is never chosen silently: asked for by id, it is refused with a reason.
 */
export function chooseRun(listing: RunListing, selector: RunSelector, label: string): Run {
  const complete = listing.runs.filter((run) => run.complete);
  const latestHint = complete[0]
    ? `The latest complete run is ${complete[0].runId} (--run ${complete[0].runId}).`
    : 'There is no complete run: push again.';
  if (selector.kind === 'id') {
    const run = listing.runs.find((r) => r.runId === selector.runId);
    if (!run)
      throw new SealdropError('NOT_FOUND', `${label} has no run ${selector.runId}`, {
        hint: 'List the runs with `sealdrop versions`.',
      });
    if (!run.complete) throw incomplete(run, label, latestHint);
    return run;
  }
  if (listing.runs.length === 0)
    throw new SealdropError('NOT_FOUND', `${label} has no runs at all`, {
      hint: 'Check the bucket and prefix (sealdrop versions s3://BUCKET/PREFIX/).',
    });
  if (complete.length === 0) throw incomplete(listing.runs[0]!, label, latestHint);
  if (selector.kind === 'latest') return complete[0]!;
  const chosen = complete.find((run) => run.time.getTime() <= selector.at.getTime());
  if (!chosen) {
    throw new SealdropError(
      'NOT_FOUND',
      `${label} has no complete run at or before ${selector.at.toISOString()}; the oldest is from ${complete[complete.length - 1]!.time.toISOString()}`,
      { hint: 'Pick a later --at, or list the runs with `sealdrop versions`.' },
    );
  }
  return chosen;
}

function incomplete(run: Run, label: string, hint: string): SealdropError {
  const stored = run.parts.filter((p) => p.original).length;
  return new SealdropError(
    'INCOMPLETE_RUN',
    `${label} run ${run.runId} is INCOMPLETE: it has no manifest (the push did not finish; ${stored} part${stored === 1 ? '' : 's'} stored), so it can't be restored`,
    { hint },
  );
}

export interface RunDamage {
  /** Parts a restore can't do without: missing, or not the size the manifest says. */
  missing: string[];
  /** Objects written over after the run: restore uses the originals, but someone wrote there. */
  overwritten: string[];
}

/** What is wrong with a complete run's objects against its manifest, found from the listing alone. */
export function runDamage(run: Run, manifest: Manifest): RunDamage {
  const missing: string[] = [];
  const byKey = new Map(run.parts.map((p) => [p.key, p]));
  for (const part of manifest.parts) {
    const stored = byKey.get(part.key)?.original;
    if (!stored) missing.push(`${baseName(part.key)} is missing`);
    else if (stored.size !== part.size)
      missing.push(`${baseName(part.key)} is ${stored.size} bytes, the manifest says ${part.size}`);
  }
  const overwritten = [...run.parts, ...(run.manifest ? [run.manifest] : [])]
    .filter((object) => object.overwrites.length > 0)
    .map(
      (object) =>
        `${baseName(object.key)} was written over after the run (${object.overwrites.length} later version${object.overwrites.length === 1 ? '' : 's'} with other content)`,
    );
  const extra = run.parts.filter((p) => p.number > manifest.parts.length && p.original);
  if (extra.length > 0)
    overwritten.push(`${extra.length} part(s) beyond the manifest's ${manifest.parts.length} were added`);
  return { missing, overwritten };
}

export function baseName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}
