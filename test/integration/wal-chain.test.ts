// A WAL archive watched and pruned on the real S3 server: status on a WAL prefix (RPO, gaps, second
// versions), and prune of base backups removing exactly the WAL below the oldest kept one.
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { segmentFileName } from '../../src/core/wal.js';
import { runCli, tempDir } from '../support/cli.js';
import { parsePluginOutput } from '../support/plugin-output.js';
import { adminClient, freshBucket, withEnv } from '../support/s3.js';

let bucket: string;
let env: NodeJS.ProcessEnv;
const seg = (segno: number, timeline = 1) => segmentFileName(timeline, segno);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Archives files as `wal push` names them (contents don't matter to the listing). */
async function archive(prefix: string, names: readonly string[], size = 100): Promise<void> {
  for (const name of names)
    await adminClient().send(
      new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${name}.gz.gpg`, Body: randomBytes(size) }),
    );
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => seg(from + i));
const backupFile = (segno: number) => `${seg(segno)}.00000028.backup`;

async function status(...args: string[]) {
  const result = await runCli(['status', ...args], { env });
  return { ...result, plugin: parsePluginOutput(result.stdout) };
}

async function keysAndVersions(prefix: string): Promise<string[]> {
  const page = await adminClient().send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix }));
  return (page.Versions ?? []).map((v) => v.Key!.slice(prefix.length)).sort();
}

beforeAll(async () => {
  env = withEnv();
  bucket = await freshBucket('walchain');
});

describe('status --wal', () => {
  it('a healthy chain is OK, with its RPO and chain in the perfdata and --json', async () => {
    await archive('ok/wal/', [backupFile(2), ...range(1, 6)]);
    const result = await status('--wal', `s3://${bucket}/ok/wal/`);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /^SEALDROP OK - s3:\/\/.*\/ok\/wal\/: WAL archive of 7 files .*newest segment 000000010000000000000006 archived \d+(ms|s) ago/,
    );
    expect(result.plugin.perfdata.map((p) => p.label)).toEqual(
      expect.arrayContaining(['rpo', 'missing_segments', 'differing_versions', 'base_age']),
    );
    const json = JSON.parse(
      (await runCli(['status', '--wal', `s3://${bucket}/ok/wal/`, '--json'], { env })).stdout,
    );
    expect(json.targets[0].wal).toMatchObject({
      newestSegment: { name: seg(6) },
      oldestBaseBackup: { name: backupFile(2) },
      gaps: { missing: 0 },
      differing: { count: 0 },
    });
  });

  it('status and ls of a prefix find the archive under it: one chain, not a key set per file', async () => {
    const checked = await status(`s3://${bucket}/ok/`);
    expect(checked.status, checked.stdout).toBe(0);
    expect(checked.stdout).toMatch(/^SEALDROP OK - s3:\/\/.*\/ok\/wal\/: WAL archive of 7 files/);
    const listed = await runCli(['ls', `s3://${bucket}/ok/`], { env });
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout.split('\n').filter((row) => row.startsWith('wal '))).toEqual([
      expect.stringMatching(/^wal +- +\S+Z +\S+ B +OK +s3:\/\/.*\/ok\/wal\/ +\(RPO /),
    ]);
    expect(listed.stdout).toMatch(/^0 backup sets$/m);
  });

  it('a missing segment since the oldest base backup is CRITICAL and named', async () => {
    await archive('gap/wal/', [backupFile(2), ...range(1, 3), ...range(5, 7)]);
    const result = await status('--wal', `s3://${bucket}/gap/wal/`);
    expect(result.status, result.stdout).toBe(2);
    expect(result.stdout).toMatch(
      /SEALDROP CRITICAL - .*1 segment missing since the oldest base backup's start .*000000010000000000000004/,
    );
  });

  it('a second version of another size is CRITICAL, naming it; one of the same size only WARNS', async () => {
    await archive('twice/wal/', [backupFile(1), ...range(1, 4)]);
    await archive('twice/wal/', [seg(3)]);
    const same = await status('--wal', `s3://${bucket}/twice/wal/`);
    expect(same.status, same.stdout).toBe(1);
    expect(same.stdout).toMatch(
      /stored more than once at the same size \(a re-upload\?\): 000000010000000000000003/,
    );
    await archive('twice/wal/', [seg(2)], 5000);
    const forged = await status('--wal', `s3://${bucket}/twice/wal/`);
    expect(forged.status, forged.stdout).toBe(2);
    expect(forged.stdout).toMatch(
      /several versions of differing sizes \(the first is read\): 000000010000000000000002/,
    );
  });

  it('an archive whose newest segment is older than --wal-max-age is CRITICAL; --wal-warn-age WARNS', async () => {
    await archive('stale/wal/', [backupFile(1), ...range(1, 3)]);
    await sleep(2500);
    const stale = await status(
      '--wal',
      `s3://${bucket}/stale/wal/`,
      '--wal-warn-age',
      '1s',
      '--wal-max-age',
      '2s',
    );
    expect(stale.status, stale.stdout).toBe(2);
    expect(stale.stdout).toMatch(/archived \ds ago \(max 2s\)/);
    const late = await status(
      '--wal',
      `s3://${bucket}/stale/wal/`,
      '--wal-warn-age',
      '1s',
      '--wal-max-age',
      '1h',
    );
    expect(late.status, late.stdout).toBe(1);
  });

  it('nothing archived is UNKNOWN, and a key is refused as a WAL archive', async () => {
    expect((await status('--wal', `s3://${bucket}/none/wal/`)).status).toBe(3);
    const key = await status('--wal', `s3://${bucket}/ok/wal`);
    expect(key.status).toBe(3);
    expect(key.stdout).toMatch(/a WAL archive is a prefix, ending in \//);
  });
});

describe('prune --wal', () => {
  const base = 'pg/base.tar.gz.gpg';
  const walUrl = () => `s3://${bucket}/pg/wal/`;

  beforeAll(async () => {
    // Four base backups, each after its backup history file and its WAL, as PostgreSQL and push store them.
    await archive('pg/wal/', ['00000002.history']);
    for (const [start, end] of [
      [2, 3],
      [4, 5],
      [6, 7],
      [8, 9],
    ] as const) {
      await archive('pg/wal/', [...range(start, end), backupFile(start)]);
      await adminClient().send(new PutObjectCommand({ Bucket: bucket, Key: base, Body: randomBytes(200) }));
      await sleep(1100);
    }
    await archive('pg/wal/', [seg(1)]); // archived late, below every base backup: goes too
    await adminClient().send(
      new PutObjectCommand({ Bucket: bucket, Key: 'pg/wal/README.txt', Body: 'not an archived file' }),
    );
  });

  const prune = (...args: string[]) =>
    runCli(['prune', `s3://${bucket}/${base}`, '--wal', walUrl(), '--keep-last', '2', ...args], { env });

  it('the dry run shows the WAL part of the plan and deletes nothing', async () => {
    const before = await keysAndVersions('pg/wal/');
    const human = await prune();
    expect(human.status, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/the oldest kept base backup .* starts in 000000010000000000000006/);
    expect(human.stdout).toMatch(
      /WAL: remove 7 archived files \(000000010000000000000001 … .*\), 7 object versions/,
    );
    const json = JSON.parse((await prune('--json')).stdout);
    expect(json.wal).toMatchObject({
      cutoff: { segment: seg(6), backupFile: backupFile(6) },
      files: 7,
      deleted: 0,
    });
    expect(await keysAndVersions('pg/wal/')).toEqual(before);
  });

  it('--yes removes exactly the WAL below the oldest kept base backup, keeping timeline history and strays', async () => {
    const result = await prune('--yes', '--force', '--json');
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ deleted: 2, wal: { deleted: 7, failures: 0 } });
    expect(await keysAndVersions('pg/wal/')).toEqual(
      ['00000002.history', ...range(6, 9), backupFile(6), backupFile(8)]
        .map((name) => `${name}.gz.gpg`)
        .concat('README.txt')
        .sort(),
    );
    const after = await status('--wal', walUrl());
    expect(after.status, after.stdout).toBe(0);
    expect(after.plugin.perfdata).toContainEqual(
      expect.objectContaining({ label: 'missing_segments', value: 0 }),
    );
  });
});

describe('fleet hosts with a WAL archive', () => {
  let fleetFile: string;

  beforeAll(async () => {
    const dir = await tempDir('sealdrop-walfleet-');
    await archive('fleet-ok/wal/', [backupFile(2), ...range(1, 6)]);
    await archive('fleet-gap/wal/', [backupFile(2), ...range(1, 3), ...range(5, 7)]);
    for (const host of ['fleet-ok', 'fleet-gap'])
      await adminClient().send(
        new PutObjectCommand({ Bucket: bucket, Key: `${host}/base.tar.gz.gpg`, Body: randomBytes(200) }),
      );
    const keygen = await runCli(
      ['key', 'generate', '--uid', 'Admin <admin@example.com>', '--out', join(dir, 'admin')],
      {
        env: withEnv({ SEALDROP_PASSPHRASE: 'not secret' }),
      },
    );
    expect(keygen.status, keygen.stderr).toBe(0);
    fleetFile = join(dir, 'fleet.yaml');
    await writeFile(
      fleetFile,
      `fleet: 1
bucket: ${bucket}
recipients: [admin.pub.asc]
defaults:
  keep: {last: 1}
hosts:
  pg-ok: {key: fleet-ok/base.tar.gz.gpg, wal: fleet-ok/wal/}
  pg-gap: {key: fleet-gap/base.tar.gz.gpg, wal: fleet-gap/wal/, walMaxAge: 1h}
`,
    );
  });

  it('fleet status judges each host’s WAL chain beside its base backups, naming the host', async () => {
    const result = await runCli(['fleet', 'status', fleetFile], { env });
    expect(result.status, result.stdout + result.stderr).toBe(2);
    const output = parsePluginOutput(result.stdout);
    expect(output.text).toMatch(/^1 of 2 hosts not OK: pg-gap CRITICAL$/);
    expect(output.longText).toContainEqual(
      expect.stringMatching(
        /^CRITICAL pg-gap \(s3:\/\/.*\/fleet-gap\/wal\/\): WAL archive .*1 segment missing/,
      ),
    );
    expect(output.longText).toContainEqual(
      expect.stringMatching(/^OK pg-ok \(s3:\/\/.*\/fleet-ok\/wal\/\): WAL archive/),
    );
    expect(output.perfdata.map((p) => p.label)).toEqual(
      expect.arrayContaining(['pg-ok_rpo', 'pg-gap_missing_segments']),
    );
    expect(output.perfdata.find((p) => p.label === 'pg-gap_rpo')).toMatchObject({ crit: '3600' });
  });

  it('fleet report shows each host’s RPO and chain verdict', async () => {
    const out = join(dirname(fleetFile), 'report.html');
    const result = await runCli(['report', '--fleet', fleetFile, '--out', out], { env });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/4 backup sets, 1 CRITICAL/);
    const html = await readFile(out, 'utf8');
    expect(html).toMatch(/WAL archive: RPO \d+/);
    expect(html).toMatch(/1 segment missing since the oldest base backup/);
  });

  it('fleet ls shows each host’s WAL archive as one row with its RPO and state', async () => {
    const listed = await runCli(['ls', '--fleet', fleetFile, `s3://${bucket}/fleet-`], { env });
    expect(listed.status, listed.stderr).toBe(0);
    const rows = listed.stdout.split('\n');
    expect(rows).toContainEqual(
      expect.stringMatching(/^wal +- +\S+Z +\S+ B +OK +pg-ok +s3:\/\/.*\/fleet-ok\/wal\/ +\(RPO \d+/),
    );
    expect(rows).toContainEqual(
      expect.stringMatching(/^wal .* CRITICAL +pg-gap .*fleet-gap\/wal\/ .*1 segment missing/),
    );
    expect(rows.filter((row) => row.includes('/wal/'))).toHaveLength(2);
    const json = JSON.parse(
      (await runCli(['ls', '--fleet', fleetFile, `s3://${bucket}/fleet-`, '--json'], { env })).stdout,
    );
    expect(json.sets).toContainEqual(
      expect.objectContaining({ kind: 'wal', host: 'pg-ok', state: 'OK', files: 7 }),
    );
  });

  it('fleet prune plans each host’s WAL with its base backups', async () => {
    const planned = await runCli(['fleet', 'prune', fleetFile, '--json'], { env });
    expect(planned.status, planned.stderr).toBe(0);
    const hosts = JSON.parse(planned.stdout).hosts;
    // The one base backup is kept; its start (the backup history file at segment 2) keeps 2 on.
    expect(hosts.find((h: { host: string }) => h.host === 'pg-ok').wal).toMatchObject({
      cutoff: { segment: seg(2) },
      files: 1,
      first: seg(1),
      deleted: 0,
    });
  });
});
