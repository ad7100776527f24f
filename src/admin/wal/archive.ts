// The read side of a WAL archive: which version of each archived file is the one to read. Files are
// written once, so the FIRST version of a name is the genuine one; any later version was written after,
// by a retry or by an attacker, and is only counted (status raises the alarm), never read unasked.
import type { S3Client } from '@aws-sdk/client-s3';
import { SealdropError } from '../../core/errors.js';
import type { Compression } from '../../core/compression.js';
import type { ListedVersion } from '../../core/snapshot.js';
import { archivedFileOf, type WalFile } from '../../core/wal.js';
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
  /** Stop once this many archived names are known (the listing goes on past a flood of one name). */
  names: number;
  signal?: AbortSignal;
}

/** A flood of versions of one name is paged through to its first version, up to this many entries. */
const MAX_ENTRIES = 200_000;

/**
 * The archived files from `fromName` on, in name order (timeline first, then position): one listing
 * started at that name, so a fetch reads a page or two however long the archive is.
 */
export async function scanArchive(
  client: S3Client,
  bucket: string,
  prefix: string,
  fromName: string,
  options: ScanOptions,
): Promise<ArchivedFile[]> {
  const found = new Map<string, ArchivedFile>();
  let entries = 0;
  // S3 lists each key's versions newest first: a key's last entry is its first version.
  for await (const page of listEntries(client, bucket, prefix, {
    startAfter: prefix + fromName,
    signal: options.signal,
  })) {
    for (const entry of page) {
      const archived = archivedFileOf(prefix, entry.key);
      if (!archived || entry.isDeleteMarker) continue;
      const known = found.get(archived.file.name);
      if (!known && found.size >= options.names) return [...found.values()];
      found.set(archived.file.name, firstOf(known, entry, archived));
    }
    entries += page.length;
    if (entries > MAX_ENTRIES)
      throw new SealdropError(
        'FAILED',
        `more than ${MAX_ENTRIES} versions under s3://${bucket}/${prefix}${fromName}…: a flood, not an archive`,
        { hint: 'Run `sealdrop status` on the archive; remove the flood (sealdrop prune) and try again.' },
      );
  }
  return [...found.values()];
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
