// Proven backups on the local RGW (issue 21): verify records each verdict as an object in the bucket's
// .sealdrop/ area (never a tag: RGW moves a tagged version's time once the key is written again), with a
// keyed content sketch. Junk that decrypts but does not continue the good backup before it is rejected
// and CRITICAL; an object gpg made is no backup of a set push writes; approve and ack are the admin's word.
import { ListObjectVersionsCommand, PutBucketPolicyCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { curlPost, statusOf } from '../support/attacker.js';
import { backupTarget, mint, otherKey, type BackupTarget } from '../support/backup-target.js';
import { runCli } from '../support/cli.js';
import { gpgHome } from '../support/gpg.js';
import { backupSet } from '../../src/admin/sets/open.js';
import { readProofs } from '../../src/admin/sets/proofs.js';
import { NO_PROOFS } from '../../src/core/proofs.js';
import { adminClient, freshBucket, listVersions, userArn, withEnv } from '../support/s3.js';

/** A dump of 3,000 rows, about 3% of them changed each night. */
function dump(night: number): string {
  const rows: string[] = [];
  for (let id = 1; id <= 3000; id++) {
    const changed = (id * 7919) % 100 < 3 * night && (id * 31 + night) % 33 === 0;
    rows.push(
      `${id}\tcustomer ${id}\t${changed ? `updated on night ${night}` : 'unchanged'}\t${(id * 17) % 1000}\n`,
    );
  }
  return `COPY public.accounts (id, name, note, balance) FROM stdin;\n${rows.join('')}\\.\n`;
}

async function proofKeys(bucket: string): Promise<string[]> {
  const listed = await adminClient().send(
    new ListObjectVersionsCommand({ Bucket: bucket, Prefix: '.sealdrop/' }),
  );
  return (listed.Versions ?? []).map((v) => v.Key!);
}

/** A message gpg encrypts to `publicKey` alone, as a host posting by hand would make it. */
async function sealFor(publicKey: string, data: string): Promise<Buffer> {
  const gpg = await gpgHome();
  const sealed = await gpg(
    ['--trust-model', 'always', '--encrypt', '--recipient-file', publicKey, '--output', '-'],
    data,
  );
  expect(sealed.status, sealed.stderr).toBe(0);
  return sealed.stdoutBytes;
}

/** A set of one backup (night 1), proven good by verify. */
async function provenSet(name: string) {
  const target = await backupTarget(name);
  const url = `s3://${target.bucket}/${target.key}`;
  const admin = (...args: string[]) => runCli(args, { env: target.adminEnv });
  const push = (input: string) =>
    runCli(['push', '--policy', target.policyPath, '-q'], { input, env: target.agentEnv });
  expect((await push(dump(1))).status).toBe(0);
  expect((await admin('verify', url, '--identity', target.privateKey, '--unproven')).status).toBe(0);
  return { target, url, admin, push };
}

describe('proven backups of a key', () => {
  let target: BackupTarget;
  let url: string;
  const admin = (...args: string[]) => runCli(args, { env: target.adminEnv });
  const push = (input: string | Buffer) =>
    runCli(['push', '--policy', target.policyPath, '-q'], { input, env: target.agentEnv });
  const times = async () =>
    (await listVersions(target.bucket, target.key)).map((v) => [v.VersionId, v.LastModified!.toISOString()]);

  beforeAll(async () => {
    target = await backupTarget('proofs');
    url = `s3://${target.bucket}/${target.key}`;
    for (const night of [1, 2]) expect((await push(dump(night))).status).toBe(0);
  });

  it('a set never verified is pruned blind, and prune says so', async () => {
    const plan = await admin('prune', url, '--keep-daily', '7');
    expect(plan.status, plan.stderr).toBe(0);
    expect(plan.stderr).toMatch(/prune is running blind: no backup of this set was ever verified/);
  });

  it('restore --verified of a set with nothing proven says so before it asks for the passphrase', async () => {
    const env = { ...target.adminEnv, SEALDROP_PASSPHRASE: undefined };
    const refused = await runCli(['restore', url, '--verified', '--identity', target.privateKey], { env });
    expect(refused.status, refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(
      /^sealdrop: error: \S+ has no verified version\n {2}hint: Verify one first/m,
    );
  });

  it('verify --unproven proves each backup in .sealdrop/, moving no backup time; a push after it keeps them', async () => {
    const before = await times();
    const verified = await admin('verify', url, '--identity', target.privateKey, '--unproven');
    expect(verified.status, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/^OK .*, proven good$/m);
    expect(verified.stdout).toMatch(/^OK .* \d+% like \S+, .*proven good$/m);
    expect(verified.stderr).toMatch(/2 of 2 verified/);
    const keys = await proofKeys(target.bucket);
    expect(keys.filter((k) => k.endsWith('/good.json'))).toHaveLength(2);
    expect(keys).toContain('.sealdrop/sketch-key.asc');
    expect(await admin('verify', url, '--identity', target.privateKey, '--unproven')).toMatchObject({
      status: 0,
      stderr: expect.stringMatching(/Nothing to verify: every backup is proven already/),
    });
    expect((await push(dump(3))).status).toBe(0);
    const after = await times();
    expect(after.slice(1)).toEqual(before);
    const status = await admin('status', url);
    expect(status.status, status.stdout).toBe(0);
    expect(status.stdout).toMatch(/1 backup\(s\) \(.*\) not proven yet by sealdrop verify/);
    const proven = await admin('verify', url, '--identity', target.privateKey, '--unproven');
    expect(proven.status, proven.stdout + proven.stderr).toBe(0);
    expect(
      JSON.parse((await admin('versions', url, '--json')).stdout).snapshots.every(
        (s: { verifiedAt: string | null }) => s.verifiedAt,
      ),
    ).toBe(true);
  });

  it('verify --unproven of a key with nothing stored fails (exit 1) as verify of its latest does, proving nothing', async () => {
    const empty = `s3://${target.bucket}/never-pushed/db.sql.gz.gpg`;
    const latest = await admin('verify', empty, '--identity', target.privateKey);
    expect(latest.status, latest.stderr).toBe(1);
    const unproven = await admin('verify', empty, '--identity', target.privateKey, '--unproven');
    expect(unproven.status, unproven.stderr).toBe(1);
    expect(unproven.stderr).toMatch(
      /error: s3:\/\/\S+\/never-pushed\/db\.sql\.gz\.gpg has no complete backups to verify/,
    );
    expect(unproven.stderr).not.toMatch(/Nothing to verify/);
  });

  it('same-size junk pushed by push after good backups is REJECTED by verify and CRITICAL; restore --verified passes it', async () => {
    const junk = randomBytes(dump(4).length).toString('base64').slice(0, dump(4).length);
    expect((await push(junk)).status).toBe(0);
    expect((await admin('status', url)).status).toBe(0);
    const verified = await admin('verify', url, '--identity', target.privateKey, '--unproven');
    expect(verified.status).toBe(3);
    expect(verified.stdout).toMatch(
      /^FAILED .* its content overlaps the good backup before it \(\S+\) by \d+%, under the 25%/m,
    );
    expect(verified.stdout).toMatch(
      /hint: If it is genuine, approve it: sealdrop approve s3:\/\/\S+ --version-id \S+/,
    );
    const status = await admin('status', url);
    expect(status.status, status.stdout).toBe(2);
    expect(status.stdout).toMatch(/^SEALDROP CRITICAL - .*a backup REJECTED by verify/m);
    const listed = await admin('versions', url);
    expect(listed.stdout).toMatch(/1 REJECTED by verify/);
    const restored = await admin('restore', url, '--verified', '--identity', target.privateKey);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toBe(dump(3));
    expect(restored.stderr).toMatch(
      /warning: passing over 1 newer version not proven good \(\S+, from \S+\)/,
    );
    const [, , second] = JSON.parse((await admin('versions', url, '--json')).stdout).snapshots;
    const earlier = await admin(
      'restore',
      url,
      '--verified',
      '--at',
      second.time,
      '--identity',
      target.privateKey,
    );
    expect(earlier.status, earlier.stderr).toBe(0);
    expect(earlier.stdout).toBe(dump(2));
    // prune keeps it as evidence, and ranks only the good: --remove-rejected removes it.
    const plan = JSON.parse((await admin('prune', url, '--keep-last', '1', '--json')).stdout);
    const junkItem = plan.snapshots[0];
    expect(junkItem).toMatchObject({ action: 'keep', rejectedAt: expect.any(String) });
    expect(plan.snapshots[1]).toMatchObject({ action: 'keep', reasons: ['last'] });
    expect(plan.blind).toBe(false);
    const removing = JSON.parse(
      (await admin('prune', url, '--keep-last', '1', '--remove-rejected', '--json')).stdout,
    );
    expect(removing.snapshots[0]).toMatchObject({ action: 'remove' });
  });

  it('ack clears the alarm until something new; approve makes a rejected backup good', async () => {
    const acked = await admin('ack', url);
    expect(acked.status, acked.stderr).toBe(0);
    const quiet = await admin('status', url);
    expect(quiet.status, quiet.stdout).toBe(0);
    expect(quiet.stdout).toMatch(/1 rejected backup\(s\) .* kept as evidence, acknowledged/);
    const [newest] = await listVersions(target.bucket, target.key);
    const approved = await admin('approve', url, '--version-id', newest!.VersionId!);
    expect(approved.status, approved.stderr).toBe(0);
    expect(approved.stderr).toMatch(
      /approved \S+ of s3:\/\/\S+ \(verify had rejected it: its content overlaps/,
    );
    const restored = await admin('restore', url, '--verified', '--identity', target.privateKey);
    expect(restored.stdout).not.toBe(dump(3));
    expect((await admin('status', url)).status).toBe(0);
  });
});

describe('an object gpg made, in a set push writes', () => {
  let target: BackupTarget;
  let url: string;
  const admin = (...args: string[]) => runCli(args, { env: target.adminEnv });

  beforeAll(async () => {
    target = await backupTarget('proofs-unbound');
    url = `s3://${target.bucket}/${target.key}`;
    const pushed = await runCli(['push', '--policy', target.policyPath, '-q'], {
      input: dump(1),
      env: target.agentEnv,
    });
    expect(pushed.status).toBe(0);
    expect((await admin('verify', url, '--identity', target.privateKey)).status).toBe(0);
    // The host encrypts with stock gpg and POSTs with curl: a valid OpenPGP message naming no place.
    const sealed = await sealFor(target.publicKey, 'DROP TABLE users;\n');
    expect([201, 204]).toContain(statusOf(await curlPost(target.policyPath, sealed)));
  });

  it('is not proven: verify rejects it, restore --verified passes it, restore refuses it without --allow-unbound', async () => {
    const verified = await admin('verify', url, '--identity', target.privateKey);
    expect(verified.status).toBe(3);
    expect(verified.stdout).toMatch(/^FAILED .* names no place it belongs: sealdrop did not make it/m);
    const verifiedRestore = await admin('restore', url, '--verified', '--identity', target.privateKey);
    expect(verifiedRestore.status, verifiedRestore.stderr).toBe(0);
    expect(verifiedRestore.stdout).toBe(dump(1));
    const latest = await admin('restore', url, '--identity', target.privateKey);
    expect(latest.status).toBe(3);
    expect(latest.stdout).toBe('');
    expect(latest.stderr).toMatch(/hint: .*pass --allow-unbound/);
    const allowed = await admin('restore', url, '--identity', target.privateKey, '--allow-unbound');
    expect(allowed.status, allowed.stderr).toBe(0);
    expect(allowed.stdout).toBe('DROP TABLE users;\n');
    expect((await admin('status', url)).status).toBe(2);
  });

  it("a host can't write a proof: its policy covers its own key, not .sealdrop/", async () => {
    const forged = await curlPost(target.policyPath, '{}', { key: '.sealdrop/proofs/x/y/good.json' });
    expect(statusOf(forged)).toBe(403);
  });
});

describe('a backup approved before verify ever read it', () => {
  it('is read again to compare the next with: junk after it is REJECTED, not proven good for want of a sketch', async () => {
    const { target, url, admin, push } = await provenSet('proofs-approved');
    expect((await push(dump(2))).status).toBe(0);
    const [genuine] = await listVersions(target.bucket, target.key);
    // The admin approves it unread (a large change, say): its proof keeps no sketch of its content.
    expect((await admin('approve', url, '--version-id', genuine!.VersionId!)).status).toBe(0);
    const junk = randomBytes(dump(3).length).toString('base64').slice(0, dump(3).length);
    for (let night = 0; night < 2; night++) expect((await push(junk)).status).toBe(0);
    const verified = await admin('verify', url, '--identity', target.privateKey, '--unproven');
    expect(verified.status, verified.stdout + verified.stderr).toBe(3);
    expect(verified.stderr).toMatch(/reading \S+ again: its proof keeps no sketch of its content/);
    expect(verified.stdout.match(/^FAILED .* its content overlaps the good backup before it/gm)).toHaveLength(
      2,
    );
    const restored = await admin('restore', url, '--verified', '--identity', target.privateKey);
    expect(restored.stdout).toBe(dump(2));
  });
});

describe('a backup no identity given opens', () => {
  it('could not be checked (exit 1): no proof either way, so it is neither VERIFIED nor REJECTED', async () => {
    const target = await backupTarget('proofs-other-key');
    const url = `s3://${target.bucket}/${target.key}`;
    const admin = (...args: string[]) => runCli(args, { env: target.adminEnv });
    expect(
      (await runCli(['push', '--policy', target.policyPath, '-q'], { input: dump(1), env: target.agentEnv }))
        .status,
    ).toBe(0);
    expect((await admin('verify', url, '--identity', target.privateKey)).status).toBe(0);
    // Then a backup for another key only, under a policy minted for it (a rotation the admin's drill
    // has not caught up with): it says it is for that key, and it is.
    const other = await otherKey(target.dir);
    const rotated = join(target.dir, 'rotated.policy.json');
    await mint(url, [`${other}.pub.asc`], rotated);
    const sealed = await sealFor(`${other}.pub.asc`, dump(2));
    expect([201, 204]).toContain(statusOf(await curlPost(rotated, sealed)));
    const verified = await admin('verify', url, '--identity', target.privateKey, '--all');
    expect(verified.status, verified.stderr).toBe(1);
    expect(verified.stdout).toMatch(/^FAILED .* none of the identities given opens it/m);
    const listed = JSON.parse((await admin('versions', url, '--json')).stdout);
    expect(
      listed.snapshots.map((s: { verifiedAt: string | null; rejectedAt: string | null }) => [
        Boolean(s.verifiedAt),
        Boolean(s.rejectedAt),
      ]),
    ).toEqual([
      [false, false],
      [true, false],
    ]);
    // The other key alone can't open the bucket's sketch key, made by the first verify: exit 2, and how out.
    const otherOnly = await admin('verify', url, '--identity', `${other}.key.asc`);
    expect(otherOnly.status).toBe(2);
    expect(otherOnly.stderr).toMatch(
      /verify's sketch key s3:\/\/\S+\/\.sealdrop\/sketch-key\.asc is encrypted to key id/,
    );
    expect(otherOnly.stderr).toMatch(/hint: It was made for the identities of the bucket's first verify/);
    // A rotation: one verify given both keys keeps a copy of the sketch key the new one opens…
    const bothKeys = ['--identity', target.privateKey, '--identity', `${other}.key.asc`, '--no-mark'];
    for (const both of [await admin('verify', url, ...bothKeys), await admin('verify', url, ...bothKeys)])
      expect(both.stderr).not.toMatch(/sketch key/);
    // One copy for the two keys, however many verifies they make together.
    expect((await proofKeys(target.bucket)).filter((key) => key.includes('sketch-key-copies/'))).toHaveLength(
      1,
    );
    // …so once the old key is retired, the new one alone verifies on (the old key's backup: not checked).
    const after = await admin('verify', url, '--identity', `${other}.key.asc`, '--all', '--no-mark');
    expect(after.stderr).not.toMatch(/sketch key/);
    expect(after.stdout).toMatch(/^FAILED .* none of the identities given opens it/m);
    expect(after.status).toBe(3); // the gpg-made backup names no place: bad, as before the rotation
  });
});

describe('a backup encrypted to other keys than its policy binds', () => {
  it('is REJECTED: push encrypts to every recipient the policy binds, so a host made it by hand', async () => {
    const { target, url, admin } = await provenSet('proofs-unbound-key');
    // The host's own policy (it binds the admin's key), a message for the attacker's key: verify can't
    // open it, and without a verdict it was never REJECTED, so status stayed OK night after night.
    const attacker = await otherKey(target.dir, 'attacker');
    const junk = await sealFor(`${attacker}.pub.asc`, randomBytes(40_000).toString('base64'));
    expect([201, 204]).toContain(statusOf(await curlPost(target.policyPath, junk)));
    const verified = await admin('verify', url, '--identity', target.privateKey, '--unproven');
    expect(verified.status, verified.stdout + verified.stderr).toBe(3);
    expect(verified.stdout).toMatch(
      /^FAILED .* its policy binds it to [0-9A-F]{40} \(the key of .*\), but it is not encrypted to that key/m,
    );
    const status = await admin('status', url);
    expect(status.status, status.stdout).toBe(2);
    expect(status.stdout).toMatch(/a backup REJECTED by verify/);
    const restored = await admin('restore', url, '--verified', '--identity', target.privateKey);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toBe(dump(1));
  });
});

describe('credentials that may list but not read objects', () => {
  it('versions still lists, saying why retain-until and proofs are not shown', async () => {
    const bucket = await freshBucket('proofs-denied');
    const s3 = adminClient();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }));
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: bucket,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Deny',
              Principal: { AWS: [userArn('sealdrop-admin')] },
              Action: ['s3:GetObject', 's3:GetObjectVersion'],
              Resource: [`arn:aws:s3:::${bucket}/*`],
            },
          ],
        }),
      }),
    );
    const listed = await runCli(['versions', `s3://${bucket}/k`], { env: withEnv() });
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/: 1 complete version\n/);
    expect(listed.stderr).toMatch(
      /warning: retain-until not read: reading s3:\/\/\S+\/k version \S+: S3 answered 403/,
    );
  });
});

describe('proven runs', () => {
  let target: BackupTarget;
  const admin = (...args: string[]) => runCli(args, { env: target.adminEnv });

  beforeAll(async () => {
    target = await backupTarget('proofs-runs', { key: 'db/' });
    const pushed = await runCli(['push', '--policy', target.policyPath, '-q', '--json'], {
      input: 'a run of one part\n',
      env: target.agentEnv,
    });
    expect(pushed.status, pushed.stderr).toBe(0);
  });

  it('verify proves a run; versions and restore --verified see it', async () => {
    const url = `s3://${target.bucket}/${target.key}`;
    const verified = await admin('verify', url, '--identity', target.privateKey);
    expect(verified.status, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/^OK .* proven good$/m);
    const versions = await admin('versions', url, '--json');
    const listed = JSON.parse(versions.stdout);
    expect(listed.snapshots[0].verifiedAt, versions.stderr + versions.stdout).toEqual(expect.any(String));
    const restored = await admin('restore', url, '--verified', '--identity', target.privateKey);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toBe('a run of one part\n');
  });
});

describe('the proofs of sets that have none', () => {
  it('are each their own: a verdict recorded on one set is not another set with no proofs', async () => {
    const bucket = await freshBucket('proofs-none');
    const [a, b] = ['a/db.sql.gz.gpg', 'b/db.sql.gz.gpg'].map((key) =>
      backupSet(adminClient(), { bucket, key, isPrefix: false }),
    );
    const first = await readProofs(a!);
    // What verify does once it has proven a backup of the set (recordProof).
    first.states.set('1 some-version', {
      snapshotId: 'some-version',
      snapshotTime: new Date(1000),
      verdict: 'good',
      kind: 'good',
      at: new Date(),
    });
    expect((await readProofs(b!)).states.size).toBe(0);
    expect(NO_PROOFS.states.size).toBe(0);
  });
});
