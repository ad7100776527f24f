// The fleet's read side: every host of a fleet file as a backup set to judge (fleet status, report) with
// its own thresholds and its policy's expiry from the admin's copy.
import type { S3Client } from '@aws-sdk/client-s3';
import { isSealdropError } from '../../core/errors.js';
import { hostTargets, type Fleet } from '../../core/fleet.js';
import type { HealthThresholds } from '../../core/health.js';
import { loadPolicyFile } from '../../core/policy-file.js';
import type { S3Location } from '../../core/s3-url.js';
import type { ReportTarget } from './report.js';
import { status, type StatusResult } from './status.js';

/** Every host's backups against its own thresholds, one result for the fleet. */
export async function fleetStatus(client: S3Client, fleet: Fleet): Promise<StatusResult> {
  // A policy copy that can't be read is a check that can't check: UNKNOWN, never a policy left unjudged.
  const targets = await fleetTargets(fleet, { unreadablePolicy: 'fail' });
  return status(
    client,
    targets.map((target) => ({ ...target, whole: true })),
    targets[0]!.thresholds,
  );
}

/** A fleet's hosts for the report, their anomaly alarms from `anomaly` (the report's own options). */
export async function fleetReportTargets(
  fleet: Fleet,
  anomaly: HealthThresholds['anomaly'],
): Promise<ReportTarget[]> {
  // The page is made whatever one host's copy says: that host's section says it instead.
  const targets = await fleetTargets(fleet, { unreadablePolicy: 'note' });
  return targets.map((target) => ({ ...target, thresholds: { ...target.thresholds, anomaly } }));
}

interface FleetTarget {
  host: string;
  location: S3Location;
  thresholds: HealthThresholds;
  policyExpiresAt?: Date;
  /** Why there is no expiry: no policy directory, no copy of this host's policy, or an unreadable one. */
  policyNote?: string;
}

interface FleetTargetOptions {
  /** A copy in the policy directory that exists but can't be read: fail the whole read, or note it. */
  unreadablePolicy: 'fail' | 'note';
}

async function fleetTargets(fleet: Fleet, options: FleetTargetOptions): Promise<FleetTarget[]> {
  const targets: FleetTarget[] = [];
  for (const host of hostTargets(fleet)) {
    const target: FleetTarget = { host: host.host, location: host.location, thresholds: host.thresholds };
    if (host.policyFile === null) target.policyNote = 'no policyDir in the fleet file';
    else
      try {
        target.policyExpiresAt = (await loadPolicyFile(host.policyFile)).summary.expiresAt;
      } catch (error) {
        if (!isSealdropError(error)) throw error;
        // A host not minted yet has no copy: no expiry to judge, not a failure.
        if (error.code === 'FILE_NOT_FOUND')
          target.policyNote = `no copy in the policy directory (${host.host}.policy.json)`;
        else if (options.unreadablePolicy === 'note') target.policyNote = error.message;
        else throw error;
      }
    targets.push(target);
  }
  return targets;
}
