// A compromised host against the admin side, on the local RGW. After a compromise everything under the
// host's key or prefix is the attacker's writing, and the attacker holds the policy file and the public
// key. Each test is an attack; the admin side must not trust junk, crash, leak or clobber.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { curlPost, statusOf } from '../support/attacker.js';
import { backupTarget, mint, type BackupTarget } from '../support/backup-target.js';
import { gpgHome } from '../support/gpg.js';
import { CLI, run, runCli, startCli, tempDir, type CliResult } from '../support/cli.js';
import { faultyProxy } from '../support/proxy.js';
import { adminClient, listVersions } from '../support/s3.js';
import { gone, until } from '../support/until.js';

const GEN_DUMP = fileURLToPath(new URL('../../scripts/gen-dump.mjs', import.meta.url));
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

function expectNoTrace(result: CliResult): void {
  expect(result.stderr).not.toMatch(/internal error|RangeError|\n\s+at /);
}

describe('forged runs: a run is complete only when it is whole', () => {
  let target: BackupTarget;
  let url: string;
  let good: { runId: string };
  let input: Buffer;
  const admin = (...args: string[]) => runCli(args, { env: target.adminEnv });

  beforeAll(async () => {
    target = await backupTarget('hostile-runs', { key: 'db1/' });
    url = `s3://${target.bucket}/db1/`;
    input = (await run(process.execPath, [GEN_DUMP, '2MiB', '7'])).stdoutBytes;
    const pushed = await runCli(['push', '--policy', target.policyPath, '--json'], {
      input,
      env: target.agentEnv,
    });
    expect(pushed.status, pushed.stderr).toBe(0);
    good = JSON.parse(pushed.stdout).run;
  }, 120_000);

  let forged = 0;
  /**
   * POSTs a forged run through the host's own policy, with a run id newer than the good run's (as an
   * attacker would pick, to be "latest"); `objects` makes its objects for that id.
   */
  async function forge(objects: (runId: string) => Record<string, Buffer | string>): Promise<string> {
    const runId = `29990101T0000${String(forged++).padStart(2, '0')}Z-abcdef`;
    for (const [name, body] of Object.entries(objects(runId))) {
      const posted = await curlPost(target.policyPath, body, { key: `db1/${runId}/${name}` });
      expect(statusOf(posted), posted.stdout).toBeLessThan(300);
    }
    return runId;
  }

  it('a one-byte manifest "x": BROKEN, status warns, restore falls back to the good run, prune removes it', async () => {
    const runId = await forge(() => ({ 'manifest.json': 'x' }));
    const listed = await admin('versions', url);
    expect(listed.stdout).toMatch(
      new RegExp(`^${runId} .*BROKEN, 0 parts: it has a manifest but no parts$`, 'm'),
    );
    const status = await admin('status', url);
    expect(status.status).toBe(1);
    expect(status.stdout).toMatch(/^SEALDROP WARNING - .*: latest [\d.]+ \S+ from .*1 backup; 1 BROKEN run/);
    const restored = await admin('restore', url, '--identity', target.privateKey);
    expect(restored.status, restored.stderr).toBe(0);
    expect(sha256(restored.stdoutBytes)).toBe(sha256(input));
    expect(restored.stderr).toMatch(
      new RegExp(`skipping 1 BROKEN run \\(${runId}: it has a manifest but no parts\\)`),
    );
    const plan = JSON.parse((await admin('prune', url, '--keep-last', '1', '--json')).stdout);
    expect(plan.snapshots.map((s: { runId: string; action: string }) => [s.runId, s.action])).toEqual([
      [runId, 'remove'],
      [good.runId, 'keep'],
    ]);
  });

  it.each([
    ['malformed JSON', () => '{"sealdropRun": 1, "parts": [', /the manifest is not valid \(not JSON/],
    [
      'a manifest naming parts that are not stored',
      (runId: string) =>
        JSON.stringify({
          sealdropRun: 1,
          runId,
          prefix: 'db1/',
          parts: [1, 2].map((n) => ({ key: `db1/${runId}/part-00000${n}`, size: 4, sha256: 'a'.repeat(64) })),
          totalBytes: 8,
          sha256: 'b'.repeat(64),
          bytesIn: 8,
          compression: 'gzip',
          partSize: 4,
          startedAt: '2999-01-01T00:00:00Z',
          finishedAt: '2999-01-01T00:00:00Z',
          seconds: 0,
        }),
      /part-000002 is missing/,
    ],
  ])('%s beside a part: BROKEN, never the latest', async (_name, manifest, why) => {
    const runId = await forge((id) => ({ 'part-000001': 'junk', 'manifest.json': manifest(id) }));
    const listing = JSON.parse((await admin('versions', url, '--json')).stdout);
    const snapshot = listing.snapshots.find((s: { runId: string }) => s.runId === runId);
    expect(snapshot).toMatchObject({ state: 'broken', notes: [expect.stringMatching(why)] });
    const verified = await admin('verify', url, '--identity', target.privateKey);
    expect(verified.status, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).toContain(good.runId);
  });

  it('a 17 MB manifest listing 150,000 phantom parts: refused by its size, with a short message', async () => {
    const phantom = (runId: string) =>
      JSON.stringify({
        sealdropRun: 1,
        runId,
        prefix: 'db1/',
        parts: Array.from({ length: 150_000 }, (_, i) => ({
          key: `db1/${runId}/part-${String(i + 1).padStart(6, '0')}`,
          size: 1,
          sha256: 'a'.repeat(64),
        })),
        padding: 'p'.repeat(6_000_000),
      });
    const runId = await forge((id) => ({ 'part-000001': 'x', 'manifest.json': phantom(id) }));
    const restored = await admin('restore', url, '--identity', target.privateKey, '--run', runId);
    expect(restored.status).toBe(3);
    expect(restored.stderr).toMatch(/BROKEN \(the manifest is \d+ bytes, over the limit of 16777216\)/);
    for (const line of restored.stderr.split('\n')) expect(line.length).toBeLessThan(400);
    expectNoTrace(restored);
  });

  it('restore --at a time before the junk reads no manifest of the runs after it, however many', async () => {
    const listed = await admin('versions', url, '--json');
    const goodTime = JSON.parse(listed.stdout).snapshots.find(
      (s: { runId: string }) => s.runId === good.runId,
    ).time;
    for (let i = 0; i < 12; i++) await forge(() => ({ 'part-000001': 'x', 'manifest.json': 'x' }));
    const restored = await admin('-v', 'restore', url, '--identity', target.privateKey, '--at', goodTime);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdoutBytes.equals(input)).toBe(true);
    const manifestReads = restored.stderr
      .split('\n')
      .filter((line) => /GetObject .*manifest\.json/.test(line));
    // Only the good run's own (read to judge it, and again to restore it).
    expect(manifestReads.length).toBeGreaterThan(0);
    for (const line of manifestReads) expect(line).toContain(`/db1/${good.runId}/manifest.json`);
  }, 120_000);
});

describe('nothing local leaks or gets clobbered', () => {
  let target: BackupTarget;
  let url: string;
  let dir: string;
  const admin = (...args: string[]) => runCli(args, { env: target.adminEnv });

  beforeAll(async () => {
    target = await backupTarget('hostile-local');
    url = `s3://${target.bucket}/${target.key}`;
    dir = await tempDir('sealdrop-hostile-');
    const pushed = await runCli(['push', '--policy', target.policyPath, '-q'], {
      input: 'plaintext dump\n',
      env: target.agentEnv,
    });
    expect(pushed.status, pushed.stderr).toBe(0);
  });

  it.each([
    ['a FIFO', 'fifo', async (path: string) => void (await run('mkfifo', [path])), /is a FIFO/],
    [
      'a character device',
      'null',
      async (path: string) => void (await run('mknod', [path, 'c', '1', '3'])),
      /is a device/,
    ],
    [
      'a symbolic link',
      'link',
      async (path: string) => {
        await writeFile(`${path}.target`, 'precious');
        await symlink(`${path}.target`, path);
      },
      /is a symbolic link/,
    ],
  ])('restore --out %s --force: refused (exit 2), left as it was', async (_name, name, make, message) => {
    const path = join(dir, name);
    await make(path);
    const before = await lstat(path);
    const result = await admin('restore', url, '--identity', target.privateKey, '--out', path, '--force');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    const after = await lstat(path);
    expect([after.ino, after.mode]).toEqual([before.ino, before.mode]);
    if (name === 'link') expect(await readFile(`${path}.target`, 'utf8')).toBe('precious');
  });

  it('a SIGKILLed push leaves a spool file; the next push removes it (only its own pattern, only there)', async () => {
    const spool = await tempDir('sealdrop-spool-');
    const dumpPid = join(await tempDir(), 'dump.pid');
    const { child, exited } = startCli(
      [
        'push',
        '--policy',
        target.policyPath,
        '--spool-dir',
        spool,
        '--',
        'sh',
        '-c',
        `echo $$ > ${dumpPid}; head -c 3000000 /dev/urandom; exec sleep 60`,
      ],
      { env: target.agentEnv },
    );
    const pid = async () => Number((await readFile(dumpPid, 'utf8').catch(() => '')).trim());
    await until(async () => (await readdir(spool)).length > 0 && (await pid()) > 0, 'a spool file');
    const left = (await readdir(spool))[0]!;
    expect(left).toMatch(new RegExp(`^sealdrop-${child.pid}-[0-9a-f]+\\.gpg\\.spool$`));
    child.kill('SIGKILL');
    // A SIGKILLed push can't stop its dump command, which holds the push's stderr open till it ends.
    process.kill(-(await pid()), 'SIGTERM');
    await exited;
    await writeFile(join(spool, 'sealdrop-notes.txt'), 'not ours to delete');
    await writeFile(join(spool, `sealdrop-${process.pid}-0123abcd.gpg.spool`), 'a live push of ours');
    const next = await runCli(['push', '--policy', target.policyPath, '--spool-dir', spool, '-q'], {
      input: 'next night',
      env: target.agentEnv,
    });
    expect(next.status, next.stderr).toBe(0);
    expect(next.stderr).toMatch(
      new RegExp(`removed 1 spool file left by an earlier push that was killed \\(${left}\\)`),
    );
    expect((await readdir(spool)).sort()).toEqual([
      `sealdrop-${process.pid}-0123abcd.gpg.spool`,
      'sealdrop-notes.txt',
    ]);
  });

  it('the dump command runs in its own process group, and all of it stops with the push', async () => {
    const marker = join(dir, `grandchild-${Date.now()}`);
    const { child, exited } = startCli(
      [
        'push',
        '--policy',
        target.policyPath,
        '--',
        'sh',
        '-c',
        `head -c 1000 /dev/urandom; sh -c 'echo $$ > ${marker}; exec sleep 60' & wait`,
      ],
      { env: target.agentEnv },
    );
    await until(async () => (await readFile(marker, 'utf8').catch(() => '')).trim() !== '', 'the grandchild');
    const grandchild = Number((await readFile(marker, 'utf8')).trim());
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    await until(gone(grandchild), 'the grandchild to be stopped too', { timeoutMs: 5000 });
  });

  it('refuses --retries -1 and an unusable --spool-dir as bad input (exit 2)', async () => {
    const retries = await runCli(['push', '--policy', target.policyPath, '--retries', '-1'], {
      input: 'x',
      env: target.agentEnv,
    });
    expect(retries.status).toBe(2);
    expect(retries.stderr).toMatch(/--retries -1/);
    const spool = await runCli(['push', '--policy', target.policyPath, '--spool-dir', '/nonexistent/spool'], {
      input: 'x',
      env: target.agentEnv,
    });
    expect(spool.status).toBe(2);
    expect(spool.stderr).toMatch(
      /can't create a spool file in \/nonexistent\/spool[\s\S]*hint: Point --spool-dir/,
    );
  });

  it('a tampered signature: the hint points at the policy file, not at IAM', async () => {
    const policy = JSON.parse(await readFile(target.policyPath, 'utf8'));
    const name = Object.keys(policy.fields).find((k) => k.toLowerCase() === 'x-amz-signature')!;
    policy.fields[name] = policy.fields[name].replace(/.$/, (c: string) => (c === '0' ? '1' : '0'));
    const tampered = join(dir, 'tampered.policy.json');
    await writeFile(tampered, JSON.stringify(policy), { mode: 0o600 });
    const pushed = await runCli(['push', '--policy', tampered], { input: 'x', env: target.agentEnv });
    expect(pushed.status).not.toBe(0);
    expect(pushed.stderr).toMatch(/hint: .*policy file/);
    expect(pushed.stderr).not.toMatch(/hint: .*IAM/);
  });
});

describe('hidden and written-over objects of a run', () => {
  it('verify warns about a part hidden by a delete marker, which stock tools would skip', async () => {
    const target = await backupTarget('hostile-hidden', { key: 'db1/' });
    const pushed = await runCli(['push', '--policy', target.policyPath, '--json'], {
      input: 'dump\n'.repeat(1000),
      env: target.agentEnv,
    });
    const { run: stored } = JSON.parse(pushed.stdout);
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    await adminClient().send(new DeleteObjectCommand({ Bucket: target.bucket, Key: stored.parts[0].key }));
    const verified = await runCli(['verify', `s3://${target.bucket}/db1/`, '--identity', target.privateKey], {
      env: target.adminEnv,
    });
    expect(verified.status, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(
      /warning: part-000001 hidden by a delete marker \(stock tools such as aws s3 cp --recursive skip it/,
    );
  });
});

describe('a flood of versions', () => {
  it('prune --yes deletes it in batches with progress, says what it deleted when interrupted, and a re-run continues', async () => {
    const target = await backupTarget('hostile-flood');
    const s3 = adminClient();
    let made = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (made < 300) {
          made++;
          await s3.send(new PutObjectCommand({ Bucket: target.bucket, Key: target.key, Body: 'junk' }));
        }
      }),
    );
    const url = `s3://${target.bucket}/${target.key}`;
    // The second DeleteObjects request is held until Ctrl-C has been typed: then prune must stop
    // after that batch, whatever the timing.
    const gate = await deleteGate(2);
    // On a terminal (script(1)), so there is progress; batches of 100 (S3 takes up to 1000).
    const child = spawn(
      'script',
      [
        '-qec',
        `${process.execPath} ${CLI} prune ${url} --keep-last 1 --yes --force --batch-size 100 --endpoint ${gate.url}`,
        '/dev/null',
      ],
      { env: target.adminEnv },
    );
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // The terminal relays what prune wrote in its own time: the progress can come after the request.
    await until(
      () => gate.holding() && /deleting 100 of 299 object versions/.test(screen),
      'the second batch to reach S3, its progress on the terminal',
      { timeoutMs: 60_000 },
    );
    child.stdin.write('\x03');
    // The terminal echoes ^C once it has sent SIGINT: only then is the held batch let through.
    await until(() => screen.includes('^C'), 'the terminal to send SIGINT');
    gate.release();
    expect(await exited).toBe(130);
    gate.close();
    expect(screen).toMatch(/Interrupted: deleted 200 of 299 object versions; run prune again to continue/);
    expect(await listVersions(target.bucket, target.key)).toHaveLength(100);
    const again = await runCli(['prune', url, '--keep-last', '1', '--yes', '--force'], {
      env: target.adminEnv,
    });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/Deleted 99 of 99 object versions/);
    expect(await listVersions(target.bucket, target.key)).toHaveLength(1);
  }, 180_000);
});

/** A proxy to the local S3 server that holds the n-th DeleteObjects request until released. */
async function deleteGate(n: number) {
  let deletes = 0;
  let holding = false;
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const proxy = await faultyProxy((_, req) => {
    if (req.method !== 'POST' || !/[?&]delete/.test(req.url ?? '') || ++deletes !== n) return 'forward';
    holding = true;
    return { holdUntil: released };
  });
  return { ...proxy, holding: () => holding, release };
}

describe("replays: another host's data posted as one's own", () => {
  let target: BackupTarget;
  let other: string;
  let otherRuns: string;
  const admin = (...args: string[]) => runCli(args, { env: target.adminEnv });

  beforeAll(async () => {
    // Two hosts in one bucket: db1 (the target's key) and db2, each with its own policy.
    target = await backupTarget('hostile-replay');
    other = join(target.dir, 'db2.policy.json');
    otherRuns = join(target.dir, 'db2-runs.policy.json');
    await mint(`s3://${target.bucket}/db2/mysql.sql.gz.gpg`, [target.publicKey], other);
    await mint(`s3://${target.bucket}/db2/runs/`, [target.publicKey], otherRuns);
  });

  it("an object re-posted under another host's key: restore and verify refuse it, naming both places", async () => {
    const pushed = await runCli(['push', '--policy', target.policyPath, '-q'], {
      input: 'db1 secrets\n',
      env: target.agentEnv,
    });
    expect(pushed.status, pushed.stderr).toBe(0);
    // The ciphertext leaks (a shared spool, an http:// endpoint); db2's compromised host re-posts it.
    const object = await adminClient().send(new GetObjectCommand({ Bucket: target.bucket, Key: target.key }));
    const replayed = await curlPost(other, Buffer.from(await object.Body!.transformToByteArray()));
    expect(statusOf(replayed)).toBeLessThan(300);
    const url = `s3://${target.bucket}/db2/mysql.sql.gz.gpg`;
    const restored = await admin('restore', url, '--identity', target.privateKey);
    expect(restored.status).toBe(3);
    expect(restored.stdout).toBe('');
    expect(restored.stderr).toMatch(
      new RegExp(`was made for s3://${target.bucket}/${target.key}, not for ${url}`),
    );
    const verified = await admin('verify', url, '--identity', target.privateKey);
    expect(verified.status).toBe(3);
  });

  it("a run re-posted under another host's prefix, manifest rewritten to match: refused", async () => {
    const runs = join(target.dir, 'db1-runs.policy.json');
    await mint(`s3://${target.bucket}/db1/runs/`, [target.publicKey], runs);
    const pushed = await runCli(['push', '--policy', runs, '--json'], {
      input: 'db1 run\n',
      env: target.agentEnv,
    });
    expect(pushed.status, pushed.stderr).toBe(0);
    const { run } = JSON.parse(pushed.stdout);
    const get = async (key: string) =>
      Buffer.from(
        await (
          await adminClient().send(new GetObjectCommand({ Bucket: target.bucket, Key: key }))
        ).Body!.transformToByteArray(),
      );
    const runId = '20990101T000000Z-0ddba1';
    const manifest = JSON.parse((await get(`db1/runs/${run.runId}/manifest.json`)).toString());
    manifest.runId = runId;
    manifest.prefix = 'db2/runs/';
    manifest.parts = manifest.parts.map((p: { key: string }) => ({
      ...p,
      key: p.key.replace(`db1/runs/${run.runId}/`, `db2/runs/${runId}/`),
    }));
    for (const part of run.parts)
      await curlPost(otherRuns, await get(part.key), {
        key: part.key.replace(`db1/runs/${run.runId}/`, `db2/runs/${runId}/`),
      });
    await curlPost(otherRuns, JSON.stringify(manifest), { key: `db2/runs/${runId}/manifest.json` });
    const url = `s3://${target.bucket}/db2/runs/`;
    const listed = JSON.parse((await admin('versions', url, '--json')).stdout);
    expect(listed.snapshots).toEqual([expect.objectContaining({ runId, state: 'complete' })]); // it passes every listing check
    const restored = await admin('restore', url, '--identity', target.privateKey);
    expect(restored.status).toBe(3);
    expect(restored.stderr).toMatch(
      new RegExp(`was made for s3://${target.bucket}/db1/runs/${run.runId}/, not for ${url}${runId}/`),
    );
  });

  it('an object without a binding (gpg, curl, an earlier sealdrop) is refused; with --allow-unbound it restores, with a one-line note', async () => {
    const gpg = await gpgHome();
    expect((await gpg(['--import', target.publicKey])).status).toBe(0);
    const gz = (await run('gzip', ['-c'], { input: 'made by hand\n' })).stdoutBytes;
    const sealed = await gpg(
      ['--trust-model', 'always', '--recipient', 'admin@example.com', '--encrypt'],
      gz,
    );
    const key = 'db1/by-hand.sql.gz.gpg';
    await adminClient().send(
      new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: sealed.stdoutBytes }),
    );
    const refused = await admin('restore', `s3://${target.bucket}/${key}`, '--identity', target.privateKey);
    expect(refused.status).toBe(3);
    expect(refused.stderr).toMatch(/names no place it belongs: sealdrop did not make it/);
    const restored = await admin(
      'restore',
      `s3://${target.bucket}/${key}`,
      '--identity',
      target.privateKey,
      '--allow-unbound',
    );
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toBe('made by hand\n');
    expect(restored.stderr.match(/warning: .*names no place it belongs/g)).toHaveLength(1);
  });

  it('junk that is no OpenPGP message at all: verify fails it as a bad backup (exit 3), not as "could not check"', async () => {
    const posted = await curlPost(other, 'junk from a compromised host\n');
    expect(statusOf(posted)).toBeLessThan(300);
    const verified = await admin(
      'verify',
      `s3://${target.bucket}/db2/mysql.sql.gz.gpg`,
      '--identity',
      target.privateKey,
    );
    expect(verified.status, verified.stderr).toBe(3);
    expect(verified.stdout).toMatch(/^FAILED .*is not an OpenPGP message/m);
  });
});
