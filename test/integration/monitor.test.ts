// push reports every run: pings in healthchecks.io's convention to a local listener, and the metrics
// file, read by a real parser of Prometheus' text format and checked by promtool, against the real S3 server.
import { open, readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupTarget, mint, type BackupTarget } from '../support/backup-target.js';
import { run, runCli, tempDir } from '../support/cli.js';
import { listVersions } from '../support/s3.js';

interface Ping {
  method: string;
  path: string;
  body: string;
  userAgent: string;
}

/** A ping endpoint that records what arrives; answers 503 to the first `failFirst` requests. */
class Listener {
  readonly pings: Ping[] = [];
  failFirst = 0;
  #server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.pings.push({
        method: req.method ?? '',
        path: req.url ?? '',
        body: Buffer.concat(chunks).toString('utf8'),
        userAgent: req.headers['user-agent'] ?? '',
      });
      const fail = this.failFirst-- > 0;
      res.writeHead(fail ? 503 : 200, { 'content-type': 'text/plain' });
      res.end(fail ? 'busy' : 'OK');
    });
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  close(): void {
    this.#server.close();
  }
}

let listener: Listener;
let base: string;
let target: BackupTarget;
/** target's policy, minted with --ping: the admin's way, with no flag needed on the server. */
let pinged: string;
let version: string;
beforeAll(async () => {
  listener = new Listener();
  base = await listener.listen();
  target = await backupTarget('monitor');
  pinged = join(target.dir, 'pinged.json');
  await mint(`s3://${target.bucket}/${target.key}`, [target.publicKey], pinged, [
    '--ping',
    `${base}/ping/db1`,
  ]);
  version = (await runCli(['--version'])).stdout.trim();
});
afterAll(() => listener?.close());

function since(count: number): Ping[] {
  return listener.pings.slice(count);
}

describe('push --ping', () => {
  it('pings start, then success with the bytes and version, at the URL minted into the policy file (a 503 retried)', async () => {
    const seen = listener.pings.length;
    listener.failFirst = 1;
    const pushed = await runCli(['push', '--policy', pinged], { input: 'hello\n', env: target.agentEnv });
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(pushed.stderr).not.toMatch(/ping/);
    const pings = since(seen);
    expect(pings.map((p) => `${p.method} ${p.path}`)).toEqual([
      'POST /ping/db1/start',
      'POST /ping/db1/start',
      'POST /ping/db1',
    ]);
    expect(pings[0]!.body).toBe(`sealdrop ${version}: push to s3://${target.bucket}/${target.key} started`);
    const [latest] = await listVersions(target.bucket, target.key);
    expect(pings[2]!.body).toMatch(new RegExp(`^sealdrop ${version}: stored s3://${target.bucket}/`));
    expect(pings[2]!.body).toMatch(/\nread 6 B \(6 bytes\), stored .* \(\d+ bytes\) in [\d.]+ s\n/);
    expect(pings[2]!.body).toContain(`(${latest!.Size} bytes) in`);
    expect(pings[2]!.userAgent).toBe(`sealdrop/${version}`);
  });

  it('pings start, then fail with the reason and hint, when the dump command fails; --ping overrides the policy; --json keeps its error document', async () => {
    const seen = listener.pings.length;
    const pushed = await runCli(
      [
        'push',
        '--policy',
        pinged,
        '--ping',
        `${base}/other`,
        '--json',
        '--',
        'sh',
        '-c',
        'echo partial; exit 3',
      ],
      { env: target.agentEnv },
    );
    expect(pushed.status).toBe(1);
    expect(JSON.parse(pushed.stdout)).toEqual({
      error: {
        code: 'DUMP_FAILED',
        message: expect.stringMatching(/exited with status 3; nothing was uploaded$/),
        hint: expect.any(String),
        exitStatus: 1,
      },
    });
    const pings = since(seen);
    expect(pings.map((p) => `${p.method} ${p.path}`)).toEqual(['POST /other/start', 'POST /other/fail']);
    expect(pings[1]!.body.split('\n')).toEqual([
      `sealdrop ${version}: push to s3://${target.bucket}/${target.key} failed (exit 1)`,
      'error: the dump command "sh -c echo partial; exit 3" exited with status 3; nothing was uploaded',
      expect.stringMatching(/^hint: Run the dump command by hand/),
    ]);
  });

  it('still stores the backup when the ping endpoint is down, with a warning', async () => {
    const down = new Listener();
    const url = await down.listen();
    down.close(); // nothing listens there now: every connection is refused
    const before = (await listVersions(target.bucket, target.key)).length;
    const pushed = await runCli(['push', '--policy', target.policyPath, '--ping', `${url}/ping/db1`], {
      input: 'still here\n',
      env: target.agentEnv,
    });
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(pushed.stderr).toMatch(/Stored s3:\/\//);
    for (const event of ['start', 'success'])
      expect(pushed.stderr).toContain(
        `sealdrop: warning: the ${event} ping to ${url} failed after 3 attempts (ECONNREFUSED); the backup is not affected`,
      );
    expect(pushed.stderr).not.toContain('/ping/db1'); // the check's identity stays out of the logs
    expect((await listVersions(target.bucket, target.key)).length).toBe(before + 1);
  });
});

describe('push --metrics-file', () => {
  const value = (families: ParsedFamily[], name: string) => {
    const family = families.find((f) => f.name === name);
    return family === undefined ? undefined : Number(family.metrics[0]!.value);
  };

  it('writes textfile-collector metrics by rename: a failure keeps the last success and never shows half a file', async () => {
    const dir = await tempDir('sealdrop-textfile-');
    const file = join(dir, 'sealdrop-db1.prom');
    const started = Date.now() / 1000;
    const ok = await runCli(['push', '--policy', target.policyPath, '--metrics-file', file], {
      input: 'metrics\n',
      env: target.agentEnv,
    });
    expect(ok.status, ok.stderr).toBe(0);
    const first = await readFile(file, 'utf8');
    const families = parsePrometheusTextFormat(first);
    const labels = { target: `s3://${target.bucket}/${target.key}` };
    for (const family of families) {
      expect(family.type, family.name).toBe('GAUGE');
      expect(family.metrics[0]!.labels).toEqual(labels);
    }
    const [latest] = await listVersions(target.bucket, target.key);
    const { expiresAt } = JSON.parse(
      (await runCli(['policy', 'show', target.policyPath, '--json'], { env: target.agentEnv })).stdout,
    );
    expect(value(families, 'sealdrop_push_exit_status')).toBe(0);
    expect(value(families, 'sealdrop_push_read_bytes')).toBe(8);
    expect(value(families, 'sealdrop_push_stored_bytes')).toBe(latest!.Size);
    expect(value(families, 'sealdrop_policy_expiry_timestamp_seconds')).toBe(Date.parse(expiresAt) / 1000);
    const success = value(families, 'sealdrop_push_last_success_timestamp_seconds')!;
    expect(success).toBeGreaterThanOrEqual(started);
    expect(value(families, 'sealdrop_push_last_start_timestamp_seconds')).toBeLessThanOrEqual(success);
    expect(value(families, 'sealdrop_push_last_failure_timestamp_seconds')).toBeUndefined();
    // Prometheus' own parser and linter (naming conventions, HELP and TYPE) find nothing to say.
    const lint = await run('promtool', ['check', 'metrics'], { input: first });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);

    // A failing push, the path from the environment (as the systemd drop-in gives it), read meanwhile.
    // A rename leaves the old file whole for whoever still has it open; a rewrite would change it.
    const old = await open(file, 'r');
    let done = false;
    const reads: string[] = [];
    const reader = (async () => {
      while (!done) {
        reads.push(await readFile(file, 'utf8'));
        await sleep(2);
      }
    })();
    const failed = await runCli(['push', '--policy', target.policyPath, '--', 'false'], {
      env: { ...target.agentEnv, SEALDROP_METRICS_FILE: file },
    });
    done = true;
    await reader;
    expect(failed.status).toBe(1);
    const after = parsePrometheusTextFormat(await readFile(file, 'utf8'));
    expect(value(after, 'sealdrop_push_exit_status')).toBe(1);
    expect(value(after, 'sealdrop_push_last_failure_timestamp_seconds')).toBeGreaterThan(success);
    expect(value(after, 'sealdrop_push_last_success_timestamp_seconds')).toBe(success);
    expect(value(after, 'sealdrop_push_read_bytes')).toBe(8);
    expect(await old.readFile('utf8')).toBe(first);
    await old.close();
    expect(await readdir(dir)).toEqual(['sealdrop-db1.prom']); // no temp file left
    expect(reads.length).toBeGreaterThan(0);
    for (const text of reads) {
      expect(text.endsWith('\n')).toBe(true);
      expect(parsePrometheusTextFormat(text).length).toBeGreaterThanOrEqual(families.length);
    }
  });

  it('warns when it cannot write the file, and the backup is stored all the same', async () => {
    const before = (await listVersions(target.bucket, target.key)).length;
    const pushed = await runCli(
      ['push', '--policy', target.policyPath, '--metrics-file', '/nonexistent/dir/sealdrop.prom'],
      { input: 'data\n', env: target.agentEnv },
    );
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(pushed.stderr.match(/warning: the metrics file was not written: can't replace/g)).toHaveLength(1);
    expect((await listVersions(target.bucket, target.key)).length).toBe(before + 1);
  });
});
