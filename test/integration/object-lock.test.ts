// Object Lock on the local RGW (issue 13, part 4): setup makes a locked bucket, a pushed version can't be
// deleted with the admin's own credentials before its retain-until, versions shows it and prune plans
// around it; push sends the ciphertext's MD5 where the policy allows it.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectRetentionCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prune } from '../../src/admin/backups/prune.js';
import { parseS3Url } from '../../src/core/s3-url.js';
import { curlPost, statusOf } from '../support/attacker.js';
import { backupTarget, oldPolicyFile, type BackupTarget } from '../support/backup-target.js';
import { runCli } from '../support/cli.js';
import { faultyProxy, type Proxy } from '../support/proxy.js';
import { adminClient, bucketName, listVersions, s3Env, withEnv } from '../support/s3.js';
import { after, until } from '../support/until.js';

const DAY = 86_400_000;

async function pushAll(target: BackupTarget, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) {
    const pushed = await runCli(['push', '--policy', target.policyPath, '-q'], {
      input: `backup ${i}\n`,
      env: target.agentEnv,
    });
    expect(pushed.status, pushed.stderr).toBe(0);
  }
}

const versionIds = async (target: BackupTarget) =>
  (await listVersions(target.bucket, target.key)).map((v) => v.VersionId!);

describe('setup --object-lock', () => {
  it('creates a bucket with Object Lock and a default retention, read back; reports it when run again', async () => {
    const bucket = bucketName('lock-setup');
    const admin = (...args: string[]) => runCli(args, { env: withEnv() });
    const created = await admin(
      'setup',
      `s3://${bucket}`,
      '--create',
      '--object-lock',
      '2w',
      '--mode',
      'governance',
      '--json',
    );
    expect(created.status, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({
      created: true,
      versioning: 'Enabled',
      objectLock: { enabled: true, defaultRetention: { mode: 'GOVERNANCE', days: 14 } },
    });
    const again = await admin('setup', `s3://${bucket}`);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(
      /versioning enabled \(verified\), Object Lock on, default retention GOVERNANCE 14d\./,
    );
    const changed = await admin('setup', `s3://${bucket}`, '--object-lock', '1y', '--json');
    expect(changed.status, changed.stderr).toBe(0);
    expect(JSON.parse(changed.stdout).objectLock.defaultRetention).toEqual({ mode: 'COMPLIANCE', years: 1 });
  });

  it('on a bucket made without it: says it is off, and refuses to set a retention, with the way out', async () => {
    const bucket = bucketName('lock-none');
    const admin = (...args: string[]) => runCli(args, { env: withEnv() });
    const plain = await admin('setup', `s3://${bucket}`, '--create');
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stderr).toMatch(/Object Lock off \(it can be chosen when a bucket is created/);
    const refused = await admin('setup', `s3://${bucket}`, '--object-lock', '30d');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(
      /error: Object Lock is off on \S+, and this store turns it on only when a bucket is created\n {2}hint: Create a new bucket with it: sealdrop setup s3:\/\/NEW-BUCKET --create --object-lock 30d/,
    );
    const bad = await admin('setup', `s3://${bucket}`, '--object-lock', '36h');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/whole days or whole years/);
  });
});

describe('a compliance-locked bucket', () => {
  let target: BackupTarget;
  const url = () => `s3://${target.bucket}/${target.key}`;

  beforeAll(async () => {
    target = await backupTarget('lock-compliance', {
      createArgs: ['--object-lock', '1d', '--mode', 'compliance'],
    });
    await pushAll(target, 2);
  });

  it("refuses to delete a pushed version with the admin's credentials before its retain-until; it stays", async () => {
    const s3 = adminClient();
    const [newest, oldest] = await versionIds(target);
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: target.bucket, Key: target.key, VersionId: oldest }),
    );
    expect(head.ObjectLockMode).toBe('COMPLIANCE');
    expect(head.ObjectLockRetainUntilDate!.getTime()).toBeGreaterThan(Date.now() + DAY - 60_000);
    for (const bypass of [false, true]) {
      const deleting = s3.send(
        new DeleteObjectCommand({
          Bucket: target.bucket,
          Key: target.key,
          VersionId: oldest,
          ...(bypass ? { BypassGovernanceRetention: true } : {}),
        }),
      );
      await expect(deleting).rejects.toMatchObject({
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      });
    }
    const batch = await s3.send(
      new DeleteObjectsCommand({
        Bucket: target.bucket,
        Delete: { Objects: [newest, oldest].map((VersionId) => ({ Key: target.key, VersionId })) },
      }),
    );
    expect(batch.Errors?.map((e) => e.Code)).toEqual(['AccessDenied', 'AccessDenied']);
    const shortening = s3.send(
      new PutObjectRetentionCommand({
        Bucket: target.bucket,
        Key: target.key,
        VersionId: oldest,
        BypassGovernanceRetention: true,
        Retention: { Mode: 'COMPLIANCE', RetainUntilDate: new Date(Date.now() + 60_000) },
      }),
    );
    await expect(shortening).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(await versionIds(target)).toEqual([newest, oldest]);
  });

  it('versions shows each retain-until, read from the version', async () => {
    const listed = await runCli(['versions', url(), '--json'], { env: target.adminEnv });
    expect(listed.status, listed.stderr).toBe(0);
    const json = JSON.parse(listed.stdout);
    expect(json.objectLock).toEqual({ enabled: true, defaultRetention: { mode: 'COMPLIANCE', days: 1 } });
    for (const snapshot of json.snapshots) {
      expect(snapshot).toMatchObject({ lockMode: 'COMPLIANCE', lockSource: 'version' });
      expect(Date.parse(snapshot.retainUntil) - Date.parse(snapshot.time)).toBeGreaterThan(DAY - 5000);
    }
    const human = await runCli(['versions', url()], { env: target.adminEnv });
    expect(human.stdout).toMatch(/2 complete versions, Object Lock default COMPLIANCE 1d\n/);
    expect(human.stdout).toMatch(/^VERSION ID +TIME +AGE +SIZE +RETAIN UNTIL +STATE$/m);
    expect(human.stdout).toContain(`  ${json.snapshots[1].retainUntil}  complete`);
  });

  it('prune keeps what is locked ("locked until T") instead of failing; --yes deletes nothing and succeeds', async () => {
    const pruned = await runCli(['prune', url(), '--keep-last', '1', '--yes', '--force', '--json'], {
      env: target.adminEnv,
    });
    expect(pruned.status, pruned.stderr).toBe(0);
    const plan = JSON.parse(pruned.stdout);
    expect(plan.snapshots[1]).toMatchObject({
      action: 'keep',
      reasons: [`locked until ${plan.snapshots[1].retainUntil}`],
    });
    expect(plan).toMatchObject({ deleted: 0, failures: 0, totals: { remove: 0, locked: 1 } });
    expect(await versionIds(target)).toHaveLength(2);
  });
});

describe('prune in a bucket where some locks have ended', () => {
  let target: BackupTarget;
  let ids: string[];

  beforeAll(async () => {
    target = await backupTarget('lock-prune', {
      createArgs: ['--object-lock', '1d', '--mode', 'governance'],
    });
    await pushAll(target, 4);
    ids = await versionIds(target);
    // The two oldest as if written long ago: their governance locks cut to end in a moment.
    const ends = new Date(Date.now() + 2000);
    for (const VersionId of ids.slice(2))
      await adminClient().send(
        new PutObjectRetentionCommand({
          Bucket: target.bucket,
          Key: target.key,
          VersionId,
          BypassGovernanceRetention: true,
          Retention: { Mode: 'GOVERNANCE', RetainUntilDate: ends },
        }),
      );
    await until(after(ends.getTime() + 500), 'the cut locks to end');
  });

  it('reads at most the bounded number of retentions; the others stay locked by the default', async () => {
    let heads = 0;
    const { endpoint, region, admin } = s3Env();
    const client = new S3Client({ endpoint, region, credentials: admin, forcePathStyle: true });
    client.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === 'HeadObjectCommand') heads++;
        return next(args);
      },
      { step: 'initialize', name: 'countHeads' },
    );
    const result = await prune(client, parseS3Url(`s3://${target.bucket}/${target.key}`), {
      policy: { last: 1 },
      execute: false,
      force: true,
      lockReads: 1,
    });
    // The one read is the oldest, the likeliest to be free already: it is.
    expect(heads).toBe(1);
    expect(result.plan.items.map((i) => [i.action, i.reasons[0]])).toEqual([
      ['keep', 'last'],
      ['keep', expect.stringMatching(/^locked until \S+ \(by the bucket default retention\)$/)],
      ['keep', expect.stringMatching(/^locked until \S+ \(by the bucket default retention\)$/)],
      ['remove', undefined],
    ]);
  });

  it('removes the versions whose lock has ended and keeps the locked one, as the dry run planned', async () => {
    const dry = await runCli(
      ['prune', `s3://${target.bucket}/${target.key}`, '--keep-last', '1', '--force', '--json'],
      {
        env: target.adminEnv,
      },
    );
    expect(dry.status, dry.stderr).toBe(0);
    const planned = JSON.parse(dry.stdout).snapshots.map((s: { versionId: string; action: string }) => [
      s.versionId,
      s.action,
    ]);
    expect(planned).toEqual([
      [ids[0], 'keep'],
      [ids[1], 'keep'],
      [ids[2], 'remove'],
      [ids[3], 'remove'],
    ]);
    const yes = await runCli(
      ['prune', `s3://${target.bucket}/${target.key}`, '--keep-last', '1', '--yes', '--force'],
      {
        env: target.adminEnv,
      },
    );
    expect(yes.status, yes.stderr).toBe(0);
    expect(yes.stdout).toMatch(/4 backups: keep 2, remove 2; 1 kept by Object Lock;/);
    expect(yes.stderr).toMatch(/Deleted 2 of 2 object versions\./);
    expect(await versionIds(target)).toEqual(ids.slice(0, 2));
  });
});

describe('Content-MD5', () => {
  let target: BackupTarget;
  let proxy: Proxy;
  let seen: Buffer[] = [];

  beforeAll(async () => {
    target = await backupTarget('lock-md5');
    // A recording relay in front of the real RGW: it passes every byte on, and keeps the request bodies.
    proxy = await faultyProxy((_, req) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => seen.push(Buffer.concat(chunks)));
      return 'forward';
    });
  });

  afterAll(() => proxy.close());

  /** The policy file, sent through the relay instead (the URL is not signed). */
  async function relayed(path: string): Promise<string> {
    const file = JSON.parse(await readFile(path, 'utf8'));
    file.url = `${proxy.url}/${target.bucket}`;
    const out = `${path}.relayed.json`;
    await writeFile(out, JSON.stringify(file), { mode: 0o600 });
    return out;
  }

  const md5Field = (body: Buffer) =>
    /name="Content-MD5"\r\n\r\n([^\r]*)\r\n/.exec(body.toString('latin1'))?.[1] ?? null;

  async function storedMd5(): Promise<string> {
    const [latest] = await versionIds(target);
    const object = await adminClient().send(
      new GetObjectCommand({ Bucket: target.bucket, Key: target.key, VersionId: latest }),
    );
    return createHash('md5')
      .update(await object.Body!.transformToByteArray())
      .digest('base64');
  }

  it('push sends the MD5 of exactly what was stored, where the policy allows it', async () => {
    seen = [];
    const pushed = await runCli(['push', '--policy', await relayed(target.policyPath)], {
      input: 'a dump\n',
      env: target.agentEnv,
    });
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(seen).toHaveLength(1);
    expect(md5Field(seen[0]!)).toBe(await storedMd5());
  });

  const oldPolicy = () => oldPolicyFile(target, join(target.dir, 'old.policy.json'));

  it('a policy minted before the Content-MD5 condition: push sends none, and the upload is stored', async () => {
    const before = (await versionIds(target)).length;
    seen = [];
    const pushed = await runCli(['push', '--policy', await relayed(await oldPolicy())], {
      input: 'old\n',
      env: target.agentEnv,
    });
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(seen).toHaveLength(1);
    expect(md5Field(seen[0]!)).toBeNull();
    expect(await versionIds(target)).toHaveLength(before + 1);
  });

  it('RGW refuses a Content-MD5 the policy does not cover, and stores a wrong one (AWS checks it, RGW 16 not)', async () => {
    const wrong = createHash('md5').update('other bytes').digest('base64');
    const before = (await versionIds(target)).length;
    const refused = await curlPost(await oldPolicy(), 'some bytes', { 'Content-MD5': wrong });
    expect(statusOf(refused)).toBe(403);
    expect(refused.stdout).toMatch(/Policy missing condition: Content-MD5/);
    expect(await versionIds(target)).toHaveLength(before);
    const stored = await curlPost(target.policyPath, 'some bytes', { 'Content-MD5': wrong });
    expect(statusOf(stored), stored.stdout).toBe(201);
    expect(await versionIds(target)).toHaveLength(before + 1);
  });
});
