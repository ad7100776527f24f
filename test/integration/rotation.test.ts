// Key rotation on a self-renewing host against the real S3 server: [OLD] → [OLD, NEW] → [NEW] through
// fleet mint --sign-with and fleet publish, with no visit to the host; and an attacker who writes a
// successor adding their own key into the renewal location is refused, the host keeping its recipients.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { renewalKey } from '../../src/core/policy-file.js';
import { changeStatement } from '../../src/core/recipient-change.js';
import { runCli, tempDir, type CliResult } from '../support/cli.js';
import { installPolicy, pushHost, type FleetTestHost } from '../support/fleet.js';
import { adminClient, freshBucket, s3Env, userArn, withEnv } from '../support/s3.js';
import { agentEnv } from '../support/backup-target.js';
import { nextSecond } from '../support/until.js';

let dir: string;
let bucket: string;
let fleetFile: string;
let policyDir: string;
let host: FleetTestHost;
const KEY = 'db1/db.sql.gz.gpg';
const admin = () => withEnv({ SEALDROP_PASSPHRASE: 'rotation test' });
const keyFile = (name: string, part: 'pub' | 'key' = 'pub') => join(dir, 'keys', `${name}.${part}.asc`);

/** The fleet file (JSON works as YAML does): one host, policies of an hour renewed on every push. */
async function writeFleet(recipients: string[]): Promise<void> {
  const fleet = {
    fleet: 1,
    bucket,
    endpoint: s3Env().endpoint,
    region: s3Env().region,
    recipients: recipients.map((name) => `keys/${name}.pub.asc`),
    policyDir: 'policies',
    defaults: { expires: '1h', renewWindow: '1h' },
    hosts: { db1: { key: KEY } },
  };
  await writeFile(fleetFile, JSON.stringify(fleet, null, 2));
}

function cli(args: string[]): Promise<CliResult> {
  return runCli(args, { env: admin() });
}

/** The key ids the newest stored backup is encrypted to, read from its session key packets. */
async function encryptedTo(): Promise<string[]> {
  const object = await adminClient().send(new GetObjectCommand({ Bucket: bucket, Key: KEY }));
  const message = await openpgp.readMessage({ binaryMessage: await object.Body!.transformToByteArray() });
  return message
    .getEncryptionKeyIDs()
    .map((id) => id.toHex().toUpperCase())
    .sort();
}

/** The encryption key ids of `names` (what a backup encrypted to them names). */
async function keyIdsOf(...names: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const name of names) {
    const key = await openpgp.readKey({ armoredKey: await readFile(keyFile(name), 'utf8') });
    ids.push((await key.getEncryptionKey()).getKeyID().toHex().toUpperCase());
  }
  return ids.sort();
}

/** Restores the newest backup with `identity` alone; returns the result and what was restored. */
async function restoreWith(identity: string): Promise<{ result: CliResult; data: string }> {
  const out = join(dir, `restored-${Date.now()}.sql`);
  const result = await cli([
    'restore',
    `s3://${bucket}/${KEY}`,
    '--identity',
    keyFile(identity, 'key'),
    '--out',
    out,
  ]);
  return { result, data: result.status === 0 ? await readFile(out, 'utf8') : '' };
}

/** One push, which lands whatever becomes of its renewal; returns the renewal's outcome. */
async function push(): Promise<{ renewal: { state: string; warning?: string } }> {
  const result = await pushHost(host, dir);
  expect(result.status, result.stderr).toBe(0);
  return { renewal: JSON.parse(result.stdout).renewal };
}

beforeAll(async () => {
  dir = await tempDir('sealdrop-rotation-');
  bucket = await freshBucket('rotation');
  const setup = await cli([
    'setup',
    `s3://${bucket}`,
    '--uploader',
    userArn('sealdrop-uploader'),
    '--apply-bucket-policy',
  ]);
  expect(setup.status, setup.stderr).toBe(0);
  await mkdir(join(dir, 'keys'));
  for (const name of ['old', 'new', 'mallory']) {
    const made = await cli([
      'key',
      'generate',
      '--uid',
      `${name} <${name}@example.com>`,
      '--out',
      join(dir, 'keys', name),
    ]);
    expect(made.status, made.stderr).toBe(0);
  }
  fleetFile = join(dir, 'fleet.json');
  policyDir = join(dir, 'policies');
  host = { name: 'db1', policy: join(dir, 'hosts', 'db1', 'policy.json') };
  await writeFleet(['old']);
  const minted = await cli(['fleet', 'mint', fleetFile]);
  expect(minted.status, minted.stderr).toBe(0);
  await installPolicy(policyDir, host);
});

describe('rotating the admin key of a self-renewing host', () => {
  it('adds the new key, then drops the old one, with fleet publish alone reaching the host', async () => {
    await push();
    expect(await encryptedTo()).toEqual(await keyIdsOf('old'));

    // 2. The new key joins the recipients: without a signing key nothing is written.
    await writeFleet(['old', 'new']);
    const copy = await readFile(join(policyDir, 'db1.policy.json'), 'utf8');
    const unsigned = await cli(['fleet', 'mint', fleetFile]);
    expect(unsigned.status).toBe(2);
    expect(unsigned.stderr).toMatch(/host db1: its recipients change .*nothing was written/);
    expect(unsigned.stderr).toMatch(/hint: Pass --sign-with OLD\.key\.asc/);
    expect(await readFile(join(policyDir, 'db1.policy.json'), 'utf8')).toBe(copy);
    // Signed by a key the host doesn't hold yet (the new one alone): refused before anything is written.
    const byNew = await cli(['fleet', 'mint', fleetFile, '--sign-with', keyFile('new', 'key')]);
    expect(byNew.status).toBe(2);
    expect(byNew.stderr).toMatch(/is not one of its current recipients/);

    // 3. Signed with the old key by fleet mint; fleet publish (the unattended cron) carries it on.
    const signed = await cli(['fleet', 'mint', fleetFile, '--sign-with', keyFile('old', 'key')]);
    expect(signed.status, signed.stderr).toBe(0);
    expect(signed.stderr).toMatch(/rewritten .*recipients changed/);
    const published = await cli(['fleet', 'publish', fleetFile]);
    expect(published.status, published.stderr).toBe(0);
    expect((await push()).renewal.state).toBe('renewed');
    await push();
    expect(await encryptedTo()).toEqual(await keyIdsOf('old', 'new'));
    const shown = await cli(['policy', 'show', host.policy, '--json']);
    expect(Date.parse(JSON.parse(shown.stdout).recipientsChangedAt)).toBeLessThanOrEqual(Date.now());
    expect((await cli(['policy', 'show', host.policy])).stdout).toMatch(/a recipient change signed at 20/);
    const head = await adminClient().send(new HeadObjectCommand({ Bucket: bucket, Key: KEY }));
    expect(head.Metadata?.['sealdrop-recipients']?.split(',')).toHaveLength(2);
    const restored = await restoreWith('new');
    expect(restored.result.status, restored.result.stderr).toBe(0);
    expect(restored.data).toMatch(/^-- dump of db1 at /);

    // 4. The old key leaves: signed with the new key, a current recipient now, by fleet publish.
    await writeFleet(['new']);
    const dropped = await cli(['fleet', 'publish', fleetFile, '--sign-with', keyFile('new', 'key')]);
    expect(dropped.status, dropped.stderr).toBe(0);
    expect((await push()).renewal.state).toBe('renewed');
    // Publishing again without a key carries the change: the host renews on, and says so. Expiries have
    // whole seconds: a policy minted in the same second as the one in place would be that one again.
    await nextSecond();
    const again = await cli(['fleet', 'publish', fleetFile]);
    expect(again.status, again.stderr).toBe(0);
    const said = await runCli(['push', '--policy', host.policy, '--level', '1', '--spool-dir', dir], {
      input: `-- dump of db1 at ${new Date().toISOString()}\n`,
      env: agentEnv(),
    });
    expect(said.status, said.stderr).toBe(0);
    expect(said.stderr).toMatch(
      /policy: +renewed: expires \S+ \(this backup went under the one expiring \S+\)/,
    );
    expect(await encryptedTo()).toEqual(await keyIdsOf('new'));
    const withOld = await restoreWith('old');
    expect(withOld.result.status).toBe(2);
    expect(withOld.result.stderr).toMatch(/none of the identities given opens it/);
    expect((await restoreWith('new')).result.status).toBe(0);
  });

  it("refuses an attacker's successor adding their key, signed or not; the host keeps its recipients", async () => {
    const held = JSON.parse(await readFile(host.policy, 'utf8'));
    const location = renewalKey(held)!;
    const hostKeys = await keyIdsOf('new');
    // The attacker holds credentials that mint S3 policies and write the renewal location.
    const out = join(dir, 'attacker.policy.json');
    const minted = await cli([
      'policy',
      'mint',
      `s3://${bucket}/${KEY}`,
      '--recipient',
      keyFile('new'),
      '--recipient',
      keyFile('mallory'),
      '--expires',
      '2h',
      '--out',
      out,
      '--force',
    ]);
    expect(minted.status, minted.stderr).toBe(0);
    const forged = JSON.parse(await readFile(out, 'utf8'));
    const fingerprints = forged.fields['x-amz-meta-sealdrop-recipients'].split(',');
    const mallory = await openpgp.decryptKey({
      privateKey: await openpgp.readPrivateKey({
        armoredKey: await readFile(keyFile('mallory', 'key'), 'utf8'),
      }),
      passphrase: 'rotation test',
    });
    const ownChange = await openpgp.sign({
      message: await openpgp.createCleartextMessage({
        text: changeStatement({
          location: { bucket, key: KEY, isPrefix: false },
          fingerprints,
          signedAt: new Date(),
        }),
      }),
      signingKeys: mallory,
    });
    const cases: [string, object, RegExp][] = [
      ['no recipient change', forged, /carries no recipient change signed by one of them/],
      [
        "a change signed by the attacker's key",
        { ...forged, recipientChange: ownChange },
        /its recipient change is not signed by a current recipient/,
      ],
      [
        'the change in place, replayed',
        { ...forged, recipientChange: held.recipientChange },
        /its recipient change names .*, not the recipients it encrypts to/,
      ],
    ];
    for (const [what, successor, reason] of cases) {
      await adminClient().send(
        new PutObjectCommand({ Bucket: bucket, Key: location, Body: JSON.stringify(successor) }),
      );
      const before = await readFile(host.policy, 'utf8');
      const { renewal } = await push();
      expect(renewal.state, what).toBe('refused');
      expect(renewal.warning, what).toMatch(reason);
      expect(await readFile(host.policy, 'utf8'), what).toBe(before);
      expect(await encryptedTo(), what).toEqual(hostKeys);
    }
  });
});
