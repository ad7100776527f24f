// Which backup set a target is: the one place where a key and a prefix part ways, whether the set is
// listed afresh or was already listed with a whole bucket (the inventory).
import type { S3Client } from '@aws-sdk/client-s3';
import type { GroupedKeySet, GroupedRunSet } from '../../core/inventory.js';
import type { S3Location } from '../../core/s3-url.js';
import type { BackupSet, ListedSet } from './backup-set.js';
import { KeySet } from './key-set.js';
import { RunSet } from './run-set.js';

/** A prefix (ending in /) holds runs; anything else is one key's versions. */
export function backupSet(
  client: S3Client,
  location: S3Location,
  { pageSize }: { pageSize?: number } = {},
): BackupSet {
  const source = { client, location, pageSize };
  return location.isPrefix ? new RunSet(source) : new KeySet(source);
}

/** A set grouped from a listing of a whole bucket or prefix, without listing it again (runs are judged). */
export async function listedSet(
  client: S3Client,
  grouped: GroupedKeySet | GroupedRunSet,
  { signal }: { signal?: AbortSignal } = {},
): Promise<ListedSet> {
  const source = { client, location: grouped.location };
  if (grouped.kind === 'version') {
    const set = new KeySet(source);
    return { set, listing: set.listing(grouped.snapshots) };
  }
  const set = new RunSet(source);
  return { set, listing: await set.judge(grouped, { signal }) };
}
