// What a fleet file can get wrong, caught before it costs anything, and a host that stopped renewing,
// seen from the admin's side: zstd fleets minted in one go (and one bad host writing nothing), the
// bucket asked for by name, YAML errors with their line and column, and fleet status reading which
// policy each host's latest backup was pushed with.
import { copyFile, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { zstdBinding } from '../../src/core/compression.js';
import { agentEnv, backupTarget, PASSPHRASE } from '../support/backup-target.js';
import { run, runCli, tempDir } from '../support/cli.js';
import { installPolicy, pushHost, type FleetTestHost } from '../support/fleet.js';
import { parsePluginOutput } from '../support/plugin-output.js';
import { adminClient, listVersions, s3Env, withEnv } from '../support/s3.js';
import { gpgHome } from '../support/gpg.js';
import { after, until } from '../support/until.js';

const GEN_DUMP = fileURLToPath(new URL('../../scripts/gen-dump.mjs', import.meta.url));
const hasZstd = zstdBinding() !== null;
const admin = () => withEnv({ SEALDROP_PASSPHRASE: PASSPHRASE });

let dir: string;
let bucket: string;

/** A fleet file in `dir` for this bucket, its hosts and defaults as given (YAML lines). */
async function fleetFile(name: string, body: string, { bucketName = bucket } = {}): Promise<string> {
  const path = join(dir, name);
  await writeFile(
    path,
    `fleet: 1
bucket: ${bucketName}
endpoint: ${s3Env().endpoint}
region: ${s3Env().region}
recipients: [admin.pub.asc]
${body}`,
  );
  return path;
}

function host(name: string): FleetTestHost {
  return { name, policy: join(dir, 'hosts', name, 'policy.json') };
}

beforeAll(async () => {
  // A bucket as setup leaves it, and the admin's key pair (dir/admin.pub.asc, dir/admin.key.asc).
  ({ dir, bucket } = await backupTarget('fleet-checks'));
});

const ZSTD_FLEET = `policyDir: policies
defaults:
  expires: 1h
  compress: zstd
hosts:
  pg1: {key: pg1/pg.sql.zst.gpg}
  pg2: {key: pg2/pg.sql.zst.gpg}
  warehouse: {prefix: warehouse/, partSize: 1MiB}
  legacy: {key: legacy/db.sql.gz.gpg, compress: gzip}
`;

describe('a zstd fleet', () => {
  it('is checked, minted in one go, pushed and restored (zstd where Node.js has it)', async () => {
    const file = await fleetFile('zstd.yaml', ZSTD_FLEET);
    const checked = await runCli(['fleet', 'check', file], { env: admin() });
    expect(checked.status, checked.stderr).toBe(0);
    const rows = checked.stdout.trim().split('\n').slice(1);
    expect(rows.map((row) => row.split(/\s+/).slice(0, 3).join(' '))).toEqual([
      `pg1 s3://${bucket}/pg1/pg.sql.zst.gpg zstd`,
      `pg2 s3://${bucket}/pg2/pg.sql.zst.gpg zstd`,
      `warehouse s3://${bucket}/warehouse/ zstd`,
      `legacy s3://${bucket}/legacy/db.sql.gz.gpg gzip`,
    ]);
    expect(checked.stderr).toMatch(/4 hosts in s3:\/\/\S+ \(found\), 1 recipient key, no overlaps/);

    const minted = await runCli(['fleet', 'mint', file], { env: admin() });
    expect(minted.status, minted.stderr).toBe(0);
    expect(minted.stderr).toMatch(/4 written, 0 rewritten, 0 kept/);
    // Each line says why, as the README says: new ones, then (minted again) the ones left alone.
    expect(minted.stderr).toMatch(
      /^written +\S+\/legacy\.policy\.json: expires \S+ \(no policy file yet\)$/m,
    );
    const again = await runCli(['fleet', 'mint', file], { env: admin() });
    expect(again.stderr).toMatch(/0 written, 0 rewritten, 4 kept/);
    expect(again.stderr).toMatch(
      /^kept +\S+\/legacy\.policy\.json: expires \S+ \(as the fleet file says; not due\)$/m,
    );
    const policyDir = join(dir, 'policies');
    const compression = async (name: string) =>
      JSON.parse(await readFile(join(policyDir, `${name}.policy.json`), 'utf8')).compression;
    expect(await Promise.all(['pg1', 'pg2', 'warehouse', 'legacy'].map(compression))).toEqual([
      'zstd',
      'zstd',
      'zstd',
      'gzip',
    ]);

    const input = (await run(process.execPath, [GEN_DUMP, '2.5MiB', '3'])).stdoutBytes;
    const restore = (target: string, extra: string[] = []) =>
      runCli(['restore', target, '--identity', join(dir, 'admin.key.asc'), ...extra], {
        env: admin(),
      });
    const pg1 = host('pg1');
    await installPolicy(policyDir, pg1);
    if (hasZstd) {
      for (const name of ['pg1', 'warehouse']) {
        const one = host(name);
        await installPolicy(policyDir, one);
        const pushed = await runCli(['push', '--policy', one.policy, '--json', '-q'], {
          input,
          env: agentEnv(),
        });
        expect(pushed.status, pushed.stderr).toBe(0);
        const restored = await restore(
          name === 'pg1' ? `s3://${bucket}/pg1/pg.sql.zst.gpg` : `s3://${bucket}/warehouse/`,
        );
        expect(restored.status, restored.stderr).toBe(0);
        expect(restored.stderr).toMatch(/zstd checksums ok/);
        expect(restored.stdoutBytes.equals(input), name).toBe(true);
      }
    } else {
      // This Node.js has no zstd: push refuses before reading any data, naming the version it needs…
      const pushed = await runCli(['push', '--policy', pg1.policy], { input, env: agentEnv() });
      expect(pushed.status).toBe(2);
      expect(pushed.stderr).toMatch(/\(compression zstd\) needs Node\.js 22\.15 or 23\.8 or later/);
      expect(await listVersions(bucket, 'pg1/pg.sql.zst.gpg')).toEqual([]);
      // …and the host's policy stores zstd the stock way (zstd | gpg | curl), read back with zstd -d.
      const config = join(dir, 'pg1.curl');
      expect(
        (await runCli(['policy', 'curl', pg1.policy, '--out', config], { env: agentEnv() })).status,
      ).toBe(0);
      const gpg = await gpgHome();
      expect((await gpg(['--import', join(dir, 'admin.pub.asc')])).status).toBe(0);
      const compressed = await run('zstd', ['-c'], { input });
      const encrypted = await gpg(
        [
          '--trust-model',
          'always',
          '--compress-algo',
          'none',
          '--recipient',
          'admin@example.com',
          '--encrypt',
        ],
        compressed.stdoutBytes,
      );
      expect(encrypted.status, encrypted.stderr).toBe(0);
      const uploaded = await run('curl', ['--config', config], { input: encrypted.stdoutBytes });
      expect(uploaded.status, uploaded.stderr).toBe(0);
      const restored = await restore(`s3://${bucket}/pg1/pg.sql.zst.gpg`, [
        '--no-decompress',
        '--allow-unbound',
      ]);
      expect(restored.status, restored.stderr).toBe(0);
      const plain = await run('zstd', ['-d', '-c'], { input: restored.stdoutBytes });
      expect(plain.stdoutBytes.equals(input)).toBe(true);
    }
    // What it stored names the policy it was pushed with (fleet status reads it).
    const [version] = await listVersions(bucket, 'pg1/pg.sql.zst.gpg');
    const head = await adminClient().send(
      new HeadObjectCommand({ Bucket: bucket, Key: 'pg1/pg.sql.zst.gpg', VersionId: version!.VersionId }),
    );
    const expires = new Date(await expiryOf(pg1.policy)).toISOString().replace('.000Z', 'Z');
    expect(head.Metadata).toMatchObject({ 'sealdrop-policy-expires': expires });
  }, 120_000);

  it('with one host whose key says another compression: check names it and what to set; mint writes nothing', async () => {
    const policyDir = join(dir, 'policies');
    const before = await snapshotDir(policyDir);
    // maxSize changed for every host (each would be rewritten), and a host whose key says gzip.
    const badFleet = ZSTD_FLEET.replace('expires: 1h', 'expires: 1h\n  maxSize: 64MiB').concat(
      '  mysql: {key: mysql/db.sql.gz.gpg}\n',
    );
    const file = await fleetFile('zstd-bad.yaml', badFleet);
    const checked = await runCli(['fleet', 'check', file], { env: admin() });
    expect(checked.status).toBe(2);
    expect(checked.stdout).toBe('');
    expect(checked.stderr).toMatch(
      /zstd-bad\.yaml:16: host mysql: the key mysql\/db\.sql\.gz\.gpg ends in \.gz\.gpg \(gzip\) but the compression is zstd \(compress in defaults\): set compress: gzip for this host in the fleet file, or name its key for zstd/,
    );
    const minted = await runCli(['fleet', 'mint', file], { env: admin() });
    expect(minted.status).toBe(2);
    expect(minted.stderr).toMatch(/host mysql: the key mysql\/db\.sql\.gz\.gpg ends in \.gz\.gpg/);
    expect(await snapshotDir(policyDir)).toEqual(before);

    // A new policy directory is not even made.
    const elsewhere = await fleetFile(
      'zstd-bad-new.yaml',
      badFleet.replace('policyDir: policies', 'policyDir: fresh'),
    );
    expect((await runCli(['fleet', 'mint', elsewhere], { env: admin() })).status).toBe(2);
    await expect(stat(join(dir, 'fresh'))).rejects.toThrow();
  });

  it('policy mint takes the compression from the key: .zst.gpg zstd, .gz.gpg gzip, refused against --compress', async () => {
    const mint = (key: string, extra: string[] = []) =>
      runCli(
        [
          'policy',
          'mint',
          `s3://${bucket}/${key}`,
          '--recipient',
          join(dir, 'admin.pub.asc'),
          '--out',
          join(dir, `${key.replaceAll('/', '-')}.policy.json`),
          '--force',
          '--json',
          ...extra,
        ],
        { env: admin() },
      );
    const zstd = await mint('one/db.sql.zst.gpg');
    expect(zstd.status, zstd.stderr).toBe(0);
    expect(JSON.parse(zstd.stdout).compression).toBe('zstd');
    const gzip = await mint('one/db.sql.gz.gpg');
    expect(JSON.parse(gzip.stdout).compression).toBe('gzip');
    const refused = await mint('one/db.sql.zst.gpg', ['--compress', 'gzip']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/ends in \.zst\.gpg \(zstd\) but the compression is gzip/);
    expect(refused.stderr).toMatch(/hint: .*leave out --compress: the suffix says it/);
  });
});

/** Every file in a directory and its bytes. */
async function snapshotDir(path: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of await readdir(path)) files[name] = await readFile(join(path, name), 'utf8');
  return files;
}

describe('fleet check and the bucket', () => {
  it('refuses a misspelled bucket, asking S3 with the credentials at hand', async () => {
    const file = await fleetFile('typo.yaml', 'hosts:\n  db1: {key: db1/db.sql.gz.gpg}\n', {
      bucketName: `${bucket}x`,
    });
    const checked = await runCli(['fleet', 'check', file], { env: admin() });
    expect(checked.status).toBe(2);
    expect(checked.stdout).toBe('');
    expect(checked.stderr).toMatch(
      new RegExp(
        `typo\\.yaml: bucket: s3://${bucket}x does not exist at http\\S+ \\(HeadBucket answered 404 to \\S+\\)`,
      ),
    );
    expect(checked.stderr).toMatch(/hint: Check the spelling of bucket: and the endpoint in the fleet file/);
    expect(checked.stderr).not.toMatch(/\n\s+at /); // no stack trace

    const offline = await runCli(['fleet', 'check', file, '--offline'], { env: admin() });
    expect(offline.status, offline.stderr).toBe(0);
    expect(offline.stderr).toMatch(/in s3:\/\/\S+ \(not checked \(--offline\)\)/);
  });

  it('without credentials says it did not check the bucket, and passes what it could check', async () => {
    const file = await fleetFile('nocreds.yaml', 'hosts:\n  db1: {key: db1/db.sql.gz.gpg}\n', {
      bucketName: `${bucket}x`,
    });
    const home = await tempDir('sealdrop-home-');
    const env = { ...agentEnv(), HOME: home, AWS_EC2_METADATA_DISABLED: 'true' };
    const checked = await runCli(['fleet', 'check', file], { env });
    expect(checked.status, checked.stderr).toBe(0);
    expect(checked.stderr).toMatch(
      new RegExp(`warning: did not check that s3://${bucket}x exists: no AWS credentials found`),
    );
    expect(checked.stderr).toMatch(/1 host in s3:\/\/\S+ \(not checked: no credentials\)/);
  });
});

describe('a broken YAML file', () => {
  it('is named with its line and column and what is wrong, by fleet check and fleet status', async () => {
    const file = await fleetFile(
      'broken.yaml',
      'hosts:\n  db1: {key: db1/db.sql.gz.gpg}\n  db2: key: db2/x.gz.gpg\n',
    );
    const checked = await runCli(['fleet', 'check', file], { env: admin() });
    expect(checked.status).toBe(2);
    expect(checked.stderr).toMatch(
      /broken\.yaml:8:8: Nested mappings are not allowed in compact mappings: " {2}db2: key: db2\/x\.gz\.gpg"/,
    );
    const status = await runCli(['fleet', 'status', file], { env: admin() });
    expect(status.status).toBe(3);
    expect(status.stdout).toMatch(
      /^SEALDROP UNKNOWN - \S+broken\.yaml is not a valid fleet file \(1 problem\); \S+broken\.yaml:8:8: Nested mappings/,
    );
  });
});

describe('a host that stopped renewing', () => {
  it("is a WARNING in fleet status, read from its latest backup, while the admin's copy is current", async () => {
    const body = (policyWarn: string) => `policyDir: policies-renew
defaults:
  expires: 2h
  renewWindow: 2h          # renew from the start: every push fetches the newest published
  policyWarn: ${policyWarn}
hosts:
  stuck: {key: stuck/db.sql.gz.gpg}
`;
    let file = await fleetFile('renew.yaml', body('5min'));
    const policyDir = join(dir, 'policies-renew');
    const stuck = host('stuck');
    const spool = await tempDir('sealdrop-spool-');
    expect((await runCli(['fleet', 'mint', file], { env: admin() })).status).toBe(0);
    await installPolicy(policyDir, stuck);
    const installed = join(dir, 'installed-by-config-management.json');
    await copyFile(stuck.policy, installed);
    const first = await expiryOf(installed);
    // A later successor, published: the host fetches it at every push…
    await until(after(first - 7_200_000 + 20_000), 'a successor 20 s later than the policy', {
      timeoutMs: 40_000,
    });
    const published = await runCli(['fleet', 'publish', file], { env: admin() });
    expect(published.status, published.stderr).toBe(0);
    const next = await expiryOf(join(policyDir, 'stuck.policy.json'));
    expect(next).toBeGreaterThan(first + 15_000);
    // …and config management puts the old file back after each push.
    for (let i = 0; i < 2; i++) {
      const pushed = await pushHost(stuck, spool);
      expect(pushed.status, pushed.stderr).toBe(0);
      expect(JSON.parse(pushed.stdout).renewal).toMatchObject({ state: 'renewed' });
      await copyFile(installed, stuck.policy);
    }
    // policyWarn between the two expiries: the admin's copy is fine, the host's policy is late.
    const between = () => `${Math.round(((first + next) / 2 - Date.now()) / 1000)}s`;
    file = await fleetFile('renew.yaml', body(between()));
    const status = await runCli(['fleet', 'status', file, '--json'], { env: admin() });
    expect(status.status, status.stdout).toBe(1);
    const [target] = JSON.parse(status.stdout).targets;
    expect(target.state).toBe('WARNING');
    expect(target.policyExpiresAt).toBe(new Date(next).toISOString());
    expect(target.reasons.join('\n')).not.toMatch(/the policy file expires/); // the admin's copy is fine
    expect(target.reasons).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^still on the policy that expires in .* \\(${new Date(first).toISOString()}\\): it pushed with it at .*, in its renewal window, and again at .*, so it did not renew; a newer policy is published \\(expires ${new Date(next).toISOString()}\\): the host's push warnings say why`,
        ),
      ),
    );
    const plugin = await runCli(['fleet', 'status', file], { env: admin() });
    expect(plugin.status).toBe(1);
    expect(parsePluginOutput(plugin.stdout).text).toMatch(/still on the policy that expires in/);

    // Left alone, it renews at its next push and uses the new policy from the one after: OK again.
    for (let i = 0; i < 2; i++) expect((await pushHost(stuck, spool)).status).toBe(0);
    expect(await expiryOf(stuck.policy)).toBe(next);
    file = await fleetFile('renew.yaml', body(between()));
    const healed = await runCli(['fleet', 'status', file, '--json'], { env: admin() });
    expect(healed.status, healed.stdout).toBe(0);
    expect(JSON.parse(healed.stdout).targets[0].reasons.join('\n')).not.toMatch(/still on the policy/);
  }, 180_000);
});

async function expiryOf(path: string): Promise<number> {
  const { fields } = JSON.parse(await readFile(path, 'utf8'));
  return Date.parse(JSON.parse(Buffer.from(fields.Policy, 'base64').toString()).expiration);
}
