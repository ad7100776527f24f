// versions --recipients and ls --recipients against the real S3 server: backups pushed to key A, then to
// A and B, one made by stock gpg, a run, junk and a delete marker; every object read through a proxy
// that counts the bytes each response carries, to show only the first few KB are ever read.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupTarget, mint, type BackupTarget } from '../support/backup-target.js';
import { runCli } from '../support/cli.js';
import { gpgHome } from '../support/gpg.js';
import { countingProxy, type CountingProxy, type Seen } from '../support/proxy.js';
import { adminClient } from '../support/s3.js';

/** What one ranged read may carry at most: RECIPIENT_BYTES. */
const READ_LIMIT = 8 * 1024;
/** Each backup's plaintext: incompressible, so every object is far larger than what is read of it. */
const DUMP_BYTES = 200_000;

let target: BackupTarget;
let bPublic: string;
let aId: string;
let bId: string;
let bFingerprint: string;
let proxy: CountingProxy;

async function encryptionKeyId(path: string): Promise<string> {
  const key = await openpgp.readKey({ armoredKey: await readFile(path, 'utf8') });
  return (await key.getEncryptionKey()).getKeyID().toHex().toUpperCase();
}

function push(policy: string, input: Buffer, extra: string[] = []) {
  return runCli(['push', '--policy', policy, '--level', '1', ...extra], { input, env: target.agentEnv });
}

/** The object reads (GETs of one version) the proxy saw since `from`. */
function objectReads(from: number): Seen[] {
  return proxy.seen.slice(from).filter((s) => s.method === 'GET' && /[?&]versionId=/.test(s.url));
}

beforeAll(async () => {
  target = await backupTarget('recipients');
  const b = join(target.dir, 'b');
  const made = await runCli(['key', 'generate', '--uid', 'B <b@example.com>', '--out', b], {
    env: target.adminEnv,
  });
  expect(made.status, made.stderr).toBe(0);
  bPublic = `${b}.pub.asc`;
  [aId, bId] = await Promise.all([encryptionKeyId(target.publicKey), encryptionKeyId(bPublic)]);
  bFingerprint = (await openpgp.readKey({ armoredKey: await readFile(bPublic, 'utf8') }))
    .getFingerprint()
    .toUpperCase();

  // A, then A and B, by push; then A and B by stock gpg (gpg -e -r A -r B); junk; a delete marker.
  const onlyA = await push(target.policyPath, randomBytes(DUMP_BYTES));
  expect(onlyA.status, onlyA.stderr).toBe(0);
  const both = join(target.dir, 'both.policy.json');
  await mint(`s3://${target.bucket}/${target.key}`, [target.publicKey, bPublic], both);
  const pushedBoth = await push(both, randomBytes(DUMP_BYTES));
  expect(pushedBoth.status, pushedBoth.stderr).toBe(0);
  const gpg = await gpgHome();
  for (const path of [target.publicKey, bPublic]) expect((await gpg(['--import', path])).status).toBe(0);
  const stock = await gpg(['--trust-model', 'always', '-e', '-r', aId, '-r', bId], randomBytes(DUMP_BYTES));
  expect(stock.status, stock.stderr).toBe(0);
  const s3 = adminClient();
  const put = (body: Buffer) =>
    s3.send(new PutObjectCommand({ Bucket: target.bucket, Key: target.key, Body: body }));
  await put(stock.stdoutBytes);
  await put(Buffer.from(`not a backup ${'x'.repeat(50_000)}`));
  await s3.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: target.key }));

  // A run of three parts, to A and B.
  const runs = join(target.dir, 'runs.policy.json');
  await mint(`s3://${target.bucket}/runs/`, [target.publicKey, bPublic], runs);
  const run = await push(runs, randomBytes(2_500_000), ['--part-size', '1MiB']);
  expect(run.status, run.stderr).toBe(0);

  proxy = await countingProxy();
}, 300_000);

afterAll(() => {
  proxy?.server.close();
  proxy?.server.closeAllConnections();
});

describe('versions --recipients', () => {
  it('names the key ids each version was encrypted to, from at most 8 KiB of each', async () => {
    const from = proxy.seen.length;
    const listed = await runCli(
      ['versions', `s3://${target.bucket}/${target.key}`, '--recipients', '--json', '--endpoint', proxy.url],
      { env: target.adminEnv },
    );
    expect(listed.status, listed.stderr).toBe(0);
    const { snapshots } = JSON.parse(listed.stdout);
    expect(snapshots.map((s: { state: string }) => s.state)).toEqual([
      'deleted',
      'complete',
      'complete',
      'complete',
      'complete',
    ]);
    const [marker, junk, stock, both, onlyA] = snapshots;
    expect(marker).toMatchObject({ recipients: null, recipientsNote: 'delete marker' });
    expect(junk).toMatchObject({ recipients: null, recipientsNote: 'not OpenPGP' });
    expect(new Set(stock.recipients)).toEqual(new Set([aId, bId]));
    expect(both.recipients).toEqual([aId, bId]);
    expect(onlyA.recipients).toEqual([aId]);
    for (const id of [...stock.recipients, ...both.recipients]) expect(id).toMatch(/^[0-9A-F]{16}$/);

    // One ranged GET per version (none for the delete marker), each carrying at most 8 KiB of an
    // object of some 200 KB.
    const reads = objectReads(from);
    expect(reads).toHaveLength(4);
    for (const read of reads) {
      expect(read.range).toBe(`bytes=0-${READ_LIMIT - 1}`);
      expect(read.bytes).toBeGreaterThan(0);
      expect(read.bytes).toBeLessThanOrEqual(READ_LIMIT);
    }
    expect(both.size).toBeGreaterThan(DUMP_BYTES);
  });

  it("shows a given key's fingerprint for its key id, and the reason where nothing was read", async () => {
    const listed = await runCli(
      ['versions', `s3://${target.bucket}/${target.key}`, '--recipients', '--key-file', bPublic],
      { env: target.adminEnv },
    );
    expect(listed.status, listed.stderr).toBe(0);
    const lines = listed.stdout.split('\n');
    expect(lines[1]).toMatch(/RECIPIENTS/);
    const rows = lines.slice(2).filter(Boolean);
    expect(rows[0]).toMatch(/\(delete marker\)/);
    expect(rows[1]).toMatch(/\(not OpenPGP\)/);
    expect(rows[3]).toContain(`${aId},${bFingerprint}`);
    expect(rows[4]).toContain(aId);
    expect(rows[4]).not.toContain(bFingerprint);
  });

  it("reads a run's first part only", async () => {
    const from = proxy.seen.length;
    const listed = await runCli(
      ['versions', `s3://${target.bucket}/runs/`, '--recipients', '--json', '--endpoint', proxy.url],
      { env: target.adminEnv },
    );
    expect(listed.status, listed.stderr).toBe(0);
    const [run] = JSON.parse(listed.stdout).snapshots;
    expect(run).toMatchObject({ state: 'complete', parts: 3, recipients: [aId, bId] });
    const reads = objectReads(from).filter((r) => !r.url.includes('manifest.json'));
    expect(reads).toHaveLength(1);
    expect(reads[0]!.url).toContain('part-000001');
    expect(reads[0]!.bytes).toBeLessThanOrEqual(READ_LIMIT);
  });

  it('reads no more than --recipients-limit N backups, and says so of the others', async () => {
    const from = proxy.seen.length;
    const listed = await runCli(
      [
        'versions',
        `s3://${target.bucket}/${target.key}`,
        '--recipients',
        '--recipients-limit',
        '2',
        '--json',
        '--endpoint',
        proxy.url,
      ],
      { env: target.adminEnv },
    );
    expect(listed.status, listed.stderr).toBe(0);
    const notes = JSON.parse(listed.stdout).snapshots.map(
      (s: { recipientsNote: string | null }) => s.recipientsNote,
    );
    expect(notes).toEqual([
      'delete marker',
      'not OpenPGP',
      null,
      'not read: only the newest 2 are',
      'not read: only the newest 2 are',
    ]);
    expect(objectReads(from)).toHaveLength(2);
  });
});

describe('ls --recipients', () => {
  it("names the recipients of each set's latest complete backup", async () => {
    const from = proxy.seen.length;
    const listed = await runCli(
      ['ls', `s3://${target.bucket}`, '--recipients', '--json', '--endpoint', proxy.url],
      { env: target.adminEnv },
    );
    expect(listed.status, listed.stderr).toBe(0);
    const sets = JSON.parse(listed.stdout).sets as { target: string; recipients?: string[] | null }[];
    const byTarget = new Map(sets.map((s) => [s.target, s]));
    expect(byTarget.get(`s3://${target.bucket}/runs/`)).toMatchObject({ recipients: [aId, bId] });
    // The key's latest complete version is the junk one: said, not a crash.
    expect(byTarget.get(`s3://${target.bucket}/${target.key}`)).toMatchObject({
      recipients: null,
      recipientsNote: 'not OpenPGP',
    });
    for (const read of objectReads(from).filter((r) => !r.url.includes('manifest.json')))
      expect(read.bytes).toBeLessThanOrEqual(READ_LIMIT);
  });
});
