// key retire-check across a rotation made with fleet publish, against the real S3 server: a
// self-renewing fleet host pushes to OLD, then to OLD and NEW, then to NEW only; retire-check names the backups only OLD opens and when prune (the
// fleet's keep rules) will have removed the last of them, and says "safe" once they are gone.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../support/cli.js';
import { installPolicy, pushHost, type FleetTestHost } from '../support/fleet.js';
import { freshBucket, s3Env, userArn, withEnv } from '../support/s3.js';
import { nextSecond } from '../support/until.js';

const HOUR = 3_600_000;
let dir: string;
let bucket: string;
let fleetFile: string;
let policyDir: string;
let host: FleetTestHost;
let oldKeyId: string;
let newKeyId: string;
const admin = () => withEnv({ SEALDROP_PASSPHRASE: 'retire-check test' });
const oldKey = () => join(dir, 'keys', 'old.pub.asc');

function fleetYaml(recipients: string[]): string {
  return `fleet: 1
bucket: ${bucket}
endpoint: ${s3Env().endpoint}
region: ${s3Env().region}
recipients: [${recipients.map((name) => `keys/${name}.pub.asc`).join(', ')}]
policyDir: policies
defaults:
  expires: 1h
  renewWindow: 1h   # every push renews
  keep: {last: 5}
  anomaly: {floodFactor: off}   # pushes here come seconds apart, not nightly
hosts:
  db1: {key: db1/db.sql.gz.gpg}
`;
}

/**
 * One step of the rotation: the fleet file's recipients change. The first policy is minted and
 * installed by hand; each change after it is signed with `signer` (a current recipient's key) and
 * published, and the host's next push renews itself onto it (that push is still encrypted to the
 * recipients it had).
 */
async function rotateTo(recipients: string[], signer?: string): Promise<void> {
  await writeFile(fleetFile, fleetYaml(recipients));
  if (!signer) {
    const minted = await runCli(['fleet', 'mint', fleetFile], { env: admin() });
    expect(minted.status, minted.stderr).toBe(0);
    await installPolicy(policyDir, host);
    return;
  }
  const keyFile = join(dir, 'keys', `${signer}.key.asc`);
  // Expiries have whole seconds: a policy minted in the second of the one in place would be that one.
  await nextSecond();
  const published = await runCli(['fleet', 'publish', fleetFile, '--sign-with', keyFile], { env: admin() });
  expect(published.status, published.stderr).toBe(0);
  const renewing = await pushHost(host, dir);
  expect(renewing.status, renewing.stderr).toBe(0);
  expect(JSON.parse(renewing.stdout).renewal.state).toBe('renewed');
}

async function push(): Promise<void> {
  const pushed = await pushHost(host, dir);
  expect(pushed.status, pushed.stderr).toBe(0);
}

async function encryptionKeyId(path: string): Promise<string> {
  const key = await openpgp.readKey({ armoredKey: await readFile(path, 'utf8') });
  return (await key.getEncryptionKey()).getKeyID().toHex().toUpperCase();
}

/** The host's version ids, newest first. */
async function versionIds(): Promise<string[]> {
  const listed = await runCli(['versions', '--fleet', fleetFile, '--host', 'db1', '--json'], {
    env: admin(),
  });
  expect(listed.status, listed.stderr).toBe(0);
  return JSON.parse(listed.stdout).snapshots.map((s: { versionId: string }) => s.versionId);
}

function retireCheck(...args: string[]) {
  return runCli(['key', 'retire-check', oldKey(), '--fleet', fleetFile, ...args], { env: admin() });
}

beforeAll(async () => {
  dir = await tempDir('sealdrop-retire-');
  bucket = await freshBucket('retire');
  const setup = await runCli(
    ['setup', `s3://${bucket}`, '--uploader', userArn('sealdrop-uploader'), '--apply-bucket-policy'],
    { env: admin() },
  );
  expect(setup.status, setup.stderr).toBe(0);
  await mkdir(join(dir, 'keys'));
  for (const name of ['old', 'new', 'stranger']) {
    const made = await runCli(
      ['key', 'generate', '--uid', `${name} <${name}@example.com>`, '--out', join(dir, 'keys', name)],
      { env: admin() },
    );
    expect(made.status, made.stderr).toBe(0);
  }
  [oldKeyId, newKeyId] = await Promise.all([
    encryptionKeyId(oldKey()),
    encryptionKeyId(join(dir, 'keys', 'new.pub.asc')),
  ]);
  fleetFile = join(dir, 'fleet.yaml');
  policyDir = join(dir, 'policies');
  host = { name: 'db1', policy: join(dir, 'hosts', 'db1', 'policy.json') };
}, 300_000);

describe('key retire-check across a rotation', () => {
  let ids: string[];

  it('names the backups only OLD opens and when keep: last 5 lets the last of them go (exit 1)', async () => {
    await rotateTo(['old']);
    await push();
    await push();
    // Before the rotation the host encrypts to OLD alone: nothing goes, whatever the rules say.
    const early = await retireCheck('--json');
    expect(early.status).toBe(1);
    expect(JSON.parse(early.stdout)).toMatchObject({
      lastGoes: null,
      sets: [{ stillEncryptsToKey: true, lastGoes: null }],
    });
    expect((await retireCheck()).stdout).toMatch(
      /encrypted to this key alone: the host still encrypts to it/,
    );
    await rotateTo(['old', 'new'], 'old'); // its renewing push: OLD
    await push(); // OLD and NEW
    await rotateTo(['new'], 'new'); // its renewing push: OLD and NEW
    await push(); // NEW
    ids = await versionIds();
    expect(ids).toHaveLength(6);
    // ls --fleet names the fleet's own keys by fingerprint: the latest backup is NEW's alone.
    const listed = await runCli(['ls', '--fleet', fleetFile, '--recipients'], { env: admin() });
    expect(listed.status, listed.stderr).toBe(0);
    const newKey = await openpgp.readKey({
      armoredKey: await readFile(join(dir, 'keys', 'new.pub.asc'), 'utf8'),
    });
    expect(listed.stdout).toContain(`(recipients ${newKey.getFingerprint().toUpperCase()})`);
    // So does versions --fleet --host, for each of the host's backups: the newest is NEW's alone.
    const versions = await runCli(
      ['versions', '--fleet', fleetFile, '--host', 'db1', '--recipients', '--json'],
      {
        env: admin(),
      },
    );
    expect(versions.status, versions.stderr).toBe(0);
    expect(JSON.parse(versions.stdout).snapshots[0]).toMatchObject({
      recipients: [newKeyId],
      recipientFingerprints: { [newKeyId]: newKey.getFingerprint().toUpperCase() },
    });

    const before = Date.now();
    const checked = await retireCheck('--json');
    const after = Date.now();
    expect(checked.status, checked.stderr).toBe(1);
    const report = JSON.parse(checked.stdout);
    expect(report).toMatchObject({ safe: false, readableOnlyWithKey: 3 });
    const [set] = report.sets;
    expect(set).toMatchObject({ host: 'db1', policy: 'keep 5 last', backups: 6, forever: false });
    expect(set.onlyOld).toEqual([
      expect.objectContaining({ id: ids[3], recipients: [oldKeyId], certain: true, keptBy: ['last'] }),
      expect.objectContaining({ id: ids[4], recipients: [oldKeyId], keptBy: ['last'] }),
      expect.objectContaining({
        id: ids[5],
        recipients: [oldKeyId],
        keptBy: ['removed by the next prune'],
      }),
    ]);
    // The newest of them goes once two more backups (to NEW) have come: two hours from now at the
    // least interval assumed (these pushes came seconds apart).
    expect(set.intervalSeconds).toBe(3600);
    const lastGoes = Date.parse(report.lastGoes);
    expect(lastGoes).toBeGreaterThanOrEqual(before + 2 * HOUR - 1000);
    expect(lastGoes).toBeLessThanOrEqual(after + 2 * HOUR + 1000);
    expect(set.lastGoes).toBe(report.lastGoes);

    const text = await retireCheck();
    expect(text.status).toBe(1);
    expect(text.stdout).toContain(`${ids[3]}`);
    expect(text.stdout).toMatch(
      /db1\): 3 of 6 backups readable only with it; the last goes with the prune after/,
    );
    expect(text.stdout).toMatch(/^NOT safe to retire: 3 backups in 1 set readable only with/m);
    // The backups to both keys (the one made to both, and the renewing push onto NEW) are not OLD's alone.
    expect(text.stdout).not.toContain(ids[1]!);
    expect(text.stdout).not.toContain(ids[2]!);
    expect(newKeyId).not.toBe(oldKeyId);
  });

  it('says a rule without a limit keeps one forever (--keep-… overrides the fleet file)', async () => {
    const checked = await retireCheck('--keep-last', '1', '--keep-yearly', '-1', '--json');
    expect(checked.status, checked.stderr).toBe(1);
    const report = JSON.parse(checked.stdout);
    expect(report.lastGoes).toBeNull();
    expect(report.sets[0]).toMatchObject({ forever: true, lastGoes: null });
    expect(report.sets[0].keptBy).toContain('oldest yearly');
  });

  it('reports nothing left and exits 0 once prune has removed them', async () => {
    const pruned = await runCli(['fleet', 'prune', fleetFile, '--yes'], { env: admin() });
    expect(pruned.status, pruned.stderr).toBe(0);
    const two = await retireCheck('--json');
    expect(two.status).toBe(1);
    expect(JSON.parse(two.stdout).sets[0].onlyOld.map((b: { id: string }) => b.id)).toEqual([ids[3], ids[4]]);

    // --force: pushes seconds apart look like a flood to prune's circuit breaker, which then holds
    // what is older than the first of them (the fleet file turns that check off for fleet prune).
    const last = await runCli(
      ['prune', `s3://${bucket}/db1/db.sql.gz.gpg`, '--keep-last', '3', '--yes', '--force'],
      {
        env: admin(),
      },
    );
    expect(last.status, last.stderr).toBe(0);
    const safe = await retireCheck();
    expect(safe.status, safe.stdout + safe.stderr).toBe(0);
    expect(safe.stdout).not.toMatch(/is it the key you meant/);
    // A key no backup names at all is "safe" too, with a note: a wrong key file, likely.
    const stranger = await runCli(
      ['key', 'retire-check', join(dir, 'keys', 'stranger.pub.asc'), '--fleet', fleetFile],
      {
        env: admin(),
      },
    );
    expect(stranger.status, stranger.stderr).toBe(0);
    expect(stranger.stdout).toMatch(
      /^note: no backup checked is encrypted to [0-9A-F]{40} at all: is it the key you meant\?$/m,
    );
    expect(safe.stdout).toMatch(/none of 3 backups is readable only with it/);
    expect(safe.stdout).toMatch(/^safe to retire: no backup is readable only with /m);
    const json = await retireCheck('--json');
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ safe: true, readableOnlyWithKey: 0, lastGoes: null });
  });
});
