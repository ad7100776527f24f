// The read side of a WAL archive: which version of each archived file is the one to read. Files are
// written once, so the FIRST version of a name is the genuine one; any later version was written after,
// by a retry or by an attacker, and is only counted (status raises the alarm), never read unasked.
import type { S3Client } from '@aws-sdk/client-s3';
import { SealdropError } from '../../core/errors.js';
import type { ListedVersion } from '../../core/snapshot.js';
import { COMPRESSIONS, type Compression } from '../../core/compression.js';
import { archivedFileOf, archiveObjectKey, type WalFile } from '../../core/wal.js';
import { listEntries } from '../s3/listing.js';

export interface ArchivedFile {
  file: WalFile;
  /** The first version of the name: where and what it is. */
  key: string;
  versionId: string;
  size: number;
  lastModified: Date;
  compression: Compression;
  /** Versions of the name, the first one included. */
  versions: number;
}

export interface ScanOptions {
  /** Of the names, those the caller can't do without: found by their own keys when a flood stops the scan. */
  required: ReadonlySet<string>;
  signal?: AbortSignal;
}

/** A listing reads at most this many entries: a flood of versions or of junk keys is not paged through. */
const MAX_ENTRIES = 200_000;

/**
 * The first versions of the archived files `names` (in name order, as S3 lists keys): one listing from
 * the first name to past the last, so a fetch reads a page or two however long the archive is, and junk
 * beyond the names is never read. A flood in between stops the listing at MAX_ENTRIES; each required name
 * it left unsettled is then listed by its own keys, where junk under other keys can't get in the way.
 */
export async function scanArchive(
  client: S3Client,
  bucket: string,
  prefix: string,
  names: readonly string[],
  options: ScanOptions,
): Promise<ArchivedFile[]> {
  const wanted = new Set(names);
  const sorted = [...wanted].sort();
  if (sorted.length === 0) return [];
  const found = new Map<string, ArchivedFile>();
  const end = lastKeyOf(prefix, sorted.at(-1)!);
  let entries = 0;
  let stoppedAt: string | null = null;
  // S3 lists each key's versions newest first: a key's last entry is its first version.
  scan: for await (const page of listEntries(client, bucket, prefix, {
    startAfter: prefix + sorted[0]!,
    signal: options.signal,
  })) {
    for (const entry of page) {
      if (entry.key > end) break scan;
      if (++entries > MAX_ENTRIES) {
        stoppedAt = entry.key;
        break scan;
      }
      record(found, wanted, prefix, entry);
    }
  }
  if (stoppedAt !== null) {
    // A name is settled once the listing passed all of its keys.
    const unsettled = sorted.filter((name) => lastKeyOf(prefix, name) >= stoppedAt);
    for (const name of unsettled) found.delete(name);
    for (const name of unsettled) {
      if (!options.required.has(name)) continue;
      await scanKeysOf(client, bucket, prefix, name, found, options.signal);
      // The caller can't do without it: no need to look for the rest.
      if (!found.has(name)) break;
    }
  }
  return sorted.flatMap((name) => found.get(name) ?? []);
}

/** Lists each of a name's keys alone (a listing of one key is all its own versions first). */
async function scanKeysOf(
  client: S3Client,
  bucket: string,
  prefix: string,
  name: string,
  found: Map<string, ArchivedFile>,
  signal?: AbortSignal,
): Promise<void> {
  const only = new Set([name]);
  for (const compression of COMPRESSIONS) {
    const key = archiveObjectKey(prefix, name, compression);
    let entries = 0;
    keys: for await (const page of listEntries(client, bucket, key, { signal })) {
      for (const entry of page) {
        if (entry.key !== key) break keys;
        if (++entries > MAX_ENTRIES)
          throw new SealdropError(
            'FAILED',
            `more than ${MAX_ENTRIES} versions of s3://${bucket}/${key}: a flood, not an archived file`,
            {
              hint: `Its first version is the genuine one (aws s3api list-object-versions --bucket ${bucket} --prefix ${key} lists it last): fetch it with wal fetch --version-id.`,
            },
          );
        record(found, only, prefix, entry);
      }
    }
  }
}

/** Counts an entry in if it is a version of one of the names. */
function record(
  found: Map<string, ArchivedFile>,
  wanted: ReadonlySet<string>,
  prefix: string,
  entry: ListedVersion,
): void {
  const archived = archivedFileOf(prefix, entry.key);
  if (!archived || entry.isDeleteMarker || !wanted.has(archived.file.name)) return;
  found.set(archived.file.name, firstOf(found.get(archived.file.name), entry, archived));
}

/** The last of the keys a name can be archived under, in S3's (byte) order. */
function lastKeyOf(prefix: string, name: string): string {
  return COMPRESSIONS.map((compression) => archiveObjectKey(prefix, name, compression))
    .sort()
    .at(-1)!;
}

/** The earlier of a name's first version so far and another version of it (the later one in S3's order on a tie). */
function firstOf(
  known: ArchivedFile | undefined,
  entry: ListedVersion,
  { file, compression }: { file: WalFile; compression: Compression },
): ArchivedFile {
  const versions = (known?.versions ?? 0) + 1;
  if (known && known.lastModified < entry.lastModified) return { ...known, versions };
  return {
    file,
    key: entry.key,
    versionId: entry.versionId,
    size: entry.size,
    lastModified: entry.lastModified,
    compression,
    versions,
  };
}
