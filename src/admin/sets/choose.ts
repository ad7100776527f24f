// Which snapshot a restore or verify means, read from its backup set.
import {
  chooseSnapshot,
  describeSkipped,
  SNAPSHOT_WORDS,
  type Snapshot,
  type SnapshotSelector,
} from '../../core/snapshot.js';
import { plural } from '../../core/words.js';
import type { BackupSet, SnapshotListing } from './backup-set.js';
import { provenSnapshots } from './proofs.js';

/**
 * The snapshot a restore or verify means, from a listing of only what the selector needs: an id
 * lists that version or run alone; the latest (at a time) judges runs newest first until one is
 * complete; the newest verified one reads the set's proofs (one listing). Newer
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
  const listing =
    selector.kind === 'verified'
      ? { ...listed, snapshots: (await provenSnapshots(set, listed.snapshots, options.signal)).snapshots }
      : listed;
  const { snapshot, skipped, unproven = [] } = chooseSnapshot(listing.snapshots, selector, listing.target);
  if (skipped.length > 0) options.onNote?.(`skipping ${describeSkipped(skipped)}`);
  const [newest] = unproven;
  if (newest)
    options.onNote?.(
      `passing over ${plural(unproven.length, `newer ${SNAPSHOT_WORDS[newest.kind].noun}`)} not proven good (${newest.id}, from ${newest.time.toISOString()})`,
    );
  return { listing, snapshot };
}
