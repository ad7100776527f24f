// wal push: PostgreSQL's archive_command. Each archived file (WAL segment, timeline or backup history)
// becomes one encrypted object PREFIX + NAME + suffix, bound to that place, under a prefix policy. The
// files PostgreSQL has marked ready are uploaded ahead, a few at a time, and remembered (wal-memory.ts),
// so its later calls for them return at once: async archiving without a daemon.
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { tmpdir } from 'node:os';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { compressionLevel, requireZstd, zstdBinding, type Compression } from '../core/compression.js';
import { SealdropError } from '../core/errors.js';
import { rechunk } from '../core/openpgp-chunks.js';
import { assertNotExpired, recipientKeys, type LoadedPolicy } from '../core/policy-file.js';
import { roundMs } from '../core/units.js';
import { archiveObjectKey, parseWalFileName } from '../core/wal.js';
import { compressor, encryptor } from './encrypt.js';
import { renewWhenDue } from './renew.js';
import { objectSink } from './sink.js';
import { removeOrphans, spoolWriteError } from './spool.js';
import type { PostForm } from './upload.js';
import { DEFAULT_AHEAD, forgetRemoved, readyFiles, remember, rememberedStored } from './wal-memory.js';

/** A busy server marks a segment ready about every second: waited for, as a call's start costs more. */
const LINGER_MS = 2000;
const LINGER_POLL_MS = 100;

export interface WalPushOptions {
  policyPath: string;
  /** %p: the file to archive, relative to the data directory PostgreSQL runs the command in. */
  path: string;
  /** Default: the policy file's, else zstd where this Node has it, else gzip. */
  compression?: Compression;
  level?: number;
  /** Files uploaded at once (default 2). */
  jobs?: number;
  /** Other ready files uploaded per call, at most (default DEFAULT_AHEAD). */
  ahead?: number;
  spoolDir?: string;
  retries?: number;
  retryDelayMs?: number;
  signal?: AbortSignal;
  onWarning?: (message: string) => void;
}

export interface WalPushResult {
  name: string;
  key: string;
  /** false: an earlier call had stored it (uploaded ahead). */
  uploaded: boolean;
  /** Other ready files stored by this call. */
  ahead: string[];
  seconds: number;
}

export async function walPush(policy: LoadedPolicy, options: WalPushOptions): Promise<WalPushResult> {
  const started = performance.now();
  const name = basename(options.path);
  if (!parseWalFileName(name))
    throw new SealdropError('USAGE', `${options.path} is not a file PostgreSQL archives`, {
      hint: "Use wal push as archive_command with %p: archive_command = 'sealdrop wal push --policy FILE %p'.",
    });
  const { file, summary } = policy;
  const { location } = summary;
  if (!location.isPrefix)
    throw new SealdropError('USAGE', `${options.policyPath} is for one key; wal push needs a prefix policy`, {
      hint: 'Mint one for the archive: sealdrop policy mint s3://BUCKET/HOST/wal/ --recipient ADMIN.pub.asc --out wal.policy.json',
    });
  assertNotExpired(summary, options.policyPath);
  const compression = options.compression ?? file.compression ?? (zstdBinding() ? 'zstd' : 'gzip');
  if (compression === 'zstd') requireZstd(options.compression ? '--compress zstd' : 'zstd');
  const level = compressionLevel(compression, options.level);
  const { keys: recipients, fingerprints } = await recipientKeys(policy, options.policyPath);
  const renewal = renewWhenDue(
    options.policyPath,
    { loaded: policy, keys: recipients, fingerprints },
    { signal: options.signal },
  );
  const spoolDir = options.spoolDir ?? tmpdir();
  await removeOrphans(spoolDir);
  const target: PostForm = {
    url: file.url,
    fields: file.fields,
    contentMd5: summary.contentMd5,
    sha256Field: summary.sha256Field,
    retries: options.retries ?? 5,
    // PostgreSQL retries the archive_command itself, and keeps the file meanwhile.
    retryForMs: 0,
    retryDelayMs: options.retryDelayMs ?? 1000,
    signal: options.signal,
  };

  const store = async (path: string): Promise<void> => {
    const key = archiveObjectKey(location.key, basename(path), compression);
    const sink = await objectSink({
      spoolDir,
      maxSize: summary.maxSize,
      bucket: location.bucket,
      key,
      target,
    });
    try {
      const encrypt = await encryptor(recipients, sink.binding);
      const source = createReadStream(path, { highWaterMark: 1 << 20 });
      await pipeline(source, compressor(compression, level), rechunk, encrypt, sink.writable).catch(
        (error: unknown) => {
          throw spoolWriteError(error, spoolDir);
        },
      );
      const stored = await sink.commit({ bytesIn: source.bytesRead, compression, startedAt: new Date() });
      await remember(path, {
        key,
        bytes: source.bytesRead,
        versionId: stored.versionId,
        storedAt: new Date().toISOString(),
      });
    } finally {
      await sink.dispose();
    }
  };

  // The file asked for first: its outcome is the exit status. The others, ready now or marked ready
  // by PostgreSQL meanwhile, are a head start of up to --ahead files. A busy server marks a segment
  // ready every second or so, which the call waits for (LINGER_MS) rather than leaving it to a call of
  // its own: each call's start costs a third of a CPU-second, spread over more files this way, while
  // --ahead bounds how many files PostgreSQL sees waiting. A failure among the others is only a
  // warning, as PostgreSQL asks for each again, and ends the head start (S3 is down: each file would
  // spend its retries in turn).
  const uploaded = !rememberedStored(options.path);
  const walDir = options.path.slice(0, options.path.length - name.length);
  const limit = options.ahead ?? DEFAULT_AHEAD;
  const taken = new Set([name]);
  const ahead: string[] = [];
  let failed = false;
  let askedFailure: unknown = null;
  let lastDone = performance.now(); // the linger counts from the last upload's end
  let uploading = 0;
  const nextAhead = async (): Promise<string | undefined> => {
    while (!failed && taken.size <= limit && !options.signal?.aborted) {
      const next = readyFiles(options.path).find(
        (ready) => !taken.has(ready) && parseWalFileName(ready) && !rememberedStored(walDir + ready),
      );
      if (next !== undefined) {
        taken.add(next);
        return next;
      }
      if (uploading === 0 && performance.now() - lastDone >= LINGER_MS) return undefined;
      await sleep(LINGER_POLL_MS);
    }
    return undefined;
  };
  const worker = async (first: string | undefined) => {
    for (let next = first ?? (await nextAhead()); next !== undefined; next = await nextAhead()) {
      uploading++;
      try {
        await store(walDir + next);
        if (next !== name) ahead.push(next);
      } catch (error) {
        failed = true;
        if (next === name) askedFailure = error;
        else options.onWarning?.(`${next} was not uploaded ahead: ${(error as Error).message}`);
      } finally {
        uploading--;
        lastDone = performance.now();
      }
    }
  };
  await Promise.all(
    Array.from({ length: options.jobs ?? 2 }, (_, i) => worker(i === 0 && uploaded ? name : undefined)),
  );
  if (askedFailure !== null) throw askedFailure;
  await forgetRemoved(options.path);
  const renewed = await renewal;
  if (renewed?.warning) options.onWarning?.(renewed.warning);
  return {
    name,
    key: archiveObjectKey(location.key, name, compression),
    uploaded,
    ahead,
    seconds: roundMs((performance.now() - started) / 1000),
  };
}
