// A simulated fleet of 50 hosts on this machine against the real S3 server: one fleet file, fleet check,
// fleet mint, every host pushing, and three generations of self-renewal with no manual step.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  GetBucketPolicyCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { renewalKey } from '../../src/core/policy-file.js';
import { runCli, tempDir, type CliResult } from '../support/cli.js';
import { installPolicy, pushHost } from '../support/fleet.js';
import { parsePluginOutput } from '../support/plugin-output.js';
import { adminClient, freshBucket, s3Env, uploaderClient, userArn, withEnv } from '../support/s3.js';
import { after, until } from '../support/until.js';

const HOSTS = 50;
/** Pushes at once: the machine has two cores, shared. */
const PARALLEL = 3;

interface Host {
  name: string;
  key: string;
  isPrefix: boolean;
  /** The host's own policy file, as installed on it. */
  policy: string;
}

let dir: string;
let bucket: string;
let fleetFile: string;
let policyDir: string;
let hosts: Host[];
const admin = () => withEnv({ SEALDROP_PASSPHRASE: 'fleet test' });

/** Host 48 and 49 push runs (prefix policies, part size from the fleet file); the rest one key each. */
function fleetYaml(extraHosts = ''): string {
  const lines = hosts.map((host) =>
    host.isPrefix
      ? `  ${host.name}: {prefix: ${host.key}, partSize: 1MiB}`
      : `  ${host.name}:\n    key: ${host.key}`,
  );
  return `# ${HOSTS} simulated hosts
fleet: 1
bucket: ${bucket}
endpoint: ${s3Env().endpoint}
region: ${s3Env().region}
recipients: [keys/admin.pub.asc]
policyDir: policies
defaults:
  expires: 1h
  renewWindow: 1h        # the whole life: every push renews once a newer policy is published
  maxSize: 64MiB
  maxAge: 26h
  policyWarn: 5min       # the policies last an hour
  keep: {daily: 14, weekly: 8}
  anomaly: {floodFactor: off}   # pushes here come seconds apart, not nightly
hosts:
${lines.join('\n')}
${extraHosts}`;
}

beforeAll(async () => {
  dir = await tempDir('sealdrop-fleet-');
  bucket = await freshBucket('fleet');
  const setup = await runCli(
    ['setup', `s3://${bucket}`, '--uploader', userArn('sealdrop-uploader'), '--apply-bucket-policy'],
    { env: admin() },
  );
  expect(setup.status, setup.stderr).toBe(0);
  await mkdir(join(dir, 'keys'));
  for (const name of ['admin', 'mallory']) {
    const made = await runCli(
      ['key', 'generate', '--uid', `${name} <${name}@example.com>`, '--out', join(dir, 'keys', name)],
      { env: admin() },
    );
    expect(made.status, made.stderr).toBe(0);
  }
  hosts = Array.from({ length: HOSTS }, (_, i) => {
    const name = `host${String(i).padStart(2, '0')}`;
    const isPrefix = i >= HOSTS - 2;
    return {
      name,
      key: isPrefix ? `${name}/runs/` : `${name}/db.sql.gz.gpg`,
      isPrefix,
      policy: join(dir, 'hosts', name, 'policy.json'),
    };
  });
  fleetFile = join(dir, 'fleet.yaml');
  policyDir = join(dir, 'policies');
  await writeFile(fleetFile, fleetYaml());
});

/** Runs `task` over every host (or those given), PARALLEL at a time. */
async function eachHost<T>(task: (host: Host) => Promise<T>, list: Host[] = hosts): Promise<T[]> {
  const results: T[] = new Array(list.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < list.length) {
        const index = next++;
        results[index] = await task(list[index]!);
      }
    }),
  );
  return results;
}

function push(host: Host): Promise<CliResult> {
  // Its own spool directory: a push killed elsewhere leaves no file here to warn about.
  return pushHost(host, dir);
}

async function expiryOf(path: string): Promise<number> {
  const { fields } = JSON.parse(await readFile(path, 'utf8'));
  return Date.parse(JSON.parse(Buffer.from(fields.Policy, 'base64').toString()).expiration);
}

/** Stored objects per host (versions of its key, or objects of its runs). */
async function storedPerHost(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  for (;;) {
    const page = await adminClient().send(
      new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker, VersionIdMarker }),
    );
    for (const version of page.Versions ?? []) {
      const host = version.Key!.split('/')[0]!;
      counts.set(host, (counts.get(host) ?? 0) + 1);
    }
    if (!page.IsTruncated) return counts;
    KeyMarker = page.NextKeyMarker;
    VersionIdMarker = page.NextVersionIdMarker;
  }
}

describe(`a fleet of ${HOSTS} hosts`, () => {
  it('fleet check refuses an overlapping host, naming both, and one covering .sealdrop/', async () => {
    const ok = await runCli(['fleet', 'check', fleetFile], { env: admin() });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout.trim().split('\n')).toHaveLength(HOSTS + 1); // a header, then a line per host
    expect(ok.stderr).toMatch(
      new RegExp(`${HOSTS} hosts in s3://${bucket} \\(found\\), 1 recipient key, no overlaps`),
    );

    const bad = join(dir, 'bad-fleet.yaml');
    await writeFile(bad, fleetYaml('  intruder: {prefix: host07/}\n  sneaky: {prefix: .sealdrop/}\n'));
    const refused = await runCli(['fleet', 'check', bad], { env: admin() });
    expect(refused.status).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      /bad-fleet\.yaml:\d+: host host07: overlaps host intruder: its prefix "host07\/" covers key "host07\/db\.sql\.gz\.gpg"/,
    );
    expect(refused.stderr).toMatch(
      /bad-fleet\.yaml:\d+: host sneaky: prefix ".sealdrop\/" covers sealdrop's own .sealdrop\/ area/,
    );
    const mint = await runCli(['fleet', 'mint', bad, '--out-dir', join(dir, 'never')], { env: admin() });
    expect(mint.status).toBe(2);
    await expect(stat(join(dir, 'never'))).rejects.toThrow();
  });

  it(`fleet mint writes ${HOSTS} policies (0600); every host pushes a small dump`, async () => {
    const minted = await runCli(['fleet', 'mint', fleetFile, '--json'], { env: admin() });
    expect(minted.status, minted.stderr).toBe(0);
    const result = JSON.parse(minted.stdout);
    expect(result.hosts.map((h: { action: string }) => h.action)).toEqual(hosts.map(() => 'written'));
    expect(minted.stderr).toMatch(new RegExp(`${HOSTS} written, 0 rewritten, 0 kept`));
    for (const host of hosts) {
      expect((await stat(join(policyDir, `${host.name}.policy.json`))).mode & 0o777).toBe(0o600);
      await installPolicy(policyDir, host); // once, by hand
    }
    const pushed = await eachHost(push);
    pushed.forEach((result, i) => expect(result.status, `${hosts[i]!.name}: ${result.stderr}`).toBe(0));
    // Nothing published yet: the renewal is a warning, in --json too, and the backup stands.
    const first = JSON.parse(pushed[0]!.stdout);
    expect(first.renewal).toMatchObject({
      state: 'failed',
      warning: expect.stringMatching(/nothing is published at the renewal location yet/),
    });
    const stored = await storedPerHost();
    for (const host of hosts) expect(stored.get(host.name), host.name).toBe(host.isPrefix ? 2 : 1); // a run: part + manifest
  }, 600_000);

  it('renews three generations with no manual step: publish, and each next push replaces its policy', async () => {
    // The whole fleet renews once; a few hosts (both kinds) go on for two more generations.
    const few = [...hosts.slice(0, 4), ...hosts.slice(-2)];
    for (let generation = 2; generation <= 4; generation++) {
      const renewing = generation === 2 ? hosts : few;
      const before = await eachHost((host) => expiryOf(host.policy), renewing);
      // Expiries have whole seconds: the next generation must be minted in a later second.
      const latest = before.reduce((a, b) => Math.max(a, b), 0);
      await until(after(latest - 3_600_000 + 1000), 'a later second to mint in');
      const published = await runCli(['fleet', 'publish', fleetFile], { env: admin() });
      expect(published.status, published.stderr).toBe(0);
      expect(published.stderr).toMatch(new RegExp(`${HOSTS} published, 0 failed`));
      expect(published.stderr).not.toMatch(/first policy/);

      const pushed = await eachHost(push, renewing);
      const renewed = await eachHost(
        async (host) => ({
          expires: await expiryOf(host.policy),
          mode: (await stat(host.policy)).mode & 0o777,
          copy: await readFile(join(policyDir, `${host.name}.policy.json`), 'utf8'),
          own: await readFile(host.policy, 'utf8'),
        }),
        renewing,
      );
      renewing.forEach((host, i) => {
        const result = pushed[i]!;
        expect(result.status, `${host.name} generation ${generation}: ${result.stderr}`).toBe(0);
        expect(JSON.parse(result.stdout).renewal, host.name).toMatchObject({ state: 'renewed' });
        expect(result.stderr, host.name).not.toMatch(/warning/);
        expect(renewed[i]!.expires, host.name).toBeGreaterThan(before[i]!);
        expect(renewed[i]!.mode).toBe(0o600);
        expect(renewed[i]!.own).toBe(renewed[i]!.copy); // the host now holds what the admin published
      });
    }
    const stored = await storedPerHost();
    for (const host of hosts) {
      const pushes = few.includes(host) ? 4 : 2;
      expect(stored.get(host.name), host.name).toBe(host.isPrefix ? 2 * pushes : pushes);
    }
    // One current successor per host in the renewal area: publish drops the superseded ones.
    const renewals = await adminClient().send(
      new ListObjectVersionsCommand({ Bucket: bucket, Prefix: '.sealdrop/renew/' }),
    );
    expect(renewals.Versions).toHaveLength(HOSTS);
    expect(new Set(renewals.Versions!.map((v) => v.Key)).size).toBe(HOSTS);
  }, 900_000);

  it('refuses a successor naming another key, other recipients or an earlier expiry; the old policy stays', async () => {
    const host = hosts[0]!;
    const { renew } = JSON.parse(await readFile(host.policy, 'utf8'));
    const renewalKey = decodeURIComponent(new URL(renew.url).pathname).replace(`/${bucket}/`, '');
    expect(renewalKey).toMatch(/^\.sealdrop\/renew\/host00-[0-9a-f]{32}\.json$/);
    const successor = async (target: string, recipient: string, expires: string) => {
      const out = join(dir, `successor-${Date.now()}.json`);
      const minted = await runCli(
        [
          'policy',
          'mint',
          target,
          '--recipient',
          join(dir, 'keys', recipient),
          '--expires',
          expires,
          '--out',
          out,
        ],
        { env: admin() },
      );
      expect(minted.status, minted.stderr).toBe(0);
      await adminClient().send(
        new PutObjectCommand({ Bucket: bucket, Key: renewalKey, Body: await readFile(out) }),
      );
    };
    const cases: [string, () => Promise<void>, RegExp][] = [
      [
        'another key',
        () => successor(`s3://${bucket}/${hosts[1]!.key}`, 'admin.pub.asc', '2h'),
        /it is for s3:\/\/.*\/host01\/db\.sql\.gz\.gpg, not .*host00/,
      ],
      [
        'other recipients',
        () => successor(`s3://${bucket}/${host.key}`, 'mallory.pub.asc', '2h'),
        /it encrypts to [0-9A-F]{40}, not to/,
      ],
      [
        'an earlier expiry',
        () => successor(`s3://${bucket}/${host.key}`, 'admin.pub.asc', '10min'),
        /before the policy in place/,
      ],
    ];
    for (const [what, put, reason] of cases) {
      await put();
      const before = await readFile(host.policy, 'utf8');
      const stored = (await storedPerHost()).get(host.name)!;
      const result = await push(host);
      expect(result.status, `${what}: ${result.stderr}`).toBe(0);
      const { renewal } = JSON.parse(result.stdout);
      expect(renewal.state, what).toBe('refused');
      expect(renewal.warning, what).toMatch(reason);
      expect(result.stderr).toMatch(
        /warning: the policy was not renewed \(refused the policy at the renewal location/,
      );
      expect(await readFile(host.policy, 'utf8'), what).toBe(before);
      expect((await storedPerHost()).get(host.name), what).toBe(stored + 1);
    }
  });

  it('a renewal location that refuses access is a warning; the push lands', async () => {
    const host = hosts[1]!;
    const policy = JSON.parse(await readFile(host.policy, 'utf8'));
    policy.renew.url = policy.renew.url.replace(
      /X-Amz-Signature=[0-9a-f]/,
      (m: string) => `${m.slice(0, -1)}${m.endsWith('0') ? '1' : '0'}`,
    );
    await writeFile(host.policy, JSON.stringify(policy), { mode: 0o600 });
    const result = await push(host);
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).renewal).toMatchObject({
      state: 'failed',
      warning: expect.stringMatching(/the renewal location answered 403/),
    });
    expect(result.stderr).not.toContain(policy.renew.url.split('X-Amz-Signature=')[1]);
  });
  it(`fleet status exits 0 with ${HOSTS} host lines, each with its own perfdata`, async () => {
    const checked = await runCli(['fleet', 'status', fleetFile], { env: admin() });
    expect(checked.status, checked.stdout + checked.stderr).toBe(0);
    const output = parsePluginOutput(checked.stdout);
    expect(output.text).toBe(`all ${HOSTS} hosts OK`);
    const hostLines = output.longText.filter((line) => /^OK host\d\d \(s3:/.test(line));
    expect(hostLines).toHaveLength(HOSTS);
    expect(output.longText).toHaveLength(HOSTS + 1); // and the bucket's
    expect(output.perfdata).toHaveLength(3 * HOSTS);
    expect(output.perfdata.find((p) => p.label === 'host07_age')).toMatchObject({ uom: 's', crit: '93600' });
    const metrics = await runCli(['fleet', 'status', fleetFile, '--format', 'prometheus'], { env: admin() });
    expect(metrics.status).toBe(0);
    expect(metrics.stdout).toMatch(
      /^sealdrop_backup_status\{target="s3:\/\/[^"]+\/host07\/db\.sql\.gz\.gpg",host="host07"\} 0$/m,
    );
  });

  it('a host past its own max age turns fleet status CRITICAL naming it, as the others push on; one that never pushed too', async () => {
    // The idle host last pushed in the renewal test. Its own max age of 2 s (a stopped host a day later,
    // under the fleet's 26 h) makes it overdue; the others keep the fleet's, and a few push again.
    const idle = hosts[10]!;
    const pushing = [...hosts.slice(0, 4), ...hosts.slice(-2)];
    expect(pushing).not.toContain(idle);
    const pushed = await eachHost(push, pushing);
    pushed.forEach((result) => expect(result.status, result.stderr).toBe(0));
    const listed = await runCli(['versions', `s3://${bucket}/${idle.key}`, '--json'], { env: admin() });
    const idleLatest = Date.parse(JSON.parse(listed.stdout).snapshots[0].time);
    await until(after(idleLatest + 3000), 'the idle host to be past 2 s');
    const stale = join(dir, 'stale-fleet.yaml');
    const idleEntry = `  ${idle.name}:\n`;
    expect(fleetYaml()).toContain(idleEntry);
    await writeFile(stale, fleetYaml().replace(idleEntry, `${idleEntry}    maxAge: 2s\n`));
    const checked = await runCli(['fleet', 'status', stale], { env: admin() });
    expect(checked.status, checked.stdout).toBe(2);
    const output = parsePluginOutput(checked.stdout);
    expect(output.text).toBe(`1 of ${HOSTS} hosts not OK: ${idle.name} CRITICAL`);
    expect(output.longText.find((line) => line.startsWith(`CRITICAL ${idle.name} `))).toMatch(
      /latest is .* old \(max 2s\)/,
    );

    const grown = join(dir, 'grown-fleet.yaml');
    await writeFile(grown, fleetYaml('  newcomer: {key: newcomer/db.sql.gz.gpg}\n'));
    const never = await runCli(['fleet', 'status', grown, '--json'], { env: admin() });
    expect(never.status).toBe(2);
    const json = JSON.parse(never.stdout);
    expect(json.state).toBe('CRITICAL');
    // Each host's policy expiry comes from the admin's copy in policyDir (WARNING within policyWarn).
    expect(json.targets[0]).toMatchObject({
      host: 'host00',
      policyExpiresAt: expect.stringMatching(/^\d{4}-/),
    });
    expect(json.targets.filter((t: { state: string }) => t.state !== 'OK')).toEqual([
      expect.objectContaining({
        host: 'newcomer',
        state: 'CRITICAL',
        reasons: ['never backed up (nothing stored)'],
      }),
    ]);
  }, 600_000);

  it('fleet publish signed by an identity that may not read .sealdrop/renew/ fails each host, naming the 403', async () => {
    // The uploader signs (as README step 3 mints): setup's bucket policy denies it every object read.
    // Let it read the bucket policy, as an IAM policy of s3:GetBucketPolicy would: publish reads it first.
    const original = (await adminClient().send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy!;
    const widened = JSON.parse(original);
    widened.Statement.push({
      Sid: 'TestUploaderMayReadBucketPolicy',
      Effect: 'Allow',
      Principal: { AWS: [userArn('sealdrop-uploader')] },
      Action: ['s3:GetBucketPolicy'],
      Resource: [`arn:aws:s3:::${bucket}`],
    });
    await adminClient().send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(widened) }));
    const signerFile = join(dir, 'signer-fleet.yaml');
    await writeFile(
      signerFile,
      fleetYaml().replace(
        /^hosts:\n[\s\S]*$/m,
        'hosts:\n  signer0: {key: signer0/db.sql.gz.gpg}\n  signer1: {key: signer1/db.sql.gz.gpg}\n',
      ),
    );
    const outDir = join(dir, 'signer-policies');
    const { uploader } = s3Env();
    const asUploader = withEnv({
      AWS_ACCESS_KEY_ID: uploader.accessKeyId,
      AWS_SECRET_ACCESS_KEY: uploader.secretAccessKey,
    });
    const published = await runCli(['fleet', 'publish', signerFile, '--out-dir', outDir, '--json'], {
      env: asUploader,
    });
    await adminClient().send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: original }));
    expect(published.status, published.stderr).toBe(1);
    expect(published.stderr).toMatch(/0 published, 2 failed/);
    for (const name of ['signer0', 'signer1']) {
      expect(published.stderr).toMatch(
        new RegExp(`warning: ${name} was not published: its renewal URL answered 403 AccessDenied`),
      );
    }
    expect(published.stderr).toMatch(/s3:GetObject on \.sealdrop\/renew\/\*/);
    // stdout: the result, then (exit 1) the error document.
    const result = JSON.parse(published.stdout.split(/\n(?=\{)/)[0]!);
    expect(result.hosts).toEqual([]);
    expect(result.failures).toEqual(
      ['signer0', 'signer1'].map((host) => ({
        host,
        message: expect.stringMatching(/answered 403 AccessDenied.*signed by/),
        hint: expect.stringMatching(/s3:GetObject on \.sealdrop\/renew\/\*/),
      })),
    );
    // The URL is a bearer credential until it expires: never printed.
    expect(published.stderr + published.stdout).not.toMatch(/X-Amz-Signature/i);
    // No copy to install: none of these policies could renew.
    await expect(stat(join(outDir, 'signer0.policy.json'))).rejects.toThrow();

    // The uploader may not delete either: its upload stays, and publish says so.
    expect(result.warnings.join('\n')).toMatch(
      /signer0: the policy with the unusable renewal URL stays at s3:/,
    );

    // Signed by the admin, who may read there, the same hosts publish.
    const fixed = await runCli(['fleet', 'publish', signerFile, '--out-dir', outDir], { env: admin() });
    expect(fixed.status, fixed.stderr).toBe(0);
    expect(fixed.stderr).toMatch(/2 published, 0 failed/);

    // A host holding a renewal URL the uploader signed hears why it can't renew, and what to ask for.
    const held = JSON.parse(await readFile(join(outDir, 'signer0.policy.json'), 'utf8'));
    const command = new GetObjectCommand({ Bucket: bucket, Key: renewalKey(held)! });
    held.renew.url = await getSignedUrl(uploaderClient(), command, { expiresIn: 3600 });
    const host = { name: 'signer0', policy: join(dir, 'hosts', 'signer0', 'policy.json') };
    await mkdir(join(dir, 'hosts', 'signer0'), { recursive: true });
    await writeFile(host.policy, JSON.stringify(held), { mode: 0o600 });
    const pushed = await pushHost(host, dir);
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(JSON.parse(pushed.stdout).renewal).toMatchObject({
      state: 'failed',
      warning: expect.stringMatching(
        /answered 403 AccessDenied: the renewal URL in this policy file is signed by an identity that may not read \.sealdrop\/renew\/.*`sealdrop fleet publish`/,
      ),
    });
  });

  it("fleet prune plans each host's retention with prune's guards, and deletes with --yes", async () => {
    const planned = await runCli(['fleet', 'prune', fleetFile], { env: admin() });
    expect(planned.status, planned.stderr).toBe(0);
    expect(planned.stdout.match(/^host\d\d s3:\S+: policy keep 14 daily, 8 weekly$/gm)).toHaveLength(HOSTS);
    expect(planned.stderr).toMatch(new RegExp(`${HOSTS} hosts planned, 0 skipped, 0 failed`));
    // Every host has several backups of today; keeping one per day removes more than half: refused.
    const refused = await runCli(['fleet', 'prune', fleetFile, '--yes'], { env: admin() });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/warning: host00 was not pruned: refusing to remove \d+ of \d+ backups/);
    // --host: the named hosts alone, by the same rules; a name not in the fleet is refused first.
    const unknown = await runCli(['fleet', 'prune', fleetFile, '--host', 'host01', '--host', 'db99'], {
      env: admin(),
    });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/db99 is not a host of .*\n {2}hint: Its hosts: host00, host01/);
    const untouched = await storedPerHost();
    const some = await runCli(
      ['fleet', 'prune', fleetFile, '--host', 'host03', '--host', 'host01', '--yes', '--force', '--json'],
      { env: admin() },
    );
    expect(some.status, some.stderr).toBe(0);
    expect(JSON.parse(some.stdout).hosts.map((h: { host: string }) => h.host)).toEqual(['host01', 'host03']);
    const afterSome = await storedPerHost();
    for (const host of hosts)
      if (host.name === 'host01' || host.name === 'host03')
        expect(afterSome.get(host.name), host.name).toBe(host.isPrefix ? 4 : 2);
      else expect(afterSome.get(host.name), host.name).toBe(untouched.get(host.name));
    const before = await storedPerHost();
    const forced = await runCli(['fleet', 'prune', fleetFile, '--yes', '--force', '--json'], {
      env: admin(),
    });
    expect(forced.status, forced.stderr).toBe(0);
    const result = JSON.parse(forced.stdout);
    expect(result.hosts).toHaveLength(HOSTS);
    expect(result.hosts[0]).toMatchObject({ host: 'host00', dryRun: false, needsForce: true });
    expect(result.hosts[0].deleted).toBeGreaterThan(0);
    const left = await storedPerHost();
    for (const host of hosts) {
      expect(before.get(host.name)!, host.name).toBeGreaterThanOrEqual(host.isPrefix ? 4 : 2);
      // The newest backup and the oldest (restic's "oldest daily": a rule with count left keeps it).
      expect(left.get(host.name), host.name).toBe(host.isPrefix ? 4 : 2);
    }
  });
});
