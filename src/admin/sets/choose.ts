// Which snapshot a restore or verify means, read from its backup set.
import {
  chooseSnapshot,
  describeSkipped,
  type Snapshot,
  type SnapshotSelector,
} from '../../core/snapshot.js';
import type { BackupSet, SnapshotListing } from './backup-set.js';
import { readNewestMark } from './details.js';

/**
 * The snapshot a restore or verify means, from a listing of only what the selector needs: an id
 * lists that version or run alone; the latest (at a time) judges runs newest first until one is
 * complete; the newest verified one reads marks until it finds one. Newer
 * incomplete or broken ones passed over are noted.
 */
export async function choose(
  set: BackupSet,
  selector: SnapshotSelector,
  options: { signal?: AbortSignal; onNote?: (message: string) => void } = {},
): Promise<{ listing: SnapshotListing; snapshot: Snapshot }> {
  const listed = await set.list({
    ...(selector.kind === 'id' ? { only: selector.id } : {}),
    ...(selector.kind === 'latest' ? { newestComplete: {} } : {}),
    ...(selector.kind === 'at' ? { newestComplete: { at: selector.at } } : {}),
    signal: options.signal,
  });
  // The newest verified one: marks are read newest first, until one has it.
  const listing =
    selector.kind === 'verified'
      ? { ...listed, snapshots: await readNewestMark(set, listed.snapshots, options.signal) }
      : listed;
  const { snapshot, skipped } = chooseSnapshot(listing.snapshots, selector, listing.target);
  if (skipped.length > 0) options.onNote?.(`skipping ${describeSkipped(skipped)}`);
  return { listing, snapshot };
}
