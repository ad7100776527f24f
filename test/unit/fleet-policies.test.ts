// Offline parts of fleets and renewal: fleet mint's idempotence, the agent's acceptance rules for a
// successor, and policy renew. Minting needs no network: fake static credentials are enough.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mintFleet } from '../../src/admin/policies/fleet.js';
import { generateKeyPair } from '../../src/admin/openpgp/keygen.js';
import { createPolicyFile } from '../../src/admin/policies/mint.js';
import { renewPolicyFile } from '../../src/admin/policies/renew.js';
import { createS3Client } from '../../src/admin/s3/client.js';
import { judgeSuccessor, type JudgedPolicy } from '../../src/agent/renew.js';
import { loadFleet } from '../../src/core/fleet-load.js';
import { loadPolicyFile, parsePolicyFile, recipientKeys, renewalKey } from '../../src/core/policy-file.js';
import { parseS3Url } from '../../src/core/s3-url.js';
import { tempDir } from '../support/cli.js';
import { useOfflineAws } from '../support/offline-aws.js';

let dir: string;
let admin: string;
let other: string;

beforeAll(async () => {
  dir = await tempDir();
  const make = async (name: string) =>
    (
      await generateKeyPair({
        userId: `${name} <${name}@example.com>`,
        outPrefix: join(dir, name),
        passphrase: null,
      })
    ).publicKeyPath;
  admin = await make('admin');
  other = await make('other');
});

useOfflineAws();

const fleetText = (hosts: string) => `fleet: 1
bucket: acme-backups
endpoint: http://127.0.0.1:9
recipients: [admin.pub.asc]
policyDir: policies
hosts:
${hosts}`;

/**
 * Writes NAME.yaml and mints it into the policy directory NAME; `again` rewrites the file and mints
 * once more, `policy` reads a host's copy.
 */
async function mintNamed(name: string, text: string) {
  const path = join(dir, `${name}.yaml`);
  const outDir = join(dir, name);
  const client = createS3Client();
  const mint = async (fleet: string) => {
    await writeFile(path, fleet);
    return mintFleet(client, await loadFleet(path), { outDir });
  };
  const result = await mint(text);
  return {
    client,
    outDir,
    result,
    again: mint,
    policy: (host: string) => loadPolicyFile(join(outDir, `${host}.policy.json`)),
  };
}

describe('fleet mint', () => {
  it('writes every host once (0600), then rewrites only what changed, saying why', async () => {
    const path = join(dir, 'fleet.yaml');
    const hosts = '  db1: {key: db1/a.gz.gpg}\n  db2: {key: db2/a.gz.gpg}\n  db3: {prefix: db3/}\n';
    await writeFile(path, fleetText(hosts));
    const client = createS3Client();
    const outDir = join(dir, 'policies');
    const first = await mintFleet(client, await loadFleet(path), { outDir });
    expect(first.hosts.map((h) => h.action)).toEqual(['written', 'written', 'written']);
    for (const host of first.hosts) expect((await stat(host.path)).mode & 0o777).toBe(0o600);
    const db1 = await readFile(join(outDir, 'db1.policy.json'), 'utf8');

    const again = await mintFleet(client, await loadFleet(path), { outDir });
    expect(again.hosts.map((h) => h.action)).toEqual(['kept', 'kept', 'kept']);
    expect(await readFile(join(outDir, 'db1.policy.json'), 'utf8')).toBe(db1);

    await writeFile(
      path,
      fleetText(
        hosts.replace('db2: {key: db2/a.gz.gpg}', 'db2: {key: db2/a.gz.gpg, maxSize: 1GiB}') +
          '  db4: {key: db4/a.gz.gpg}\n',
      ),
    );
    const changed = await mintFleet(client, await loadFleet(path), { outDir });
    expect(changed.hosts.map((h) => [h.host, h.action, h.reasons])).toEqual([
      ['db1', 'kept', []],
      ['db2', 'rewritten', ['max size changed']],
      ['db3', 'kept', []],
      ['db4', 'written', []],
    ]);
    // A rewritten host keeps its renewal location: the host holds the URL of that one object.
    const before = parsePolicyFile(db1, 'db1');
    const db2 = await loadPolicyFile(join(outDir, 'db2.policy.json'));
    expect(renewalKey(db2.file)).toMatch(/^\.sealdrop\/renew\/db2-[0-9a-f]{32}\.json$/);
    expect(renewalKey(before.file)).toMatch(/^\.sealdrop\/renew\/db1-[0-9a-f]{32}\.json$/);

    const edited = JSON.parse(db1);
    edited.fields.Policy = Buffer.from(
      Buffer.from(edited.fields.Policy, 'base64').toString().replace('db1/', 'dbX/'),
    ).toString('base64');
    edited.fields.key = 'dbX/a.gz.gpg';
    await writeFile(join(outDir, 'db1.policy.json'), JSON.stringify(edited));
    const repaired = await mintFleet(client, await loadFleet(path), { outDir });
    expect(repaired.hosts[0]).toMatchObject({
      action: 'rewritten',
      reasons: ['key changed', 'its signature does not match (was it edited?)'],
    });
    expect(renewalKey((await loadPolicyFile(join(outDir, 'db1.policy.json'))).file)).toBe(
      renewalKey(before.file),
    );
  });

  it("mints the fleet's ping URL into every policy (a host may override it) and rewrites when it changes", async () => {
    const fleet = (ping: string) =>
      fleetText(
        `  db1: {key: db1/a.gz.gpg}\n  db2: {key: db2/a.gz.gpg, ping: 'https://hc.example.com/ping/db2'}\n`,
      ).replace('hosts:', `defaults:\n  ping: ${ping}\nhosts:`);
    const minted = await mintNamed('ping', fleet('https://hc.example.com/ping/all'));
    const pingOf = async (host: string) => (await minted.policy(host)).file.ping;
    expect(await pingOf('db1')).toBe('https://hc.example.com/ping/all');
    expect(await pingOf('db2')).toBe('https://hc.example.com/ping/db2');

    const changed = await minted.again(fleet('https://hc.example.com/ping/new'));
    expect(changed.hosts.map((h) => [h.host, h.action, h.reasons])).toEqual([
      ['db1', 'rewritten', ['ping URL changed']],
      ['db2', 'kept', []],
    ]);
    expect(await pingOf('db1')).toBe('https://hc.example.com/ping/new');

    const renewed = await renewPolicyFile(
      minted.client,
      join(minted.outDir, 'db1.policy.json'),
      await minted.policy('db1'),
    );
    expect(renewed.file.ping).toBe('https://hc.example.com/ping/new');
  });

  it("records each host's compression (the key's suffix when not given) and rewrites when it changes", async () => {
    const fleet = (defaults: string) =>
      fleetText(`  pg1: {key: pg1/a.zst.gpg}\n  db2: {key: db2/a.gz.gpg}\n  runs: {prefix: runs/}\n`).replace(
        'hosts:',
        `defaults: {${defaults}}\nhosts:`,
      );
    const minted = await mintNamed('compress', fleet(''));
    const compressionOf = async (host: string) => (await minted.policy(host)).file.compression;
    expect([await compressionOf('pg1'), await compressionOf('db2'), await compressionOf('runs')]).toEqual([
      'zstd',
      'gzip',
      undefined,
    ]);
    const changed = await minted.again(fleet('compress: zstd').replace('db2/a.gz.gpg', 'db2/a.zst.gpg'));
    expect(changed.hosts.map((h) => [h.host, h.action, h.reasons])).toEqual([
      ['pg1', 'kept', []],
      ['db2', 'rewritten', ['key changed', 'compression changed']],
      ['runs', 'rewritten', ['compression changed']],
    ]);
  });

  it('binds its own expiry and renewal start into what each host uploads, to the second', async () => {
    const minted = await mintNamed(
      'evidence',
      fleetText('  db1: {key: db1/a.gz.gpg, expires: 2d, renewWindow: 1d}\n'),
    );
    const { file, summary } = await minted.policy('db1');
    const expires = new Date(file.fields['x-amz-meta-sealdrop-policy-expires']!).getTime();
    expect(Math.abs(expires - summary.expiresAt.getTime())).toBeLessThanOrEqual(1000);
    expect(new Date(file.fields['x-amz-meta-sealdrop-renew-from']!).getTime()).toBe(expires - 86_400_000);
    // Bound by the signature: parsing checks every field against the signed conditions.
    const decoded = Buffer.from(file.fields.Policy!, 'base64').toString();
    expect(decoded).toContain('"x-amz-meta-sealdrop-policy-expires"');
  });

  it('mints every host before it writes any: one it cannot mint leaves every file as it was', async () => {
    const path = join(dir, 'all-or-none.yaml');
    const hosts = '  db1: {key: db1/a.gz.gpg}\n  db2: {key: db2/a.gz.gpg}\n  db3: {key: db3/a.gz.gpg}\n';
    await writeFile(path, fleetText(hosts).replace('policies', 'all-or-none'));
    const client = createS3Client();
    const outDir = join(dir, 'all-or-none');
    await mintFleet(client, await loadFleet(path), { outDir });
    const files = async () =>
      Promise.all(['db1', 'db2', 'db3'].map((host) => readFile(join(outDir, `${host}.policy.json`), 'utf8')));
    const before = await files();
    // Every host changed (each would be rewritten); the last one asks for what a policy can't be.
    await writeFile(path, fleetText(hosts).replace('policyDir', 'defaults: {maxSize: 1GiB}\npolicyDir'));
    const fleet = await loadFleet(path);
    fleet.hosts[2]!.settings.expires = 500;
    await expect(mintFleet(client, fleet, { outDir })).rejects.toMatchObject({
      code: 'FLEET_INVALID',
      message: expect.stringMatching(/host db3: --expires must be at least 1s/),
      hint: expect.stringMatching(/^Nothing was written\./),
    });
    expect(await files()).toEqual(before);
    // Nor is a policy directory made.
    await expect(mintFleet(client, fleet, { outDir: join(dir, 'never') })).rejects.toThrow();
    await expect(stat(join(dir, 'never'))).rejects.toThrow();
  });

  it('rewrites a copy that is due (in its renewal window)', async () => {
    const path = join(dir, 'due.yaml');
    await writeFile(path, fleetText('  web: {key: web/a.gz.gpg}\n').replace('policies', 'due'));
    const client = createS3Client();
    const outDir = join(dir, 'due');
    await mintFleet(client, await loadFleet(path), { outDir });
    const later = new Date(Date.now() + 4 * 86_400_000);
    const result = await mintFleet(client, await loadFleet(path), { outDir, now: later });
    expect(result.hosts[0]!.action).toBe('rewritten');
    expect(result.hosts[0]!.reasons[0]).toMatch(/^due: expires in (3d|2d 23h)/);
  });
});

describe("the agent's acceptance rules for a successor", () => {
  let counter = 0;
  async function policy(
    target: string,
    recipients = [admin],
    expiresInMs = 3_600_000,
  ): Promise<JudgedPolicy> {
    const armored = await Promise.all(
      recipients.map(async (file) => ({ armored: await readFile(file, 'utf8'), source: file })),
    );
    const created = await createPolicyFile(
      createS3Client(),
      { location: parseS3Url(target), expiresInMs },
      armored,
      `p${++counter}`,
    );
    return { loaded: created, ...(await recipientKeys(created, `p${counter}`)) };
  }

  it('accepts the same upload with a later expiry, in any recipient order', async () => {
    const current = await policy('s3://acme/db1/k', [admin, other]);
    const next = await policy('s3://acme/db1/k', [other, admin], 7_200_000);
    expect(await judgeSuccessor(current, next)).toEqual({ accept: true });
  });

  it.each([
    [
      'another key',
      's3://acme/db2/k',
      'admin',
      7_200_000,
      /it is for s3:\/\/acme\/db2\/k, not s3:\/\/acme\/db1\/k/,
    ],
    ['another bucket', 's3://other/db1/k', 'admin', 7_200_000, /it is for s3:\/\/other\/db1\/k/],
    ['a prefix for the key', 's3://acme/db1/k/', 'admin', 7_200_000, /it is for s3:\/\/acme\/db1\/k\//],
    ['other recipients', 's3://acme/db1/k', 'other', 7_200_000, /it encrypts to [0-9A-F]{40}, not to/],
    ['an earlier expiry', 's3://acme/db1/k', 'admin', 1_800_000, /expires at .* before the policy in place/],
  ])('refuses %s', async (_, target, who, expires, reason) => {
    const current = await policy('s3://acme/db1/k');
    const next = await policy(target, [who === 'admin' ? admin : other], expires);
    const verdict = await judgeSuccessor(current, next);
    expect(verdict).toMatchObject({ accept: false, unchanged: false });
    expect((verdict as { reason: string }).reason).toMatch(reason);
  });

  it('calls the policy in place unchanged, not refused', async () => {
    const current = await policy('s3://acme/db1/k');
    expect(await judgeSuccessor(current, current)).toMatchObject({ accept: false, unchanged: true });
  });
});

describe('policy renew', () => {
  it('re-mints in place: same key, recipients, name and renewal location, later expiry, same mode', async () => {
    const path = join(dir, 'renew.yaml');
    await writeFile(path, fleetText('  app: {prefix: app/, partSize: 64MiB}\n').replace('policies', 'renew'));
    const client = createS3Client();
    const outDir = join(dir, 'renew');
    await mintFleet(client, await loadFleet(path), { outDir });
    const file = join(outDir, 'app.policy.json');
    const before = await loadPolicyFile(file);
    // Renewed a minute later: expiries have whole seconds.
    const renewed = await renewPolicyFile(client, file, before, { now: new Date(Date.now() + 60_000) });
    const after = await loadPolicyFile(file);
    expect(after.summary.location).toEqual(before.summary.location);
    expect(after.summary.boundRecipients).toEqual(before.summary.boundRecipients);
    expect(after.file.name).toBe('app');
    expect(after.file.partSize).toBe(64 * 1024 ** 2);
    expect(renewalKey(after.file)).toBe(renewalKey(before.file));
    expect(after.summary.expiresAt.getTime()).toBeGreaterThan(before.summary.expiresAt.getTime());
    expect(renewed.previousExpiresAt).toBe(before.summary.expiresAt.toISOString());
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('refuses a file whose signature fails, and leaves it as it was', async () => {
    const file = join(dir, 'tampered.json');
    const created = await createPolicyFile(
      createS3Client(),
      { location: parseS3Url('s3://acme/db1/k') },
      [{ armored: await readFile(admin, 'utf8'), source: admin }],
      file,
    );
    const json = JSON.parse(created.text);
    json.fields.Policy = Buffer.from(
      Buffer.from(json.fields.Policy, 'base64').toString().replace('db1/', 'db3/'),
    ).toString('base64');
    json.fields.key = 'db3/k';
    await writeFile(file, JSON.stringify(json));
    const text = await readFile(file, 'utf8');
    await expect(renewPolicyFile(createS3Client(), file, await loadPolicyFile(file))).rejects.toThrow(
      /signature does not match .*; not renewing it/,
    );
    expect(await readFile(file, 'utf8')).toBe(text);
  });
});
