// A backup set: the versions of one key, or the runs under a prefix. The read-side commands are written
// once over this interface; which of the two a target is matters only in backupSet() below.
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Strays } from '../core/runs.js';
import type { S3Location } from '../core/s3-url.js';
import type { Snapshot, SnapshotKind } from '../core/snapshot.js';
import { KeySet } from './key-set.js';
import { RunSet } from './run-set.js';

export interface SnapshotListing {
  /** The set as an s3:// URL. */
  target: string;
  kind: SnapshotKind;
  /** Newest first. */
  snapshots: Snapshot[];
  /** Objects under a prefix that belong to no run (none for a key). */
  strays: Strays;
}

export interface OpenedSnapshot {
  snapshot: Snapshot;
  /** Names it in messages: "s3://b/db1.sql.gz.gpg version V", "s3://b/db1/RUN-ID/". */
  label: string;
  /** The encrypted stream. For a run, every part in order, each checked against the manifest as it streams. */
  body: Readable;
  /** What is worth saying beside it (objects written over after the run); the data is the original. */
  notes: readonly string[];
}

export interface ObjectRef {
  key: string;
  versionId: string;
}

export interface ListOptions {
  /** List only what this id needs (a version, one run): fast whatever else the set holds. */
  only?: string;
  signal?: AbortSignal;
}

export interface BackupSet {
  readonly location: S3Location;
  list(options?: ListOptions): Promise<SnapshotListing>;
  /** Opens a snapshot from this set's own listing for reading. */
  open(snapshot: Snapshot, options?: { signal?: AbortSignal }): Promise<OpenedSnapshot>;
  /** Every object version and delete marker that makes up these snapshots, in batches of at most 1000. */
  objectsOf(snapshots: readonly Snapshot[], options?: { signal?: AbortSignal }): AsyncIterable<ObjectRef[]>;
}

export interface BackupSetOptions {
  /** Keys per ListObjectVersions request (S3's default and maximum, 1000). */
  pageSize?: number;
}

/** A prefix (ending in /) holds runs; anything else is one key's versions. */
export function backupSet(client: S3Client, location: S3Location, options: BackupSetOptions = {}): BackupSet {
  return location.isPrefix ? new RunSet(client, location, options) : new KeySet(client, location, options);
}

/** Keys per DeleteObjects request: S3's limit. */
export const DELETE_BATCH = 1000;
