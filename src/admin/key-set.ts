// The versions of one key as a backup set: each version a snapshot, delete markers included.
import type { S3Client } from '@aws-sdk/client-s3';
import { SealdropError } from '../core/errors.js';
import { formatS3Url, type S3Location } from '../core/s3-url.js';
import { versionSnapshot, type Snapshot } from '../core/snapshot.js';
import {
  type BackupSet,
  type SetSource,
  type ListOptions,
  type ObjectRef,
  type OpenedSnapshot,
  type SnapshotListing,
} from './backup-set.js';
import { listEntries } from './listing.js';
import { getObjectVersion, headObjectVersion } from './objects.js';

export class KeySet implements BackupSet {
  readonly location: S3Location;
  readonly #source: SetSource;

  constructor(source: SetSource) {
    this.#source = source;
    this.location = source.location;
  }

  async list(options: ListOptions = {}): Promise<SnapshotListing> {
    const { bucket, key } = this.location;
    const target = formatS3Url(this.location);
    const listing = { target, kind: 'version' as const, strays: { count: 0, sample: [] } };
    if (options.only !== undefined) {
      const ref = { bucket, key, versionId: options.only };
      const head = await headObjectVersion(this.#source.client, ref, `${target} version ${options.only}`);
      if (!head)
        throw new SealdropError('NOT_FOUND', `${target} has no version ${options.only}`, {
          hint: 'List the versions with `sealdrop versions` (or check the bucket and key).',
        });
      return {
        ...listing,
        snapshots: [
          versionSnapshot({
            key,
            versionId: options.only,
            lastModified: head.time,
            size: head.size,
            etag: head.etag,
            isDeleteMarker: false,
            isLatest: false,
          }),
        ],
      };
    }
    const snapshots: Snapshot[] = [];
    const pages = listEntries(this.#source.client, bucket, key, {
      pageSize: this.#source.pageSize,
      signal: options.signal,
    });
    for await (const page of pages) {
      // The prefix also matches "KEY.old" and "KEY/…". Those sort after KEY itself, so a page that
      // shows any of them means KEY's versions are complete.
      let passedKey = false;
      for (const entry of page) {
        if (entry.key === key) snapshots.push(versionSnapshot(entry));
        else passedKey = true;
      }
      if (passedKey) break;
    }
    return { ...listing, snapshots };
  }

  async open(snapshot: Snapshot, options: { signal?: AbortSignal } = {}): Promise<OpenedSnapshot> {
    const label = `${formatS3Url(this.location)} version ${snapshot.id}`;
    const { bucket, key } = this.location;
    const body = await getObjectVersion(
      this.#source.client,
      { bucket, key, versionId: snapshot.id },
      label,
      options.signal,
    );
    return { snapshot, label, body, binding: formatS3Url(this.location), notes: [] };
  }

  async *objectsOf(snapshots: readonly Snapshot[]): AsyncIterable<ObjectRef> {
    for (const snapshot of snapshots) yield { key: this.location.key, versionId: snapshot.id };
  }

  get client(): S3Client {
    return this.#source.client;
  }

  markObject(snapshot: Snapshot): ObjectRef | null {
    return snapshot.state === 'deleted' ? null : { key: this.location.key, versionId: snapshot.id };
  }
}
