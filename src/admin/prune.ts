// prune: apply a restic-style retention policy to a key's versions. The plan is pure (planRetention);
// this module adds the guards, and deletes exactly the planned version ids when told to.
import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { SealdropError } from '../core/errors.js';
import {
  describePolicy,
  isEmptyPolicy,
  planRetention,
  type RetentionItem,
  type RetentionPolicy,
} from '../core/retention.js';
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
  assertPolicy(options.policy);
  const listed = await listVersions(client, location);
  const plan = planVersions(listed, options);
  const removable = plan.filter((v) => v.action === 'remove');
  const backups = plan.filter((v) => !v.isDeleteMarker);
  const removedBackups = removable.filter((v) => !v.isDeleteMarker).length;
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
    warnings: retentionWarnings(options.policy),
    deleted: [],
    failed: [],
  };
  if (!options.execute || removable.length === 0) return result;
  guardMoreThanHalf(removedBackups, backups.length, 'backups', options.force);
  const outcome = await deleteObjectVersions(
    client,
    location.bucket,
    removable.map((v) => ({ key: location.key, versionId: v.versionId })),
  );
  result.deleted = outcome.deleted.map((v) => v.versionId);
  result.failed = outcome.failed.map((f) => ({ versionId: f.versionId, error: f.error }));
  return result;
}

/** The plan for every listed version; the newest backup is always kept, delete markers by choice. */
function planVersions(listed: readonly ObjectVersion[], options: PruneOptions): PlannedVersion[] {
  const backups = listed.filter((v) => !v.isDeleteMarker);
  const reasons = keptReasons(
    backups.map((v) => ({ id: v.versionId, time: v.lastModified })),
    options,
  );
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

// The mechanisms prune shares with retention over runs (src/admin/runs.ts).

export interface PlanOptions {
  policy: RetentionPolicy;
  timeZone?: string;
  now?: Date;
}

export function assertPolicy(policy: RetentionPolicy): void {
  if (isEmptyPolicy(policy)) {
    throw new SealdropError('USAGE', 'no retention policy given: prune would not know what to keep', {
      hint: 'Pass --keep-daily 7 --keep-weekly 5 --keep-monthly 12 or similar (see --help).',
    });
  }
}

/** Why the policy keeps each kept item, by id; an id missing from the map is removed by the policy. */
export function keptReasons(items: RetentionItem[], options: PlanOptions): Map<string, string[]> {
  const plan = planRetention(items, options.policy, {
    ...(options.timeZone ? { timeZone: options.timeZone } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  return new Map(plan.keep.map((k) => [k.id, k.reasons]));
}

/** A mistyped policy must not wipe history: more than half needs --force. */
export function guardMoreThanHalf(removed: number, total: number, what: string, force?: boolean): void {
  if (removed * 2 > total && !force) {
    throw new SealdropError(
      'USAGE',
      `refusing to remove ${removed} of ${total} ${what} (more than half); nothing was deleted`,
      { hint: 'Check the policy with a dry run (no --yes); pass --force if this is really intended.' },
    );
  }
}

export function retentionWarnings(policy: RetentionPolicy): string[] {
  const { last, ...rest } = policy;
  if (!last || !isEmptyPolicy(rest)) return [];
  return [
    '--keep-last alone is fragile: a compromised server can push junk versions and crowd the real backups out of the last N. Add calendar rules (--keep-daily, --keep-weekly, --keep-monthly).',
  ];
}

export interface ObjectVersionRef {
  key: string;
  versionId: string;
}

/** Deletes exactly these versions (1000 per DeleteObjects request, S3's limit), reporting each failure. */
export async function deleteObjectVersions(
  client: S3Client,
  bucket: string,
  versions: readonly ObjectVersionRef[],
): Promise<{ deleted: ObjectVersionRef[]; failed: (ObjectVersionRef & { error: string })[] }> {
  const deleted: ObjectVersionRef[] = [];
  const failed: (ObjectVersionRef & { error: string })[] = [];
  for (let start = 0; start < versions.length; start += DELETE_BATCH) {
    const batch = versions.slice(start, start + DELETE_BATCH);
    try {
      const response = await client.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: batch.map((v) => ({ Key: v.key, VersionId: v.versionId })), Quiet: false },
        }),
      );
      deleted.push(
        ...(response.Deleted ?? []).map((d) => ({ key: d.Key ?? '', versionId: d.VersionId ?? '' })),
      );
      failed.push(
        ...(response.Errors ?? []).map((e) => ({
          key: e.Key ?? '',
          versionId: e.VersionId ?? '',
          error: `${e.Code}: ${e.Message}`,
        })),
      );
    } catch (error) {
      const failure = s3Error(error, 'deleting versions');
      failed.push(...batch.map((v) => ({ ...v, error: failure.message })));
    }
  }
  return { deleted, failed };
}
