// SIGHUP/SIGINT/SIGTERM become an abort signal for the running operation, which cleans up and reports
// INTERRUPTED (exit 129/130/143) instead of dying half-way with files left behind.
import { STOP_SIGNALS } from '../core/errors.js';

export async function interruptible<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => controller.abort(signal);
  for (const name of STOP_SIGNALS) process.once(name, onSignal);
  try {
    return await run(controller.signal);
  } finally {
    for (const name of STOP_SIGNALS) process.off(name, onSignal);
  }
}
