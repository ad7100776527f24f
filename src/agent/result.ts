// What a push stored, and the one way its reports (the summary, the ping) name it. Light on purpose:
// the CLI loads this at start, and the push itself only when it runs.
import type { StoredPart } from './parts.js';
import type { RenewalResult } from './renew.js';

export interface PushResult {
  bucket: string;
  key: string;
  versionId: string | null;
  etag: string | null;
  bytesIn: number;
  bytesOut: number;
  sha256: string;
  seconds: number;
  attempts: number;
  /** Time spent retrying after failures: how long S3 was out, at most. */
  retriedSeconds: number;
  policyExpiresAt: string;
  /** Prefix policies: the run (key is then its manifest). */
  run?: { runId: string; prefix: string; parts: StoredPart[] };
  /** Policies with a renewal location: what became of the renewal. */
  renewal?: RenewalResult;
}

/** `s3://BUCKET/KEY version ID`, or `run s3://BUCKET/PREFIX<run-id>/`. */
export function storedWhat(result: PushResult): string {
  return result.run
    ? `run s3://${result.bucket}/${result.run.prefix}${result.run.runId}/`
    : `s3://${result.bucket}/${result.key}${result.versionId ? ` version ${result.versionId}` : ''}`;
}
