// SIGHUP/SIGINT/SIGTERM become an abort signal for the running operation, which cleans up and reports
// INTERRUPTED (exit 129/130/143) instead of dying half-way with files left behind. The handlers stay
// until the process exits once one has come: a second signal (a double Ctrl-C, timeout(1) signalling
// the child, then its group) would otherwise meet Node's default, an exit that leaves a partial file
// or, after the cleanup, turns exit 130 into a death by signal. Every interrupted command ends.
import { STOP_SIGNALS } from '../core/errors.js';

/** Whether a stop signal came during an interruptible run: the process then ends with exitIfInterrupted. */
let stopped = false;

export async function interruptible<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  // The first signal names the interruption; the ones after it change nothing.
  const onSignal = (signal: NodeJS.Signals) => {
    stopped = true;
    controller.abort(signal);
  };
  for (const name of STOP_SIGNALS) process.on(name, onSignal);
  try {
    return await run(controller.signal);
  } finally {
    if (!controller.signal.aborted) for (const name of STOP_SIGNALS) process.off(name, onSignal);
  }
}

/**
 * Ends an interrupted process with `status` at once, as soon as what it wrote to stdout and stderr has
 * gone out (a prune's --json plan into a pipe whose reader is slow): left to drain its event loop, Node
 * gives the stop signals back to their default on the way out, and one more Ctrl-C there turned exit
 * 130 into a death by signal. Another stop signal while the output waits for its reader ends it there.
 */
export async function exitIfInterrupted(status: number): Promise<void> {
  if (!stopped) return;
  const exit = () => process.exit(status);
  for (const name of STOP_SIGNALS) process.on(name, exit);
  await Promise.all(
    [process.stdout, process.stderr].map(
      (stream) => new Promise<void>((resolve) => stream.write('', () => resolve())),
    ),
  );
  exit();
}
