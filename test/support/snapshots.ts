// Snapshots for unit tests: a key's versions and a prefix's runs, by hand.
import type { Snapshot, SnapshotState } from '../../src/core/snapshot.js';

export function snapshot(id: string, iso: string, extra: Partial<Snapshot> = {}): Snapshot {
  return {
    kind: 'version',
    id,
    time: new Date(iso),
    size: 100,
    state: 'complete',
    notes: [],
    objectVersions: 1,
    storedBytes: 100,
    ...extra,
  };
}

export function run(
  id: string,
  iso: string,
  state: SnapshotState = 'complete',
  extra: Partial<Snapshot> = {},
): Snapshot {
  return snapshot(id, iso, {
    kind: 'run',
    state,
    parts: 1,
    notes: state === 'complete' ? [] : [`${state} because`],
    ...extra,
  });
}
