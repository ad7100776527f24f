// The versions of one key as a backup set: each version a snapshot, delete markers included.
import { SealdropError } from '../../core/errors.js';
import { versionSnapshot, type Snapshot } from '../../core/snapshot.js';
import { StoredSet, type ListOptions, type OpenedSnapshot, type SnapshotListing } from './backup-set.js';
import { listEntries } from '../s3/listing.js';
import { getObjectVersion, headObjectVersion } from '../s3/objects.js';

export class KeySet extends StoredSet {
  async list(options: ListOptions = {}): Promise<SnapshotListing> {
    const { bucket, key } = this.location;
    const target = this.target;
    if (options.only !== undefined) {
      const ref = { bucket, key, versionId: options.only };
      const head = await headObjectVersion(this.client, ref, `${target} version ${options.only}`);
      if (!head)
        throw new SealdropError('NOT_FOUND', `${target} has no version ${options.only}`, {
          hint: 'List the versions with `sealdrop versions` (or check the bucket and key).',
        });
      return this.listing([
        versionSnapshot({
          key,
          versionId: options.only,
          lastModified: head.time,
          size: head.size,
          etag: head.etag,
          isDeleteMarker: false,
          isLatest: false,
        }),
      ]);
    }
    const snapshots: Snapshot[] = [];
    const pages = listEntries(this.client, bucket, key, {
      pageSize: this.source.pageSize,
      signal: options.signal,
    });
    /** Something stored under KEY/: a prefix of runs named without its slash, when KEY holds nothing. */
    let underKey = false;
    for await (const page of pages) {
      // The prefix also matches "KEY.old" and "KEY/…". Those sort after KEY itself, so a page that
      // shows any of them means KEY's versions are complete.
      let passedKey = false;
      for (const entry of page) {
        if (entry.key === key) snapshots.push(versionSnapshot(entry));
        else {
          passedKey = true;
          underKey ||= entry.key.startsWith(`${key}/`);
        }
      }
      if (passedKey) break;
    }
    if (snapshots.length === 0 && underKey)
      throw new SealdropError(
        'USAGE',
        `${this.target} holds no backups, but ${this.target}/ does: name a prefix with its trailing slash`,
        { hint: `Give ${this.target}/ (a prefix policy's runs are listed, restored and verified there).` },
      );
    return this.listing(snapshots);
  }

  /** The key's versions as this set's listing (newest first). */
  listing(snapshots: Snapshot[]): SnapshotListing {
    return { target: this.target, kind: 'version', snapshots, strays: { count: 0, sample: [] } };
  }

  async open(snapshot: Snapshot, options: { signal?: AbortSignal } = {}): Promise<OpenedSnapshot> {
    const label = `${this.target} version ${snapshot.id}`;
    const { bucket, key } = this.location;
    const body = await getObjectVersion(
      this.client,
      { bucket, key, versionId: snapshot.id },
      label,
      options.signal,
    );
    return { snapshot, label, body, binding: this.target, notes: [] };
  }

  async *objectsOf(snapshots: readonly Snapshot[]) {
    for (const snapshot of snapshots) yield { key: this.location.key, versionId: snapshot.id };
  }

  markObject(snapshot: Snapshot) {
    return snapshot.state === 'deleted' ? null : { key: this.location.key, versionId: snapshot.id };
  }

  firstObject(snapshot: Snapshot) {
    return this.markObject(snapshot);
  }
}
