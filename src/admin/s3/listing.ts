// ListObjectVersions, page by page: every version and delete marker under a prefix, in S3's order (by
// key, each key's newest first). Streamed: a listing of a million entries is never held at once here.
import {
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SealdropError } from '../../core/errors.js';
import { mergeListing, type ListedVersion } from '../../core/snapshot.js';
import { s3Error } from './client.js';

export interface ListingOptions {
  /** Keys per request (S3's maximum and default: 1000). */
  pageSize?: number;
  /** Start after this key (S3's KeyMarker): every key that sorts before it, and it, is left out. */
  startAfter?: string;
  signal?: AbortSignal;
}

/** Every entry under `prefix` in `bucket`, one page at a time. */
export async function* listEntries(
  client: S3Client,
  bucket: string,
  prefix: string,
  options: ListingOptions = {},
): AsyncGenerator<ListedVersion[]> {
  let keyMarker = options.startAfter;
  let versionIdMarker: string | undefined;
  const where = `s3://${bucket}/${prefix}`;
  for (;;) {
    let page: ListObjectVersionsCommandOutput;
    try {
      page = await client.send(
        new ListObjectVersionsCommand({
          Bucket: bucket,
          Prefix: prefix,
          KeyMarker: keyMarker,
          VersionIdMarker: versionIdMarker,
          MaxKeys: options.pageSize,
        }),
        { abortSignal: options.signal },
      );
    } catch (error) {
      throw s3Error(error, `listing the versions under ${where}`);
    }
    yield mergeListing(
      (page.Versions ?? []).map((entry) => toListed(entry, false)),
      (page.DeleteMarkers ?? []).map((entry) => toListed(entry, true)),
    );
    if (!page.IsTruncated) return;
    if (page.NextKeyMarker === undefined)
      throw new SealdropError(
        'FAILED',
        `S3 said the version list of ${where} goes on but gave no marker to continue from`,
      );
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
}

interface SdkEntry {
  Key?: string;
  VersionId?: string;
  LastModified?: Date;
  Size?: number;
  IsLatest?: boolean;
  ETag?: string;
}

function toListed(entry: SdkEntry, isDeleteMarker: boolean): ListedVersion {
  return {
    key: entry.Key ?? '',
    // Objects written before versioning was enabled have the version id "null".
    versionId: entry.VersionId ?? 'null',
    lastModified: entry.LastModified ?? new Date(0),
    size: entry.Size ?? 0,
    etag: entry.ETag ? entry.ETag.replaceAll('"', '') : null,
    isDeleteMarker,
    isLatest: entry.IsLatest ?? false,
  };
}
