// scripts/need installs the packages the tests and scripts use. Test files and the suites' set-ups call it
// side by side, and a fresh Debian machine runs apt on its own (unattended-upgrades) at boot: an install
// must wait for apt's lock, not fail at once.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { run } from '../support/cli.js';

const NEED = fileURLToPath(new URL('../../scripts/need', import.meta.url));

/** Holds the lock dpkg and apt take (an fcntl write lock on FILE) for SECONDS, as apt does while it runs. */
async function holdLock(file: string, seconds: number) {
  const script = `use Fcntl; open(my $f, '>>', $ARGV[0]) or die "open: $!";
    my $lock = pack('s s x4 q q l x4', F_WRLCK, 0, 0, 0, 0); fcntl($f, F_SETLKW, $lock) or die "lock: $!";
    $| = 1; print "held\\n"; sleep $ARGV[1];`;
  const holder = spawn('perl', ['-e', script, file, String(seconds)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(holder.stdout, 'data')) as [Buffer];
  expect(line.toString()).toBe('held\n');
  return holder;
}

it("waits for apt's lock held by another process, then installs", async () => {
  const holder = await holdLock('/var/lib/dpkg/lock-frontend', 4);
  try {
    // A command that doesn't exist, from a package that is installed: apt-get install runs and takes the lock.
    const started = Date.now();
    const result = await run(NEED, ['sealdrop-no-such-command:curl']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain('need: installing curl');
    expect(result.stderr).toContain('Waiting for cache lock');
    expect(result.stderr).not.toMatch(/^E: /m);
    expect(Date.now() - started).toBeGreaterThan(2_000);
  } finally {
    holder.kill();
  }
});
