// Polling for a condition instead of sleeping and hoping: resolves as soon as it holds, fails with
// `what` once the deadline passes.
import { setTimeout as sleep } from 'node:timers/promises';

export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  { timeoutMs = 30_000, everyMs = 50 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await sleep(everyMs);
  }
}

/** A point in time on this machine's clock has passed (expiries, ages). */
export function after(time: Date | number): () => boolean {
  const ms = typeof time === 'number' ? time : time.getTime();
  return () => Date.now() > ms;
}

/** Waits until this machine's clock is in a later whole second than now (S3 dates, policy expiries). */
export function nextSecond(): Promise<void> {
  return until(after(Math.floor(Date.now() / 1000) * 1000 + 999), 'the next second');
}

/** A process has exited (or there never was one with this id). */
export function gone(pid: number): () => boolean {
  return () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  };
}
