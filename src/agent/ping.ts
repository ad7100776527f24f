// Pings to a dead man's switch, in healthchecks.io's convention: POST URL/start when a push begins, URL
// when it succeeds, URL/fail when it fails, each with a short text body. A ping that can't be delivered
// is the caller's warning, never the backup's failure, and costs a bounded time.
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';

export type PingEvent = 'start' | 'success' | 'fail';

/** Bodies are cut to this many bytes (Healthchecks keeps 100 KB; a ping says what happened, briefly). */
const MAX_PING_BODY_BYTES = 2000;

const PATH_SUFFIX: Record<PingEvent, string> = { start: '/start', success: '', fail: '/fail' };
const ATTEMPT_TIMEOUT_MS = 10_000;
const dispatcher = new Agent({ connect: { timeout: 5_000 }, headersTimeout: 10_000, bodyTimeout: 10_000 });

export interface PingOptions {
  /** Retries after the first attempt, on network errors, 5xx and 429 (default 2). */
  retries?: number;
  /** Before the first retry, doubled for each one after (default 500 ms). */
  retryDelayMs?: number;
  userAgent?: string;
}

/** Where an event's ping goes: the URL's path with /start or /fail appended, its query kept. */
export function pingUrl(base: string, event: PingEvent): string {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${PATH_SUFFIX[event]}`;
  return url.toString();
}

/**
 * POSTs one ping. Resolves to null once delivered, else to why not, naming only the URL's origin (its
 * path is the check's identity, which whoever reads the logs should not be able to ping). Never throws.
 */
export async function sendPing(
  base: string,
  event: PingEvent,
  body: string,
  options: PingOptions = {},
): Promise<string | null> {
  const { retries = 2, retryDelayMs = 500, userAgent = 'sealdrop' } = options;
  const url = pingUrl(base, event);
  const payload = boundedBody(body);
  let reason = '';
  let attempts = 0;
  while (attempts <= retries) {
    if (attempts > 0) await sleep(retryDelayMs * 2 ** (attempts - 1));
    attempts++;
    let retriable = true;
    try {
      const response = await request(url, {
        method: 'POST',
        dispatcher,
        headers: { 'content-type': 'text/plain; charset=utf-8', 'user-agent': userAgent },
        body: payload,
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      });
      await response.body.dump({ limit: 64 * 1024 });
      if (response.statusCode >= 200 && response.statusCode < 300) return null;
      reason = `it answered ${response.statusCode}`;
      retriable = response.statusCode >= 500 || response.statusCode === 429;
    } catch (error) {
      const { code, name, message } = error as { code?: string; name?: string; message?: string };
      reason = name === 'TimeoutError' ? 'no answer in time' : (code ?? message ?? String(error));
    }
    if (!retriable) break;
  }
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  return `the ${event} ping to ${new URL(base).origin} failed${tries} (${reason})`;
}

/** The body cut to MAX_PING_BODY_BYTES of UTF-8, on a character boundary. */
function boundedBody(text: string): Uint8Array {
  const buffer = new Uint8Array(MAX_PING_BODY_BYTES);
  const { written } = new TextEncoder().encodeInto(text, buffer);
  return buffer.subarray(0, written);
}
