// The fleet's read side: every host of a fleet file as a backup set to judge (fleet status, report) with
// its own thresholds and its policy's expiry from the admin's copy, or to prune by its own keep rules.
import type { S3Client } from '@aws-sdk/client-s3';
import { isSealdropError, SealdropError } from '../../core/errors.js';
import type { Fleet } from '../../core/fleet.js';
import { findHost, hostBackupSets } from '../../core/fleet-hosts.js';
import type { HealthThresholds, WatchedSet } from '../../core/health.js';
import { worstState } from '../../core/health-state.js';
import { loadPolicyFile } from '../../core/policy-file.js';
import { isEmptyPolicy } from '../../core/retention.js';
import { findRevocation, type BucketPolicy } from '../../core/revocation.js';
import type { S3Location } from '../../core/s3-url.js';
import { readBucketPolicy } from '../s3/bucket-policy.js';
import { prune, type PruneOptions, type PruneResult } from './prune.js';
import { status, type StatusResult } from './status.js';
import { judgeRenewals } from './fleet-renewal.js';

/**
 * Every host's backups against its own thresholds, one result for the fleet. Hosts revoked in the bucket
 * policy (read once) are judged as such; a bucket policy that can't be read is a WARNING on the bucket.
 * A host whose latest backup shows it still on a policy it should have left is a WARNING.
 */
export async function fleetStatus(client: S3Client, fleet: Fleet): Promise<StatusResult> {
  // A policy copy that can't be read is a check that can't check: UNKNOWN, never a policy left unjudged.
  const targets = await fleetTargets(fleet, { unreadablePolicy: 'fail' });
  const now = new Date();
  const revoked = await fleetRevocations(client, fleet, now);
  markRevoked(targets, revoked, fleet.source);
  const result = await status(
    client,
    targets.map((target) => ({ ...target, whole: true })),
    targets[0]!.thresholds,
    now,
  );
  await judgeRenewals(client, fleet, result.targets, now);
  if ('problem' in revoked)
    for (const bucket of result.buckets.filter((b) => b.bucket === fleet.bucket)) {
      bucket.reasons.push(`can't tell which hosts are revoked: ${revoked.problem}`);
      bucket.state = worstState([bucket.state, 'WARNING']);
    }
  result.state = worstState([...result.targets, ...result.buckets].map(({ state }) => state));
  return result;
}

/** Since when the bucket policy denies a host's uploads: to its backups, and to its WAL archive (null: not). */
export interface HostRevocation {
  backups: Date | null;
  wal: Date | null;
}

/**
 * Each host's revocations, from the bucket policy (read once; a Sid whose time can't be read counts from
 * `now`). A bucket policy that can't be read is a problem to report, not a crash.
 */
export async function fleetRevocations(
  client: S3Client,
  fleet: Fleet,
  now = new Date(),
): Promise<{ hosts: Map<string, HostRevocation> } | { problem: string }> {
  let policy: BucketPolicy | null;
  try {
    policy = await readBucketPolicy(client, fleet.bucket);
  } catch (error) {
    if (!isSealdropError(error)) throw error;
    return { problem: error.message };
  }
  const since = (location: S3Location | null) => {
    const revocation = location && findRevocation(policy, location);
    return revocation ? (revocation.since ?? now) : null;
  };
  return {
    hosts: new Map(
      fleet.hosts.map((host) => [host.name, { backups: since(host.location), wal: since(host.wal) }]),
    ),
  };
}

/**
 * Each target of a revoked host's place is revoked since then (nothing is when they can't be told). A
 * host whose backups are revoked (what makes it revoked, as for fleet publish) and its WAL archive not
 * is half-revoked: fleet status and the report page for the open place (judgeHalfRevoked). A WAL archive
 * revoked alone (policy revoke of its policy file) is a choice, not a half-done revocation.
 */
function markRevoked(
  targets: WatchedHost[],
  revoked: Awaited<ReturnType<typeof fleetRevocations>>,
  source: string,
): void {
  if (!('hosts' in revoked)) return;
  for (const target of targets) {
    const host = revoked.hosts.get(target.host);
    const since = target.wal ? host?.wal : host?.backups;
    if (since) target.revokedAt = since;
    else if (host?.backups) target.halfRevoked = { host: target.host, since: host.backups, fleet: source };
  }
}

/**
 * A fleet's hosts for the report, their anomaly alarms from `anomaly` (the report's own options), and
 * those revoked as fleet status sees them; a bucket policy that can't be read is a warning.
 */
export async function fleetReportTargets(
  client: S3Client,
  fleet: Fleet,
  anomaly: HealthThresholds['anomaly'],
): Promise<{ targets: WatchedSet[]; warnings: string[] }> {
  // The page is made whatever one host's copy says: that host's section says it instead.
  const targets = await fleetTargets(fleet, { unreadablePolicy: 'note' });
  const revoked = await fleetRevocations(client, fleet);
  markRevoked(targets, revoked, fleet.source);
  return {
    targets: targets.map((target) => ({ ...target, thresholds: { ...target.thresholds, anomaly } })),
    warnings: 'problem' in revoked ? [`can't tell which hosts are revoked: ${revoked.problem}`] : [],
  };
}

export interface FleetPruneOptions extends Omit<PruneOptions, 'policy' | 'anomaly' | 'onProgress'> {
  /** Only the hosts of these names (each must be one of the fleet's), in the fleet's order. */
  hosts?: readonly string[];
  /** Object versions deleted so far of this host's planned total. */
  onProgress?: (host: string, deleted: number, total: number) => void;
}

/** What became of one host: its prune, or why it was skipped, or the failure or refusal that stopped it. */
export type HostPrune =
  | { host: string; result: PruneResult }
  | { host: string; skipped: string }
  | { host: string; error: SealdropError };

/**
 * Each host (or each named one) pruned by its own keep rules and anomaly thresholds, one after the
 * other; a host with a WAL archive loses the WAL only its removed base backups needed. A host that fails
 * or is refused is reported and the others go on; a signal stops before the next host.
 */
export async function fleetPrune(
  client: S3Client,
  fleet: Fleet,
  options: FleetPruneOptions,
): Promise<HostPrune[]> {
  const { hosts: names, ...pruneOptions } = options;
  const named = names && new Set(names.map((name) => findHost(fleet, name).name));
  const hosts = hostBackupSets(fleet).filter((host) => !named || named.has(host.host));
  if (hosts.every((host) => isEmptyPolicy(host.retention)))
    throw new SealdropError(
      'USAGE',
      `no host ${named ? 'named' : `in ${fleet.source}`} has retention rules: prune would not know what to keep`,
      {
        hint: 'Add keep rules to the fleet file, e.g. defaults: {keep: {daily: 14, weekly: 8, monthly: 24}}.',
      },
    );
  const outcomes: HostPrune[] = [];
  for (const host of hosts) {
    if (options.signal?.aborted) break;
    if (isEmptyPolicy(host.retention)) {
      outcomes.push({ host: host.host, skipped: 'no keep rules in the fleet file' });
      continue;
    }
    try {
      const result = await prune(client, host.location, {
        ...pruneOptions,
        ...(host.wal ? { wal: host.wal } : {}),
        policy: host.retention,
        anomaly: host.thresholds.anomaly,
        onProgress: (deleted, total) => options.onProgress?.(host.host, deleted, total),
      });
      outcomes.push({ host: host.host, result });
    } catch (error) {
      if (!isSealdropError(error)) throw error;
      outcomes.push({ host: host.host, error });
    }
  }
  return outcomes;
}

/** A fleet host as a watched set: always a host's, always with its own thresholds. */
type WatchedHost = WatchedSet & { host: string; thresholds: HealthThresholds };

interface FleetTargetOptions {
  /** A copy in the policy directory that exists but can't be read: fail the whole read, or note it. */
  unreadablePolicy: 'fail' | 'note';
}

async function fleetTargets(fleet: Fleet, options: FleetTargetOptions): Promise<WatchedHost[]> {
  const targets: WatchedHost[] = [];
  for (const host of hostBackupSets(fleet)) {
    const target: WatchedHost = { host: host.host, location: host.location, thresholds: host.thresholds };
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
    // Its WAL archive beside it, judged as a chain (there is no policy copy of its own to read).
    if (host.wal)
      targets.push({ host: host.host, location: host.wal, thresholds: host.thresholds, wal: true });
  }
  return targets;
}
