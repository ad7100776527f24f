// push: dump → compress → encrypt → spool → POST, with nothing but a policy file.
// Refuses (and leaves no object and no spool file) on any failure before the upload.
import { tmpdir } from 'node:os';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SealdropError } from '../core/errors.js';
import { readRecipient } from '../core/openpgp-keys.js';
import { assertNotExpired, loadPolicyFile } from '../core/policy-file.js';
import { compressor, encryptor, rechunk, type Compression } from './encrypt.js';
import { commandSource, stdinSource, type DumpSource } from './source.js';
import { Spool, spoolWriteError } from './spool.js';
import { upload } from './upload.js';

export interface PushOptions {
  policyPath: string;
  /** Spawned with its stdout as the data; stdin when absent. */
  command?: string[];
  compression?: Compression;
  level?: number;
  allowEmpty?: boolean;
  spoolDir?: string;
  retries?: number;
  retryDelayMs?: number;
  warnExpiryMs?: number;
  signal?: AbortSignal;
  onWarning?: (message: string) => void;
  onProgress?: (event: PushProgress) => void;
  onRetry?: (attempt: number, delayMs: number, reason: string) => void;
}

export interface PushProgress {
  phase: 'reading' | 'uploading';
  bytes: number;
  totalBytes?: number;
}

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
  policyExpiresAt: string;
}

export async function push(options: PushOptions): Promise<PushResult> {
  const started = performance.now();
  const { file, summary } = await loadPolicyFile(options.policyPath);
  assertNotExpired(summary, options.policyPath);
  const left = summary.expiresAt.getTime() - Date.now();
  if (left < (options.warnExpiryMs ?? 3 * 86_400_000)) {
    options.onWarning?.(
      `the upload policy expires at ${summary.expiresAt.toISOString()}; mint a new one soon (sealdrop policy mint)`,
    );
  }
  if (summary.location.isPrefix) {
    throw new SealdropError(
      'USAGE',
      `${options.policyPath} is a prefix policy; multi-object runs are not supported by this version yet`,
      {
        hint: 'Mint a policy for one key (no trailing slash).',
      },
    );
  }
  const recipients = await Promise.all(
    file.recipients.map((armored, i) => readRecipient(armored, `${options.policyPath}: recipient ${i + 1}`)),
  );
  const level = options.level ?? 6;
  if (!(Number.isInteger(level) && level >= 1 && level <= 9))
    throw new SealdropError('USAGE', `--level ${level}: use 1 (fast) to 9 (small)`);

  const spoolDir = options.spoolDir ?? tmpdir();
  const { spool, sink } = await Spool.create(spoolDir);
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
      compressor(options.compression ?? 'gzip', level),
      rechunk(),
      await encryptor(recipients),
      spool.meter(summary.maxSize),
      sink,
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

    const result = await upload({
      url: file.url,
      fields: file.fields,
      filePath: spool.path,
      fileSize: spool.bytes,
      retries: options.retries ?? 5,
      retryDelayMs: options.retryDelayMs ?? 1000,
      signal: options.signal,
      onProgress: (bytes, totalBytes) => options.onProgress?.({ phase: 'uploading', bytes, totalBytes }),
      onRetry: options.onRetry,
    }).catch((error: unknown) => {
      throw options.signal?.aborted ? interrupted(options.signal) : error;
    });
    return {
      bucket: summary.location.bucket,
      key: summary.location.key,
      versionId: result.versionId,
      etag: result.etag,
      bytesIn,
      bytesOut: spool.bytes,
      sha256: spool.sha256,
      seconds: (performance.now() - started) / 1000,
      attempts: result.attempts,
      policyExpiresAt: summary.expiresAt.toISOString(),
    };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    source.stop();
    await spool.remove();
  }
}

function interrupted(signal: AbortSignal): SealdropError {
  const name = typeof signal.reason === 'string' ? signal.reason : 'SIGINT';
  return new SealdropError('INTERRUPTED', `interrupted by ${name}; nothing was uploaded`, {
    exitStatus: name === 'SIGTERM' ? 143 : 130,
  });
}
