// The data behind `sealdrop report`: every backup set listed (a few at a time), with its thresholds and
// its policy's expiry. A set that can't be listed is reported as such, never a failed report.
import type { S3Client } from '@aws-sdk/client-s3';
import { isSealdropError } from '../../core/errors.js';
import { judgeArchiveRevoked, type HealthThresholds, type WatchedSet } from '../../core/health.js';
import { mapBounded } from '../../core/pool.js';
import type { ReportInput } from '../../core/report.js';
import { formatS3Url } from '../../core/s3-url.js';
import { backupSet } from '../sets/open.js';
import { provenSnapshots } from '../sets/proofs.js';
import { walChainStatus } from '../wal/chain.js';

/** Sets listed at once: a fleet of hundreds must not open hundreds of listings together. */
const LISTINGS_AT_ONCE = 4;

/** Every set listed, judged against its own thresholds or else `thresholds`. */
export function gatherReport(
  client: S3Client,
  sets: readonly WatchedSet[],
  thresholds: HealthThresholds,
): Promise<ReportInput[]> {
  return mapBounded(sets, LISTINGS_AT_ONCE, (set) => gatherSet(client, set, thresholds));
}

async function gatherSet(
  client: S3Client,
  target: WatchedSet,
  thresholds: HealthThresholds,
): Promise<ReportInput> {
  const base = {
    host: target.host ?? null,
    target: formatS3Url(target.location),
    thresholds: target.thresholds ?? thresholds,
    ...(target.policyExpiresAt ? { policyExpiresAt: target.policyExpiresAt } : {}),
    ...(target.policyNote ? { policyNote: target.policyNote } : {}),
    ...(target.revokedAt ? { revokedAt: target.revokedAt } : {}),
    ...(target.halfRevoked ? { halfRevoked: target.halfRevoked } : {}),
  };
  try {
    if (target.wal) {
      const now = new Date();
      const { chain, verdict } = await walChainStatus(client, target.location, base.thresholds, now);
      // A revoked host's archive is judged as fleet status judges it.
      const { state, reasons } = judgeArchiveRevoked(verdict, target.revokedAt, chain.newestUpload, now);
      return { ...base, snapshots: [], strays: 0, wal: { state, reasons, ageMs: verdict.rpoMs } };
    }
    const set = backupSet(client, target.location);
    const { snapshots: listed, strays } = await set.list();
    // What verify proved: the same verdicts as status, and the newest good backup.
    const { snapshots, proofs } = await provenSnapshots(set, listed);
    const newest = snapshots.find((s) => s.state === 'complete' && s.verifiedAt);
    return {
      ...base,
      snapshots,
      strays: strays.count,
      ackedAt: proofs.ackedAt,
      pruned: proofs.pruned,
      newestVerified: newest ? { id: newest.id, time: newest.time } : null,
    };
  } catch (error) {
    if (!isSealdropError(error)) throw error;
    return { ...base, snapshots: [], strays: 0, error: error.message };
  }
}
