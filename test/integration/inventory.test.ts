// A bucket as the admin sees it: `ls` (every backup set, with a fleet file or without), `status` over a
// whole bucket as a monitoring plugin (perfdata, bucket checks, UNKNOWN for usage errors), and the same
// results for Prometheus, checked by promtool.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
} from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { run, runCli, tempDir, type CliResult } from '../support/cli.js';
import { parsePluginOutput } from '../support/plugin-output.js';
import { adminClient, expireNoncurrentVersions, freshBucket, withEnv } from '../support/s3.js';

const PROMTOOL = fileURLToPath(new URL('../../scripts/promtool', import.meta.url));
const RUN_COMPLETE = '20260501T023000Z-aaaaaa';
const RUN_BROKEN = '20260502T023000Z-bbbbbb';
const RUN_INCOMPLETE = '20260503T023000Z-cccccc';

let bucket: string;
let dir: string;
let fleetFile: string;
const s3 = () => adminClient();
const admin = (args: string[]): Promise<CliResult> => runCli(args, { env: withEnv() });

async function put(key: string, body: string | Buffer, target = bucket): Promise<void> {
  await s3().send(new PutObjectCommand({ Bucket: target, Key: key, Body: body }));
}

/** A run as push stores it: its parts, then (unless incomplete) a manifest naming them. */
async function storeRun(prefix: string, runId: string, parts: Buffer[], manifestParts = parts.length) {
  for (const [i, part] of parts.entries())
    await put(`${prefix}${runId}/part-${String(i + 1).padStart(6, '0')}`, part);
  if (manifestParts === 0) return;
  const listed = Array.from({ length: manifestParts }, (_, i) => {
    const part = parts[i] ?? parts[0]!;
    return {
      key: `${prefix}${runId}/part-${String(i + 1).padStart(6, '0')}`,
      size: part.length,
      sha256: createHash('sha256').update(part).digest('hex'),
    };
  });
  const total = listed.reduce((sum, p) => sum + p.size, 0);
  const manifest = {
    sealdropRun: 1,
    runId,
    prefix,
    parts: listed,
    totalBytes: total,
    sha256: createHash('sha256').update(Buffer.concat(parts)).digest('hex'),
    bytesIn: total,
    compression: 'gzip',
    partSize: parts[0]!.length,
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
    seconds: 1,
  };
  await put(`${prefix}${runId}/manifest.json`, JSON.stringify(manifest));
}

beforeAll(async () => {
  // Unpacked from Debian's package on first use.
  expect((await run(PROMTOOL, ['--version'])).status).toBe(0);
  bucket = await freshBucket('inventory');
  dir = await tempDir('sealdrop-inventory-');
  await put('db1/mysql.sql.gz.gpg', 'backup one');
  await put('db1/mysql.sql.gz.gpg', 'backup two, a little larger');
  await put('db2/pg.sql.gz.gpg', 'the only backup');
  await s3().send(new DeleteObjectCommand({ Bucket: bucket, Key: 'db2/pg.sql.gz.gpg' }));
  await put('warehouse/.hidden', 'sorts before the runs');
  await storeRun('warehouse/', RUN_COMPLETE, [Buffer.alloc(3000, 1), Buffer.alloc(1000, 2)]);
  await put(`warehouse/${RUN_COMPLETE}/junk`, 'not a part');
  await storeRun('warehouse/', RUN_BROKEN, [Buffer.alloc(500, 3)], 2); // lists a part never stored
  await storeRun('warehouse/', RUN_INCOMPLETE, [Buffer.alloc(700, 4)], 0);
  await put('warehouse/notes.txt', 'a stray');
  await put('old/forgotten.sql', 'belongs to no host');
  await put('.sealdrop/renew/db1-0123456789abcdef.json', '{}');
  fleetFile = join(dir, 'fleet.yaml');
  await writeFile(
    fleetFile,
    `fleet: 1
bucket: ${bucket}
recipients: [admin.pub.asc]
hosts:
  db1: {key: db1/mysql.sql.gz.gpg}
  db2: {key: db2/pg.sql.gz.gpg}
  warehouse: {prefix: warehouse/}
  newhost: {key: newhost/db.sql.gz.gpg}
`,
  );
});

/** The ls line of a set, by its address. */
function row(stdout: string, url: string): string {
  const line = stdout
    .split('\n')
    .find((l) => new RegExp(`  ${url.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(  |$)`).test(l));
  if (!line) throw new Error(`no line for ${url} in:\n${stdout}`);
  return line;
}

describe('ls', () => {
  it('lists each backup set of a bucket with its latest, size, count and state', async () => {
    const listed = await admin(['ls', `s3://${bucket}`]);
    expect(listed.status, listed.stderr).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^KIND +BACKUPS +LATEST COMPLETE +SIZE +STATE +SET$/);
    expect(lines.at(-1)).toBe('4 backup sets');
    expect(row(listed.stdout, `s3://${bucket}/db1/mysql.sql.gz.gpg`)).toMatch(
      /^key +2 +\d{4}-\d\d-\d\dT[\d:.]+Z +27 B +complete +s3:/,
    );
    expect(row(listed.stdout, `s3://${bucket}/db2/pg.sql.gz.gpg`)).toMatch(
      /^key +1 +\S+ +15 B +DELETED .*\(1 delete marker\)$/,
    );
    // One complete run (4000 bytes), the newest incomplete, one broken, and every other object a stray.
    expect(row(listed.stdout, `s3://${bucket}/warehouse/`)).toMatch(
      /^runs +1 +\S+ +3\.91 KiB +INCOMPLETE +s3:\S+ +\(1 INCOMPLETE; 1 BROKEN; 3 strays \(warehouse\/\.hidden, /,
    );
    expect(row(listed.stdout, `s3://${bucket}/.sealdrop/`)).toMatch(
      /^area +- +- +2 B +sealdrop +s3:\S+ +\(sealdrop's own area \(renewals, proofs\): 1 object\)$/,
    );
    expect(row(listed.stdout, `s3://${bucket}/old/forgotten.sql`)).toMatch(/complete/);
    // A prefix of the bucket: only what lies under it.
    const prefix = await admin(['ls', `s3://${bucket}/warehouse/`, '--page-size', '2']);
    expect(prefix.status, prefix.stderr).toBe(0);
    expect(prefix.stdout.trimEnd().split('\n').slice(1)).toEqual([
      row(listed.stdout, `s3://${bucket}/warehouse/`),
      '1 backup set',
    ]);
  });

  it('with --fleet names each set’s host, flags sets of no host and hosts with nothing stored', async () => {
    const listed = await admin(['ls', '--fleet', fleetFile]);
    expect(listed.status, listed.stderr).toBe(0);
    expect(row(listed.stdout, `s3://${bucket}/db1/mysql.sql.gz.gpg`)).toMatch(/ complete +db1 +s3:/);
    expect(row(listed.stdout, `s3://${bucket}/warehouse/`)).toMatch(/ INCOMPLETE +warehouse +s3:/);
    expect(row(listed.stdout, `s3://${bucket}/old/forgotten.sql`)).toMatch(
      / complete +NO HOST +s3:\S+ +\(belongs to no host\)$/,
    );
    expect(row(listed.stdout, `s3://${bucket}/.sealdrop/`)).toMatch(/ sealdrop +- +s3:/);
    expect(row(listed.stdout, `s3://${bucket}/newhost/db.sql.gz.gpg`)).toMatch(
      /^key +0 +- +- +EMPTY +newhost +s3:\S+ +\(nothing stored: never backed up\)$/,
    );
    expect(listed.stdout.trimEnd().split('\n').at(-1)).toBe(
      '4 backup sets, 1 belonging to no host, 1 host with nothing stored',
    );

    const json = await admin(['ls', '--fleet', fleetFile, '--json']);
    expect(json.status, json.stderr).toBe(0);
    const document = JSON.parse(json.stdout);
    expect(document.totals).toEqual({ sets: 4, noHost: 1 });
    expect(document.hostsWithNothingStored).toEqual(['newhost']);
    const byTarget = new Map(document.sets.map((s: { target: string }) => [s.target, s]));
    expect(byTarget.get(`s3://${bucket}/warehouse/`)).toMatchObject({
      kind: 'run',
      host: 'warehouse',
      state: 'incomplete',
      backups: 1,
      latest: { runId: RUN_COMPLETE, size: 4000, state: 'complete' },
      counts: { incomplete: 1, broken: 1, strays: 3 },
    });
    expect(byTarget.get(`s3://${bucket}/.sealdrop/`)).toMatchObject({ kind: 'area', objects: 1 });
    expect(byTarget.get(`s3://${bucket}/old/forgotten.sql`)).toMatchObject({ host: null });
  });

  it('a missing bucket is an error, with --json one error document, and without it nothing on stdout', async () => {
    const missing = await admin(['ls', `s3://no-such-bucket-${Date.now()}`, '--json']);
    expect(missing.status).toBe(1);
    expect(JSON.parse(missing.stdout).error).toMatchObject({ code: 'NOT_FOUND', exitStatus: 1 });
    // No table header for a listing that never started: stdout would read as an empty bucket's.
    const text = await admin(['ls', `s3://no-such-bucket-${Date.now()}`]);
    expect(text.status).toBe(1);
    expect(text.stderr).toMatch(/error: .*no-such-bucket-/);
    expect(text.stdout).toBe('');
    // An empty bucket that exists still gets its header and its sum.
    const empty = await admin(['ls', `s3://${await freshBucket('ls-empty')}`]);
    expect(empty.status, empty.stderr).toBe(0);
    expect(empty.stdout).toMatch(/^KIND +BACKUPS +LATEST COMPLETE +SIZE +STATE +SET\n0 backup sets\n$/);
  });
});

describe('names a host wrote, in text listings', () => {
  it('a newline or tab in a key cannot fake a line of ls or ls --fleet', async () => {
    const evil = await freshBucket('inventory-names');
    const forged = 'key        1  2026-05-01T02:30:00.000Z       1 B  complete    s3://forged/db.sql.gz.gpg';
    await put(`db1/mysql.sql.gz.gpg\n${forged}\t\u2028x`, 'junk', evil);
    await put('db1/mysql.sql.gz.gpg', 'a backup', evil);
    const fleet = join(dir, 'names-fleet.yaml');
    await writeFile(
      fleet,
      `fleet: 1\nbucket: ${evil}\nrecipients: [admin.pub.asc]\nhosts:\n  db1: {key: db1/mysql.sql.gz.gpg}\n`,
    );
    for (const args of [
      ['ls', `s3://${evil}`],
      ['ls', '--fleet', fleet],
    ]) {
      const listed = await admin(args);
      expect(listed.status, listed.stderr).toBe(0);
      const lines = listed.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(4); // the header, two sets, the totals
      expect(lines.filter((line) => line.startsWith('key '))).toHaveLength(2);
      expect(listed.stdout).toContain(`s3://${evil}/db1/mysql.sql.gz.gpg?${forged}??x`);
      expect(listed.stdout).not.toMatch(/[\t\u2028]/);
    }
  });
});

describe('status over a bucket, as a monitoring plugin', () => {
  it('checks every set under the bucket; perfdata per set; the bucket once', async () => {
    const result = await admin(['status', `s3://${bucket}/`]);
    expect(result.status).toBe(2);
    const output = parsePluginOutput(result.stdout);
    expect(output.state).toBe('CRITICAL');
    expect(output.text).toMatch(/^2 of 4 backups not OK: \S+db2\S+ CRITICAL, \S+warehouse\/ WARNING$/);
    expect(output.longText).toContain(`OK bucket ${bucket}: versioning Enabled; Object Lock off`);
    expect(output.longText.filter((l) => / bucket /.test(l))).toHaveLength(1);
    expect(output.longText.find((l) => l.includes('/db2/'))).toMatch(/^CRITICAL .*delete marker/);
    expect(output.longText.find((l) => l.includes('/warehouse/'))).toMatch(/^WARNING .*BROKEN/);
    // A perfdata set per target: age (with the thresholds), size, backups.
    expect(output.perfdata).toHaveLength(12);
    const db1 = (metric: string) => output.perfdata.find((p) => p.label === `db1/mysql.sql.gz.gpg_${metric}`);
    expect(db1('age')).toMatchObject({ uom: 's', warn: '', crit: '93600', min: '0' });
    expect(db1('age')!.value).toBeGreaterThanOrEqual(0);
    expect(db1('size')).toMatchObject({ value: 27, uom: 'B' });
    expect(db1('backups')).toMatchObject({ value: 2, uom: '' });
  });

  it('one target: the headline carries it, perfdata on the first line', async () => {
    const result = await admin(['status', `s3://${bucket}/db1/mysql.sql.gz.gpg`, '--warn-age', '20h']);
    expect(result.status, result.stderr).toBe(0);
    const output = parsePluginOutput(result.stdout);
    expect(result.stdout.split('\n')[0]).toMatch(
      /^SEALDROP OK - s3:\S+: latest 27 B from .* ago, 2 backups \| 'age'=\d+s;72000;93600;0 'size'=27B;;;0 'backups'=2;;;0$/,
    );
    expect(output.perfdata.map((p) => p.label)).toEqual(['age', 'size', 'backups']);
  });

  it('--format prometheus: the same results as metrics that promtool accepts', async () => {
    const result = await admin(['status', `s3://${bucket}/`, '--format', 'prometheus']);
    expect(result.status).toBe(2);
    const checked = await run(PROMTOOL, ['check', 'metrics'], { input: result.stdout });
    expect(checked.stdout + checked.stderr).toBe('');
    expect(checked.status).toBe(0);
    const value = (metric: string, labels: string) => {
      const line = result.stdout
        .split('\n')
        .find((l) => l.startsWith(`${metric}{${labels}`) || l === metric || l.startsWith(`${metric} `));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    expect(value('sealdrop_status', '')).toBe(2);
    expect(value('sealdrop_backup_status', `target="s3://${bucket}/db2/pg.sql.gz.gpg"`)).toBe(2);
    expect(value('sealdrop_backup_latest_size_bytes', `target="s3://${bucket}/db1/mysql.sql.gz.gpg"`)).toBe(
      27,
    );
    expect(value('sealdrop_backup_snapshots', `target="s3://${bucket}/warehouse/",state="broken"`)).toBe(1);
    expect(value('sealdrop_bucket_versioning_enabled', `bucket="${bucket}"`)).toBe(1);
    expect(result.stdout).toMatch(/^# TYPE sealdrop_backup_latest_timestamp_seconds gauge$/m);
  });

  it('a usage error or an unreadable option is UNKNOWN (3), in every format', async () => {
    const url = `s3://${bucket}/db1/mysql.sql.gz.gpg`;
    for (const args of [
      ['status', url, '--max-age', '26'],
      ['status', url, '--no-such-option'],
      ['status', url, '--format', 'xml'],
      ['status'],
      ['fleet', 'status'],
    ]) {
      const result = await admin(args);
      expect(result.status, args.join(' ')).toBe(3);
      expect(result.stdout, args.join(' ')).toMatch(/^SEALDROP UNKNOWN - \S/);
      expect(result.stderr).toMatch(/sealdrop: error: /);
    }
    const json = await admin(['status', url, '--no-such-option', '--json']);
    expect(json.status).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({
      state: 'UNKNOWN',
      error: { code: 'USAGE', exitStatus: 3 },
    });
    const prometheus = await admin(['status', url, '--max-age', 'forever', '--format', 'prometheus']);
    expect(prometheus.status).toBe(3);
    expect(prometheus.stdout).toMatch(/^sealdrop_status 3$/m);
  });
});

describe('bucket checks', () => {
  async function bucketWith(name: string, versioning: 'Suspended' | null, lock = false): Promise<string> {
    const made = `${name}-${Date.now().toString(36)}`;
    await s3().send(new CreateBucketCommand({ Bucket: made, ObjectLockEnabledForBucket: lock }));
    if (versioning)
      await s3().send(
        new PutBucketVersioningCommand({ Bucket: made, VersioningConfiguration: { Status: 'Enabled' } }),
      );
    if (versioning === 'Suspended')
      await s3().send(
        new PutBucketVersioningCommand({ Bucket: made, VersioningConfiguration: { Status: 'Suspended' } }),
      );
    await put('db1/mysql.sql.gz.gpg', 'a backup', made);
    return made;
  }

  it('versioning never enabled, or suspended, is CRITICAL with the reason', async () => {
    const never = await bucketWith('unversioned', null);
    const off = await admin(['status', `s3://${never}/db1/mysql.sql.gz.gpg`]);
    expect(off.status).toBe(2);
    const output = parsePluginOutput(off.stdout);
    expect(output.text).toMatch(
      /bucket \S+ CRITICAL: versioning was never enabled: every push replaces the last backup/,
    );
    expect(output.perfdata.map((p) => p.label)).toEqual(['age', 'size', 'backups']);
    const suspended = await bucketWith('suspended', 'Suspended');
    const paused = await admin(['status', `s3://${suspended}/db1/mysql.sql.gz.gpg`, '--json']);
    expect(paused.status).toBe(2);
    const json = JSON.parse(paused.stdout);
    expect(json.targets[0].state).toBe('OK');
    expect(json.buckets[0]).toMatchObject({ state: 'CRITICAL', versioning: 'Suspended' });
    expect(json.buckets[0].reasons[0]).toMatch(/versioning is Suspended/);
  });

  it('lifecycle rules that expire noncurrent versions are a WARNING; Object Lock is reported', async () => {
    const locked = await bucketWith('locked', null, true);
    await s3().send(
      new PutObjectLockConfigurationCommand({
        Bucket: locked,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } },
        },
      }),
    );
    await expireNoncurrentVersions(locked);
    const result = await admin(['status', `s3://${locked}/db1/mysql.sql.gz.gpg`]);
    expect(result.status).toBe(1);
    const output = parsePluginOutput(result.stdout);
    expect(output.state).toBe('WARNING');
    expect(output.longText).toEqual([
      `WARNING bucket ${locked}: versioning Enabled; lifecycle rule tidy expires noncurrent versions after 30 days: it deletes backup history regardless of sealdrop prune; Object Lock on, default retention GOVERNANCE 1d`,
    ]);
  });
});
