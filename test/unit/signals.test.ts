// Ctrl-C becomes an abort the command cleans up after; a second one (a double Ctrl-C, or timeout(1)
// signalling the child and then its group) must meet the same handler, not Node's default exit, which
// would leave a restore's partial file (plaintext) behind.
import { describe, expect, it } from 'vitest';
import { interruptible } from '../../src/cli/signals.js';

describe('interruptible', () => {
  it('keeps catching the stop signals once interrupted, until the process exits', async () => {
    const before = process.listenerCount('SIGINT');
    let cleanedUp: () => void = () => {};
    const running = interruptible(async (signal) => {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      // Cleaning up (deleting the partial file) takes a while.
      await new Promise<void>((resolve) => (cleanedUp = resolve));
      return signal.reason as string;
    });
    process.emit('SIGINT', 'SIGINT');
    await new Promise((resolve) => setImmediate(resolve));
    // The second signal arrives while the first is being handled.
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
    process.emit('SIGINT', 'SIGINT');
    expect(process.listenerCount('SIGTERM')).toBeGreaterThan(0);
    cleanedUp();
    expect(await running).toBe('SIGINT');
    // The command is on its way out with INTERRUPTED: a signal that comes late (after the cleanup,
    // before the exit) must not turn exit 130 into a death by signal.
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
  });

  it('lets go of the signals after a run that was not interrupted', async () => {
    const before = process.listenerCount('SIGINT');
    expect(await interruptible(async () => 'done')).toBe('done');
    expect(process.listenerCount('SIGINT')).toBe(before);
  });
});
