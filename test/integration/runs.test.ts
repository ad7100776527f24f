// Prefix policies: a push is a run of parts plus a manifest; the read side treats runs as units.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { backupTarget, mint, type BackupTarget } from '../support/backup-target.js';
import { CLI, run, runCli, tempDir, type CliResult } from '../support/cli.js';
import { gpgHome } from '../support/gpg.js';
import { faultyProxy } from '../support/proxy.js';
import { adminClient } from '../support/s3.js';

const GEN_DUMP = fileURLToPath(new URL('../../scripts/gen-dump.mjs', import.meta.url));
const PART = 8 * 1024 * 1024;

async function dump(size: string, seed = 1): Promise<Buffer> {
  return (await run(process.execPath, [GEN_DUMP, size, String(seed)])).stdoutBytes;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

interface Listed {
  key: string;
  versionId: string;
  size: number;
}

async function listUnder(bucket: string, prefix: string): Promise<Listed[]> {
  const page = await adminClient().send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix }));
  return (page.Versions ?? []).map((v) => ({ key: v.Key!, versionId: v.VersionId!, size: v.Size! }));
}

async function getObject(bucket: string, key: string, versionId?: string): Promise<Buffer> {
  const object = await adminClient().send(
    new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }),
  );
  return Buffer.from(await object.Body!.transformToByteArray());
}

function admin(target: BackupTarget, args: string[]): Promise<CliResult> {
  return runCli(args, { env: target.adminEnv });
}

async function pushRun(target: BackupTarget, args: string[], input?: Buffer) {
  const pushed = await runCli(
    ['push', '--policy', target.policyPath, '--part-size', '8MiB', '--json', ...args],
    {
      input,
      env: target.agentEnv,
    },
  );
  expect(pushed.status, pushed.stderr).toBe(0);
  return JSON.parse(pushed.stdout);
}

describe('a push through a prefix policy', () => {
  let target: BackupTarget;
  let input: Buffer;
  let result: {
    key: string;
    bytesOut: number;
    sha256: string;
    run: { runId: string; prefix: string; parts: { key: string; size: number; sha256: string }[] };
  };
  let prefixUrl: string;

  beforeAll(async () => {
    target = await backupTarget('runs', { key: 'db1/' });
    prefixUrl = `s3://${target.bucket}/db1/`;
    input = await dump('100MiB');
    result = await pushRun(target, ['--', process.execPath, GEN_DUMP, '100MiB', '1']);
  }, 300_000);

  it('stores several parts, then the manifest, under PREFIX<run-id>/', async () => {
    const { runId, parts } = result.run;
    expect(runId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    const listed = await listUnder(target.bucket, 'db1/');
    expect(listed.map((o) => o.key).sort()).toEqual(
      [
        ...parts.map((p, i) => `db1/${runId}/part-${String(i + 1).padStart(6, '0')}`),
        `db1/${runId}/manifest.json`,
      ].sort(),
    );
    // Every part but the last is exactly --part-size.
    expect(parts.slice(0, -1).every((p) => p.size === PART)).toBe(true);
    const manifest = JSON.parse((await getObject(target.bucket, `db1/${runId}/manifest.json`)).toString());
    expect(manifest).toMatchObject({
      sealdropRun: 1,
      runId,
      prefix: 'db1/',
      totalBytes: result.bytesOut,
      bytesIn: input.length,
      compression: 'gzip',
      partSize: PART,
      sha256: result.sha256,
    });
    expect(manifest.parts).toEqual(parts.map(({ key, size, sha256: hash }) => ({ key, size, sha256: hash })));
    for (const part of parts) expect(sha256(await getObject(target.bucket, part.key))).toBe(part.sha256);
  });

  it('restores with stock tools: cat part-* | gpg -d | gunzip', async () => {
    const dir = await tempDir('sealdrop-runs-stock-');
    for (const part of result.run.parts) {
      const name = part.key.slice(part.key.lastIndexOf('/') + 1);
      await import('node:fs/promises').then((fs) =>
        getObject(target.bucket, part.key).then((data) => fs.writeFile(join(dir, name), data)),
      );
    }
    const gpg = await gpgHome();
    expect((await gpg(['--passphrase', target.passphrase, '--import', target.privateKey])).status).toBe(0);
    const restored = await run('bash', [
      '-c',
      `set -o pipefail; cat ${dir}/part-* | gpg --homedir ${gpg.home} --batch --pinentry-mode loopback --passphrase '${target.passphrase}' -d 2>/dev/null | gunzip`,
    ]);
    expect(restored.status, restored.stderr).toBe(0);
    expect(sha256(restored.stdoutBytes)).toBe(sha256(input));
  });

  it('sealdrop restore (the latest complete run) is byte-identical, by URL and by policy', async () => {
    const dir = await tempDir('sealdrop-runs-restore-');
    const out = join(dir, 'db1.sql');
    const restored = await admin(target, [
      'restore',
      prefixUrl,
      '--identity',
      target.privateKey,
      '--out',
      out,
      '--json',
    ]);
    expect(restored.status, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({
      versionId: result.run.runId,
      outputBytes: input.length,
    });
    expect(sha256(await readFile(out))).toBe(sha256(input));

    const byPolicy = await admin(target, [
      'restore',
      '--policy',
      target.policyPath,
      '--identity',
      target.privateKey,
      '--run',
      result.run.runId,
    ]);
    expect(byPolicy.status, byPolicy.stderr).toBe(0);
    expect(sha256(byPolicy.stdoutBytes)).toBe(sha256(input));
  });

  it('versions lists the run as complete; status counts it; verify passes', async () => {
    const listed = await admin(target, ['versions', prefixUrl, '--json']);
    expect(listed.status, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).runs).toEqual([
      expect.objectContaining({
        runId: result.run.runId,
        complete: true,
        parts: result.run.parts.length,
        size: result.bytesOut,
      }),
    ]);
    const status = await admin(target, ['status', prefixUrl]);
    expect(status.status, status.stdout).toBe(0);
    expect(status.stdout).toMatch(/SEALDROP OK .* 1 complete run/);
    const verified = await admin(target, ['verify', prefixUrl, '--identity', target.privateKey]);
    expect(verified.status, verified.stderr).toBe(0);
    expect(verified.stderr).toMatch(/1 of 1 verified/);
  });

  it('refuses a --part-size over the policy limit, under 1 MiB, or with a one-key policy', async () => {
    const small = join(target.dir, 'small.json');
    await mint(prefixUrl, [target.publicKey], small, ['--max-size', '4MiB']);
    const over = await runCli(['push', '--policy', small, '--part-size', '8MiB'], {
      input: 'x',
      env: target.agentEnv,
    });
    expect(over.status).toBe(2);
    expect(over.stderr).toMatch(/over the policy's max size of 4\.00 MiB/);
    const tiny = await runCli(['push', '--policy', target.policyPath, '--part-size', '64KiB'], {
      input: 'x',
      env: target.agentEnv,
    });
    expect(tiny.status).toBe(2);
    expect(tiny.stderr).toMatch(/at least 1\.00 MiB/);
    const single = join(target.dir, 'single.json');
    await mint(`s3://${target.bucket}/one.gz.gpg`, [target.publicKey], single);
    const wrong = await runCli(['push', '--policy', single, '--part-size', '8MiB'], {
      input: 'x',
      env: target.agentEnv,
    });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/--part-size needs a prefix policy/);
  });
  it('a failing dump command or empty input stores no manifest; stored parts are named', async () => {
    const spool = await tempDir('sealdrop-runs-spool-');
    const before = await listUnder(target.bucket, 'db1/');
    const failed = await runCli(
      [
        'push',
        '--policy',
        target.policyPath,
        '--part-size',
        '8MiB',
        '--compress',
        'none',
        '--spool-dir',
        spool,
        '--',
        'sh',
        '-c',
        'head -c 20000000 /dev/urandom; exit 3',
      ],
      { env: target.agentEnv },
    );
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(
      /exited with status 3; 2 parts were stored \(part-000001 … part-000002\) and remain as the INCOMPLETE run db1\//,
    );
    expect(await readdir(spool)).toEqual([]);
    const after = await listUnder(target.bucket, 'db1/');
    expect(after.length - before.length).toBe(2);
    expect(after.filter((o) => o.key.endsWith('manifest.json'))).toHaveLength(1); // the first run's only

    const empty = await runCli(['push', '--policy', target.policyPath, '--spool-dir', spool], {
      input: '',
      env: target.agentEnv,
    });
    expect(empty.status).toBe(1);
    expect(empty.stderr).toMatch(/input was empty; nothing was uploaded/);
    expect(await readdir(spool)).toEqual([]);
    expect(await listUnder(target.bucket, 'db1/')).toHaveLength(after.length);

    // The newer incomplete run is skipped, and said to be.
    const restored = await admin(target, ['restore', prefixUrl, '--identity', target.privateKey]);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stderr).toMatch(/skipping 1 newer INCOMPLETE run/);
    expect(sha256(restored.stdoutBytes)).toBe(sha256(input));
  });
});

describe('damaged runs', () => {
  let target: BackupTarget;
  let input: Buffer;
  let runId: string;
  let parts: { key: string }[];
  let url: string;
  const verify = () => admin(target, ['verify', url, '--identity', target.privateKey]);
  async function restoreRefused(): Promise<CliResult> {
    const dir = await tempDir('sealdrop-runs-damaged-');
    const restored = await admin(target, [
      'restore',
      url,
      '--identity',
      target.privateKey,
      '--out',
      join(dir, 'out.sql'),
    ]);
    expect(restored.status, restored.stderr).toBe(3);
    expect(await readdir(dir)).toEqual([]);
    return restored;
  }

  beforeAll(async () => {
    target = await backupTarget('runs-damaged', { key: 'db2/' });
    url = `s3://${target.bucket}/db2/`;
    input = await dump('60MiB', 2);
    const result = await pushRun(target, [], input);
    ({ runId, parts } = result.run);
    expect(parts.length).toBeGreaterThanOrEqual(3);
  }, 300_000);

  it('a part written over after the run: verify fails naming it; restore still uses the original', async () => {
    const key = parts[1]!.key;
    const flipped = await getObject(target.bucket, key);
    flipped[flipped.length >> 1]! ^= 0x01;
    await adminClient().send(new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: flipped }));
    const verified = await verify();
    expect(verified.status).toBe(3);
    expect(verified.stderr).toMatch(/part-000002 was written over after the run/);
    const restored = await admin(target, ['restore', url, '--identity', target.privateKey]);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stderr).toMatch(/part-000002 was written over after the run .*using the original/);
    expect(sha256(restored.stdoutBytes)).toBe(sha256(input));
  });

  it('a corrupted part (only the flipped version left): verify names its failed SHA-256 check, restore refuses, exit 3', async () => {
    const key = parts[1]!.key;
    const versions = (await listUnder(target.bucket, key)).filter((v) => v.key === key);
    expect(versions).toHaveLength(2);
    const original = versions[versions.length - 1]!; // listed newest first
    await adminClient().send(
      new DeleteObjectCommand({ Bucket: target.bucket, Key: key, VersionId: original.versionId }),
    );
    const verified = await verify();
    expect(verified.status).toBe(3);
    expect(verified.stderr).toMatch(
      new RegExp(`${runId}/part-000002 FAILED its check against the manifest \\(SHA-256 differs\\)`),
    );
    // Restore fails fast at whichever check meets the damage first: gunzip's, once the damaged bytes
    // are decompressed, or the part's SHA-256, if the download reaches the part's end before that.
    // Only verify reads on, so it names the part every time.
    const refused = await restoreRefused();
    expect(refused.stderr).toMatch(/part-000002 FAILED its check|gzip data is damaged/);
  });

  it('a missing part: verify and restore name it, exit 3, nothing written', async () => {
    const key = parts[2]!.key;
    for (const v of (await listUnder(target.bucket, key)).filter((o) => o.key === key))
      await adminClient().send(
        new DeleteObjectCommand({ Bucket: target.bucket, Key: key, VersionId: v.versionId }),
      );
    const verified = await verify();
    expect(verified.status).toBe(3);
    expect(verified.stderr).toMatch(/part-000003 is missing/);
    const refused = await restoreRefused();
    expect(refused.stderr).toMatch(new RegExp(`${runId}/ is damaged: part-000003 is missing`));
  });
});

describe('an interrupted run', () => {
  let target: BackupTarget;
  let url: string;
  let killedRun: string;

  beforeAll(async () => {
    target = await backupTarget('runs-killed', { key: 'db3/' });
    url = `s3://${target.bucket}/db3/`;
  });

  it('killed after some parts: exit 143, says which parts stay, no spool file, no manifest', async () => {
    const spool = await tempDir('sealdrop-runs-spool-');
    const child = spawn(
      process.execPath,
      [
        CLI,
        'push',
        '--policy',
        target.policyPath,
        '--part-size',
        '8MiB',
        '--compress',
        'none',
        '--spool-dir',
        spool,
        '--',
        'sh',
        '-c',
        'head -c 30000000 /dev/urandom; exec sleep 60',
      ],
      { env: target.agentEnv, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    for (let i = 0; i < 300 && !/part-000002/.test(stderr); i++) await sleep(100);
    expect(stderr).toMatch(/stored db3\/.*\/part-000002/);
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(stderr).toMatch(
      /interrupted by SIGTERM; [23] parts were stored \(part-000001 … part-00000[23]\) and remain as the INCOMPLETE run db3\//,
    );
    expect(await readdir(spool)).toEqual([]);
    const keys = (await listUnder(target.bucket, 'db3/')).map((o) => o.key);
    expect(keys.some((k) => k.endsWith('manifest.json'))).toBe(false);
    killedRun = keys[0]!.split('/')[1]!;
  });

  it('versions and status show it INCOMPLETE; restore refuses it clearly', async () => {
    const listed = await admin(target, ['versions', url, '--json']);
    expect(JSON.parse(listed.stdout).runs).toEqual([
      expect.objectContaining({ runId: killedRun, complete: false }),
    ]);
    const human = await admin(target, ['versions', url]);
    expect(human.stderr).toMatch(/0 complete runs, 1 INCOMPLETE/);
    expect(human.stderr).toMatch(/INCOMPLETE \(no manifest\)/);
    const status = await admin(target, ['status', url]);
    expect(status.status).toBe(2);
    expect(status.stdout).toMatch(/no complete run at all; the newest run .* is INCOMPLETE/);
    for (const args of [[], ['--run', killedRun]]) {
      const restored = await admin(target, ['restore', url, '--identity', target.privateKey, ...args]);
      expect(restored.status).toBe(1);
      expect(restored.stderr).toMatch(
        new RegExp(`run ${killedRun} is INCOMPLETE: it has no manifest .*so it can't be restored`),
      );
    }
  });

  it('the next run is fine; status counts complete runs and restore skips nothing older', async () => {
    const input = await dump('3MiB', 3);
    const result = await pushRun(target, [], input);
    const status = await admin(target, ['status', url]);
    expect(status.status, status.stdout).toBe(0);
    expect(status.stdout).toMatch(/1 complete run/);
    const restored = await admin(target, ['restore', url, '--identity', target.privateKey]);
    expect(restored.status, restored.stderr).toBe(0);
    expect(sha256(restored.stdoutBytes)).toBe(sha256(input));
    expect(
      JSON.parse((await admin(target, ['versions', url, '--json'])).stdout).runs.map(
        (r: { runId: string; complete: boolean }) => [r.runId, r.complete],
      ),
    ).toEqual([
      [result.run.runId, true],
      [killedRun, false],
    ]);
  });

  it('prune plans over complete runs, removes the superseded incomplete run and every object of pruned runs', async () => {
    await sleep(1100);
    const newest = await pushRun(target, [], await dump('2MiB', 4));
    const dry = await admin(target, ['prune', url, '--keep-last', '1', '--json']);
    expect(dry.status, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout);
    expect(plan.runs.map((r: { action: string; complete: boolean }) => [r.action, r.complete])).toEqual([
      ['keep', true],
      ['remove', true],
      ['remove', false],
    ]);
    expect(plan.totals).toMatchObject({ runs: 2, keep: 1, remove: 1, incompleteRemoved: 1 });
    expect(dry.stderr).toMatch(/--keep-last alone is fragile/);
    const pruned = await admin(target, ['prune', url, '--keep-last', '1', '--yes', '--force']);
    expect(pruned.status, pruned.stderr).toBe(0);
    const left = await listUnder(target.bucket, 'db3/');
    expect(new Set(left.map((o) => o.key.split('/')[1]))).toEqual(new Set([newest.run.runId]));
    const restored = await admin(target, ['verify', url, '--identity', target.privateKey, '--all']);
    expect(restored.status, restored.stderr).toBe(0);
  });
});

describe('a run over a flaky network', () => {
  let target: BackupTarget;

  beforeAll(async () => {
    target = await backupTarget('runs-flaky', { key: 'db4/' });
  });

  /** A proxy in front of the real S3 server answering 503 SlowDown to the requests `fail` picks (1-based). */
  async function flakyProxy(fail: (request: number) => boolean) {
    const proxy = await faultyProxy((n) => (fail(n) ? 'slowdown' : 'forward'));
    const policy = JSON.parse(await readFile(target.policyPath, 'utf8'));
    policy.url = `${proxy.url}/${target.bucket}`;
    const path = join(target.dir, `via-${Date.now()}.json`);
    await writeFile(path, JSON.stringify(policy));
    return { ...proxy, path };
  }

  it('retries each part on its own and completes the run', async () => {
    const proxy = await flakyProxy((n) => n === 2 || n === 3);
    try {
      const input = (await run('head', ['-c', '20000000', '/dev/urandom'])).stdoutBytes;
      const pushed = await runCli(
        [
          'push',
          '--policy',
          proxy.path,
          '--part-size',
          '8MiB',
          '--compress',
          'none',
          '--retry-delay',
          '50ms',
          '--json',
        ],
        { input, env: target.agentEnv },
      );
      expect(pushed.status, pushed.stderr).toBe(0);
      const result = JSON.parse(pushed.stdout);
      expect(result.run.parts).toHaveLength(3);
      expect(result.attempts).toBe(6); // 3 parts + the manifest, two of them twice
      expect(proxy.requests()).toBe(6);
      const restored = await admin(target, [
        'restore',
        `s3://${target.bucket}/db4/`,
        '--identity',
        target.privateKey,
        '--no-decompress',
      ]);
      expect(restored.status, restored.stderr).toBe(0);
      expect(sha256(restored.stdoutBytes)).toBe(sha256(input));
    } finally {
      proxy.close();
    }
  });

  it('a part that fails for good fails the run at once, naming the parts stored', async () => {
    const proxy = await flakyProxy((n) => n >= 2);
    const spool = await tempDir('sealdrop-runs-spool-');
    try {
      const pushed = await runCli(
        [
          'push',
          '--policy',
          proxy.path,
          '--part-size',
          '8MiB',
          '--compress',
          'none',
          '--retries',
          '1',
          '--retry-delay',
          '10ms',
          '--spool-dir',
          spool,
          '--',
          'sh',
          '-c',
          'head -c 30000000 /dev/urandom; exec sleep 60',
        ],
        { env: target.agentEnv },
      );
      expect(pushed.status).toBe(1);
      expect(pushed.stderr).toMatch(
        /upload failed after 2 attempts: S3 answered 503 SlowDown.*; 1 part was stored \(part-000001\) and remains as the INCOMPLETE run db4\//,
      );
      expect(await readdir(spool)).toEqual([]);
    } finally {
      proxy.close();
    }
  }, 60_000);
});
