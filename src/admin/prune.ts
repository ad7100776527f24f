// prune: apply a restic-style retention policy to a key's versions. The plan is pure (planRetention);
// this module adds the guards, and deletes exactly the planned version ids when told to.
import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { SealdropError } from '../core/errors.js';
import { describePolicy, isEmptyPolicy, planRetention, type RetentionPolicy } from '../core/retention.js';
import { formatS3Url, type S3Location } from '../core/s3-url.js';
import type { ObjectVersion } from '../core/versions.js';
import { s3Error } from './s3-client.js';
import { listVersions } from './versions.js';

export interface PruneOptions {
  policy: RetentionPolicy;
  timeZone?: string;
  /** Delete (true) or only plan (false: dry run). */
  execute: boolean;
  /** Allow a plan that removes more than half of the versions. */
  force?: boolean;
  /** Also remove delete markers. */
  deleteMarkers?: boolean;
  now?: Date;
}

export interface PlannedVersion {
  versionId: string;
  time: Date;
  size: number;
  isDeleteMarker: boolean;
  action: 'keep' | 'remove';
  reasons: string[];
}

export interface PruneResult {
  target: string;
  policy: string;
  dryRun: boolean;
  versions: PlannedVersion[];
  totals: { versions: number; keep: number; remove: number; bytesFreed: number };
  warnings: string[];
  /** With execute: what was deleted and what S3 refused to delete. */
  deleted: string[];
  failed: { versionId: string; error: string }[];
}

/** S3's DeleteObjects takes at most 1000 keys per request. */
const DELETE_BATCH = 1000;

export async function prune(
  client: S3Client,
  location: S3Location,
  options: PruneOptions,
): Promise<PruneResult> {
  if (isEmptyPolicy(options.policy)) {
    throw new SealdropError('USAGE', 'no retention policy given: prune would not know what to keep', {
      hint: 'Pass --keep-daily 7 --keep-weekly 5 --keep-monthly 12 or similar (see --help).',
    });
  }
  const listed = await listVersions(client, location);
  const plan = planVersions(listed, options);
  const removable = plan.filter((v) => v.action === 'remove');
  const backups = plan.filter((v) => !v.isDeleteMarker);
  const removedBackups = removable.filter((v) => !v.isDeleteMarker).length;
  const warnings = keepLastAloneWarning(options.policy);
  const result: PruneResult = {
    target: formatS3Url(location),
    policy: describePolicy(options.policy),
    dryRun: !options.execute,
    versions: plan,
    totals: {
      versions: backups.length,
      keep: backups.length - removedBackups,
      remove: removedBackups,
      bytesFreed: removable.reduce((sum, v) => sum + v.size, 0),
    },
    warnings,
    deleted: [],
    failed: [],
  };
  if (!options.execute || removable.length === 0) return result;
  if (removedBackups * 2 > backups.length && !options.force) {
    throw new SealdropError(
      'USAGE',
      `refusing to remove ${removedBackups} of ${backups.length} backups (more than half); nothing was deleted`,
      {
        hint: 'Check the policy with a dry run (no --yes); pass --force if this is really intended.',
      },
    );
  }
  for (let start = 0; start < removable.length; start += DELETE_BATCH) {
    const batch = removable.slice(start, start + DELETE_BATCH);
    try {
      const response = await client.send(
        new DeleteObjectsCommand({
          Bucket: location.bucket,
          Delete: {
            Objects: batch.map((v) => ({ Key: location.key, VersionId: v.versionId })),
            Quiet: false,
          },
        }),
      );
      result.deleted.push(...(response.Deleted ?? []).map((d) => d.VersionId ?? ''));
      result.failed.push(
        ...(response.Errors ?? []).map((e) => ({
          versionId: e.VersionId ?? '',
          error: `${e.Code}: ${e.Message}`,
        })),
      );
    } catch (error) {
      const failure = s3Error(error, 'deleting versions');
      result.failed.push(...batch.map((v) => ({ versionId: v.versionId, error: failure.message })));
    }
  }
  return result;
}

/** The plan for every listed version; the newest backup is always kept, delete markers by choice. */
function planVersions(listed: readonly ObjectVersion[], options: PruneOptions): PlannedVersion[] {
  const backups = listed.filter((v) => !v.isDeleteMarker);
  const plan = planRetention(
    backups.map((v) => ({ id: v.versionId, time: v.lastModified })),
    options.policy,
    {
      ...(options.timeZone ? { timeZone: options.timeZone } : {}),
      ...(options.now ? { now: options.now } : {}),
    },
  );
  const reasons = new Map(plan.keep.map((k) => [k.id, k.reasons]));
  const newest = backups[0]?.versionId;
  return listed.map((v): PlannedVersion => {
    const base = {
      versionId: v.versionId,
      time: v.lastModified,
      size: v.size,
      isDeleteMarker: v.isDeleteMarker,
    };
    if (v.isDeleteMarker) {
      return {
        ...base,
        action: options.deleteMarkers ? 'remove' : 'keep',
        reasons: options.deleteMarkers ? [] : ['delete marker'],
      };
    }
    const kept = reasons.get(v.versionId);
    if (kept) return { ...base, action: 'keep', reasons: kept };
    // Never delete the newest backup, whatever the policy says.
    if (v.versionId === newest) return { ...base, action: 'keep', reasons: ['latest'] };
    return { ...base, action: 'remove', reasons: [] };
  });
}

function keepLastAloneWarning(policy: RetentionPolicy): string[] {
  const { last, ...rest } = policy;
  if (!last || !isEmptyPolicy(rest)) return [];
  return [
    '--keep-last alone is fragile: a compromised server can push junk versions and crowd the real backups out of the last N. Add calendar rules (--keep-daily, --keep-weekly, --keep-monthly).',
  ];
}
