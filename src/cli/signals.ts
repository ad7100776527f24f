// SIGHUP/SIGINT/SIGTERM become an abort signal for the running operation, which cleans up and reports
// INTERRUPTED (exit 129/130/143) instead of dying half-way with files left behind. The handlers stay
// until the process exits once one has come: a second signal (a double Ctrl-C, timeout(1) signalling
// the child, then its group) would otherwise meet Node's default, an exit that leaves a partial file
// or, after the cleanup, turns exit 130 into a death by signal. Every interrupted command ends.
import { STOP_SIGNALS } from '../core/errors.js';

export async function interruptible<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  // The first signal names the interruption; the ones after it change nothing.
  const onSignal = (signal: NodeJS.Signals) => controller.abort(signal);
  for (const name of STOP_SIGNALS) process.on(name, onSignal);
  try {
    return await run(controller.signal);
  } finally {
    if (!controller.signal.aborted) for (const name of STOP_SIGNALS) process.off(name, onSignal);
  }
}
