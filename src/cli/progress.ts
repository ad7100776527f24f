// One self-overwriting progress line on stderr, only on a terminal.
import { formatBytes, formatDuration } from '../core/units.js';
import { isQuiet } from './output.js';
import { interruptible } from './signals.js';

export interface ProgressLine {
  update(label: string, bytes: number, totalBytes?: number): void;
  done(): void;
}

const SILENT: ProgressLine = { update() {}, done() {} };

/** `off`: no progress for this run (--json); -q turns it off everywhere. */
export function progressLine({ off = false } = {}): ProgressLine {
  if (off || isQuiet() || !process.stderr.isTTY) return SILENT;
  const started = performance.now();
  let lastDrawn = 0;
  let drawn = false;
  return {
    update(label, bytes, totalBytes) {
      const now = performance.now();
      if (now - lastDrawn < 250) return;
      lastDrawn = now;
      const elapsed = (now - started) / 1000;
      const rate = elapsed > 0 ? `${formatBytes(bytes / elapsed)}/s` : '';
      const amount = totalBytes ? `${formatBytes(bytes)} of ${formatBytes(totalBytes)}` : formatBytes(bytes);
      process.stderr.write(`\r\x1b[K${label} ${amount}  ${rate}  ${formatDuration(elapsed * 1000)}`);
      drawn = true;
    },
    done() {
      if (drawn) process.stderr.write('\r\x1b[K');
    },
  };
}

/**
 * Runs an operation that SIGINT/SIGTERM interrupt cleanly, with a progress line that is cleared
 * whatever happens (and before anything else is printed: callers call done() first).
 */
export async function withProgress<T>(
  { off = false } = {},
  run: (progress: ProgressLine, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const progress = progressLine({ off });
  try {
    return await interruptible((signal) => run(progress, signal));
  } finally {
    progress.done();
  }
}
