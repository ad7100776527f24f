import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { fleetReportTargets, fleetStatus } from '../../src/admin/backups/fleet.js';
import { DEFAULT_ANOMALY_THRESHOLDS } from '../../src/core/anomaly.js';
import { DEFAULT_WAL_THRESHOLDS } from '../../src/core/wal-chain.js';
import { generateKeyPair } from '../../src/admin/openpgp/keygen.js';
import { overlaps, parseFleet } from '../../src/core/fleet.js';
import { hostIndex, hostBackupSets, walIndex } from '../../src/core/fleet-hosts.js';
import { loadFleet } from '../../src/core/fleet-load.js';
import { renewalObjectKey } from '../../src/core/layout.js';
import { tempDir } from '../support/cli.js';

const FLEET = `# the admin's fleet, kept in git
fleet: 1
bucket: acme-backups
endpoint: http://127.0.0.1:7480
recipients: [keys/admin.pub.asc]
policyDir: policies
defaults:
  expires: 7d
  maxAge: 26h
  keep: {daily: 14, weekly: 8, monthly: 24, yearly: -1}
hosts:
  db1:
    key: db1/mysql.sql.gz.gpg
  db2:
    prefix: db2/
    partSize: 2GiB
    maxAge: 50h
    expires: 2d
    renewWindow: 1d
`;

/** What parseFleet throws for a fleet file with problems: all of them, in one message. */
function invalidFleet(message: RegExp) {
  return expect.objectContaining({
    code: 'FLEET_INVALID',
    exitStatus: 2,
    message: expect.stringMatching(message),
  });
}

describe('fleet file', () => {
  it('applies defaults and per-host overrides; paths resolve against the fleet file', () => {
    const fleet = parseFleet(FLEET, '/etc/sealdrop/fleet.yaml');
    expect(fleet).toMatchObject({
      bucket: 'acme-backups',
      endpoint: 'http://127.0.0.1:7480',
      policyDir: '/etc/sealdrop/policies',
    });
    const [db1, db2] = fleet.hosts;
    expect(db1).toMatchObject({
      name: 'db1',
      location: { bucket: 'acme-backups', key: 'db1/mysql.sql.gz.gpg', isPrefix: false },
      recipients: ['/etc/sealdrop/keys/admin.pub.asc'],
      settings: {
        expires: 7 * 86_400_000,
        renewWindow: 3.5 * 86_400_000,
        maxSize: 5 * 1024 ** 3,
        acl: 'bucket-owner-full-control',
        partSize: null,
        maxAge: 26 * 3_600_000,
        warnAge: null,
        keep: { daily: 14, weekly: 8, monthly: 24, yearly: -1 },
      },
    });
    expect(db2!.location).toEqual({ bucket: 'acme-backups', key: 'db2/', isPrefix: true });
    expect(db2!.settings).toMatchObject({
      expires: 2 * 86_400_000,
      renewWindow: 86_400_000,
      partSize: 2 * 1024 ** 3,
      maxAge: 50 * 3_600_000,
      keep: { daily: 14 },
    });
  });

  it('reads the same fleet written as JSON', () => {
    const json = JSON.stringify({
      fleet: 1,
      bucket: 'acme-backups',
      recipients: ['admin.pub.asc'],
      hosts: { web1: { key: 'web1/site.tar.gz.gpg', maxSize: '1GiB' } },
    });
    expect(parseFleet(json, 'fleet.json').hosts[0]!.settings.maxSize).toBe(1024 ** 3);
  });

  it('finds the host a stored key belongs to, or none (a stray)', () => {
    const owner = hostIndex(parseFleet(FLEET, 'fleet.yaml').hosts);
    expect(owner('db1/mysql.sql.gz.gpg')?.name).toBe('db1');
    expect(owner('db2/20261126T105300Z-3fa9c1/part-000001')?.name).toBe('db2');
    expect(owner('db1/other.gz.gpg')).toBeNull();
    expect(owner('db2')).toBeNull();
    expect(owner('.sealdrop/renew/db1-x.json')).toBeNull();
  });

  it('turns hosts into read-side targets with their thresholds, retention and policy copy', () => {
    const targets = hostBackupSets(parseFleet(FLEET, '/etc/sealdrop/fleet.yaml'));
    expect(targets[1]).toEqual({
      host: 'db2',
      location: { bucket: 'acme-backups', key: 'db2/', isPrefix: true },
      thresholds: {
        maxAgeMs: 50 * 3_600_000,
        warnAgeMs: null,
        policyWarnMs: 3 * 86_400_000,
        anomaly: DEFAULT_ANOMALY_THRESHOLDS,
        nothingStored: 'CRITICAL',
        maxUnverifiedAgeMs: 50 * 3_600_000 + 7 * 86_400_000,
        wal: DEFAULT_WAL_THRESHOLDS,
      },
      retention: { daily: 14, weekly: 8, monthly: 24, yearly: -1 },
      policyFile: '/etc/sealdrop/policies/db2.policy.json',
      wal: null,
    });
  });

  it('watches the proofs (maxUnverifiedAge; by default maxAge and a weekly drill): a duration, or off', () => {
    const fleet = parseFleet(
      `${FLEET}  db3: {key: db3/x.sql.gz.gpg, maxUnverifiedAge: 36h}\n  db4: {key: db4/x.sql.gz.gpg, maxUnverifiedAge: 'off'}\n`,
      'fleet.yaml',
    );
    expect(hostBackupSets(fleet).map((set) => set.thresholds.maxUnverifiedAgeMs)).toEqual([
      26 * 3_600_000 + 7 * 86_400_000,
      50 * 3_600_000 + 7 * 86_400_000,
      36 * 3_600_000,
      null,
    ]);
    expect(() =>
      parseFleet(`${FLEET}  db3: {key: db3/x.sql.gz.gpg, maxUnverifiedAge: never}\n`, 'fleet.yaml'),
    ).toThrow(/maxUnverifiedAge: "never" is not a duration or off/);
  });

  it('gives a PostgreSQL host its WAL archive, with its own RPO thresholds, owning the keys under it', () => {
    const fleet = parseFleet(
      `${FLEET}  pg1:\n    prefix: pg1/base/\n    wal: pg1/wal/\n    walMaxAge: 30min\n`,
      'fleet.yaml',
    );
    const pg1 = hostBackupSets(fleet)[2]!;
    expect(pg1.wal).toEqual({ bucket: 'acme-backups', key: 'pg1/wal/', isPrefix: true });
    expect(pg1.thresholds.wal).toEqual({ ...DEFAULT_WAL_THRESHOLDS, maxAgeMs: 30 * 60_000 });
    expect(walIndex(fleet.hosts)('pg1/wal/000000010000000000000003.gz.gpg')?.name).toBe('pg1');
    expect(walIndex(fleet.hosts)('pg1/base/000000010000000000000003.gz.gpg')).toBeNull();
    expect(hostIndex(fleet.hosts)('pg1/wal/000000010000000000000003.gz.gpg')).toBeNull();
  });

  it.each([
    [
      'a bad size, naming file, line, host and field',
      FLEET.replace('partSize: 2GiB', 'partSize: 2XB'),
      /fleet\.yaml:16: host db2: partSize: "2XB" is not a size/,
    ],
    [
      'a bad duration',
      FLEET.replace('maxAge: 50h', 'maxAge: 50m'),
      /fleet\.yaml:17: host db2: maxAge: "50m" is not a duration \("m" is ambiguous\)/,
    ],
    [
      'an unknown setting (a typo)',
      FLEET.replace('maxAge: 50h', 'maxage: 50h'),
      /fleet\.yaml:17: host db2: unknown setting "maxage"/,
    ],
    [
      'a host with both key and prefix',
      FLEET.replace('prefix: db2/', 'prefix: db2/\n    key: db2/x'),
      /host db2: give exactly one of key/,
    ],
    [
      'a WAL archive that is not a prefix',
      FLEET.replace('prefix: db2/', 'prefix: db2/base/\n    wal: db2/wal'),
      /host db2: wal: must be the prefix of its WAL archive, ending in \//,
    ],
    [
      "a WAL archive inside the host's own backups' prefix",
      FLEET.replace('prefix: db2/', 'prefix: db2/\n    wal: db2/wal/'),
      /host db2: overlaps host db2: its prefix "db2\/" covers prefix "db2\/wal\/"/,
    ],
    [
      "a WAL archive inside another host's prefix",
      FLEET.replace('key: db1/mysql.sql.gz.gpg', 'key: db1/mysql.sql.gz.gpg\n    wal: db2/wal/'),
      /overlaps host db\d: its prefix "db2\/" covers prefix "db2\/wal\/"/,
    ],
    [
      'a prefix without its slash',
      FLEET.replace('prefix: db2/', 'prefix: db2'),
      /host db2: prefix: "db2" must end in \//,
    ],
    [
      'a duplicated host, with the column and the line',
      FLEET.replace('  db2:', '  db1:'),
      /fleet\.yaml:14:3: Map keys must be unique: " {2}db1:"/,
    ],
    [
      'a line indented wrong',
      FLEET.replace('    partSize: 2GiB', '   partSize: 2GiB'),
      /fleet\.yaml:16:\d+: All mapping items must start at the same column: " {3}partSize: 2GiB"/,
    ],
    [
      'a mapping inside a compact mapping',
      FLEET.replace('  db1:\n    key: db1/mysql.sql.gz.gpg', '  db1: key: db1/mysql.sql.gz.gpg'),
      /fleet\.yaml:12:8: Nested mappings are not allowed in compact mappings: " {2}db1: key: db1\/mysql\.sql\.gz\.gpg"/,
    ],
    [
      'a compression it does not know',
      FLEET.replace('expires: 7d', 'compress: xz'),
      /fleet\.yaml:8: defaults: compress: "xz" is not a compression \(gzip, zstd, none\)/,
    ],
    [
      'zstd from defaults for a key that says gzip, naming what to set',
      FLEET.replace('expires: 7d', 'compress: zstd'),
      /fleet\.yaml:13: host db1: the key db1\/mysql\.sql\.gz\.gpg ends in \.gz\.gpg \(gzip\) but the compression is zstd \(compress in defaults\): set compress: gzip for this host in the fleet file, or name its key for zstd/,
    ],
    [
      "a host's own gzip for a key that says zstd",
      FLEET.replace('key: db1/mysql.sql.gz.gpg', 'key: db1/mysql.sql.zst.gpg\n    compress: gzip'),
      /fleet\.yaml:14: host db1: the key db1\/mysql\.sql\.zst\.gpg ends in \.zst\.gpg \(zstd\) but the compression is gzip: set compress: zstd/,
    ],
    [
      'a maxSize over what one POST may hold',
      FLEET.replace('expires: 7d', 'maxSize: 6GiB'),
      /fleet\.yaml:8: defaults: maxSize: "6GiB" is over 5GiB, S3's limit for one POST object/,
    ],
    ['no version', FLEET.replace('fleet: 1\n', ''), /fleet: missing: start the file with "fleet: 1"/],
    [
      'a ping URL that is not an http(s) URL',
      FLEET.replace('expires: 7d', 'ping: hc-ping.com/abc'),
      /fleet\.yaml:8: defaults: ping: "hc-ping\.com\/abc" must be an http\(s\) URL/,
    ],
    [
      'an unknown ACL',
      FLEET.replace('expires: 7d', 'acl: public'),
      /defaults: acl: "public" is not a canned ACL/,
    ],
    [
      'a bad retention rule',
      FLEET.replace('yearly: -1', 'yearly: -2'),
      /defaults: keep: yearly: -2 is not a count/,
    ],
    [
      'a renewal window that opens after 7 days',
      FLEET.replace('expires: 2d', 'expires: 14d').replace('renewWindow: 1d', 'renewWindow: 2d'),
      /host db2: renewWindow must open within 7 days/,
    ],
    ['no hosts', FLEET.slice(0, FLEET.indexOf('hosts:')), /hosts: missing/],
    [
      'a bad bucket',
      FLEET.replace('acme-backups', 'Acme_Backups'),
      /fleet\.yaml:3: bucket: "Acme_Backups" is not a bucket name/,
    ],
  ])('refuses %s', (_, text, message) => {
    expect(() => parseFleet(text, 'fleet.yaml')).toThrow(invalidFleet(message));
  });

  it('lists every problem at once', () => {
    const text = FLEET.replace('partSize: 2GiB', 'partSize: 2XB').replace('maxAge: 50h', 'maxAge: soon');
    expect(() => parseFleet(text, 'fleet.yaml')).toThrow(invalidFleet(/partSize/));
    expect(() => parseFleet(text, 'fleet.yaml')).toThrow(invalidFleet(/maxAge/));
    // No colon before the list: a monitoring check's one line joins its lines with "; ".
    expect(() => parseFleet(text, 'fleet.yaml')).toThrow(
      invalidFleet(/^fleet\.yaml is not a valid fleet file \(2 problems\); fleet\.yaml:16: /),
    );
  });

  it("takes compress per host or from defaults; a fixed key's suffix implies it", () => {
    const text = FLEET.replace('key: db1/mysql.sql.gz.gpg', 'key: db1/mysql.sql.zst.gpg').concat(
      '  db3: {key: db3/x.sql.gz.gpg}\n  db4: {prefix: db4/, compress: zstd}\n  db5: {key: db5/raw.gpg, compress: none}\n',
    );
    const compress = parseFleet(text, 'fleet.yaml').hosts.map((host) => host.settings.compress);
    expect(compress).toEqual(['zstd', null, 'gzip', 'zstd', 'none']);
    const zstdFleet = parseFleet(
      FLEET.replace('expires: 7d', 'compress: zstd').replace('.gz.gpg', '.zst.gpg'),
      'f',
    );
    expect(zstdFleet.hosts.map((host) => host.settings.compress)).toEqual(['zstd', 'zstd']);
  });
});

describe('overlapping hosts', () => {
  const host = (name: string, key: string) => ({
    name,
    location: { bucket: 'b', key, isPrefix: key.endsWith('/') },
  });

  it('names both hosts when a prefix covers another host key or prefix, or two share a key', () => {
    const found = overlaps([
      host('db1', 'db1/mysql.sql.gz.gpg'),
      host('evil', 'db1/'),
      host('db2', 'db2/x.gz.gpg'),
      host('twin', 'db2/x.gz.gpg'),
      host('runs', 'runs/'),
      host('nested', 'runs/a/'),
      host('apart', 'db1x/y'),
    ]);
    expect(found.map((o) => `${o.host}: ${o.message}`)).toEqual([
      'db1: overlaps host evil: its prefix "db1/" covers key "db1/mysql.sql.gz.gpg", so either could write into the other\'s backups',
      'twin: overlaps host db2: both have key "db2/x.gz.gpg"',
      'nested: overlaps host runs: its prefix "runs/" covers prefix "runs/a/", so either could write into the other\'s backups',
    ]);
  });

  it("refuses hosts that would cover sealdrop's own .sealdrop/ area", () => {
    expect(
      overlaps([host('a', '.sealdrop/renew/x'), host('b', '.seal/'), host('c', '.s/')]).map((o) => o.host),
    ).toEqual(['a']);
    expect(overlaps([host('dot', '.')]).length).toBe(0); // a key, not a prefix
    const fleet = FLEET.replace('prefix: db2/', 'prefix: .sealdrop/');
    expect(() => parseFleet(fleet, 'fleet.yaml')).toThrow(
      invalidFleet(/fleet\.yaml:14: host db2: prefix ".sealdrop\/" covers sealdrop's own .sealdrop\/ area/),
    );
  });

  it('is fast on a large fleet (sorted, not pairwise)', () => {
    const hosts = Array.from({ length: 100_000 }, (_, i) => host(`h${i}`, `hosts/${i}/`));
    expect(overlaps(hosts)).toEqual([]);
  });

  it('gives every host its own renewal object in the .sealdrop/ area', () => {
    expect(renewalObjectKey('db1', 'abc')).toBe('.sealdrop/renew/db1-abc.json');
  });
});

describe('loadFleet', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
    await mkdir(join(dir, 'keys'));
    await generateKeyPair({
      userId: 'Admin <admin@example.com>',
      outPrefix: join(dir, 'keys', 'admin'),
      passphrase: null,
    });
  });

  it('reads every recipient key once', async () => {
    await writeFile(join(dir, 'fleet.yaml'), FLEET);
    const fleet = await loadFleet(join(dir, 'fleet.yaml'));
    expect([...fleet.keys.values()].map((k) => k.fingerprint)).toEqual([
      expect.stringMatching(/^[0-9A-F]{40}$/),
    ]);
  });

  it('names the line, the host and the file of a recipient key that is missing', async () => {
    await writeFile(
      join(dir, 'bad.yaml'),
      FLEET.replace('    partSize: 2GiB', '    recipients: [keys/nope.asc]\n    partSize: 2GiB'),
    );
    await expect(loadFleet(join(dir, 'bad.yaml'))).rejects.toThrow(
      /bad\.yaml:16: host db2: recipient key .*keys\/nope\.asc does not exist/,
    );
  });

  it("blames a typo in the fleet's own recipients on every host, once", async () => {
    const typo = FLEET.replace(/^recipients: .*$/m, 'recipients: [keys/escorw.pub.asc]');
    expect(typo).not.toBe(FLEET);
    await writeFile(join(dir, 'typo.yaml'), typo);
    const failure = loadFleet(join(dir, 'typo.yaml'));
    await expect(failure).rejects.toThrow(
      /^\S*typo\.yaml is not a valid fleet file \(1 problem\); \S*typo\.yaml:5: every host: recipient key .*keys\/escorw\.pub\.asc does not exist$/,
    );
  });
});

describe("a fleet's policy copies (the expiries of fleet status and report)", () => {
  it('the report notes a missing or unreadable copy on its host; fleet status fails on an unreadable one', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'policies'));
    await writeFile(join(dir, 'policies', 'db2.policy.json'), '{"sealdrop": 1}');
    const fleet = parseFleet(FLEET, join(dir, 'fleet.yaml'));
    // A bucket without a bucket policy: no host is revoked.
    const noBucketPolicy = {
      send: () => Promise.reject(Object.assign(new Error('none'), { name: 'NoSuchBucketPolicy' })),
    } as unknown as S3Client;
    const { targets } = await fleetReportTargets(noBucketPolicy, fleet, DEFAULT_ANOMALY_THRESHOLDS);
    expect(targets.map((target) => target.policyNote)).toEqual([
      'no copy in the policy directory (db1.policy.json)',
      expect.stringMatching(/db2\.policy\.json: "url" must be an http\(s\) URL$/),
    ]);
    // Fails before it asks S3 anything: a check that can't read its inputs is UNKNOWN.
    await expect(fleetStatus({} as S3Client, fleet)).rejects.toMatchObject({ code: 'POLICY_FILE_INVALID' });
  });
});

describe("the README's fleet example", () => {
  it('is a valid fleet file', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const example = /## Fleets[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const fleet = parseFleet(example!, '/etc/sealdrop/fleet.yaml');
    expect(fleet.hosts.map((host) => host.name)).toEqual(['db1', 'db2', 'legacy', 'warehouse', 'pg1']);
    expect(fleet.hosts[3]!.recipients).toEqual(['/etc/sealdrop/keys/dw-team.pub.asc']);
    expect(fleet.hosts.map((host) => host.settings.allowUnbound)).toEqual([false, false, true, false, false]);
    expect(fleet.hosts[4]).toMatchObject({ wal: { key: 'pg1/wal/' }, settings: { walMaxAge: 600_000 } });
  });
});

describe('allowUnbound', () => {
  it('is true or false, nothing else', () => {
    expect(() =>
      parseFleet(
        FLEET.replace('defaults:', 'defaults:\n  allowUnbound: yes please'),
        '/etc/sealdrop/fleet.yaml',
      ),
    ).toThrow(/allowUnbound.*must be true or false/s);
  });
});

describe('fleet anomaly thresholds and --keep-earliest', () => {
  it('reads them from defaults, any subset, with the defaults for the rest', () => {
    const fleet = parseFleet(
      FLEET.replace('defaults:', 'defaults:\n  anomaly: {warnShrink: 30%, floodFactor: off, window: 14d}'),
      '/etc/sealdrop/fleet.yaml',
    );
    expect(hostBackupSets(fleet)[0]!.thresholds.anomaly).toEqual({
      ...DEFAULT_ANOMALY_THRESHOLDS,
      warnShrink: 0.3,
      floodFactor: 0,
      windowMs: 14 * 86_400_000,
    });
  });

  it('refuses a threshold it does not know, naming the ones it does', () => {
    expect(() =>
      parseFleet(
        FLEET.replace('defaults:', 'defaults:\n  anomaly: {shrink: 30%}'),
        '/etc/sealdrop/fleet.yaml',
      ),
    ).toThrow(
      /unknown threshold "shrink" \(known: warnShrink, critShrink, minSize, growthFactor, floodFactor, window\)/,
    );
  });
});
