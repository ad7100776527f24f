// Every backup set under a location, from one streamed listing: what `ls` lists and `status s3://BUCKET/`
// checks. Grouping is core's (SetGrouper); each run set is judged by the same code as `versions PREFIX`.
import type { S3Client } from '@aws-sdk/client-s3';
import { SetGrouper, type GroupedArea, type GroupedSet, type GroupedWal } from '../../core/inventory.js';
import type { S3Location } from '../../core/s3-url.js';
import type { ListedSet } from './backup-set.js';
import { backupSet, listedSet } from './open.js';
import { listEntries } from '../s3/listing.js';

export type InventoryItem =
  | ({ kind: 'set'; location: S3Location } & ListedSet)
  | { kind: 'area'; area: GroupedArea }
  | { kind: 'wal'; wal: GroupedWal };

export interface InventoryOptions {
  /** The run prefix a key lies under by the admin's word (fleet hosts, policies), else null. */
  knownRunPrefix?: (key: string) => string | null;
  /** The WAL archive a key lies under by the admin's word (fleet hosts' wal:), else null. */
  knownWalPrefix?: (key: string) => string | null;
  /** Keys per ListObjectVersions request (S3's default and maximum, 1000). */
  pageSize?: number;
  signal?: AbortSignal;
}

/** The sets under `location` (a prefix, or a bucket's root ""), in key order, as the listing streams. */
export async function* inventory(
  client: S3Client,
  location: S3Location,
  options: InventoryOptions = {},
): AsyncGenerator<InventoryItem> {
  const grouper = new SetGrouper(location.bucket, location.key, {
    knownRunPrefix: options.knownRunPrefix,
    knownWalPrefix: options.knownWalPrefix,
  });
  const pages = listEntries(client, location.bucket, location.key, {
    pageSize: options.pageSize,
    signal: options.signal,
  });
  for await (const page of pages)
    for (const entry of page) yield* judged(client, grouper.add(entry), options.signal);
  yield* judged(client, grouper.finish(), options.signal);
}

/**
 * The sets a status target means: a key's versions; the runs of a prefix that is one set by the admin's
 * word (`whole`: a prefix policy's, a fleet host's), strays and all; every set under any other prefix,
 * and every WAL archive there (recognised by its files).
 */
export async function* setsAt(
  client: S3Client,
  location: S3Location,
  { whole = false, signal }: { whole?: boolean; signal?: AbortSignal } = {},
): AsyncGenerator<ListedSet | { wal: GroupedWal }> {
  if (!location.isPrefix || whole) {
    const set = backupSet(client, location);
    yield { set, listing: await set.list({ signal }) };
    return;
  }
  for await (const item of inventory(client, location, { signal }))
    if (item.kind === 'set') yield item;
    else if (item.kind === 'wal') yield { wal: item.wal };
}

async function* judged(
  client: S3Client,
  sets: readonly GroupedSet[],
  signal?: AbortSignal,
): AsyncGenerator<InventoryItem> {
  for (const set of sets) {
    if (set.kind === 'area') yield { kind: 'area', area: set };
    else if (set.kind === 'wal') yield { kind: 'wal', wal: set };
    else yield { kind: 'set', location: set.location, ...(await listedSet(client, set, { signal })) };
  }
}
