// The download of one object version as one stream that survives a broken connection: when the body
// breaks off (reset, idle timeout, 5xx), it goes on with a Range request from the byte where it stopped,
// pinned to the same object, with bounded retries and backoff. Integrity stays the reader's business
// (OpenPGP's MDC, the manifest's SHA-256): they see every byte once, in order.
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { SealdropError } from '../../core/errors.js';
import { formatBytes } from '../../core/units.js';
import { s3Error } from './client.js';

export interface ObjectToDownload {
  bucket: string;
  key: string;
  versionId?: string;
  /** Expected size; else what the first response says. A body that ends short of it broke off. */
  size?: number;
  /** Pins the object across requests (If-Match) besides the version id; else the first response's. */
  etag?: string | null;
}

export interface DownloadOptions {
  /** Requests after the first, for the whole object (default 5). */
  retries?: number;
  /** First backoff; doubled each retry (full jitter), at most 30 s (default 500 ms). */
  retryDelayMs?: number;
  /** A body that sends nothing for this long is broken off and resumed (default 60 s). */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  /** Names the object in messages (default s3://BUCKET/KEY version V). */
  label?: string;
  /** Turns a refusal of the first request (404, 403, 405…) into the error to throw. */
  refused?: (error: unknown) => SealdropError;
  onRetry?: (attempt: number, delayMs: number, reason: string) => void;
}

export interface Download {
  body: Readable;
  size: number;
  etag: string | null;
  lastModified: Date | null;
}

const MAX_BACKOFF_MS = 30_000;

/**
 * Sends the first request (so a missing version or a refusal fails here, not mid-stream) and returns
 * the whole body as one Readable, resumed across broken connections.
 */
export async function download(
  client: S3Client,
  object: ObjectToDownload,
  options: DownloadOptions = {},
): Promise<Download> {
  const label =
    options.label ??
    `s3://${object.bucket}/${object.key}${object.versionId ? ` version ${object.versionId}` : ''}`;
  const retries = options.retries ?? 5;
  let attempt = 0;
  let lastReason = '';

  /** Waits out the backoff before retry number `attempt`, or throws once there are none left. */
  const backOff = async (reason: string, offset: number, size: number | undefined) => {
    lastReason = reason;
    if (options.signal?.aborted) throw options.signal.reason;
    if (++attempt > retries)
      throw new SealdropError(
        'S3_UNREACHABLE',
        `${label}: the download failed ${attempt} times and was given up at ${formatBytes(offset)}${size === undefined ? '' : ` of ${formatBytes(size)}`} (last: ${lastReason})`,
        { hint: 'Check the network and the S3 endpoint, then run the command again.' },
      );
    const delay =
      Math.min(MAX_BACKOFF_MS, (options.retryDelayMs ?? 500) * 2 ** (attempt - 1)) *
      (0.5 + Math.random() / 2);
    options.onRetry?.(attempt, delay, reason);
    await sleep(delay, undefined, { signal: options.signal });
  };

  /** One GET from `offset`, retried while the failure is transient. */
  const request = async (
    offset: number,
    pin: string | null,
    size?: number,
  ): Promise<GetObjectCommandOutput> => {
    for (;;) {
      try {
        return await client.send(
          new GetObjectCommand({
            Bucket: object.bucket,
            Key: object.key,
            VersionId: object.versionId,
            ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}),
            ...(pin ? { IfMatch: pin } : {}),
          }),
          { abortSignal: options.signal },
        );
      } catch (error) {
        if (options.signal?.aborted) throw error;
        if (!isTransient(error)) {
          if (statusOf(error) === 412)
            throw new SealdropError(
              'FAILED',
              `${label} changed while it was being downloaded (its ETag differs)`,
            );
          throw (options.refused ?? ((e) => s3Error(e, `downloading ${label}`)))(error);
        }
        await backOff(describe(error), offset, size);
      }
    }
  };

  const first = await request(0, object.etag ?? null, object.size);
  const etag = object.etag ?? first.ETag ?? null;
  const length = object.size ?? first.ContentLength;
  if (length === undefined) throw new SealdropError('FAILED', `S3 gave no length for ${label}`);
  const size: number = length;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;

  async function* whole(): AsyncGenerator<Buffer> {
    let response: GetObjectCommandOutput | null = first;
    let offset = 0;
    for (;;) {
      response ??= await request(offset, etag, size);
      // A store that ignores Range answers 200 with the whole object: skip what was read already.
      let skip = offset > 0 && !response.ContentRange ? offset : 0;
      const body = response.Body as Readable | undefined;
      response = null;
      if (!body) throw new SealdropError('FAILED', `S3 sent no body for ${label}`);
      let failure = 'the body ended early';
      try {
        for await (let chunk of withIdleTimeout(body, idleTimeoutMs)) {
          if (skip > 0) {
            const dropped = Math.min(skip, chunk.length);
            skip -= dropped;
            chunk = chunk.subarray(dropped);
            if (chunk.length === 0) continue;
          }
          if (offset + chunk.length > size)
            throw new SealdropError('FAILED', `${label} is larger than the ${formatBytes(size)} expected`);
          offset += chunk.length;
          yield chunk;
        }
        if (offset === size) return;
      } catch (error) {
        if (error instanceof SealdropError || options.signal?.aborted) throw error;
        failure = describe(error);
      } finally {
        body.destroy();
      }
      await backOff(failure, offset, size);
    }
  }

  return {
    body: Readable.from(whole(), { objectMode: false }),
    size,
    etag,
    lastModified: first.LastModified ?? null,
  };
}

/**
 * The next part is requested while the current one is read, and up to `readAheadBytes` of it are
 * read into memory meanwhile: the network is never idle between parts, and memory is bounded.
 */
export async function* oneAhead<T>(
  items: readonly T[],
  open: (item: T) => Promise<Readable>,
  readAheadBytes: number,
): AsyncGenerator<{ item: T; body: AsyncIterable<Buffer> }> {
  let next: Promise<ReadAhead> | null = null;
  const start = (item: T) => {
    const opened = open(item).then((body) => new ReadAhead(body, readAheadBytes));
    opened.catch(() => {}); // awaited when its turn comes
    return opened;
  };
  try {
    for (let i = 0; i < items.length; i++) {
      const current = await (next ?? start(items[i]!));
      next = i + 1 < items.length ? start(items[i + 1]!) : null;
      try {
        yield { item: items[i]!, body: current };
      } finally {
        current.destroy();
      }
    }
  } finally {
    void next?.then((ahead) => ahead.destroy());
  }
}

/**
 * Reads a body eagerly into a queue of at most `limit` bytes while it waits its turn. Once it is read,
 * the queue is drained and the body is read directly, at the reader's pace: only the part that waits
 * holds memory, and the data of the part being read passes through no queue.
 */
class ReadAhead implements AsyncIterable<Buffer> {
  readonly #body: Readable;
  readonly #queue: Buffer[] = [];
  #queued = 0;
  readonly #onData: (chunk: Buffer) => void;

  constructor(body: Readable, limit: number) {
    this.#body = body;
    this.#onData = (chunk: Buffer) => {
      this.#queue.push(chunk);
      this.#queued += chunk.length;
      if (this.#queued >= limit) body.pause();
    };
    body.on('data', this.#onData);
    body.on('error', () => {}); // seen by the reader when its turn comes
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    this.#body.off('data', this.#onData);
    this.#body.pause();
    yield* this.#queue.splice(0);
    this.#queued = 0;
    yield* this.#body as AsyncIterable<Buffer>;
  }

  destroy(): void {
    this.#body.destroy();
  }
}

/**
 * The body's chunks, failing with a timeout when one takes longer than `ms` to arrive. Only the wait
 * for the network counts: time the reader holds a chunk (backpressure) does not.
 */
async function* withIdleTimeout(body: Readable, ms: number): AsyncGenerator<Buffer> {
  const chunks = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  for (;;) {
    const timer = setTimeout(
      () => body.destroy(Object.assign(new Error(`no data for ${ms / 1000} s`), { code: 'ETIMEDOUT' })),
      ms,
    );
    let next: IteratorResult<Buffer>;
    try {
      next = await chunks.next();
    } finally {
      clearTimeout(timer);
    }
    if (next.done) return;
    yield next.value;
  }
}

interface AwsError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function statusOf(error: unknown): number | undefined {
  return (error as AwsError).$metadata?.httpStatusCode;
}

/** The network, a 5xx, SlowDown, a request timeout: worth another request. */
function isTransient(error: unknown): boolean {
  const status = statusOf(error);
  const name = (error as AwsError).name ?? '';
  if (status === undefined) return !/credential/i.test((error as AwsError).message ?? '');
  return status >= 500 || status === 429 || name === 'SlowDown' || name === 'RequestTimeout';
}

function describe(error: unknown): string {
  const { code, name, message } = error as AwsError;
  const status = statusOf(error);
  return [status ? `HTTP ${status}` : null, code ?? (name !== 'Error' ? name : null), message]
    .filter(Boolean)
    .join(': ');
}
