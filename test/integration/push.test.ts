// sealdrop push against the real S3 server, checked with stock gpg and gunzip.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { after, gone, until } from '../support/until.js';
import { agentEnv, backupTarget, mint, stockRestore, type BackupTarget } from '../support/backup-target.js';
import { CLI, run, runCli, startCli, tempDir } from '../support/cli.js';
import { faultyProxy, forwardToS3 } from '../support/proxy.js';
import { listVersions } from '../support/s3.js';

const GEN_DUMP = fileURLToPath(new URL('../../scripts/gen-dump.mjs', import.meta.url));

async function dump(size: string, seed = 1): Promise<Buffer> {
  return (await run(process.execPath, [GEN_DUMP, size, String(seed)])).stdoutBytes;
}

async function spoolDir(): Promise<string> {
  return tempDir('sealdrop-spool-');
}

let target: BackupTarget;
beforeAll(async () => {
  target = await backupTarget('push');
});

describe('push', () => {
  it('stores stdin as a new version that stock gpg and gunzip restore byte for byte', async () => {
    const input = await dump('3MiB');
    const pushed = await runCli(['push', '--policy', target.policyPath, '--json'], {
      input,
      env: target.agentEnv,
    });
    expect(pushed.status, pushed.stderr).toBe(0);
    const result = JSON.parse(pushed.stdout);
    expect(result).toMatchObject({ bucket: target.bucket, key: target.key, bytesIn: input.length });
    expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(result.bytesOut).toBeLessThan(input.length / 2);
    const versions = await listVersions(target.bucket, target.key);
    expect(versions[0]?.Size).toBe(result.bytesOut);
    expect((await stockRestore(target, versions[0]!.VersionId)).equals(input)).toBe(true);
  });

  it("says that piped stdin hides the writer's failure, and that `push -- CMD` is the safe form", async () => {
    // The shell stores what a failing writer gave, as complete: only pipefail would tell.
    const piped = await run(
      'bash',
      ['-c', `printf 'half a dump' | "${process.execPath}" "${CLI}" push --policy "${target.policyPath}"`],
      {
        env: target.agentEnv,
      },
    );
    expect(piped.status, piped.stderr).toBe(0);
    expect(piped.stderr).toMatch(/note: stdin is a pipe, .* sealdrop push --policy FILE -- COMMAND ARGS\n/);
    const quiet = await run(
      'bash',
      ['-c', `printf 'x' | "${process.execPath}" "${CLI}" push -q --policy "${target.policyPath}"`],
      {
        env: target.agentEnv,
      },
    );
    expect(quiet.stderr).toBe('');
    const file = join(await tempDir(), 'dump.sql');
    await writeFile(file, 'a dump');
    const redirected = await runCli(['push', '--policy', target.policyPath], {
      stdinFile: file,
      env: target.agentEnv,
    });
    const commanded = await runCli(['push', '--policy', target.policyPath, '--', 'cat', file], {
      env: target.agentEnv,
    });
    for (const result of [redirected, commanded]) {
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).not.toContain('stdin is a pipe');
    }
  });

  it('reads stdin redirected from a file in whole blocks, a ragged tail included', async () => {
    const own = await backupTarget('push-file');
    const input = await dump('2.3MiB', 3);
    const file = join(await tempDir(), 'dump.sql');
    await writeFile(file, input);
    const pushed = await runCli(['push', '--policy', own.policyPath, '--json'], {
      stdinFile: file,
      env: own.agentEnv,
    });
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(JSON.parse(pushed.stdout).bytesIn).toBe(input.length);
    const [latest] = await listVersions(own.bucket, own.key);
    expect((await stockRestore(own, latest!.VersionId)).equals(input)).toBe(true);
  });

  it('runs the dump command itself; two pushes make two versions, neither overwritten', async () => {
    const own = await backupTarget('push-cmd');
    for (const seed of [1, 2]) {
      const pushed = await runCli(
        ['push', '--policy', own.policyPath, '--', process.execPath, GEN_DUMP, '2MiB', String(seed)],
        { env: own.agentEnv },
      );
      expect(pushed.status, pushed.stderr).toBe(0);
      expect(pushed.stderr).toMatch(/Stored s3:\/\//);
    }
    const versions = await listVersions(own.bucket, own.key);
    expect(versions).toHaveLength(2);
    expect((await stockRestore(own, versions[0]!.VersionId)).equals(await dump('2MiB', 2))).toBe(true);
    expect((await stockRestore(own, versions[1]!.VersionId)).equals(await dump('2MiB', 1))).toBe(true);
  });

  it('sizes the threadpool for a compression thread per core plus one, unless told otherwise', async () => {
    const own = await backupTarget('push-pool');
    // The dump command inherits the environment the executable set up for libuv.
    const showPool = ['--', 'sh', '-c', 'echo "pool=$UV_THREADPOOL_SIZE" >&2; echo data'];
    const sized = await runCli(['push', '--policy', own.policyPath, '--quiet', ...showPool], {
      env: { ...own.agentEnv, UV_THREADPOOL_SIZE: undefined },
    });
    expect(sized.status, sized.stderr).toBe(0);
    expect(sized.stderr).toContain(`pool=${availableParallelism() + 2}`);
    const told = await runCli(['push', '--policy', own.policyPath, '--quiet', ...showPool], {
      env: { ...own.agentEnv, UV_THREADPOOL_SIZE: '5' },
    });
    expect(told.stderr).toContain('pool=5');
  });

  it('keeps the output of a dump command that exits at once', async () => {
    const own = await backupTarget('push-quick');
    const pushed = await runCli(['push', '--policy', own.policyPath, '--json', '--', 'echo', 'tiny'], {
      env: own.agentEnv,
    });
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(JSON.parse(pushed.stdout).bytesIn).toBe(5);
    const [latest] = await listVersions(own.bucket, own.key);
    expect((await stockRestore(own, latest!.VersionId)).toString()).toBe('tiny\n');
  });

  it('stores uncompressed data with --compress none', async () => {
    const own = await backupTarget('push-none');
    const input = await dump('1MiB');
    const pushed = await runCli(['push', '--policy', own.policyPath, '--compress', 'none', '--json'], {
      input,
      env: own.agentEnv,
    });
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(JSON.parse(pushed.stdout).bytesOut).toBeGreaterThan(input.length);
  });
});

describe('push on a terminal', () => {
  // `script` gives the command a pseudo-terminal, as an operator running it by hand has. The pause
  // keeps the dump going past the progress line's first redraw (250 ms), however fast the push is.
  const onTty = (extra: string) =>
    run(
      'script',
      [
        '-qec',
        `{ head -c 1000000 /dev/urandom; sleep 0.5; head -c 2000000 /dev/urandom; } | ${process.execPath} ${CLI} push --policy ${target.policyPath} ${extra}`,
        '/dev/null',
      ],
      {
        env: target.agentEnv,
      },
    );

  it('shows a progress line (bytes, rate, elapsed), erased at the end', async () => {
    const result = await onTty('');
    expect(result.status, result.stdout).toBe(0);
    // eslint-disable-next-line no-control-regex -- the terminal's erase-line sequence is the point
    expect(result.stdout).toMatch(/\r\x1b\[Kreading [\d.]+ [KM]iB +[\d.]+ [KM]iB\/s +\d+m?s/);
    expect(result.stdout).toMatch(/Stored s3:\/\//);
  });

  it('shows none with --quiet', async () => {
    const result = await onTty('--quiet');
    expect(result.status, result.stdout).toBe(0);
    expect(result.stdout).not.toMatch(/reading|Stored/);
  });
});

describe('push refuses, uploads nothing and leaves no spool file', () => {
  async function refused(args: string[], options: { input?: Buffer | string; policy?: string } = {}) {
    const spool = await spoolDir();
    const before = (await listVersions(target.bucket, target.key)).length;
    const result = await runCli(
      ['push', '--policy', options.policy ?? target.policyPath, '--spool-dir', spool, ...args],
      {
        input: options.input ?? '',
        env: target.agentEnv,
      },
    );
    expect(await readdir(spool)).toEqual([]);
    expect((await listVersions(target.bucket, target.key)).length).toBe(before);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    return result;
  }

  it('when the dump command fails, naming its exit status', async () => {
    const result = await refused(['--', 'sh', '-c', 'echo partial; echo "access denied" >&2; exit 3']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('access denied'); // the dump's own stderr passes through
    expect(result.stderr).toMatch(/"sh -c .*" exited with status 3; nothing was uploaded/);
  });

  it('when the dump command dies by a signal, naming the signal', async () => {
    const result = await refused(['--', 'sh', '-c', 'echo partial; kill -KILL $$']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/was killed by signal SIGKILL/);
  });

  it('when the input is empty (unless --allow-empty)', async () => {
    const result = await refused([]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/input was empty/);
  });

  it('when the policy has expired, with the expiry in the message', async () => {
    const expired = join(target.dir, 'expired.json');
    await mint(`s3://${target.bucket}/${target.key}`, [target.publicKey], expired, ['--expires', '1s']);
    const { expiresAt } = JSON.parse(
      (await runCli(['policy', 'show', expired, '--json'], { env: target.agentEnv })).stdout,
    );
    await until(after(Date.parse(expiresAt)), 'the policy to expire');
    const result = await refused([], { input: 'data', policy: expired });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/expired at \d{4}-\d\d-\d\dT/);
  });

  it("when the result is over the policy's max size, before uploading", async () => {
    const small = join(target.dir, 'small.json');
    await mint(`s3://${target.bucket}/${target.key}`, [target.publicKey], small, ['--max-size', '64KiB']);
    const result = await refused(['--compress', 'none'], { input: await dump('1MiB'), policy: small });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/over the policy's limit of 64\.0 KiB/);
  });

  it('when the spool disk fills up', async () => {
    const tiny = await tempDir('sealdrop-tiny-');
    // A 512 KiB file system (the suite runs as root: it installs its own packages too).
    expect((await run('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', tiny])).status).toBe(0);
    try {
      const before = (await listVersions(target.bucket, target.key)).length;
      const input = (await run('head', ['-c', '4000000', '/dev/urandom'])).stdoutBytes;
      const result = await runCli(
        ['push', '--policy', target.policyPath, '--compress', 'none', '--spool-dir', tiny],
        { input, env: target.agentEnv },
      );
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/the spool directory .* is full; nothing was uploaded/);
      expect(await readdir(tiny)).toEqual([]);
      expect((await listVersions(target.bucket, target.key)).length).toBe(before);
    } finally {
      await run('umount', [tiny]);
    }
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129], // the terminal of an ssh session that drops
  ] as const)(
    'when interrupted by %s mid-run (exit %i), stopping the dump command too',
    async (signal, status) => {
      const spool = await spoolDir();
      const marker = join(spool, '..', `sleeper-${Date.now()}`);
      const push = startCli(
        [
          'push',
          '--policy',
          target.policyPath,
          '--spool-dir',
          spool,
          '--',
          'sh',
          '-c',
          `head -c 2000000 /dev/urandom; echo $$ > ${marker}; exec sleep 60`,
        ],
        { env: target.agentEnv },
      );
      await until(async () => (await readdir(spool)).length > 0, 'a spool file');
      await waitForFile(marker);
      push.child.kill(signal);
      expect(await push.exited).toBe(status);
      expect(push.stderr).toMatch(new RegExp(`interrupted by ${signal}; nothing was uploaded`));
      expect(push.stderr.match(/nothing was uploaded/gi)).toHaveLength(1); // not again in the hint
      expect(await readdir(spool)).toEqual([]);
      const sleeper = Number((await readFile(marker, 'utf8')).trim());
      await until(gone(sleeper), 'the dump command to be stopped', { timeoutMs: 5000 });
    },
  );
});

describe('push over a flaky network', () => {
  /** A proxy in front of the real S3 server that answers 503 SlowDown to the first `failures` requests. */
  const flakyProxy = (failures: number) => faultyProxy((n) => (n <= failures ? 'slowdown' : 'forward'));

  /** The same policy file pointed at another URL (the URL is not part of the signature). */
  async function via(url: string, policyPath = target.policyPath): Promise<string> {
    const policy = JSON.parse(await readFile(policyPath, 'utf8'));
    policy.url = `${url}/${target.bucket}`;
    const path = join(target.dir, `via-${Date.now()}.json`);
    await writeFile(path, JSON.stringify(policy));
    return path;
  }

  it('retries 503 SlowDown with backoff, then succeeds', async () => {
    const proxy = await flakyProxy(2);
    try {
      const before = (await listVersions(target.bucket, target.key)).length;
      const result = await runCli(['push', '--policy', await via(proxy.url), '--retry-delay', '50ms'], {
        input: await dump('512KiB'),
        env: target.agentEnv,
      });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/attempt 1 failed \(S3 answered 503 SlowDown/);
      expect(proxy.requests()).toBe(3);
      expect((await listVersions(target.bucket, target.key)).length).toBe(before + 1);
    } finally {
      proxy.close();
    }
  });

  it('gives a clear error after the last retry', async () => {
    const proxy = await flakyProxy(100);
    try {
      const result = await runCli(
        [
          'push',
          '--policy',
          await via(proxy.url),
          '--retries',
          '2',
          '--retry-for',
          '0s',
          '--retry-delay',
          '10ms',
        ],
        { input: 'x', env: target.agentEnv },
      );
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/upload failed after 3 attempts over [^:]+: S3 answered 503 SlowDown/);
      expect(proxy.requests()).toBe(3);
    } finally {
      proxy.close();
    }
  });

  it('waits for a server that is down and comes back', async () => {
    const placeholder = createServer();
    await new Promise<void>((resolve) => placeholder.listen(0, '127.0.0.1', resolve));
    const { port } = placeholder.address() as AddressInfo;
    placeholder.close(); // nothing listens on `port` now: connections are refused
    const push = startCli(
      ['push', '--policy', await via(`http://127.0.0.1:${port}`), '--retry-delay', '300ms'],
      { env: target.agentEnv, input: 'back soon' },
    );
    // Bring the server back only once the push has met it down.
    await until(() => /attempt 1 failed \(ECONNREFUSED/.test(push.stderr), 'the first retry', {
      timeoutMs: 10_000,
    });
    const proxy = createServer(forwardToS3);
    await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
    try {
      expect(await push.exited, push.stderr).toBe(0);
      expect(push.stderr).toMatch(/Stored s3:\/\//);
    } finally {
      proxy.close();
    }
  });

  it('rides out an S3 outage long past its retries, keeping the spool, and says how long it waited', async () => {
    // The default schedule (--retries 5, --retry-delay 1s, --retry-for 15min) gives up on five retries
    // after 31 s at most, then goes on for 15 minutes. Here it runs ten times faster: with
    // --retry-delay 100ms the five retries are over within 3.1 s, and a 12-second outage is ridden out.
    const spool = await spoolDir();
    const metrics = join(await tempDir(), 'push.prom');
    // The outage counts from the push's first attempt, however long the push takes to start.
    let firstAttempt: number | null = null;
    const since = () => (firstAttempt === null ? 0 : Date.now() - firstAttempt);
    const proxy = await faultyProxy(() => {
      firstAttempt ??= Date.now();
      return since() < 12_000 ? 'slowdown' : 'forward';
    });
    try {
      const push = startCli(
        [
          'push',
          '--policy',
          await via(proxy.url),
          '--spool-dir',
          spool,
          '--metrics-file',
          metrics,
          '--retry-delay',
          '100ms',
        ],
        { env: target.agentEnv, input: 'a dump through an outage' },
      );
      // Twice the retries' give-up point: the ciphertext waits on disk.
      await until(() => since() > 6_200, 'twice the give-up point of five retries', { timeoutMs: 30_000 });
      expect(await readdir(spool)).toHaveLength(1);
      expect(await push.exited, push.stderr).toBe(0);
      expect(push.stderr).toMatch(/waited: +\d+s for S3 \(\d+ attempts\)/);
      const retried = /^sealdrop_push_retried_seconds\{[^}]*\} (\S+)$/m.exec(await readFile(metrics, 'utf8'));
      expect(Number(retried?.[1])).toBeGreaterThanOrEqual(11.5);
      expect(await readdir(spool)).toEqual([]);
      const [latest] = await listVersions(target.bucket, target.key);
      expect((await stockRestore(target, latest!.VersionId)).toString()).toBe('a dump through an outage');
    } finally {
      proxy.close();
    }
  }, 60_000);

  it('does not retry a 403: a tampered signature is refused once, with a hint', async () => {
    const proxy = await flakyProxy(0);
    try {
      const policy = JSON.parse(await readFile(target.policyPath, 'utf8'));
      policy.fields['X-Amz-Signature'] = policy.fields['X-Amz-Signature'].replace(/^./, (c: string) =>
        c === '0' ? '1' : '0',
      );
      const tampered = join(target.dir, 'tampered.json');
      await writeFile(tampered, JSON.stringify(policy));
      const result = await runCli(
        ['push', '--policy', await via(proxy.url, tampered), '--retry-delay', '10ms'],
        { input: 'x', env: target.agentEnv },
      );
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/S3 refused the upload: 403/);
      expect(result.stderr).toMatch(/hint: /);
      expect(proxy.requests()).toBe(1);
    } finally {
      proxy.close();
    }
  });
});

describe('the agent holds no AWS credentials and leaks no secrets', () => {
  it('never loads the AWS SDK nor reads AWS credentials, and never prints the signature or policy', async () => {
    const dir = await tempDir();
    const log = join(dir, 'modules.log');
    // A module hook records every module the push loads.
    const hook = join(dir, 'hook.mjs');
    await writeFile(
      hook,
      `import { register } from 'node:module';\nregister(${JSON.stringify(
        `data:text/javascript,${encodeURIComponent(
          `import { appendFileSync } from 'node:fs'; export async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r; }`,
        )}`,
      )});\n`,
    );
    const env = {
      ...agentEnv(),
      HOME: dir,
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'nope'),
      AWS_CONFIG_FILE: join(dir, 'nope'),
    };
    const ok = await run(process.execPath, ['--import', hook, CLI, 'push', '--policy', target.policyPath], {
      input: 'secret-free',
      env,
    });
    const failed = await run(
      process.execPath,
      ['--import', hook, CLI, 'push', '--policy', target.policyPath, '--', 'false'],
      { env },
    );
    expect(ok.status, ok.stderr).toBe(0);
    expect(failed.status).toBe(1);
    const modules = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    expect(modules.some((url) => url.includes('/dist/agent/push.js'))).toBe(true);
    expect(modules.filter((url) => url.includes('@aws-sdk') || url.includes('/dist/admin/'))).toEqual([]);
    const sources = modules.filter((url) => url.includes('/dist/'));
    // No loaded module of ours reads an AWS variable or file.
    for (const url of sources)
      expect(await readFile(fileURLToPath(url), 'utf8')).not.toMatch(
        /env(\.|\[['"`])AWS_|\.aws\/(credentials|config)/,
      );
    const { fields } = JSON.parse(await readFile(target.policyPath, 'utf8'));
    for (const output of [ok.stdout, ok.stderr, failed.stdout, failed.stderr]) {
      expect(output).not.toContain(fields['X-Amz-Signature']);
      expect(output).not.toContain(fields.Policy.slice(0, 40));
    }
  });
});

/** Passes a request on to the real S3 server, and its answer back. */
async function waitForFile(path: string): Promise<void> {
  const written = () =>
    readFile(path, 'utf8').then(
      (text) => text.trim() !== '',
      () => false,
    );
  await until(written, `${path} to be written`, { timeoutMs: 10_000 });
}
