// The POST: the policy's fields in order, the spooled ciphertext last, with an exact Content-Length,
// streamed from disk. Retries transient failures; never a refusal (4xx) that would only repeat.
import { createReadStream } from 'node:fs';
import { PassThrough, Transform } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import FormData from 'form-data';
import { Agent, request } from 'undici';
import { SealdropError } from '../core/errors.js';
import { SHA256_FIELD } from '../core/policy-file.js';
import { formatDuration } from '../core/units.js';
import { plural } from '../core/words.js';

/** The signed POST form every object of a push is sent with, and how hard to try: the same for all the parts of a run. */
export interface PostForm {
  url: string;
  /** The policy's form fields, in order. */
  fields: Record<string, string>;
  /** The policy allows a Content-MD5 field (files minted before it don't): send each file's. */
  contentMd5: boolean;
  /** The policy allows the SHA-256 metadata field (files minted before it don't): record each file's. */
  sha256Field?: boolean;
  /** Retries at least this many times… */
  retries: number;
  /** …and for at least this long after the first failure (an S3 outage of minutes costs no backup). */
  retryForMs: number;
  /** First backoff delay; doubles each retry, with full jitter. */
  retryDelayMs: number;
  signal?: AbortSignal;
  onRetry?: (attempt: number, delayMs: number, reason: string) => void;
}

/** A closed spool file (spool.ts): sent with its exact length and, when the policy allows, its MD5. */
export interface SpooledFile {
  path: string;
  bytes: number;
  /** Base64, as Content-MD5 wants it. */
  md5: string;
  /** Hex, as SHA256_FIELD records it. */
  sha256: string;
}

export interface UploadOptions {
  /** The object's key, for a prefix policy (which lets the agent name keys under it). */
  key?: string;
  onProgress?: (sentBytes: number, totalBytes: number) => void;
}

export interface UploadResult {
  versionId: string | null;
  etag: string | null;
  attempts: number;
  /** From the first failure to the attempt that stored it (0: the first attempt did). */
  retriedMs: number;
}

const MAX_BACKOFF_MS = 60_000;

const dispatcher = new Agent({ connect: { timeout: 15_000 }, headersTimeout: 120_000, bodyTimeout: 120_000 });

export async function upload(
  target: PostForm,
  file: SpooledFile,
  options: UploadOptions = {},
): Promise<UploadResult> {
  let firstFailure: number | null = null;
  for (let attempt = 1; ; attempt++) {
    let failure: Transient;
    try {
      const stored = await postOnce(target, file, options);
      return {
        ...stored,
        attempts: attempt,
        retriedMs: firstFailure === null ? 0 : Date.now() - firstFailure,
      };
    } catch (error) {
      firstFailure ??= Date.now();
      const retrying = attempt <= target.retries || Date.now() - firstFailure < target.retryForMs;
      if (!(error instanceof Transient) || !retrying || target.signal?.aborted) {
        throw error instanceof Transient ? error.final(attempt, Date.now() - firstFailure) : error;
      }
      failure = error;
    }
    const delay =
      Math.min(MAX_BACKOFF_MS, target.retryDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
    target.onRetry?.(attempt, delay, failure.message);
    await sleep(delay, undefined, { signal: target.signal }).catch(() => {});
    if (target.signal?.aborted) throw failure.final(attempt, Date.now() - firstFailure);
  }
}

/** A failure worth another attempt: the network, a 5xx, SlowDown. */
class Transient extends Error {
  final(attempts: number, retriedMs: number): SealdropError {
    return new SealdropError(
      'S3_UNREACHABLE',
      `upload failed after ${plural(attempts, 'attempt')} over ${formatDuration(retriedMs)}: ${this.message}`,
      {
        hint: 'Check the endpoint URL and the network, then try again; --retry-for sets how long push rides out an outage.',
      },
    );
  }
}

async function postOnce(
  target: PostForm,
  file: SpooledFile,
  options: UploadOptions,
): Promise<Omit<UploadResult, 'attempts' | 'retriedMs'>> {
  const form = new FormData();
  for (const [name, value] of Object.entries(target.fields))
    form.append(name, options.key !== undefined && name.toLowerCase() === 'key' ? options.key : value);
  if (target.contentMd5) form.append('Content-MD5', file.md5);
  if (target.sha256Field) form.append(SHA256_FIELD, file.sha256);
  let sent = 0;
  const counted = createReadStream(file.path, { highWaterMark: 1 << 20 }).pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        sent += chunk.length;
        options.onProgress?.(sent, file.bytes);
        callback(null, chunk);
      },
    }),
  );
  // The object's Content-Type is the signed form field; the part's own type is not used by S3.
  form.append('file', counted, { knownLength: file.bytes, filename: 'backup.gpg' });
  const body = new PassThrough({ highWaterMark: 1 << 20 });
  form.pipe(body);

  let response;
  try {
    response = await request(target.url, {
      method: 'POST',
      headers: { ...form.getHeaders(), 'content-length': String(form.getLengthSync()) },
      body,
      dispatcher,
      signal: target.signal,
    });
  } catch (error) {
    if (target.signal?.aborted) throw error;
    throw new Transient(describeNetworkError(error));
  }
  const text = await response.body.text();
  const status = response.statusCode;
  if (status >= 200 && status < 300) {
    const header = (name: string) => {
      const value = response.headers[name];
      return typeof value === 'string' ? value : null;
    };
    const etag = header('etag') ?? xmlValue(text, 'ETag');
    return { versionId: header('x-amz-version-id'), etag: etag ? etag.replaceAll('"', '') : null };
  }
  const code = xmlValue(text, 'Code') ?? `HTTP ${status}`;
  const message = xmlValue(text, 'Message') ?? '';
  if (status >= 500 || code === 'SlowDown' || code === 'RequestTimeout')
    throw new Transient(`S3 answered ${status} ${code} ${message}`.trim());
  throw refusal(status, code, message);
}

function describeNetworkError(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const cause = (error as { cause?: { code?: string } }).cause?.code;
  return [code ?? cause, message].filter(Boolean).join(': ') || String(error);
}

/** S3's XML error as something an operator can act on. */
function refusal(status: number, code: string, message: string): SealdropError {
  const said = `S3 refused the upload: ${status} ${code}${message ? ` (${message})` : ''}`;
  if (/policy expired/i.test(message)) return new SealdropError('POLICY_EXPIRED', said);
  if (/condition failed/i.test(message)) {
    return new SealdropError('S3_REFUSED', said, {
      hint: 'The upload broke a condition of the signed policy: mint a policy for this key/prefix, acl and size.',
    });
  }
  const hints: Record<string, string> = {
    SignatureDoesNotMatch:
      'The policy file was altered after minting, or was minted with a wrong secret key: mint it again.',
    InvalidAccessKeyId:
      'The access key that signed the policy no longer exists: mint a new policy with a live uploader key.',
    ExpiredToken:
      'The policy was minted with temporary credentials that have expired: mint it with a long-lived key.',
    EntityTooLarge: "The backup is larger than the policy's --max-size: mint a policy with a larger limit.",
    EntityTooSmall: 'The backup is empty or smaller than the policy allows.',
    // Ceph RGW answers a tampered or wrongly signed policy this way too, with no message.
    AccessDenied:
      "Check the policy file first: one edited after minting (or signed with a wrong key) is refused like this; `sealdrop policy show FILE` checks it with the signer's credentials. If it is intact, the uploader may not write here: check the bucket policy (`sealdrop setup` prints it; `sealdrop policy revoke` denies a host on purpose).",
    NoSuchBucket: 'The bucket does not exist: check the policy (sealdrop policy show) and the bucket.',
  };
  return new SealdropError(
    code === 'EntityTooLarge' ? 'TOO_LARGE' : 'S3_REFUSED',
    said,
    hints[code] ? { hint: hints[code] } : {},
  );
}

function xmlValue(xml: string, tag: string): string | null {
  const match = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return match?.[1] === undefined
    ? null
    : match[1]
        .replaceAll('&quot;', '"')
        .replaceAll('&amp;', '&')
        .replaceAll('&lt;', '<')
        .replaceAll('&gt;', '>');
}
