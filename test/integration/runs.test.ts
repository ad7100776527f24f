// Prefix policies: a push is a run of parts plus a manifest; the read side treats runs as units.
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/until.js';
import { backupTarget, mint, type BackupTarget } from '../support/backup-target.js';
import { run, runCli, startCli, tempDir, type CliResult } from '../support/cli.js';
import { gpgHome } from '../support/gpg.js';
import { faultyProxy } from '../support/proxy.js';
import { adminClient } from '../support/s3.js';

const GEN_DUMP = fileURLToPath(new URL('../../scripts/gen-dump.mjs', import.meta.url));
/** The smallest part size push takes: runs of several parts from small dumps. */
const PART = 1024 * 1024;

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

async function pushRun(target: BackupTarget, args: string[], input?: Buffer, policy = target.policyPath) {
  const pushed = await runCli(['push', '--policy', policy, '--part-size', '1MiB', '--json', ...args], {
    input,
    env: target.agentEnv,
  });
  expect(pushed.status, pushed.stderr).toBe(0);
  return JSON.parse(pushed.stdout);
}

interface OwnPrefix {
  prefix: string;
  url: string;
  policy: string;
}

/** A prefix and its policy for one test alone: tests that change what is stored never meet. */
async function ownPrefix(target: BackupTarget, name: string): Promise<OwnPrefix> {
  const policy = join(target.dir, `${name}.policy.json`);
  await mint(`s3://${target.bucket}/${name}/`, [target.publicKey], policy);
  return { prefix: `${name}/`, url: `s3://${target.bucket}/${name}/`, policy };
}

/** A run that fails after storing some parts: an incomplete run, quickly. */
async function failedRun(target: BackupTarget, policy: string, spool?: string): Promise<CliResult> {
  const failed = await runCli(
    [
      'push',
      '--policy',
      policy,
      '--part-size',
      '8MiB',
      '--compress',
      'none',
      ...(spool ? ['--spool-dir', spool] : []),
      '--',
      'sh',
      '-c',
      'head -c 20000000 /dev/urandom; exit 3',
    ],
    { env: target.agentEnv },
  );
  expect(failed.status).toBe(1);
  return failed;
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
    input = await dump('12MiB');
    result = await pushRun(target, ['--', process.execPath, GEN_DUMP, '12MiB', '1']);
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
      snapshot: { runId: result.run.runId },
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
      '-v',
    ]);
    expect(byPolicy.status, byPolicy.stderr).toBe(0);
    expect(sha256(byPolicy.stdoutBytes)).toBe(sha256(input));
    // The manifest judged while choosing the run is the one the restore reads: one GET, not two.
    expect(byPolicy.stderr.match(/S3 GetObject \S+\/manifest\.json/g)).toHaveLength(1);
  });

  it('--at before every run: no run at or before it, naming the oldest (not "no backups at all")', async () => {
    const early = await admin(target, [
      'restore',
      prefixUrl,
      '--identity',
      target.privateKey,
      '--at',
      '2001-01-01T00:00:00Z',
    ]);
    expect(early.status, early.stderr).toBe(1);
    expect(early.stderr).toMatch(
      /has no run at or before 2001-01-01T00:00:00\.000Z; the oldest is from \d{4}-/,
    );
  });

  it('versions lists the run as complete; status counts it; verify passes', async () => {
    const listed = await admin(target, ['versions', prefixUrl, '--json']);
    expect(listed.status, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).snapshots).toEqual([
      expect.objectContaining({
        runId: result.run.runId,
        state: 'complete',
        parts: result.run.parts.length,
        size: result.bytesOut,
      }),
    ]);
    const status = await admin(target, ['status', prefixUrl]);
    expect(status.status, status.stdout).toBe(0);
    expect(status.stdout).toMatch(/SEALDROP OK .* 1 backup \| 'age'=/);
    const verified = await admin(target, ['verify', prefixUrl, '--identity', target.privateKey]);
    expect(verified.status, verified.stderr).toBe(0);
    expect(verified.stderr).toMatch(/1 of 1 verified/);
  });

  it('names the prefix when it is given without its slash (a key with nothing stored)', async () => {
    const bare = prefixUrl.slice(0, -1);
    for (const args of [
      ['versions', bare],
      ['restore', bare, '--identity', target.privateKey],
    ]) {
      const result = await admin(target, args);
      expect(result.status, args[0]).toBe(2);
      expect(result.stderr).toContain(
        `${bare} holds no backups, but ${prefixUrl} does: name a prefix with its trailing slash`,
      );
      expect(result.stderr).toContain(`hint: Give ${prefixUrl} `);
    }
    const status = await admin(target, ['status', bare]);
    expect(status.status).toBe(3);
    expect(status.stdout).toContain(`but ${prefixUrl} does`);
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
    const own = await ownPrefix(target, 'failing');
    const good = await dump('3MiB', 5);
    await pushRun(target, [], good, own.policy);
    const spool = await tempDir('sealdrop-runs-spool-');
    const failed = await failedRun(target, own.policy, spool);
    expect(failed.stderr).toMatch(
      /exited with status 3; 2 parts were stored \(part-000001 … part-000002\) and remain as the INCOMPLETE run failing\//,
    );
    expect(await readdir(spool)).toEqual([]);
    const after = await listUnder(target.bucket, own.prefix);
    expect(after.filter((o) => o.key.endsWith('manifest.json'))).toHaveLength(1); // the good run's only

    const empty = await runCli(['push', '--policy', own.policy, '--spool-dir', spool], {
      input: '',
      env: target.agentEnv,
    });
    expect(empty.status).toBe(1);
    expect(empty.stderr).toMatch(/input was empty; nothing was uploaded/);
    expect(await readdir(spool)).toEqual([]);
    expect(await listUnder(target.bucket, own.prefix)).toHaveLength(after.length);

    // The newer incomplete run is skipped, and said to be.
    const restored = await admin(target, ['restore', own.url, '--identity', target.privateKey]);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stderr).toMatch(/skipping 1 INCOMPLETE run \(\d{8}T/);
    expect(sha256(restored.stdoutBytes)).toBe(sha256(good));
  });
});

describe('damaged runs', () => {
  let target: BackupTarget;
  let input: Buffer;

  beforeAll(async () => {
    target = await backupTarget('runs-damaged', { key: 'db2/' });
    input = await dump('8MiB', 2);
  }, 300_000);

  /** Each test damages a run of its own, under a prefix of its own. */
  async function damagedRun(name: string) {
    const own = await ownPrefix(target, name);
    const { run: stored } = await pushRun(target, [], input, own.policy);
    expect(stored.parts.length).toBeGreaterThanOrEqual(3);
    const verify = (...args: string[]) =>
      admin(target, ['verify', own.url, '--identity', target.privateKey, ...args]);
    return { ...own, runId: stored.runId as string, parts: stored.parts as { key: string }[], verify };
  }

  async function writeOver(key: string): Promise<void> {
    const flipped = await getObject(target.bucket, key);
    flipped[flipped.length >> 1]! ^= 0x01;
    await adminClient().send(new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: flipped }));
  }

  async function restoreRefused(url: string): Promise<CliResult> {
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

  it('a part written over after the run: verify checks the original and warns naming it; restore uses the original', async () => {
    const run = await damagedRun('written-over');
    await writeOver(run.parts[1]!.key);
    const verified = await run.verify();
    expect(verified.status, verified.stdout).toBe(0);
    expect(verified.stdout).toMatch(
      /^OK .*\n {2}warning: part-000002 written over after the run \(restore reads the originals\)/m,
    );
    const restored = await admin(target, ['restore', run.url, '--identity', target.privateKey]);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stderr).toMatch(/part-000002 written over after the run \(restore reads the originals\)/);
    expect(sha256(restored.stdoutBytes)).toBe(sha256(input));
  });

  it('a corrupted part (only the flipped version left): verify names its failed SHA-256 check, restore refuses, exit 3', async () => {
    const run = await damagedRun('corrupted');
    const key = run.parts[1]!.key;
    await writeOver(key);
    const versions = (await listUnder(target.bucket, key)).filter((v) => v.key === key);
    expect(versions).toHaveLength(2);
    const original = versions[versions.length - 1]!; // listed newest first
    await adminClient().send(
      new DeleteObjectCommand({ Bucket: target.bucket, Key: key, VersionId: original.versionId }),
    );
    const verified = await run.verify();
    expect(verified.status).toBe(3);
    expect(verified.stdout).toMatch(
      new RegExp(`${run.runId}/part-000002 FAILED its check against the manifest \\(SHA-256 differs\\)`),
    );
    // Restore fails fast at whichever check meets the damage first: gunzip's, once the damaged bytes
    // are decompressed, or the part's SHA-256, if the download reaches the part's end before that.
    // Only verify reads on, so it names the part every time.
    const refused = await restoreRefused(run.url);
    expect(refused.stderr).toMatch(/part-000002 FAILED its check|gzip data is damaged/);
  });

  it('a missing part: the run is BROKEN; verify and restore name it, exit 3, nothing written', async () => {
    const run = await damagedRun('missing');
    const key = run.parts[2]!.key;
    for (const v of (await listUnder(target.bucket, key)).filter((o) => o.key === key))
      await adminClient().send(
        new DeleteObjectCommand({ Bucket: target.bucket, Key: key, VersionId: v.versionId }),
      );
    const verified = await run.verify('--all');
    expect(verified.status).toBe(3);
    expect(verified.stdout).toMatch(
      new RegExp(`^FAILED  ${run.runId} .*BROKEN: part-000003 is missing`, 'm'),
    );
    const refused = await restoreRefused(run.url);
    expect(refused.stderr).toMatch(
      new RegExp(`no complete run: 1 BROKEN run \\(${run.runId}: part-000003 is missing\\)`),
    );
  });
});

describe('an interrupted run', () => {
  let target: BackupTarget;
  let url: string;
  /** The push, killed after its second part. */
  let killed: { status: number | null; stderr: string; spool: string[]; keys: string[]; runId: string };

  beforeAll(async () => {
    target = await backupTarget('runs-killed', { key: 'db3/' });
    url = `s3://${target.bucket}/db3/`;
    const spool = await tempDir('sealdrop-runs-spool-');
    const push = startCli(
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
        'head -c 30000000 /dev/urandom; exec sleep 60',
      ],
      { env: target.agentEnv },
    );
    await until(() => /stored db3\/.*\/part-000002/.test(push.stderr), 'the second part to be stored');
    push.child.kill('SIGTERM');
    const status = await push.exited;
    const keys = (await listUnder(target.bucket, 'db3/')).map((o) => o.key);
    killed = {
      status,
      stderr: push.stderr,
      spool: await readdir(spool),
      keys,
      runId: keys[0]!.split('/')[1]!,
    };
  }, 300_000);

  it('killed after some parts: exit 143, says which parts stay, no spool file, no manifest', () => {
    expect(killed.status).toBe(143);
    expect(killed.stderr).toMatch(
      /interrupted by SIGTERM; [23] parts were stored \(part-000001 … part-00000[23]\) and remain as the INCOMPLETE run db3\//,
    );
    expect(killed.spool).toEqual([]);
    expect(killed.keys.some((k) => k.endsWith('manifest.json'))).toBe(false);
  });

  it('versions and status show it INCOMPLETE; restore refuses it clearly', async () => {
    const listed = await admin(target, ['versions', url, '--json']);
    expect(JSON.parse(listed.stdout).snapshots).toEqual([
      expect.objectContaining({ runId: killed.runId, state: 'incomplete' }),
    ]);
    const human = await admin(target, ['versions', url]);
    expect(human.stdout).toMatch(/0 complete runs, 1 INCOMPLETE/);
    expect(human.stdout).toMatch(/INCOMPLETE, [23] parts: no manifest/);
    const status = await admin(target, ['status', url]);
    expect(status.status).toBe(2);
    expect(status.stdout).toMatch(/no complete backup at all; newer than it: 1 INCOMPLETE run/);
    const latest = await admin(target, ['restore', url, '--identity', target.privateKey]);
    expect(latest.status).toBe(1);
    expect(latest.stderr).toMatch(new RegExp(`has no complete run: 1 INCOMPLETE run \\(${killed.runId}\\)`));
    const byId = await admin(target, [
      'restore',
      url,
      '--identity',
      target.privateKey,
      '--run',
      killed.runId,
    ]);
    expect(byId.status).toBe(1);
    expect(byId.stderr).toMatch(
      new RegExp(`run ${killed.runId} is INCOMPLETE \\(no manifest: .*\\), so it can't be restored`),
    );
  });

  it('a complete run after a failed one: status counts the complete run, restore takes it', async () => {
    const own = await ownPrefix(target, 'after-failure');
    const failed = await failedRun(target, own.policy);
    const failedRunId = /INCOMPLETE run after-failure\/(\S+)\//.exec(failed.stderr)![1];
    const input = await dump('3MiB', 3);
    const result = await pushRun(target, [], input, own.policy);
    const status = await admin(target, ['status', own.url]);
    expect(status.status, status.stdout).toBe(0);
    expect(status.stdout).toMatch(/1 backup \| 'age'=/);
    const restored = await admin(target, ['restore', own.url, '--identity', target.privateKey]);
    expect(restored.status, restored.stderr).toBe(0);
    expect(sha256(restored.stdoutBytes)).toBe(sha256(input));
    expect(
      JSON.parse((await admin(target, ['versions', own.url, '--json'])).stdout).snapshots.map(
        (r: { runId: string; state: string }) => [r.runId, r.state],
      ),
    ).toEqual([
      [result.run.runId, 'complete'],
      [failedRunId, 'incomplete'],
    ]);
  });

  it('prune plans over complete runs, removes the superseded incomplete run and every object of pruned runs', async () => {
    const own = await ownPrefix(target, 'pruned');
    await pushRun(target, [], await dump('2MiB', 3), own.policy);
    await failedRun(target, own.policy);
    const newest = await pushRun(target, [], await dump('2MiB', 4), own.policy);
    const dry = await admin(target, ['prune', own.url, '--keep-last', '1', '--json']);
    expect(dry.status, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout);
    expect(plan.snapshots.map((r: { action: string; state: string }) => [r.action, r.state])).toEqual([
      ['keep', 'complete'],
      ['remove', 'incomplete'],
      ['remove', 'complete'],
    ]);
    expect(plan.totals).toMatchObject({ backups: 2, keep: 1, remove: 1, otherRemoved: 1 });
    expect(dry.stderr).toMatch(/--keep-last alone is fragile/);
    const pruned = await admin(target, ['prune', own.url, '--keep-last', '1', '--yes', '--force']);
    expect(pruned.status, pruned.stderr).toBe(0);
    const left = await listUnder(target.bucket, own.prefix);
    expect(new Set(left.map((o) => o.key.split('/')[1]))).toEqual(new Set([newest.run.runId]));
    const verified = await admin(target, ['verify', own.url, '--identity', target.privateKey, '--all']);
    expect(verified.status, verified.stderr).toBe(0);
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
          '--retry-for',
          '0s',
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
        /upload failed after 2 attempts over [^:]+: S3 answered 503 SlowDown.*; 1 part was stored \(part-000001\) and remains as the INCOMPLETE run db4\//,
      );
      expect(await readdir(spool)).toEqual([]);
    } finally {
      proxy.close();
    }
  }, 60_000);
});
