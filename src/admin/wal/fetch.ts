// wal fetch: PostgreSQL's restore_command. Hands PostgreSQL the first version of an archived file,
// decrypted, with its binding checked, and fetches the next segments in the same call (in parallel)
// into pg_wal/sealdrop-fetch/, so that replay waits for one round of downloads per batch, not per file.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { SealdropError } from '../../core/errors.js';
import { PendingFile } from '../../core/files.js';
import { mapBounded } from '../../core/pool.js';
import type { S3Location } from '../../core/s3-url.js';
import { archiveObjectKey, parseWalFileName, segmentFileName, type WalFile } from '../../core/wal.js';
import { COMPRESSIONS } from '../../core/compression.js';
import { headObjectVersion } from '../s3/objects.js';
import { Keyring } from '../openpgp/identities.js';
import { unseal } from '../openpgp/unseal.js';
import { download } from '../s3/download.js';
import { aheadDir, takeAhead } from '../../core/wal-ahead.js';
import { scanArchive, type ArchivedFile } from './archive.js';

export interface WalFetchOptions {
  /** %f: the file PostgreSQL asks for. */
  name: string;
  /** %p: where it wants it (relative to the data directory). */
  destination: string;
  keyring: Keyring;
  /** Files fetched per call: the one asked for and the segments after it (default 8). */
  batch?: number;
  /** Downloads at once (default 4). */
  jobs?: number;
  /** This version of the name instead of its first: asked for by hand, after `status` named it. */
  versionId?: string;
  signal?: AbortSignal;
  /** A name with several versions: the first was used. */
  onNote?: (message: string) => void;
}

export interface WalFetchResult {
  name: string;
  /** Where it came from: the object, or an earlier call's batch. */
  source: { key: string; versionId: string } | 'prefetched';
  /** Segments fetched ahead by this call. */
  prefetched: string[];
}

/** A segment is at most 1 GiB (PostgreSQL's largest wal_segment_size); history files are small. */
const MAX_FILE_BYTES = 1 << 30;

/** The file is not in the archive: the normal end of recovery (exit 1 to PostgreSQL). */
export class NotArchived extends SealdropError {}

export async function walFetch(
  client: S3Client,
  archive: S3Location,
  options: WalFetchOptions,
): Promise<WalFetchResult> {
  const wanted = parseWalFileName(options.name);
  if (!wanted)
    throw new SealdropError('USAGE', `${options.name} is not a file PostgreSQL archives`, {
      hint: "Use wal fetch as restore_command with %f %p: restore_command = 'sealdrop wal fetch s3://BUCKET/PREFIX/ %f %p …'.",
    });
  if (options.versionId !== undefined) {
    const asked = await namedVersion(client, archive, wanted, options.versionId);
    await fetchOne(client, archive, asked, options.destination, options);
    return { name: options.name, source: { key: asked.key, versionId: asked.versionId }, prefetched: [] };
  }
  const prefetchDir = aheadDir(options.destination);
  await clearPassed(prefetchDir, wanted);
  if (takeAhead(options.name, options.destination))
    return { name: options.name, source: 'prefetched', prefetched: [] };

  // The segments after it on its timeline are the likely next requests.
  const batch = Math.max(1, options.batch ?? 8);
  const next: string[] = [];
  if (wanted.kind === 'segment')
    for (let i = 1; i < batch; i++) next.push(segmentFileName(wanted.timeline, wanted.segno! + i));
  const found = await scanArchive(client, archive.bucket, archive.key, [options.name, ...next], {
    required: new Set([options.name]),
    signal: options.signal,
  });
  const asked = found.find(({ file }) => file.name === options.name);
  if (!asked)
    throw new NotArchived(
      'NOT_FOUND',
      `${options.name} is not in the archive s3://${archive.bucket}/${archive.key}`,
      {
        hint: 'PostgreSQL ends recovery at the first file the archive does not have.',
      },
    );
  const ahead = found.filter((archived) => archived !== asked);
  if (ahead.length > 0) await mkdir(prefetchDir, { recursive: true, mode: 0o700 });
  const fetch = (archived: ArchivedFile) =>
    fetchOne(
      client,
      archive,
      archived,
      archived === asked ? options.destination : join(prefetchDir, archived.file.name),
      options,
    );
  const results = await mapBounded([asked, ...ahead], options.jobs ?? 4, (archived) =>
    fetch(archived).then(
      () => null,
      (error: unknown) => error,
    ),
  );
  if (results[0] !== null) throw results[0];
  return {
    name: options.name,
    source: { key: asked.key, versionId: asked.versionId },
    // A file ahead that failed is fetched again when asked for, and fails then if it must.
    prefetched: ahead.filter((_, i) => results[i + 1] === null).map(({ file }) => file.name),
  };
}

/** A version of the name given by id, whichever compression's key it is under. */
async function namedVersion(
  client: S3Client,
  archive: S3Location,
  file: WalFile,
  versionId: string,
): Promise<ArchivedFile> {
  for (const compression of COMPRESSIONS) {
    const key = archiveObjectKey(archive.key, file.name, compression);
    const head = await headObjectVersion(
      client,
      { bucket: archive.bucket, key, versionId },
      `s3://${archive.bucket}/${key}`,
    );
    if (head)
      return { file, key, versionId, size: head.size, lastModified: head.time, compression, versions: 1 };
  }
  throw new SealdropError(
    'NOT_FOUND',
    `${file.name} has no version ${versionId} in s3://${archive.bucket}/${archive.key}`,
    {
      hint: '`sealdrop status` on the archive names the versions of each name.',
    },
  );
}

/** One file, decrypted into a private temp file that takes its name once every check has passed. */
async function fetchOne(
  client: S3Client,
  archive: S3Location,
  archived: ArchivedFile,
  path: string,
  options: WalFetchOptions,
): Promise<void> {
  const label = `s3://${archive.bucket}/${archived.key} version ${archived.versionId}`;
  if (archived.versions > 1)
    options.onNote?.(
      `${archived.file.name} has ${archived.versions} versions: reading the first (${archived.versionId}); the others were written after it (sealdrop status shows them)`,
    );
  const { body } = await download(
    client,
    { bucket: archive.bucket, key: archived.key, versionId: archived.versionId, size: archived.size },
    { signal: options.signal, label },
  );
  const target = await PendingFile.beside(path, { tag: 'sealdrop-partial' });
  try {
    await unseal(body, target.stream(), {
      keyring: options.keyring,
      label,
      binding: `s3://${archive.bucket}/${archived.key}`,
      requireBinding: true,
      maxOutputBytes: MAX_FILE_BYTES,
      signal: options.signal,
    });
    await target.commit();
  } catch (error) {
    await target.discard();
    throw error;
  }
}

/** Segments fetched ahead that recovery has passed on their timeline: never read now. */
async function clearPassed(dir: string, wanted: WalFile): Promise<void> {
  if (wanted.segno === null) return;
  const names = await readdir(dir).catch(() => [] as string[]);
  const passed = names.filter((name) => {
    const file = parseWalFileName(name);
    return file?.timeline === wanted.timeline && file.segno !== null && file.segno < wanted.segno!;
  });
  await Promise.all(passed.map((name) => rm(join(dir, name), { force: true })));
}
