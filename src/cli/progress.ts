// One self-overwriting progress line on stderr, only on a terminal.
import { formatBytes, formatDuration } from '../core/units.js';
import { isQuiet, printable } from './output.js';
import { interruptible } from './signals.js';

export interface ProgressLine {
  /** "label 12.0 MiB of 1.00 GiB", or with a unit, "label 1000 of 2499 object versions". */
  update(label: string, amount: number, total?: number): void;
  done(): void;
}

const SILENT: ProgressLine = { update() {}, done() {} };

export interface ProgressOptions {
  /** No progress for this run (--json); -q turns it off everywhere. */
  off?: boolean;
  /** Counts of these instead of bytes. */
  unit?: string;
}

function progressLine({ off = false, unit }: ProgressOptions = {}): ProgressLine {
  if (off || isQuiet() || !process.stderr.isTTY) return SILENT;
  const started = performance.now();
  let lastDrawn = 0;
  let drawn = false;
  return {
    update(label, amount, total) {
      const now = performance.now();
      if (now - lastDrawn < 250) return;
      lastDrawn = now;
      const elapsed = (now - started) / 1000;
      const format = unit ? (n: number) => String(Math.round(n)) : formatBytes;
      const rate = elapsed > 0 ? `${format(amount / elapsed)}/s` : '';
      const done = `${total ? `${format(amount)} of ${format(total)}` : format(amount)}${unit ? ` ${unit}` : ''}`;
      process.stderr.write(`\r\x1b[K${printable(label)} ${done}  ${rate}  ${formatDuration(elapsed * 1000)}`);
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
  options: ProgressOptions,
  run: (progress: ProgressLine, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const progress = progressLine(options);
  try {
    return await interruptible((signal) => run(progress, signal));
  } finally {
    progress.done();
  }
}
