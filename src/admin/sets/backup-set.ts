// A backup set: the versions of one key, or the runs under a prefix. The read-side commands are written
// once over this interface; which of the two a target is matters only in sets/open.ts.
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Strays } from '../../core/runs.js';
import { formatS3Url, type S3Location } from '../../core/s3-url.js';
import type { Snapshot, SnapshotKind } from '../../core/snapshot.js';
import type { ObjectRef } from '../s3/delete.js';

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
  /** Where it was found, as its envelope must name it: `s3://BUCKET/KEY`, a run's `s3://BUCKET/PREFIX<run-id>/`. */
  binding: string;
  /** What is worth saying beside it (objects written over after the run); the data is the original. */
  notes: readonly string[];
}

export type { ObjectRef };

export interface ListOptions {
  /** List only what this id needs (a version, one run): fast whatever else the set holds. */
  only?: string;
  /**
   * Judge only what choosing the newest complete snapshot (at or before `at`) needs: newest first,
   * until one is complete. Judging a run costs a request, so junk pushed after `at` costs none.
   */
  newestComplete?: { at?: Date };
  signal?: AbortSignal;
}

export interface BackupSet {
  readonly location: S3Location;
  readonly client: S3Client;
  list(options?: ListOptions): Promise<SnapshotListing>;
  /** Opens a snapshot from this set's own listing for reading. */
  open(snapshot: Snapshot, options?: { signal?: AbortSignal }): Promise<OpenedSnapshot>;
  /** Every object version and delete marker that makes up these snapshots. */
  objectsOf(snapshots: readonly Snapshot[], options?: { signal?: AbortSignal }): AsyncIterable<ObjectRef>;
  /**
   * The object version that stands for a snapshot of this set's last listing: its retention is the
   * snapshot's (a run: its manifest's original version, written last).
   * null: there is none (a delete marker, a run without a manifest).
   */
  markObject(snapshot: Snapshot): ObjectRef | null;
  /**
   * The object version whose first bytes are a snapshot's key packets (a run: its first part).
   * null: there is none (a delete marker, a run without a first part).
   */
  firstObject(snapshot: Snapshot): ObjectRef | null;
}

/** A backup set with its listing (opened from a listing already made: the inventory's). */
export interface ListedSet {
  set: BackupSet;
  listing: SnapshotListing;
}

/** What a set reads through: the client, where, and (for tests of paging) keys per listing request. */
export interface SetSource {
  client: S3Client;
  location: S3Location;
  /** Keys per ListObjectVersions request (S3's default and maximum, 1000). */
  pageSize?: number;
}

/** What both kinds of set share: where the set is and the client it reads through. */
export abstract class StoredSet implements BackupSet {
  readonly location: S3Location;
  protected readonly source: SetSource;

  constructor(source: SetSource) {
    this.source = source;
    this.location = source.location;
  }

  get client(): S3Client {
    return this.source.client;
  }

  /** The set's s3:// URL, for messages. */
  protected get target(): string {
    return formatS3Url(this.location);
  }

  abstract list(options?: ListOptions): Promise<SnapshotListing>;
  abstract open(snapshot: Snapshot, options?: { signal?: AbortSignal }): Promise<OpenedSnapshot>;
  abstract objectsOf(
    snapshots: readonly Snapshot[],
    options?: { signal?: AbortSignal },
  ): AsyncIterable<ObjectRef>;
  abstract markObject(snapshot: Snapshot): ObjectRef | null;
  abstract firstObject(snapshot: Snapshot): ObjectRef | null;
}
