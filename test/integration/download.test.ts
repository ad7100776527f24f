// Restores that resume: through a proxy that breaks the connection mid-body, the download goes on
// with a Range request from the byte where it stopped, for single objects and for every part of a run.
import { readdir, readFile, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { backupTarget, type BackupTarget } from '../support/backup-target.js';
import { run, runCli, startCli, tempDir } from '../support/cli.js';
import { until } from '../support/until.js';
import { faultyProxy, type Fault } from '../support/proxy.js';

const GEN_DUMP = fileURLToPath(new URL('../../scripts/gen-dump.mjs', import.meta.url));

/** The GETs of object bodies (not the listings), with the Range each asked for. */
function bodyGets(key: RegExp, fault: (n: number) => Fault) {
  const ranges: (string | null)[] = [];
  const pick = (_request: number, req: IncomingMessage): Fault => {
    if (req.method !== 'GET' || !key.test(req.url ?? '') || /[?&]versions/.test(req.url ?? ''))
      return 'forward';
    ranges.push(req.headers.range ?? null);
    return fault(ranges.length);
  };
  return { ranges, pick };
}

async function restoreVia(target: BackupTarget, url: string, proxy: string, out: string) {
  return runCli(['restore', url, '--identity', target.privateKey, '--endpoint', proxy, '--out', out], {
    env: target.adminEnv,
  });
}

describe('restore over a connection that breaks', () => {
  let target: BackupTarget;
  let input: Buffer;
  beforeAll(async () => {
    target = await backupTarget('resume');
    // Incompressible, so the object is as large as the dump and the cuts land mid-body.
    input = (await run('head', ['-c', '3000000', '/dev/urandom'])).stdoutBytes;
    const pushed = await runCli(['push', '--policy', target.policyPath, '--compress', 'none'], {
      input,
      env: target.agentEnv,
    });
    expect(pushed.status, pushed.stderr).toBe(0);
  });

  it('resumes twice with Range requests and restores byte-identical', async () => {
    const gets = bodyGets(/mysql\.sql\.gz\.gpg/, (n) =>
      n <= 2 ? { dropAfterBytes: 700_000 * n } : 'forward',
    );
    const proxy = await faultyProxy(gets.pick);
    const out = join(await tempDir(), 'db1.sql');
    try {
      const restored = await restoreVia(target, `s3://${target.bucket}/${target.key}`, proxy.url, out);
      expect(restored.status, restored.stderr).toBe(0);
      expect((await readFile(out)).equals(input)).toBe(true);
      expect(gets.ranges).toHaveLength(3);
      expect(gets.ranges[0]).toBeNull();
      // Each resumes where the last one stopped (what arrived before the reset, at most the cut).
      const starts = gets.ranges.slice(1).map((range) => Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1]));
      expect(starts[0]).toBeGreaterThan(0);
      expect(starts[0]).toBeLessThanOrEqual(700_000);
      expect(starts[1]).toBeGreaterThan(starts[0]!);
    } finally {
      proxy.close();
    }
  });

  it('gives up after the retries with a clear message, and leaves no --out file', async () => {
    const gets = bodyGets(/mysql\.sql\.gz\.gpg/, () => ({ dropAfterBytes: 100_000 }));
    const proxy = await faultyProxy(gets.pick);
    const dir = await tempDir();
    try {
      const restored = await restoreVia(
        target,
        `s3://${target.bucket}/${target.key}`,
        proxy.url,
        join(dir, 'db1.sql'),
      );
      expect(restored.status).toBe(1);
      expect(restored.stderr).toMatch(/the download failed 6 times and was given up at .* of 2\.86 MiB/);
      expect(restored.stderr).toMatch(/hint: /);
      expect(gets.ranges).toHaveLength(6);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      proxy.close();
    }
  }, 120_000);

  it('leaves no plaintext behind and exits 130 when SIGINT comes again and again (a double Ctrl-C, timeout(1) on the group)', async () => {
    const gets = bodyGets(/mysql\.sql\.gz\.gpg/, () => ({ stallAfterBytes: 1_000_000 }));
    const proxy = await faultyProxy(gets.pick);
    const dir = await tempDir();
    try {
      const restore = startCli(
        [
          'restore',
          `s3://${target.bucket}/${target.key}`,
          '--identity',
          target.privateKey,
          '--endpoint',
          proxy.url,
          '--out',
          join(dir, 'db1.sql'),
        ],
        { env: target.adminEnv },
      );
      // The download stalls after 1 MB: by then the partial file holds decrypted data.
      const partial = async () => {
        const [name] = await readdir(dir);
        return name !== undefined && (await stat(join(dir, name))).size > 0;
      };
      await until(partial, 'decrypted data in the partial file');
      restore.child.kill('SIGINT');
      // The second while the first is being handled: the window the partial file was left in.
      await new Promise((resolve) => setTimeout(resolve, 5));
      restore.child.kill('SIGINT');
      // And more, until it exits (a user hammering Ctrl-C): one that comes after the cleanup, as
      // the process exits, must not turn exit 130 into a death by signal.
      const hammer = setInterval(() => restore.child.kill('SIGINT'), 2);
      const status = await restore.exited.finally(() => clearInterval(hammer));
      expect(status, restore.stderr).toBe(130);
      expect(restore.stderr).toMatch(/interrupted by SIGINT/);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      proxy.close();
    }
  });
});

describe('restore of a run over a connection that breaks', () => {
  let target: BackupTarget;
  let input: Buffer;
  beforeAll(async () => {
    target = await backupTarget('resume-run', { key: 'db5/' });
    input = (await run(process.execPath, [GEN_DUMP, '6MiB', '11'])).stdoutBytes;
    const pushed = await runCli(
      ['push', '--policy', target.policyPath, '--part-size', '1MiB', '--compress', 'none'],
      { input, env: target.agentEnv },
    );
    expect(pushed.status, pushed.stderr).toBe(0);
  });

  it('resumes a part whose download breaks twice, while the next part is fetched ahead', async () => {
    const gets = bodyGets(/part-000003/, (n) => (n <= 2 ? { dropAfterBytes: 300_000 } : 'forward'));
    const order: string[] = [];
    const proxy = await faultyProxy((n, req) => {
      const part = /part-\d+/.exec(req.url ?? '')?.[0];
      if (part && req.method === 'GET') order.push(`${part}${req.headers.range ? ' resumed' : ''}`);
      return gets.pick(n, req);
    });
    const out = join(await tempDir(), 'db5.sql');
    try {
      const restored = await restoreVia(target, `s3://${target.bucket}/db5/`, proxy.url, out);
      expect(restored.status, restored.stderr).toBe(0);
      expect((await readFile(out)).equals(input)).toBe(true);
      expect(gets.ranges).toHaveLength(3);
      expect(gets.ranges.slice(1).every((range) => /^bytes=\d+-$/.test(range ?? ''))).toBe(true);
      // Part 4 was asked for as soon as part 3 began, before part 3's first break was even noticed.
      expect(order.indexOf('part-000004')).toBeLessThan(order.indexOf('part-000003 resumed'));
      expect(order.indexOf('part-000004')).toBeGreaterThan(order.indexOf('part-000003'));
    } finally {
      proxy.close();
    }
  });
});
