// A decompression bomb: a host holding the public key can push a small object that inflates a
// thousandfold. restore and verify stop at the output limit (exit 3) and leave nothing behind.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { backupTarget, type BackupTarget } from '../support/backup-target.js';
import { runCli, tempDir } from '../support/cli.js';

let target: BackupTarget;
let url: string;

beforeAll(async () => {
  target = await backupTarget('bomb');
  url = `s3://${target.bucket}/${target.key}`;
  // 1.5 GiB of zeros: gzip makes about 1.5 MB of it, far under the policy's size range.
  const pushed = await runCli(
    ['push', '--policy', target.policyPath, '-q', '--', 'head', '-c', String(1.5 * 1024 ** 3), '/dev/zero'],
    { env: target.agentEnv },
  );
  expect(pushed.status, pushed.stderr).toBe(0);
});

describe('the output limit', () => {
  it('restore --out stops past --max-output with exit 3 naming the limit, and leaves no file', async () => {
    const dir = await tempDir('sealdrop-bomb-');
    const out = join(dir, 'db.sql');
    const restored = await runCli(
      ['restore', url, '--identity', target.privateKey, '--out', out, '--max-output', '10MiB'],
      { env: target.adminEnv },
    );
    expect(restored.status).toBe(3);
    expect(restored.stderr).toMatch(/inflates past the output limit of 10\.0 MiB \(--max-output\)/);
    expect(restored.stderr).toMatch(/hint: If the backup is genuine, give a larger --max-output SIZE/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('by default stops at 1 GiB (100x a small object is less); verify fails it the same way', async () => {
    const dir = await tempDir('sealdrop-bomb-');
    const restored = await runCli(
      ['restore', url, '--identity', target.privateKey, '--out', join(dir, 'db.sql')],
      { env: target.adminEnv },
    );
    expect(restored.status).toBe(3);
    expect(restored.stderr).toMatch(/output limit of 1\.00 GiB/);
    expect(await readdir(dir)).toEqual([]);
    const verified = await runCli(['verify', url, '--identity', target.privateKey, '--no-mark'], {
      env: target.adminEnv,
    });
    expect(verified.status).toBe(3);
    expect(verified.stdout + verified.stderr).toMatch(/output limit of 1\.00 GiB/);
  });

  it('a genuine dump under the limit restores as before', async () => {
    const restored = await runCli(
      ['restore', url, '--identity', target.privateKey, '--max-output', '2GiB', '--no-decompress'],
      { env: target.adminEnv },
    );
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdoutBytes.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
  });

  it('with history, the limit is 20x what the good backup before it restored to: a proven 1 MiB dump, then a 100 MiB bomb', async () => {
    const small = await backupTarget('bomb-history');
    const at = `s3://${small.bucket}/${small.key}`;
    const push = (args: string[]) =>
      runCli(['push', '--policy', small.policyPath, '-q', '--', ...args], { env: small.agentEnv });
    expect((await push(['head', '-c', String(1024 ** 2), '/dev/urandom'])).status).toBe(0);
    const proven = await runCli(['verify', at, '--identity', small.privateKey, '--unproven'], {
      env: small.adminEnv,
    });
    expect(proven.status, proven.stdout + proven.stderr).toBe(0);
    expect((await push(['head', '-c', String(100 * 1024 ** 2), '/dev/zero'])).status).toBe(0);
    const dir = await tempDir('sealdrop-bomb-');
    const restored = await runCli(['restore', at, '--identity', small.privateKey, '--out', join(dir, 'db')], {
      env: small.adminEnv,
    });
    expect(restored.status).toBe(3);
    expect(restored.stderr).toMatch(/output limit of 64\.0 MiB/);
    expect(await readdir(dir)).toEqual([]);
    const verified = await runCli(['verify', at, '--identity', small.privateKey, '--unproven'], {
      env: small.adminEnv,
    });
    expect(verified.status).toBe(3);
    expect(verified.stdout).toMatch(/output limit of 64\.0 MiB/);
  });
});
