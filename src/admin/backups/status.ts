// status: are backups still arriving? Per backup set the latest complete backup's age and size and the
// counts, and per bucket its own checks, judged in the monitoring-plugin convention. Failing to look is
// UNKNOWN, never an exception.
import type { S3Client } from '@aws-sdk/client-s3';
import { isSealdropError } from '../../core/errors.js';
import {
  assessHealth,
  judgeArchiveRevoked,
  judgeHalfRevoked,
  noCounts,
  type Health,
  type HealthThresholds,
  type WatchedSet,
} from '../../core/health.js';
import { worstState, type HealthState } from '../../core/health-state.js';
import { NO_PROOFS } from '../../core/proofs.js';
import { formatS3Url, type S3Location } from '../../core/s3-url.js';
import { snapshotJson, type SnapshotJson } from '../../core/snapshot.js';
import { roundMs } from '../../core/units.js';
import type { BucketHealth } from '../../core/bucket-health.js';
import type { BackupSet, SnapshotListing } from '../sets/backup-set.js';
import { checkBucket } from '../s3/bucket-check.js';
import { provenSnapshots } from '../sets/proofs.js';
import { setsAt } from '../sets/inventory.js';
import { readWalChain, walStatusOf, type WalStatusJson } from '../wal/chain.js';
import type { WalChain } from '../../core/wal-chain.js';

export interface TargetStatus {
  target: string;
  host: string | null;
  state: HealthState;
  reasons: string[];
  /** The newest complete backup. */
  latest: SnapshotJson | null;
  ageSeconds: number | null;
  counts: Health['counts'];
  policyExpiresAt: string | null;
  /** When the bucket policy cut it off (fleet revoke); null: not revoked, or not known. */
  revokedAt: string | null;
  /** What it was judged against: CRITICAL past maxAgeSeconds, WARNING past warnAgeSeconds. */
  thresholds: { maxAgeSeconds: number; warnAgeSeconds: number | null };
  /** A WAL archive's chain (then ageSeconds is its RPO); null: a backup set. */
  wal: WalStatusJson | null;
}

export interface StatusResult {
  state: HealthState;
  targets: TargetStatus[];
  /** Each bucket's own checks (versioning, lifecycle, Object Lock), once per bucket. */
  buckets: BucketHealth[];
  checkedAt: string;
}

/**
 * Every target's verdict, and every bucket's. A key is one set; a prefix is every set under it unless
 * it is `whole` (then it is one run set); a prefix with nothing under it is judged as an empty set. A
 * `wal` prefix is a WAL archive, judged as a chain, as is every archive found under a prefix.
 */
export async function status(
  client: S3Client,
  targets: readonly WatchedSet[],
  thresholds: HealthThresholds,
  now = new Date(),
): Promise<StatusResult> {
  const bucketNames = [...new Set(targets.map((target) => target.location.bucket))];
  const [results, buckets] = await Promise.all([
    Promise.all(
      targets.map(async (target) =>
        // A place its revoked host can still upload to pages, whatever was found there.
        (await targetStatuses(client, target, thresholds, now)).map((result) => ({
          ...result,
          ...judgeHalfRevoked(result, target.halfRevoked),
        })),
      ),
    ),
    Promise.all(bucketNames.map((bucket) => checkBucket(client, bucket))),
  ]);
  const flat = results.flat();
  return {
    state: worstState([...flat, ...buckets].map(({ state }) => state)),
    targets: flat,
    buckets,
    checkedAt: now.toISOString(),
  };
}

async function targetStatuses(
  client: S3Client,
  target: WatchedSet,
  defaults: HealthThresholds,
  now: Date,
): Promise<TargetStatus[]> {
  const thresholds = target.thresholds ?? defaults;
  const base = (location: S3Location | string) => ({
    target: typeof location === 'string' ? location : formatS3Url(location),
    host: target.host ?? null,
    policyExpiresAt: target.policyExpiresAt?.toISOString() ?? null,
    revokedAt: target.revokedAt?.toISOString() ?? null,
    wal: null,
    thresholds: {
      maxAgeSeconds: roundMs(thresholds.maxAgeMs / 1000),
      warnAgeSeconds: thresholds.warnAgeMs === null ? null : roundMs(thresholds.warnAgeMs / 1000),
    },
  });
  const judge = async (
    { target: url, snapshots: listed, strays }: Pick<SnapshotListing, 'target' | 'snapshots' | 'strays'>,
    set?: BackupSet,
  ) => {
    // What is proven about the set: one listing of its proofs.
    const { snapshots, proofs } = set
      ? await provenSnapshots(set, listed)
      : { snapshots: listed, proofs: NO_PROOFS };
    const health = assessHealth(
      {
        snapshots,
        strays: strays.count,
        policyExpiresAt: target.policyExpiresAt,
        ackedAt: proofs.ackedAt,
        pruned: proofs.pruned,
        revokedAt: target.revokedAt,
      },
      thresholds,
      now,
    );
    return {
      ...base(url),
      state: health.state,
      reasons: health.reasons,
      latest: health.latest && snapshotJson(health.latest),
      ageSeconds: health.ageMs === null ? null : roundMs(health.ageMs / 1000),
      counts: health.counts,
    };
  };
  const walResult = (location: S3Location, chain: WalChain): TargetStatus => {
    const { verdict, json } = walStatusOf(chain, thresholds, now);
    // A revoked host's archive is judged as its backups are: stale on purpose, alarming on a late upload.
    const { state, reasons } = judgeArchiveRevoked(verdict, target.revokedAt, chain.newestUpload, now);
    return {
      ...base(location),
      state,
      reasons,
      latest: null,
      ageSeconds: json.rpoSeconds,
      counts: { ...noCounts(), strays: chain.strays.count },
      thresholds: {
        maxAgeSeconds: json.thresholds.maxAgeSeconds,
        warnAgeSeconds: json.thresholds.warnAgeSeconds,
      },
      wal: json,
    };
  };
  try {
    if (target.wal) return [walResult(target.location, await readWalChain(client, target.location))];
    const results: TargetStatus[] = [];
    for await (const item of setsAt(client, target.location, { whole: target.whole }))
      results.push(
        'wal' in item ? walResult(item.wal.location, item.wal.chain) : await judge(item.listing, item.set),
      );
    return results.length > 0
      ? results
      : [
          await judge({
            target: formatS3Url(target.location),
            snapshots: [],
            strays: { count: 0, sample: [] },
          }),
        ];
  } catch (error) {
    if (!isSealdropError(error)) throw error;
    return [
      {
        ...base(target.location),
        state: 'UNKNOWN',
        reasons: [`can't tell: ${error.message}`],
        latest: null,
        ageSeconds: null,
        counts: noCounts(),
      },
    ];
  }
}
