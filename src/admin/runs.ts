// The read side of prefix targets: list the runs under a prefix, open one as a single stream of its
// parts (each checked against the manifest's size and SHA-256 while it streams), prune whole runs.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { SealdropError } from '../core/errors.js';
import { describePolicy, type RetentionPolicy } from '../core/retention.js';
import {
  baseName,
  chooseRun,
  groupRuns,
  parseManifest,
  runDamage,
  type ListedVersion,
  type Manifest,
  type Run,
  type RunListing,
  type RunSelector,
} from '../core/runs.js';
import { formatS3Url, type S3Location } from '../core/s3-url.js';
import type { ObjectVersion, VersionSelector } from '../core/versions.js';
import {
  assertPolicy,
  deleteObjectVersions,
  guardMoreThanHalf,
  keptReasons,
  retentionWarnings,
} from './prune.js';
import { download, oneAhead } from './download.js';
import { listVersionPages } from './versions.js';

/** Lists every version under the prefix and groups it into runs, newest first. */
export async function listRuns(client: S3Client, location: S3Location): Promise<RunListing> {
  const listed: ListedVersion[] = [];
  for await (const page of listVersionPages(client, location)) {
    const add = (
      entry: { Key?: string; VersionId?: string; LastModified?: Date; Size?: number; ETag?: string },
      isDeleteMarker: boolean,
    ) =>
      listed.push({
        key: entry.Key ?? '',
        versionId: entry.VersionId ?? 'null',
        lastModified: entry.LastModified ?? new Date(0),
        size: entry.Size ?? 0,
        etag: entry.ETag ?? null,
        isDeleteMarker,
      });
    for (const entry of page.Versions ?? []) add(entry, false);
    for (const entry of page.DeleteMarkers ?? []) add(entry, true);
  }
  return groupRuns(location.key, listed);
}

export interface OpenedRun {
  run: Run;
  manifest: Manifest;
  label: string;
  /** The run as one version, for the callers written for versions (time, size, id = run id). */
  version: ObjectVersion;
  /** The parts in order, concatenated; fails with INTEGRITY as soon as a part is not what the manifest says. */
  body: Readable;
}

export interface OpenRunOptions {
  /** Verify: a run whose objects were written over after the run is a failure, not a note. */
  strict?: boolean;
  onNote?: (message: string) => void;
}

export async function openRun(
  client: S3Client,
  location: S3Location,
  selector: VersionSelector,
  options: OpenRunOptions = {},
): Promise<OpenedRun> {
  const where = formatS3Url(location);
  const listing = await listRuns(client, location);
  const run = chooseRun(listing, runSelector(selector), where);
  const newer = listing.runs.slice(0, listing.runs.indexOf(run)).filter((r) => !r.complete);
  if (selector.kind !== 'id' && newer.length > 0)
    options.onNote?.(
      `skipping ${newer.length} newer INCOMPLETE run${newer.length === 1 ? '' : 's'} (${newer.map((r) => r.runId).join(', ')})`,
    );
  const label = `${where}${run.runId}/`;
  const manifest = parseManifest(
    await getText(client, location.bucket, run.manifest!.original!),
    { prefix: location.key, runId: run.runId },
    `${label}manifest.json`,
  );
  const damage = runDamage(run, manifest);
  const fatal = [...damage.missing, ...(options.strict ? damage.overwritten : [])];
  if (fatal.length > 0)
    throw new SealdropError('INTEGRITY', `${label} is damaged: ${fatal.join('; ')}`, {
      hint: 'Restore another run (sealdrop versions lists them) and find out who changed this one.',
    });
  for (const note of damage.overwritten) options.onNote?.(`${label}: ${note}; using the original`);
  return {
    run,
    manifest,
    label,
    version: {
      versionId: run.runId,
      lastModified: run.time,
      size: manifest.totalBytes,
      isLatest: run === listing.runs.find((r) => r.complete),
      isDeleteMarker: false,
      etag: null,
    },
    body: Readable.from(partsInOrder(client, location.bucket, run, manifest, label), { objectMode: false }),
  };
}

async function* partsInOrder(
  client: S3Client,
  bucket: string,
  run: Run,
  manifest: Manifest,
  label: string,
): AsyncGenerator<Buffer> {
  const originals = new Map(run.parts.map((p) => [p.key, p.original!]));
  // The next part downloads while this one is decrypted.
  for await (const { item: part, body } of oneAhead(
    manifest.parts,
    (part) => get(client, bucket, originals.get(part.key)!),
    READ_AHEAD_BYTES,
  )) {
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
        `${label}${baseName(part.key)} FAILED its check against the manifest (${size === part.size ? 'SHA-256 differs' : `${size > part.size ? 'more' : size} bytes, not ${part.size}`}): it is not what was uploaded`,
        { hint: 'Restore another run (sealdrop versions lists them) and find out who changed this one.' },
      );
    }
  }
}

function runSelector(selector: VersionSelector): RunSelector {
  return selector.kind === 'id' ? { kind: 'id', runId: selector.versionId } : selector;
}

/** How much of the next part is read into memory while the current one is decrypted. */
const READ_AHEAD_BYTES = 8 * 1024 ** 2;

async function get(client: S3Client, bucket: string, version: ListedVersion): Promise<Readable> {
  const object = { bucket, key: version.key, versionId: version.versionId, size: version.size };
  return (await download(client, object)).body;
}

async function getText(client: S3Client, bucket: string, version: ListedVersion): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of (await get(client, bucket, version)) as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** Complete runs as versions (newest first), for the health check; plus what to say about the rest. */
export async function runsForHealth(
  client: S3Client,
  location: S3Location,
  now = new Date(),
): Promise<{ versions: ObjectVersion[]; incomplete: number; notes: string[]; stalled: boolean }> {
  const { runs } = await listRuns(client, location);
  const complete = runs.filter((run) => run.complete);
  const versions = complete.map((run, i) => ({
    versionId: run.runId,
    lastModified: run.time,
    size: run.size,
    isLatest: i === 0,
    isDeleteMarker: false,
    etag: null,
  }));
  const newest = runs[0];
  const notes: string[] = [];
  let stalled = false;
  if (newest && !newest.complete) {
    const age = now.getTime() - newest.time.getTime();
    // A push in progress is incomplete too; one that stored nothing for an hour has failed.
    stalled = age > STALLED_MS;
    notes.push(
      `the newest run ${newest.runId} is INCOMPLETE (${newest.parts.length} part${newest.parts.length === 1 ? '' : 's'}, no manifest${stalled ? '' : '; maybe still running'})`,
    );
  }
  return { versions, incomplete: runs.length - complete.length, notes, stalled };
}

const STALLED_MS = 3_600_000;

export interface PruneRunsOptions {
  policy: RetentionPolicy;
  timeZone?: string;
  execute: boolean;
  force?: boolean;
  now?: Date;
}

export interface PlannedRun {
  runId: string;
  time: Date;
  complete: boolean;
  parts: number;
  size: number;
  /** Object versions and delete markers a removal deletes. */
  objectVersions: number;
  action: 'keep' | 'remove';
  reasons: string[];
}

export interface PruneRunsResult {
  target: string;
  policy: string;
  dryRun: boolean;
  runs: PlannedRun[];
  totals: { runs: number; keep: number; remove: number; incompleteRemoved: number; bytesFreed: number };
  warnings: string[];
  /** "KEY@VERSION" of every deleted object version. */
  deleted: string[];
  failed: { versionId: string; error: string }[];
}

/**
 * Retention over runs: the policy plans over complete runs; the newest complete run is always kept.
 * An incomplete run older than the newest complete run is a failed push that was superseded: removed.
 * One newer than it may be a push in progress: kept.
 */
export async function pruneRuns(
  client: S3Client,
  location: S3Location,
  options: PruneRunsOptions,
): Promise<PruneRunsResult> {
  assertPolicy(options.policy);
  const { runs } = await listRuns(client, location);
  const complete = runs.filter((run) => run.complete);
  const reasons = keptReasons(
    complete.map((run) => ({ id: run.runId, time: run.time })),
    options,
  );
  const newestComplete = complete[0];
  const planned = runs.map((run): PlannedRun & { run: Run } => {
    const base = {
      run,
      runId: run.runId,
      time: run.time,
      complete: run.complete,
      parts: run.parts.length,
      size: [...run.parts, ...(run.manifest ? [run.manifest] : [])].reduce(
        (sum, o) => sum + o.all.reduce((s, v) => s + v.size, 0),
        0,
      ),
      objectVersions: [...run.parts, ...(run.manifest ? [run.manifest] : [])].reduce(
        (n, o) => n + o.all.length,
        0,
      ),
    };
    if (!run.complete) {
      const superseded = newestComplete !== undefined && run.time.getTime() < newestComplete.time.getTime();
      return superseded
        ? { ...base, action: 'remove', reasons: ['incomplete, older than the newest complete run'] }
        : { ...base, action: 'keep', reasons: ['incomplete, newer than every complete run (in progress?)'] };
    }
    const kept = reasons.get(run.runId);
    if (kept) return { ...base, action: 'keep', reasons: kept };
    if (run === newestComplete) return { ...base, action: 'keep', reasons: ['latest'] };
    return { ...base, action: 'remove', reasons: [] };
  });
  const removable = planned.filter((p) => p.action === 'remove');
  const removedComplete = removable.filter((p) => p.complete).length;
  const result: PruneRunsResult = {
    target: formatS3Url(location),
    policy: describePolicy(options.policy),
    dryRun: !options.execute,
    runs: planned.map(({ run: _run, ...rest }) => rest),
    totals: {
      runs: complete.length,
      keep: complete.length - removedComplete,
      remove: removedComplete,
      incompleteRemoved: removable.length - removedComplete,
      bytesFreed: removable.reduce((sum, p) => sum + p.size, 0),
    },
    warnings: retentionWarnings(options.policy),
    deleted: [],
    failed: [],
  };
  if (!options.execute || removable.length === 0) return result;
  guardMoreThanHalf(removedComplete, complete.length, 'complete runs', options.force);
  const doomed = removable.flatMap(({ run }) =>
    [...run.parts, ...(run.manifest ? [run.manifest] : [])].flatMap((o) => o.all),
  );
  const outcome = await deleteObjectVersions(client, location.bucket, doomed);
  result.deleted = outcome.deleted.map((v) => `${v.key}@${v.versionId}`);
  result.failed = outcome.failed.map((f) => ({ versionId: `${f.key}@${f.versionId}`, error: f.error }));
  return result;
}
