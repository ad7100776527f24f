// A generated bucket listing for floods too large to store (hundreds of thousands of versions): S3's
// ListObjectVersions order, prefix and markers over an array, and nothing else (no other request, no
// policy). What a test checks with it is which pages the code asks for and what it makes of them.
import type { S3Client } from '@aws-sdk/client-s3';

export interface Entry {
  Key: string;
  VersionId: string;
  LastModified: Date;
  Size: number;
}

/** A bucket's version listing: keys in byte order, each key's versions newest first. */
export function listing(entries: Entry[]) {
  entries.sort((a, b) =>
    a.Key < b.Key ? -1 : a.Key > b.Key ? 1 : b.LastModified.getTime() - a.LastModified.getTime(),
  );
  const at = new Map(entries.map((entry, i) => [`${entry.Key}\0${entry.VersionId}`, i]));
  const firstAfter = (key: string, inclusive: boolean) => {
    let lo = 0;
    let hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (entries[mid]!.Key < key || (!inclusive && entries[mid]!.Key === key)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const calls: { prefix: string; marker?: string }[] = [];
  const client = {
    async send(command: { input: Record<string, string | number | undefined> }) {
      const {
        Prefix = '',
        KeyMarker,
        VersionIdMarker,
        MaxKeys = 1000,
      } = command.input as {
        Prefix?: string;
        KeyMarker?: string;
        VersionIdMarker?: string;
        MaxKeys?: number;
      };
      calls.push({ prefix: Prefix, ...(KeyMarker === undefined ? {} : { marker: KeyMarker }) });
      let start = firstAfter(Prefix, true);
      if (KeyMarker !== undefined)
        start = Math.max(
          start,
          VersionIdMarker === undefined
            ? firstAfter(KeyMarker, false)
            : at.get(`${KeyMarker}\0${VersionIdMarker}`)! + 1,
        );
      const page: (Entry & { IsLatest: boolean })[] = [];
      let i = start;
      for (; i < entries.length && entries[i]!.Key.startsWith(Prefix) && page.length < MaxKeys; i++)
        page.push({ ...entries[i]!, IsLatest: i === 0 || entries[i - 1]!.Key !== entries[i]!.Key });
      const truncated = i < entries.length && entries[i]!.Key.startsWith(Prefix);
      const last = page.at(-1);
      return {
        Versions: page.map((entry) => ({ ...entry, ETag: '"e"' })),
        DeleteMarkers: [],
        IsTruncated: truncated,
        ...(truncated ? { NextKeyMarker: last!.Key, NextVersionIdMarker: last!.VersionId } : {}),
      };
    },
  };
  return { client: client as unknown as S3Client, calls };
}
