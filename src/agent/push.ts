// push: dump → compress → encrypt → sink (one spooled object, or a run of parts), with nothing but a policy file.
// Refuses (no object, no manifest, no spool file left) on any failure before the end of the dump.
import { tmpdir } from 'node:os';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { interruptedBy, SealdropError } from '../core/errors.js';
import {
  assertNotExpired,
  recipientKeys,
  type LoadedPolicy,
  type PolicyFile,
  type PolicySummary,
} from '../core/policy-file.js';
import { rechunk } from '../core/openpgp-chunks.js';
import { roundMs } from '../core/units.js';
import { compressionLevel, requireZstd, type Compression } from '../core/compression.js';
import { suffixMismatch } from '../core/layout.js';
import { plural } from '../core/words.js';
import { compressor, encryptor } from './encrypt.js';
import { commandSource, stdinSource, type DumpSource } from './source.js';
import { choosePartSize, runSink, type StoredPart, type StoredRun } from './parts.js';
import { objectSink, type Sink, type StoredObject } from './sink.js';
import { removeOrphans, spoolWriteError } from './spool.js';
import { renewWhenDue, type RenewalResult } from './renew.js';
import type { PushResult } from './result.js';
import type { PostForm } from './upload.js';

export interface PushOptions {
  /** The policy file: renewal replaces it, errors name it. */
  policyPath: string;
  /** Spawned with its stdout as the data; stdin when absent. */
  command?: string[];
  /** Default: the policy file's, else gzip. */
  compression?: Compression;
  /** Default: the compression's (gzip 6, zstd 3). */
  level?: number;
  allowEmpty?: boolean;
  spoolDir?: string;
  /** The size of each part of a run (default 1 GiB, at most the policy's max size); one key has no parts. */
  partSize?: number;
  retries?: number;
  /** Retry for at least this long after a failure (default 15 min): the spool stays meanwhile. */
  retryForMs?: number;
  retryDelayMs?: number;
  warnExpiryMs?: number;
  signal?: AbortSignal;
  onWarning?: (message: string) => void;
  onProgress?: (event: PushProgress) => void;
  onRetry?: (attempt: number, delayMs: number, reason: string) => void;
  /** A part of a run is stored. */
  onPart?: (part: StoredPart) => void;
  /** The renewal has settled, whatever becomes of the push (policies with a renewal location only). */
  onRenewal?: (renewal: RenewalResult) => void;
  /**
   * The caller's own checks of its options against the policy, so that its errors can name its own
   * inputs (the CLI's flags): run once the policy's checks pass, before anything is read or written.
   */
  checkOptions?: (policy: PolicySummary) => void;
}

export interface PushProgress {
  phase: 'reading' | 'uploading';
  bytes: number;
  totalBytes?: number;
}

/** `policy` is the file at `options.policyPath`, loaded by the caller (which reports on it too). */
export async function push(policy: LoadedPolicy, options: PushOptions): Promise<PushResult> {
  const started = performance.now();
  const startedAt = new Date();
  const { file, summary } = policy;
  assertNotExpired(summary, options.policyPath);
  const { keys: recipients, fingerprints } = await recipientKeys(policy, options.policyPath);
  // Alongside the backup; its outcome is a warning at most. The expiry warning waits for it.
  const renewal = renewWhenDue(
    options.policyPath,
    { loaded: policy, keys: recipients, fingerprints },
    { signal: options.signal },
  ).then((result) => {
    const expiring = summary.expiresAt.getTime() - Date.now() < (options.warnExpiryMs ?? 3 * 86_400_000);
    if (result?.warning) options.onWarning?.(result.warning);
    else if (expiring && result?.state !== 'renewed')
      options.onWarning?.(
        `the upload policy expires at ${summary.expiresAt.toISOString()}; ${file.renew ? "its renewal hasn't landed: the admin runs sealdrop fleet publish" : 'mint a new one soon (sealdrop policy mint)'}`,
      );
    if (result) options.onRenewal?.(result);
    return result;
  });
  const compression = options.compression ?? file.compression ?? 'gzip';
  const { location } = summary;
  const mismatch = location.isPrefix ? null : suffixMismatch(location.key, compression);
  if (mismatch)
    throw new SealdropError('USAGE', `${mismatch}; nothing was uploaded`, {
      hint: `Push with the compression the key names, or mint a policy for a key that names ${compression}.`,
    });
  options.checkOptions?.(summary);
  if (compression === 'zstd')
    requireZstd(options.compression ? '--compress zstd' : `${options.policyPath} (compression zstd)`, {
      gzip: location.isPrefix || suffixMismatch(location.key, 'gzip') === null,
    });
  const level = compressionLevel(compression, options.level);

  const spoolDir = options.spoolDir ?? tmpdir();
  const orphans = await removeOrphans(spoolDir);
  if (orphans.length > 0)
    options.onWarning?.(
      `removed ${plural(orphans.length, 'spool file')} left by an earlier push that was killed (${orphans.slice(0, 3).join(', ')}${orphans.length > 3 ? ', …' : ''})`,
    );
  const sink = await openSink(options, file, summary, spoolDir);
  const encrypt = await encryptor(recipients, sink.binding);
  // No await from here to pipeline(): a dump command that exits before its stdout is piped somewhere
  // gets that stdout drained by Node (flushStdio), and its data would be lost.
  const source: DumpSource = options.command?.length
    ? commandSource(options.command[0]!, options.command.slice(1))
    : stdinSource();
  const onAbort = () => source.stop();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let bytesIn = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytesIn += chunk.length;
        options.onProgress?.({ phase: 'reading', bytes: bytesIn });
        callback(null, chunk);
      },
    });
    const stages = pipeline(
      source.stream,
      counter,
      compressor(compression, level),
      rechunk,
      encrypt,
      sink.writable,
      ...(options.signal ? [{ signal: options.signal }] : []),
    );
    try {
      await stages;
    } catch (error) {
      // A failure downstream (too large, disk full) is the root cause: stopping the dump is its consequence.
      source.stop();
      await source.finished.catch(() => {});
      throw options.signal?.aborted ? interrupted(options.signal) : spoolWriteError(error, spoolDir);
    }
    await source.finished.catch((error: unknown) => {
      throw options.signal?.aborted ? interrupted(options.signal) : error;
    });
    if (bytesIn === 0 && !options.allowEmpty) {
      throw new SealdropError('EMPTY_INPUT', 'the input was empty; nothing was uploaded');
    }

    const stored = await sink.commit({ bytesIn, compression, startedAt }).catch((error: unknown) => {
      throw options.signal?.aborted ? interrupted(options.signal) : error;
    });
    const renewed = await renewal;
    return {
      bucket: location.bucket,
      key: stored.key,
      versionId: stored.versionId,
      etag: stored.etag,
      bytesIn,
      bytesOut: stored.bytes,
      sha256: stored.sha256,
      seconds: roundMs((performance.now() - started) / 1000),
      attempts: stored.attempts,
      retriedSeconds: roundMs(stored.retriedMs / 1000),
      policyExpiresAt: summary.expiresAt.toISOString(),
      ...('runId' in stored
        ? { run: { runId: stored.runId, prefix: stored.prefix, parts: stored.parts } }
        : {}),
      ...(renewed ? { renewal: renewed } : {}),
    };
  } catch (error) {
    await renewal;
    throw withStored(error, await sink.settle());
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    source.stop();
    await sink.dispose();
  }
}

/** A single-key policy stores one object; a prefix policy a run of parts and a manifest. */
async function openSink(
  options: PushOptions,
  file: PolicyFile,
  summary: PolicySummary,
  spoolDir: string,
): Promise<Sink<StoredObject | StoredRun>> {
  const { location } = summary;
  const target: PostForm = {
    url: file.url,
    fields: file.fields,
    contentMd5: summary.contentMd5,
    sha256Field: summary.sha256Field,
    retries: options.retries ?? 5,
    retryForMs: options.retryForMs ?? 15 * 60_000,
    retryDelayMs: options.retryDelayMs ?? 1000,
    signal: options.signal,
    onRetry: options.onRetry,
  };
  if (location.isPrefix) {
    const partSize = choosePartSize(options.partSize ?? file.partSize, summary.maxSize);
    return runSink({
      spoolDir,
      bucket: location.bucket,
      prefix: location.key,
      partSize,
      target,
      onPart: options.onPart,
    });
  }
  return objectSink({
    spoolDir,
    maxSize: summary.maxSize,
    bucket: location.bucket,
    key: location.key,
    target,
    onUploadProgress: (bytes, totalBytes) => options.onProgress?.({ phase: 'uploading', bytes, totalBytes }),
  });
}

/** A failed run keeps the parts it stored (the agent can't delete): the error must say so. */
function withStored(error: unknown, stored: string | null): unknown {
  if (stored === null || !(error instanceof SealdropError)) return error;
  return new SealdropError(error.code, `${error.message.replace(/; nothing was uploaded$/, '')}; ${stored}`, {
    exitStatus: error.exitStatus,
    hint: 'The parts stay until an admin prunes them (sealdrop prune); fix the cause and push again.',
    cause: error,
  });
}

function interrupted(signal: AbortSignal): SealdropError {
  return interruptedBy(signal, '; nothing was uploaded');
}
