// fleet verify against the real S3 server: a fleet of three hosts minted with fleet mint and pushed by
// the real CLI, proved whole, in two shards, with a host that never pushed and one whose backup is bad.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { fleetVerify } from '../../src/admin/backups/fleet-verify.js';
import { readFleet } from '../../src/core/fleet-load.js';
import { runCli, tempDir, type CliResult } from '../support/cli.js';
import { installPolicy, pushHost, type FleetTestHost } from '../support/fleet.js';
import { adminClient, freshBucket, s3Env, userArn, withEnv } from '../support/s3.js';

const PASSPHRASE = 'fleet verify test';

interface Host extends FleetTestHost {
  /** Its key, or its prefix (runs). */
  key: string;
  isPrefix: boolean;
}

let dir: string;
let bucket: string;
let fleetFile: string;
let identity: string;
let hosts: Host[];
/** When beforeAll's pushes were done. */
let pushedAt: number;
const admin = (passphrase = PASSPHRASE) => withEnv({ SEALDROP_PASSPHRASE: passphrase });

function fleetYaml(extraHosts = ''): string {
  return `fleet: 1
bucket: ${bucket}
endpoint: ${s3Env().endpoint}
region: ${s3Env().region}
recipients: [keys/admin.pub.asc]
policyDir: policies
defaults: {expires: 1h, maxSize: 64MiB}
hosts:
${hosts.map((host) => `  ${host.name}: {${host.isPrefix ? `prefix: ${host.key}, partSize: 1MiB` : `key: ${host.key}`}}`).join('\n')}
${extraHosts}`;
}

/** The fleet verified by the CLI: the identity and its passphrase as a cron job has them. */
function fleetVerifyCli(args: string[], options: { file?: string; passphrase?: string } = {}) {
  return runCli(['fleet', 'verify', options.file ?? fleetFile, '--identity', identity, ...args], {
    env: admin(options.passphrase),
  });
}

interface HostJson {
  host: string;
  ok: boolean;
  neverBackedUp: boolean;
  seconds: number;
  checks: {
    ok: boolean;
    code: string | null;
    snapshot: { versionId?: string; time: string };
    warnings: string[];
    markedAt: string | null;
  }[];
  error: { code: string; message: string; hint: string } | null;
}

function parsed(result: CliResult): {
  shard: string | null;
  hosts: HostJson[];
  summary: Record<string, number>;
} {
  return JSON.parse(result.stdout);
}

beforeAll(async () => {
  dir = await tempDir('sealdrop-fleet-verify-');
  bucket = await freshBucket('fleet-verify');
  const setup = await runCli(
    ['setup', `s3://${bucket}`, '--uploader', userArn('sealdrop-uploader'), '--apply-bucket-policy'],
    { env: admin() },
  );
  expect(setup.status, setup.stderr).toBe(0);
  await mkdir(join(dir, 'keys'));
  const made = await runCli(
    ['key', 'generate', '--uid', 'admin <admin@example.com>', '--out', join(dir, 'keys', 'admin')],
    { env: admin() },
  );
  expect(made.status, made.stderr).toBe(0);
  identity = join(dir, 'keys', 'admin.key.asc');
  // By the hash, bravo and charlie are shard 1 of 2 and alpha shard 2 (test/unit/fleet-shard.test.ts).
  hosts = [
    { name: 'alpha', key: 'alpha/db.sql.gz.gpg', isPrefix: false },
    { name: 'bravo', key: 'bravo/db.sql.gz.gpg', isPrefix: false },
    { name: 'charlie', key: 'charlie/runs/', isPrefix: true },
  ].map((host) => ({ ...host, policy: join(dir, 'hosts', host.name, 'policy.json') }));
  fleetFile = join(dir, 'fleet.yaml');
  await writeFile(fleetFile, fleetYaml());
  const minted = await runCli(['fleet', 'mint', fleetFile], { env: admin() });
  expect(minted.status, minted.stderr).toBe(0);
  for (const host of hosts) await installPolicy(join(dir, 'policies'), host);
  // alpha twice, so that --all has two backups of it to verify.
  for (const host of [...hosts, hosts[0]!]) {
    const pushed = await pushHost(host, dir);
    expect(pushed.status, `${host.name}: ${pushed.stderr}`).toBe(0);
  }
  pushedAt = Date.now();
});

describe('sealdrop fleet verify', () => {
  it("verifies every host's latest backup: one OK line per host with the backup and seconds, exit 0", async () => {
    const result = await fleetVerifyCli(['--no-mark']);
    expect(result.status, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const host of hosts)
      expect(lines).toContainEqual(
        expect.stringMatching(
          new RegExp(`^OK {6}${host.name} +\\S+ {2}\\d{4}-\\d\\d-\\d\\dT\\S+Z {2}\\d+\\.\\d s$`),
        ),
      );
    expect(result.stderr).toMatch(/^3 of 3 hosts verified\.$/m);
  });

  it('--json: every host with its checks and marks, and a summary; --all passes through', async () => {
    const result = await fleetVerifyCli(['--all', '--json', '--jobs', '3']);
    expect(result.status, result.stderr).toBe(0);
    const json = parsed(result);
    expect(json.shard).toBeNull();
    expect(json.hosts.map((host) => host.host)).toEqual(['alpha', 'bravo', 'charlie']);
    expect(json.hosts.map((host) => host.checks.length)).toEqual([2, 1, 1]);
    for (const host of json.hosts) {
      expect(host).toMatchObject({ ok: true, neverBackedUp: false, error: null });
      for (const check of host.checks)
        expect(check).toMatchObject({ ok: true, code: null, markedAt: expect.stringMatching(/^\d{4}-/) });
    }
    expect(json.summary).toEqual({
      hosts: 3,
      verified: 3,
      failed: 0,
      neverBackedUp: 0,
      otherShards: 0,
      exitStatus: 0,
    });
  });

  it("--all names each host's newest backup checked, and the warnings of the ones that verified", async () => {
    // Proven by the test before: alpha's second backup is compared with its first, too small to judge.
    const json = parsed(await fleetVerifyCli(['--all', '--json', '--no-mark']));
    const alpha = json.hosts.find((host) => host.host === 'alpha')!;
    expect(alpha.checks).toHaveLength(2);
    const [oldest, newest] = alpha.checks;
    expect(newest!.snapshot.time > oldest!.snapshot.time).toBe(true);
    expect(newest!.warnings).toContainEqual(expect.stringMatching(/^content continuity not judged/));

    const text = await fleetVerifyCli(['--all', '--no-mark']);
    expect(text.status, text.stderr).toBe(0);
    const lines = text.stdout.split('\n');
    const at = lines.findIndex((each) => each.startsWith('OK      alpha '));
    const id = newest!.snapshot.versionId!;
    expect(lines[at]).toMatch(/ 2 backups verified, newest /);
    expect(lines[at]).toContain(`newest ${id}  ${newest!.snapshot.time}  `);
    expect(lines[at + 1]).toMatch(/^ {2}OK {6}/);
    expect(lines[at + 1]).toContain(`${id}  ${newest!.snapshot.time}  `);
    expect(lines[at + 2]).toMatch(/^ {4}warning: content continuity not judged/);
    expect(lines[at]).not.toContain(oldest!.snapshot.versionId);
  });

  it('--shard 1/2 and --shard 2/2 together verify each host exactly once', async () => {
    const shards = await Promise.all(
      ['1/2', '2/2'].map((shard) => fleetVerifyCli(['--shard', shard, '--json', '--no-mark'])),
    );
    const names = shards.map((result) => {
      expect(result.status, result.stderr).toBe(0);
      return parsed(result).hosts.map((host) => host.host);
    });
    expect(names).toEqual([['bravo', 'charlie'], ['alpha']]);
    expect(names.flat().sort()).toEqual(hosts.map((host) => host.name));
    expect(parsed(shards[0]!)).toMatchObject({ shard: '1/2', summary: { hosts: 2, otherShards: 1 } });
    expect(shards[1]!.stderr).toMatch(/^1 of 1 hosts verified in shard 2\/2 \(2 in the other shards\)\.$/m);
  });

  // --unproven too: a host with nothing stored has nothing unproven, which is no reason to pass it.
  it.each([['--no-mark'], ['--unproven']])(
    'with %s, reports a host that never pushed as FAILED, "never backed up" (exit 1), the others OK',
    async (mode) => {
      const grown = join(dir, 'grown.yaml');
      await writeFile(grown, fleetYaml('  delta: {key: delta/db.sql.gz.gpg}\n'));
      const text = await fleetVerifyCli([mode], { file: grown });
      expect(text.status, text.stderr).toBe(1);
      expect(text.stdout).toMatch(
        /^FAILED {2}delta +never backed up \(nothing stored at s3:\/\/\S+\/delta\/db\.sql\.gz\.gpg\)/m,
      );
      expect(text.stdout.match(/^OK /gm)).toHaveLength(3);
      // Every backup of the hosts that pushed is proven by now (--json above): nothing new, still OK.
      if (mode === '--unproven')
        expect(text.stdout).toMatch(/^OK {6}alpha +nothing new: every backup is proven already +\d+\.\d s$/m);
      expect(text.stderr).toMatch(/^3 of 4 hosts verified, 1 FAILED: delta\.$/m);
      const json = parsed(await fleetVerifyCli([mode, '--json'], { file: grown }));
      expect(json.hosts.find((host) => host.host === 'delta')).toMatchObject({
        ok: false,
        neverBackedUp: true,
        checks: [],
        error: { code: 'NOT_FOUND' },
      });
      expect(json.summary).toMatchObject({ verified: 3, failed: 1, neverBackedUp: 1, exitStatus: 1 });
    },
  );

  it('a wrong passphrase stops the whole run with one error, before any host', async () => {
    const result = await fleetVerifyCli(['--no-mark'], { passphrase: 'not the passphrase' });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.match(/error:/g)).toHaveLength(1);
    expect(result.stderr).toMatch(/error: the passphrase does not unlock .*admin\.key\.asc/);
    const json = await fleetVerifyCli(['--no-mark', '--json'], { passphrase: 'not the passphrase' });
    expect(json.status).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({ error: expect.objectContaining({ code: 'WRONG_PASSPHRASE' }) });
  });

  it.each([
    ['S3 is unreachable', 'http://127.0.0.1:9', {}, /error: listing .*ECONNREFUSED/],
    [
      'S3 refuses the credentials',
      null,
      { AWS_ACCESS_KEY_ID: 'NOSUCHKEY' },
      /error: listing .*InvalidAccessKeyId/,
    ],
  ])('stops the whole run with one error (exit 1) when %s', async (what, endpoint, env, message) => {
    const broken = join(dir, `${what.replaceAll(' ', '-')}.yaml`);
    await writeFile(
      broken,
      fleetYaml().replace(/^endpoint: .*$/m, `endpoint: ${endpoint ?? s3Env().endpoint}`),
    );
    const result = await runCli(['fleet', 'verify', broken, '--identity', identity, '--no-mark'], {
      env: { ...admin(), ...env },
    });
    expect(result.status, result.stderr).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.match(/error:/g)).toHaveLength(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/hosts verified/);
  });

  it('asks for the passphrase once for the whole run, whatever the number of hosts in flight', async () => {
    let asked = 0;
    const result = await fleetVerify(adminClient(), await readFleet(fleetFile), {
      identityPaths: [identity],
      askPassphrase: async () => {
        asked++;
        return PASSPHRASE;
      },
      jobs: 3,
      mark: false,
    });
    expect(result.failed).toBe(0);
    expect(result.hosts).toHaveLength(3);
    expect(asked).toBe(1);
  });

  it('a host whose latest backup was tampered with fails with exit 3; the others report OK', async () => {
    const bravo = hosts[1]!;
    const original = await adminClient().send(new GetObjectCommand({ Bucket: bucket, Key: bravo.key }));
    const bytes = Buffer.from(await original.Body!.transformToByteArray());
    bytes[bytes.length - 30] = bytes[bytes.length - 30]! ^ 0x01; // in the encrypted data: the MDC catches it
    await adminClient().send(new PutObjectCommand({ Bucket: bucket, Key: bravo.key, Body: bytes }));

    const text = await fleetVerifyCli(['--no-mark']);
    expect(text.status, text.stderr).toBe(3);
    expect(text.stdout).toMatch(/^FAILED {2}bravo +\S+ {2}\S+ {2}\d+\.\d s {2}.+\n {2}hint: /m);
    expect(text.stdout).toMatch(/^OK {6}alpha /m);
    expect(text.stdout).toMatch(/^OK {6}charlie /m);
    expect(text.stderr).toMatch(/^2 of 3 hosts verified, 1 FAILED: bravo\.$/m);
    // -q: only the failure.
    const quiet = await fleetVerifyCli(['--no-mark', '-q']);
    expect(quiet.status).toBe(3);
    expect(quiet.stdout.match(/^(OK|FAILED) /gm)).toEqual(['FAILED ']);

    const json = parsed(await fleetVerifyCli(['--no-mark', '--json']));
    expect(json.hosts.find((host) => host.host === 'bravo')).toMatchObject({
      ok: false,
      checks: [{ ok: false, code: 'INTEGRITY' }],
    });
    expect(json.summary).toMatchObject({ verified: 2, failed: 1, exitStatus: 3 });
    // Only the shard holding bravo fails.
    expect((await fleetVerifyCli(['--no-mark', '--shard', '2/2'])).status).toBe(0);
    expect((await fleetVerifyCli(['--no-mark', '--shard', '1/2'])).status).toBe(3);
  });

  it.each([
    [['--shard', '0/2'], /shards are numbered from 1, not 0/, /JOB_COMPLETION_INDEX \+ 1/],
    [['--shard', '3/2'], /there is no shard 3 of 2/, /I is 1 to 2/],
    [['--shard', '1/0'], /N must be 1 to/, /how many machines/],
    [['--shard', 'two'], /--shard "two" is not I\/N/, /--shard 2\/3/],
    [['--jobs', '0'], /--jobs 0: verify 1 to 64 hosts at once/, /--help/],
  ])('refuses %j with exit 2 and a hint, verifying nothing', async (args, message, hint) => {
    const result = await fleetVerifyCli(args);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(new RegExp(`\\n {2}hint: .*${hint.source}`));
  });
});

describe('fleet status watches the proofs', () => {
  it('WARNING for the hosts whose newest proven backup is older than maxUnverifiedAge, naming its age; OK once proven again', async () => {
    // The policies expire in an hour: policyWarn short of it.
    const withDefaults = async (name: string, more: string) => {
      const file = join(dir, name);
      await writeFile(
        file,
        fleetYaml().replace('maxSize: 64MiB}', `maxSize: 64MiB, policyWarn: 1min${more}}`),
      );
      return file;
    };
    const file = await withDefaults('proofs.yaml', ', maxUnverifiedAge: 20s');
    // Every host's backups verify proved (the tests above) were pushed before pushedAt.
    await sleep(Math.max(0, pushedAt + 21_000 - Date.now()));
    const alpha = hosts[0]!;
    expect((await pushHost(alpha, dir)).status).toBe(0);
    const proven = await runCli(
      ['verify', '--fleet', file, '--host', 'alpha', '--identity', identity, '--unproven'],
      { env: admin() },
    );
    expect(proven.status, proven.stdout + proven.stderr).toBe(0);
    const status = await runCli(['fleet', 'status', file, '--json'], { env: admin() });
    expect(status.status, status.stdout).toBe(1);
    const targets: { host: string; state: string; reasons: string[] }[] = JSON.parse(status.stdout).targets;
    expect(targets.find((t) => t.host === 'alpha')).toMatchObject({ state: 'OK' });
    for (const name of ['bravo', 'charlie'])
      expect(targets.find((t) => t.host === name)).toMatchObject({
        state: 'WARNING',
        reasons: expect.arrayContaining([
          expect.stringMatching(/^the newest verified backup is \d+s old \(verified \d+s ago; max 20s\)$/),
        ]),
      });
    // The fleet file's default: a week and a day, so a week's drill keeps it quiet.
    const quiet = await runCli(['fleet', 'status', await withDefaults('week.yaml', '')], { env: admin() });
    expect(quiet.status, quiet.stdout).toBe(0);
  }, 60_000);
});
