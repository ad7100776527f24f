// Every version of one backup key, newest first, and the download of one of them.
import type { Readable } from 'node:stream';
import {
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SealdropError } from '../core/errors.js';
import { formatS3Url, type S3Location } from '../core/s3-url.js';
import { chooseVersion, newestFirst, type ObjectVersion, type VersionSelector } from '../core/versions.js';
import { download } from './download.js';
import { s3Error } from './s3-client.js';

export interface ListVersionsOptions {
  /** Keys per ListObjectVersions page (S3's maximum and default: 1000). */
  pageSize?: number;
}

/** Lists the versions (delete markers included) of exactly one key, following pages past 1000. */
export async function listVersions(
  client: S3Client,
  location: S3Location,
  options: ListVersionsOptions = {},
): Promise<ObjectVersion[]> {
  assertSingleKey(location);
  const { key } = location;
  const versions: ObjectVersion[] = [];
  const deleteMarkers: ObjectVersion[] = [];
  for await (const page of listVersionPages(client, location, options.pageSize)) {
    // Prefix also matches "KEY.old" and "KEY/…". Those sort after KEY itself, so a page that shows
    // any of them means KEY's versions are complete.
    let passedKey = false;
    for (const entry of page.Versions ?? []) {
      if (entry.Key !== key) passedKey = true;
      else versions.push(toVersion(entry, false));
    }
    for (const entry of page.DeleteMarkers ?? []) {
      if (entry.Key !== key) passedKey = true;
      else deleteMarkers.push(toVersion(entry, true));
    }
    if (passedKey) break;
  }
  return newestFirst(versions, deleteMarkers);
}

/** Every ListObjectVersions page under the location's key (as a prefix), following the markers. */
export async function* listVersionPages(
  client: S3Client,
  location: S3Location,
  pageSize?: number,
): AsyncGenerator<ListObjectVersionsCommandOutput> {
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    let page: ListObjectVersionsCommandOutput;
    try {
      page = await client.send(
        new ListObjectVersionsCommand({
          Bucket: location.bucket,
          Prefix: location.key,
          KeyMarker: keyMarker,
          VersionIdMarker: versionIdMarker,
          MaxKeys: pageSize,
        }),
      );
    } catch (error) {
      throw s3Error(error, `listing the versions under ${formatS3Url(location)}`);
    }
    yield page;
    if (!page.IsTruncated) return;
    if (page.NextKeyMarker === undefined) {
      throw new SealdropError(
        'FAILED',
        `S3 said the version list of ${formatS3Url(location)} goes on but gave no marker to continue from`,
      );
    }
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
}

export interface OpenedVersion {
  version: ObjectVersion;
  body: Readable;
}

/** Downloads the selected version (listing first unless an id was given). */
export async function openVersion(
  client: S3Client,
  location: S3Location,
  selector: VersionSelector,
): Promise<OpenedVersion> {
  const label = formatS3Url(location);
  let listed: ObjectVersion | undefined;
  let versionId: string;
  if (selector.kind === 'id') versionId = selector.versionId;
  else {
    listed = chooseVersion(await listVersions(client, location), selector, label);
    versionId = listed.versionId;
  }
  const response = await download(
    client,
    { bucket: location.bucket, key: location.key, versionId, size: listed?.size },
    { label: `${label} version ${versionId}`, refused: (error) => downloadError(error, label, versionId) },
  );
  return {
    body: response.body,
    // The listing has millisecond times on some stores; the GET headers only seconds.
    version: listed ?? {
      versionId,
      lastModified: response.lastModified ?? new Date(0),
      size: response.size,
      isLatest: false,
      isDeleteMarker: false,
      etag: response.etag,
    },
  };
}

/** The read side works on one key; a prefix names many objects. */
export function assertSingleKey(location: S3Location): void {
  if (location.isPrefix) {
    throw new SealdropError('USAGE', `${formatS3Url(location)} is a prefix; this command works on one key`, {
      hint: 'Name the object: s3://BUCKET/db1/dump.sql.gz.gpg (no trailing slash).',
    });
  }
}

interface ListedEntry {
  Key?: string;
  VersionId?: string;
  LastModified?: Date;
  Size?: number;
  IsLatest?: boolean;
  ETag?: string;
}

function toVersion(entry: ListedEntry, isDeleteMarker: boolean): ObjectVersion {
  return {
    // Objects written before versioning was enabled have the version id "null".
    versionId: entry.VersionId ?? 'null',
    lastModified: entry.LastModified ?? new Date(0),
    size: entry.Size ?? 0,
    isLatest: entry.IsLatest ?? false,
    isDeleteMarker,
    etag: entry.ETag ?? null,
  };
}

interface AwsError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}

function downloadError(error: unknown, label: string, versionId: string): SealdropError {
  const aws = error as AwsError;
  const status = aws.$metadata?.httpStatusCode;
  // GET of a delete marker by id is 405; an id that never existed is 404 NoSuchVersion, or 400 on some stores.
  if (status === 405 || aws.name === 'MethodNotAllowed') {
    return new SealdropError(
      'NOT_FOUND',
      `${label} version ${versionId} is a delete marker; there is nothing to restore from it`,
      {
        hint: 'Pick a real version from `sealdrop versions` (delete markers are marked there).',
      },
    );
  }
  // Ceph RGW answers NoSuchKey for an unknown version id of an existing key.
  if (
    aws.name === 'NoSuchVersion' ||
    aws.name === 'NoSuchKey' ||
    (status === 400 && /version/i.test(String((error as Error).message)))
  ) {
    return new SealdropError('NOT_FOUND', `${label} has no version ${versionId}`, {
      hint: 'List the versions with `sealdrop versions` (or check the bucket and key).',
    });
  }
  const refused = s3Error(error, `downloading ${label} version ${versionId}`);
  if (status === 403) {
    // The usual cause: the uploader owns what it wrote (Ceph RGW; AWS buckets with ObjectWriter ownership).
    return new SealdropError(refused.code, refused.message, {
      hint: 'Use admin credentials. If they are, the object belongs to the uploader: mint policies with --acl bucket-owner-full-control (or set the bucket to BucketOwnerEnforced on AWS).',
      cause: error,
    });
  }
  return refused;
}
