// Fleet status's renewal check: which policy each host's latest backup was pushed with (its metadata,
// bound by that policy), and a WARNING for a host still on one it should have left late in its life.
// The admin's copy can't tell: it is always the newest published, whatever the host holds.
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isSealdropError } from '../../core/errors.js';
import type { Fleet } from '../../core/fleet.js';
import { worstState } from '../../core/health-state.js';
import { MANIFEST_NAME, runKey } from '../../core/layout.js';
import { mapBounded } from '../../core/pool.js';
import { pushedWith, stalledRenewal, type PushedWith } from '../../core/renewal-evidence.js';
import type { S3Location } from '../../core/s3-url.js';
import { s3Error } from '../s3/client.js';
import { backupSet } from '../sets/open.js';
import type { TargetStatus } from './status.js';

/** Hosts looked at in parallel: a HEAD each, a listing for the few late in their window. */
const PARALLEL = 8;

/** Adds a WARNING and its reason to each host target whose latest backup shows it did not renew. */
export async function judgeRenewals(
  client: S3Client,
  fleet: Fleet,
  targets: TargetStatus[],
  now: Date,
): Promise<void> {
  const hosts = new Map(fleet.hosts.map((host) => [host.name, host]));
  await mapBounded(targets, PARALLEL, async (target) => {
    const host = target.host === null ? undefined : hosts.get(target.host);
    const latest = target.latest;
    if (!host || target.wal || !latest || latest.state !== 'complete' || target.revokedAt) return;
    try {
      const reason = await stalled(client, host.location, latest, {
        warnMs: host.settings.policyWarn,
        publishedExpiry: target.policyExpiresAt === null ? null : new Date(target.policyExpiresAt),
        now,
      });
      if (reason === null) return;
      target.reasons.push(reason);
      target.state = worstState([target.state, 'WARNING']);
    } catch (error) {
      if (!isSealdropError(error)) throw error;
      target.reasons.push(`can't tell whether it renews: ${error.message}`);
    }
  });
}

/** Backups in the window whose policy is read: the few before the latest (each a HEAD). */
const EARLIER_READ = 3;

async function stalled(
  client: S3Client,
  location: S3Location,
  latest: NonNullable<TargetStatus['latest']>,
  judged: { warnMs: number; publishedExpiry: Date | null; now: Date },
): Promise<string | null> {
  // The object that stands for the backup: the key's version, or the run's manifest (written last).
  const key = latest.runId === undefined ? location.key : runKey(location.key, latest.runId, MANIFEST_NAME);
  const policy = await policyOf(client, location.bucket, key, latest.versionId);
  const time = new Date(latest.time);
  // Cheap exits first: most hosts are far from expiry, or pushed once at most in the window.
  if (!policy || policy.expiresAt.getTime() - judged.now.getTime() >= judged.warnMs) return null;
  if (time < policy.renewFrom) return null;
  const set = backupSet(client, location);
  const listing = await set.list({ newestComplete: {} });
  const inWindow = listing.snapshots
    .filter((s) => s.state === 'complete' && s.time >= policy.renewFrom && s.time < time)
    .sort((a, b) => b.time.getTime() - a.time.getTime())
    .slice(0, EARLIER_READ);
  const earlier = await mapBounded(inWindow, EARLIER_READ, async (snapshot) => {
    const ref = set.markObject(snapshot);
    return {
      time: snapshot.time,
      policy: ref ? await policyOf(client, location.bucket, ref.key, ref.versionId) : null,
    };
  });
  return stalledRenewal({ latest: { time, policy }, earlier, ...judged });
}

/** The policy a stored object was pushed with, from its metadata; null: it names none. */
async function policyOf(
  client: S3Client,
  bucket: string,
  key: string,
  versionId: string | undefined,
): Promise<PushedWith | null> {
  try {
    const { Metadata } = await client.send(
      new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }),
    );
    return pushedWith(Metadata ?? {});
  } catch (error) {
    throw s3Error(error, `reading the metadata of s3://${bucket}/${key}`, bucket);
  }
}
