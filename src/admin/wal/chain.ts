// A WAL archive as status and prune read it: one streamed listing of its prefix, tallied into its chain
// (core/wal-chain.ts), and the verdict as status reports it.
import type { S3Client } from '@aws-sdk/client-s3';
import type { HealthThresholds } from '../../core/health.js';
import type { S3Location } from '../../core/s3-url.js';
import { roundMs } from '../../core/units.js';
import {
  DEFAULT_WAL_THRESHOLDS,
  judgeWalChain,
  WalChainTally,
  type ArchivedName,
  type Gaps,
  type NameSample,
  type WalChain,
  type WalVerdict,
} from '../../core/wal-chain.js';
import { listEntries } from '../s3/listing.js';

export async function readWalChain(
  client: S3Client,
  location: S3Location,
  signal?: AbortSignal,
): Promise<WalChain> {
  const tally = new WalChainTally(location.key);
  for await (const page of listEntries(client, location.bucket, location.key, { signal }))
    for (const entry of page) tally.add(entry);
  return tally.finish();
}

/** A WAL archive's part of a status result (--json). */
export interface WalStatusJson {
  /** The age of the newest segment, and the segment. */
  rpoSeconds: number | null;
  newestSegment: FileJson | null;
  /** The newest base backup's history file (its start), and the oldest kept one (gaps count from it). */
  newestBaseBackup: FileJson | null;
  oldestBaseBackup: FileJson | null;
  baseAgeSeconds: number | null;
  /** Holes since the oldest base backup's start (CRITICAL), and before it. */
  gaps: Gaps;
  gapsBefore: Gaps;
  /** Names stored more than once: of differing sizes (CRITICAL), all the same size (WARNING). */
  differing: NameSample;
  reuploaded: NameSample;
  files: number;
  objectVersions: number;
  storedBytes: number;
  thresholds: { warnAgeSeconds: number; maxAgeSeconds: number; baseAgeSeconds: number };
}

interface FileJson {
  name: string;
  time: string;
  size: number;
  versions: number;
}

/** The archive read and judged against the target's thresholds, with what --json shows of it. */
export async function walChainStatus(
  client: S3Client,
  location: S3Location,
  thresholds: HealthThresholds,
  now: Date,
): Promise<{ chain: WalChain; verdict: WalVerdict; json: WalStatusJson }> {
  return walStatusOf(await readWalChain(client, location), thresholds, now);
}

/** An archive's chain judged against the target's thresholds, with what --json shows of it. */
export function walStatusOf(
  chain: WalChain,
  thresholds: HealthThresholds,
  now: Date,
): { chain: WalChain; verdict: WalVerdict; json: WalStatusJson } {
  const wal = thresholds.wal ?? DEFAULT_WAL_THRESHOLDS;
  const verdict = judgeWalChain(chain, { ...wal, nothingStored: thresholds.nothingStored }, now);
  const seconds = (ms: number | null) => (ms === null ? null : roundMs(ms / 1000));
  const file = (name: ArchivedName | null): FileJson | null =>
    name && { name: name.name, time: name.time.toISOString(), size: name.size, versions: name.versions };
  return {
    chain,
    verdict,
    json: {
      rpoSeconds: seconds(verdict.rpoMs),
      newestSegment: file(chain.newestSegment),
      newestBaseBackup: file(chain.newestBackup),
      oldestBaseBackup: file(chain.oldestBackup),
      baseAgeSeconds: seconds(verdict.baseAgeMs),
      gaps: verdict.gaps.since,
      gapsBefore: verdict.gaps.before,
      differing: chain.differing,
      reuploaded: chain.reuploaded,
      files: chain.files,
      objectVersions: chain.objectVersions,
      storedBytes: chain.storedBytes,
      thresholds: {
        warnAgeSeconds: roundMs(wal.warnAgeMs / 1000),
        maxAgeSeconds: roundMs(wal.maxAgeMs / 1000),
        baseAgeSeconds: roundMs(wal.baseAgeMs / 1000),
      },
    },
  };
}
