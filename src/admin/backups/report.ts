// The data behind `sealdrop report`: every backup set listed (a few at a time), with its thresholds and
// its policy's expiry. A set that can't be listed is reported as such, never a failed report.
import type { S3Client } from '@aws-sdk/client-s3';
import { isSealdropError } from '../../core/errors.js';
import type { Fleet } from '../../core/fleet.js';
import { hostTargets } from '../../core/fleet-hosts.js';
import type { HealthThresholds } from '../../core/health.js';
import { loadPolicyFile } from '../../core/policy-file.js';
import type { ReportInput } from '../../core/report.js';
import { formatS3Url, type S3Location } from '../../core/s3-url.js';
import { backupSet } from '../sets/open.js';

/** Sets listed at once: a fleet of hundreds must not open hundreds of listings together. */
const LISTINGS_AT_ONCE = 4;

export interface ReportTarget {
  host: string | null;
  location: S3Location;
  thresholds: HealthThresholds;
  policyExpiresAt?: Date;
  policyNote?: string;
}

export async function gatherReport(
  client: S3Client,
  targets: readonly ReportTarget[],
): Promise<ReportInput[]> {
  const inputs: ReportInput[] = new Array(targets.length);
  let next = 0;
  const worker = async () => {
    while (next < targets.length) {
      const index = next++;
      inputs[index] = await gatherSet(client, targets[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(LISTINGS_AT_ONCE, targets.length) }, worker));
  return inputs;
}

/** A fleet's hosts with their thresholds (anomaly alarms from `anomaly`), and expiries from the policy directory. */
export async function fleetReportTargets(
  fleet: Fleet,
  anomaly: HealthThresholds['anomaly'],
): Promise<ReportTarget[]> {
  const targets: ReportTarget[] = [];
  for (const host of hostTargets(fleet)) {
    const target: ReportTarget = {
      host: host.host,
      location: host.location,
      thresholds: { ...host.thresholds, anomaly },
    };
    if (host.policyFile === null) target.policyNote = 'no policyDir in the fleet file';
    else
      try {
        target.policyExpiresAt = (await loadPolicyFile(host.policyFile)).summary.expiresAt;
      } catch (error) {
        if (!isSealdropError(error)) throw error;
        target.policyNote =
          error.code === 'FILE_NOT_FOUND'
            ? `no copy in the policy directory (${host.host}.policy.json)`
            : error.message;
      }
    targets.push(target);
  }
  return targets;
}

async function gatherSet(client: S3Client, target: ReportTarget): Promise<ReportInput> {
  const base = {
    host: target.host,
    target: formatS3Url(target.location),
    thresholds: target.thresholds,
    ...(target.policyExpiresAt ? { policyExpiresAt: target.policyExpiresAt } : {}),
    ...(target.policyNote ? { policyNote: target.policyNote } : {}),
  };
  try {
    const { snapshots, strays } = await backupSet(client, target.location).list();
    return { ...base, snapshots, strays: strays.count };
  } catch (error) {
    if (!isSealdropError(error)) throw error;
    return { ...base, snapshots: [], strays: 0, error: error.message };
  }
}
