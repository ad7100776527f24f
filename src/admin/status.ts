// status: are backups still arriving? Per backup set the latest complete backup's age and size and the
// counts, judged in the monitoring-plugin convention. Failing to look is UNKNOWN, never an exception.
import type { S3Client } from '@aws-sdk/client-s3';
import { isSealdropError } from '../core/errors.js';
import {
  assessHealth,
  worstState,
  type Health,
  type HealthState,
  type HealthThresholds,
} from '../core/health.js';
import { formatS3Url, type S3Location } from '../core/s3-url.js';
import { snapshotJson, type SnapshotJson } from '../core/snapshot.js';
import { roundMs } from '../core/units.js';
import { backupSet } from './backup-set.js';
import { readNewestMark } from './details.js';

export interface StatusTarget {
  location: S3Location;
  /** Set when the target came from a policy file: its expiry is judged too. */
  policyExpiresAt?: Date;
}

export interface TargetStatus {
  target: string;
  state: HealthState;
  reasons: string[];
  /** The newest complete backup. */
  latest: SnapshotJson | null;
  ageSeconds: number | null;
  counts: Health['counts'];
  policyExpiresAt: string | null;
}

export interface StatusResult {
  state: HealthState;
  targets: TargetStatus[];
}

export async function status(
  client: S3Client,
  targets: readonly StatusTarget[],
  thresholds: HealthThresholds,
  now = new Date(),
): Promise<StatusResult> {
  const results = await Promise.all(targets.map((target) => targetStatus(client, target, thresholds, now)));
  return { state: worstState(results.map(({ state }) => state)), targets: results };
}

async function targetStatus(
  client: S3Client,
  target: StatusTarget,
  thresholds: HealthThresholds,
  now: Date,
): Promise<TargetStatus> {
  const base = {
    target: formatS3Url(target.location),
    policyExpiresAt: target.policyExpiresAt?.toISOString() ?? null,
  };
  try {
    const set = backupSet(client, target.location);
    const listing = await set.list();
    const { strays } = listing;
    // Verified marks cost a request each: read only when judged, and only until the newest is found.
    const snapshots =
      thresholds.maxUnverifiedAgeMs == null
        ? listing.snapshots
        : await readNewestMark(set, listing.snapshots);
    const health = assessHealth(
      { snapshots, strays: strays.count, policyExpiresAt: target.policyExpiresAt },
      thresholds,
      now,
    );
    return {
      ...base,
      state: health.state,
      reasons: health.reasons,
      latest: health.latest && snapshotJson(health.latest),
      ageSeconds: health.ageMs === null ? null : roundMs(health.ageMs / 1000),
      counts: health.counts,
    };
  } catch (error) {
    if (!isSealdropError(error)) throw error;
    return {
      ...base,
      state: 'UNKNOWN',
      reasons: [`can't tell: ${error.message}`],
      latest: null,
      ageSeconds: null,
      counts: { backups: 0, incomplete: 0, broken: 0, deleteMarkers: 0, strays: 0 },
    };
  }
}
