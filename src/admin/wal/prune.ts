// The WAL part of `prune BASE --wal PREFIX`: planned from the base backups' plan and the archive's backup
// history files (core/wal-prune.ts), then counted, or deleted, in one more pass over the archive.
import type { S3Client } from '@aws-sdk/client-s3';
import type { PrunePlan } from '../../core/prune-plan.js';
import { formatS3Url, type S3Location } from '../../core/s3-url.js';
import { archivedFileOf } from '../../core/wal.js';
import { planWalPrune, walRemover, type WalPrunePlan } from '../../core/wal-prune.js';
import { deleteAll, type DeleteTally, type ObjectRef } from '../s3/delete.js';
import { listEntries } from '../s3/listing.js';
import { readWalChain } from './chain.js';

export interface WalPruneResult extends DeleteTally {
  target: string;
  plan: WalPrunePlan;
  /** What the plan removes: archived files, their object versions (delete markers too), bytes. */
  files: number;
  objectVersions: number;
  bytesFreed: number;
  /** The first and last file removed, in name order. */
  first: string | null;
  last: string | null;
  /** Why nothing was deleted although the plan removes something (--yes only); null: carried out. */
  skipped: string | null;
}

export async function planWal(
  client: S3Client,
  location: S3Location,
  basePlan: Pick<PrunePlan, 'items'>,
  signal?: AbortSignal,
): Promise<WalPruneResult> {
  const chain = await readWalChain(client, location, signal);
  const plan = planWalPrune(basePlan, chain.backupFiles, chain.backupFilesComplete);
  return {
    target: formatS3Url(location),
    plan,
    files: 0,
    objectVersions: 0,
    bytesFreed: 0,
    first: null,
    last: null,
    deleted: 0,
    failed: [],
    failures: 0,
    skipped: null,
  };
}

/**
 * Goes through the archive once more: counts what the plan removes into `result` and, with `execute`,
 * deletes it (every version of each such file). Files archived meanwhile are judged by the same plan.
 */
export async function sweepWal(
  client: S3Client,
  location: S3Location,
  result: WalPruneResult,
  options: { execute: boolean; batchSize?: number; signal?: AbortSignal; onBatch?: () => void },
): Promise<void> {
  if (result.plan.cutoff === null) return;
  const removes = walRemover(result.plan);
  async function* doomed(): AsyncGenerator<ObjectRef> {
    let lastName = '';
    for await (const page of listEntries(client, location.bucket, location.key, { signal: options.signal }))
      for (const entry of page) {
        const file = archivedFileOf(location.key, entry.key)?.file;
        if (!file || !removes(file)) continue;
        result.objectVersions++;
        result.bytesFreed += entry.size;
        if (file.name !== lastName) {
          result.files++;
          result.first ??= file.name;
          result.last = file.name;
          lastName = file.name;
        }
        yield { key: entry.key, versionId: entry.versionId };
      }
  }
  if (options.execute) await deleteAll(client, location.bucket, doomed(), result, options);
  else for await (const ref of doomed()) void ref;
}
