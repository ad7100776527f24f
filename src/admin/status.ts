// status: are backups still arriving? Per key the latest version's age and size and the version count,
// judged in the monitoring-plugin convention. Failing to look is UNKNOWN, never an exception.
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
import { createS3Client, type S3ClientOptions } from './s3-client.js';
import { runsForHealth } from './runs.js';
import { listVersions } from './versions.js';

export interface StatusTarget extends S3ClientOptions {
  location: S3Location;
  /** Set when the target came from a policy file: its expiry is judged too. */
  policyExpiresAt?: Date;
}

export interface TargetStatus {
  target: string;
  state: HealthState;
  reasons: string[];
  latest: { versionId: string; lastModified: string; size: number; isDeleteMarker: boolean } | null;
  ageSeconds: number | null;
  versions: number;
  deleteMarkers: number;
  policyExpiresAt: string | null;
  /** Prefix targets: runs without a manifest (`versions` counts the complete ones). */
  incompleteRuns?: number;
}

export interface StatusResult {
  state: HealthState;
  targets: TargetStatus[];
}

export async function status(
  targets: readonly StatusTarget[],
  thresholds: HealthThresholds,
  now = new Date(),
): Promise<StatusResult> {
  const clients = new Map<string, S3Client>();
  const clientFor = (target: StatusTarget) => {
    const key = `${target.endpoint ?? ''} ${target.region ?? ''}`;
    if (!clients.has(key)) clients.set(key, createS3Client(target));
    return clients.get(key)!;
  };
  const results = await Promise.all(
    targets.map((target) => targetStatus(clientFor, target, thresholds, now)),
  );
  return { state: worstState(results.map(({ state }) => state)), targets: results };
}

async function targetStatus(
  clientFor: (target: StatusTarget) => S3Client,
  target: StatusTarget,
  thresholds: HealthThresholds,
  now: Date,
): Promise<TargetStatus> {
  const base = {
    target: formatS3Url(target.location),
    policyExpiresAt: target.policyExpiresAt?.toISOString() ?? null,
  };
  try {
    // A prefix target counts complete runs only; an incomplete newest run is reported as such.
    const runs = target.location.isPrefix
      ? await runsForHealth(clientFor(target), target.location, now)
      : null;
    const versions = runs ? runs.versions : await listVersions(clientFor(target), target.location);
    const health = withRuns(
      assessHealth({ versions, policyExpiresAt: target.policyExpiresAt }, thresholds, now),
      runs,
    );
    const { latest } = health;
    return {
      ...base,
      state: health.state,
      reasons: health.reasons,
      latest: latest && {
        versionId: latest.versionId,
        lastModified: latest.lastModified.toISOString(),
        size: latest.size,
        isDeleteMarker: latest.isDeleteMarker,
      },
      ageSeconds: health.ageMs === null ? null : Math.round(health.ageMs / 1000),
      versions: health.versionCount,
      deleteMarkers: health.deleteMarkerCount,
      ...(runs ? { incompleteRuns: runs.incomplete } : {}),
    };
  } catch (error) {
    if (!isSealdropError(error)) throw error;
    return {
      ...base,
      state: 'UNKNOWN',
      reasons: [`can't tell: ${error.message}`],
      latest: null,
      ageSeconds: null,
      versions: 0,
      deleteMarkers: 0,
    };
  }
}

/** An incomplete newest run is always mentioned; once it has stalled it is a WARNING. */
function withRuns(health: Health, runs: Awaited<ReturnType<typeof runsForHealth>> | null): Health {
  if (!runs) return health;
  if (health.versionCount === 0) {
    // Runs that never completed are failed backups, not a missing target.
    return runs.incomplete > 0
      ? { ...health, state: 'CRITICAL', reasons: ['no complete run at all', ...runs.notes] }
      : { ...health, reasons: ['no runs under this prefix'] };
  }
  return {
    ...health,
    reasons: [...health.reasons, ...runs.notes],
    state: runs.stalled ? worstState([health.state, 'WARNING']) : health.state,
  };
}
