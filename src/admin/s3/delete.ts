// Deleting object versions in DeleteObjects batches, as prune does for backups and for WAL: what S3 refuses
// is counted and the first ones kept for the report; an interruption stops between batches.
import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { s3Error } from './client.js';

export interface ObjectRef {
  key: string;
  versionId: string;
}

/** What was deleted, and what S3 refused (the first FAILURES_LISTED named). */
export interface DeleteTally {
  deleted: number;
  failed: (ObjectRef & { error: string })[];
  failures: number;
}

/** Keys per DeleteObjects request: S3's limit. */
export const DELETE_BATCH = 1000;
/** At most this many failures are reported one by one; the rest are counted. */
const FAILURES_LISTED = 100;

/**
 * Deletes every version `refs` yields, `batchSize` at a time, into `tally`. Stops between batches once
 * `signal` is aborted (a listing aborted mid-page is an interruption too, not a failure).
 */
export async function deleteAll(
  client: S3Client,
  bucket: string,
  refs: AsyncIterable<ObjectRef>,
  tally: DeleteTally,
  options: { batchSize?: number; signal?: AbortSignal; onBatch?: () => void } = {},
): Promise<void> {
  const { signal } = options;
  const batchSize = options.batchSize ?? DELETE_BATCH;
  const deleteNow = async (batch: ObjectRef[]) => {
    await deleteBatch(client, bucket, batch, tally);
    options.onBatch?.();
  };
  try {
    let batch: ObjectRef[] = [];
    for await (const ref of refs) {
      if (signal?.aborted) break;
      batch.push(ref);
      if (batch.length === batchSize) {
        await deleteNow(batch);
        batch = [];
      }
    }
    if (batch.length > 0 && !signal?.aborted) await deleteNow(batch);
  } catch (error) {
    if (!signal?.aborted) throw error;
  }
}

async function deleteBatch(
  client: S3Client,
  bucket: string,
  batch: ObjectRef[],
  tally: DeleteTally,
): Promise<void> {
  const fail = (ref: ObjectRef, error: string) => {
    tally.failures++;
    if (tally.failed.length < FAILURES_LISTED) tally.failed.push({ ...ref, error });
  };
  try {
    const response = await client.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: batch.map((v) => ({ Key: v.key, VersionId: v.versionId })), Quiet: true },
      }),
    );
    const errors = response.Errors ?? [];
    for (const e of errors)
      fail({ key: e.Key ?? '', versionId: e.VersionId ?? '' }, `${e.Code}: ${e.Message}`);
    tally.deleted += batch.length - errors.length;
  } catch (error) {
    const failure = s3Error(error, 'deleting versions');
    for (const ref of batch) fail(ref, failure.message);
  }
}
