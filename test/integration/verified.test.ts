// Verified marks for restore drills on the local RGW (issue 13, part 5): verify tags what it verified with
// the admin's credentials, a host's upload policy can't set a tag, and versions, restore --verified and
// status --max-unverified-age read the marks.
import {
  GetObjectTaggingCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
} from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { curlPost, statusOf } from '../support/attacker.js';
import { backupTarget, type BackupTarget } from '../support/backup-target.js';
import { runCli } from '../support/cli.js';
import { adminClient, freshBucket, listVersions, userArn, withEnv } from '../support/s3.js';
import { after, until } from '../support/until.js';

const TAG = 'sealdrop-verified';

async function tagsOf(bucket: string, key: string, versionId: string): Promise<Record<string, string>> {
  const { TagSet } = await adminClient().send(
    new GetObjectTaggingCommand({ Bucket: bucket, Key: key, VersionId: versionId }),
  );
  return Object.fromEntries((TagSet ?? []).map((tag) => [tag.Key!, tag.Value!]));
}

describe('verified marks on the versions of a key', () => {
  let target: BackupTarget;
  let url: string;
  /** Oldest first. */
  let ids: string[];
  const admin = (...args: string[]) => runCli(args, { env: target.adminEnv });

  beforeAll(async () => {
    target = await backupTarget('verified');
    url = `s3://${target.bucket}/${target.key}`;
    for (const night of [1, 2]) {
      const pushed = await runCli(['push', '--policy', target.policyPath, '-q'], {
        input: `dump of night ${night}\n`,
        env: target.agentEnv,
      });
      expect(pushed.status, pushed.stderr).toBe(0);
    }
    ids = (await listVersions(target.bucket, target.key)).map((v) => v.VersionId!).reverse();
  });

  it("verify tags the version it verified, with the admin's credentials; versions shows the mark", async () => {
    const verified = await admin(
      'verify',
      url,
      '--version-id',
      ids[0]!,
      '--identity',
      target.privateKey,
      '--json',
    );
    expect(verified.status, verified.stderr).toBe(0);
    const { markedAt } = JSON.parse(verified.stdout).checks[0];
    expect(markedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    expect(await tagsOf(target.bucket, target.key, ids[0]!)).toEqual({
      [TAG]: markedAt.replace('.000Z', 'Z'),
    });
    expect(await tagsOf(target.bucket, target.key, ids[1]!)).toEqual({});

    const listed = JSON.parse((await admin('versions', url, '--json')).stdout);
    expect(listed.snapshots.map((s: { verifiedAt: string | null }) => s.verifiedAt)).toEqual([
      null,
      markedAt,
    ]);
    const human = await admin('versions', url);
    expect(human.stdout).toMatch(/: 2 complete versions, 1 verified\n/);
    expect(human.stdout).toMatch(/^VERSION ID +TIME +AGE +SIZE +VERIFIED +STATE$/m);
    expect(human.stdout).toMatch(new RegExp(`^${ids[0]} .* ${markedAt} +complete$`, 'm'));
    expect(human.stdout).toMatch(new RegExp(`^${ids[1]} .* - +complete$`, 'm'));
  });

  it('restore --verified restores the newest verified backup, past the newer unverified one', async () => {
    const restored = await admin('restore', url, '--verified', '--identity', target.privateKey);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toBe('dump of night 1\n');
    expect(restored.stderr).toContain(`version ${ids[0]}`);
  });

  it('status --max-unverified-age is OK while the newest verified backup is younger, WARNING once older', async () => {
    const fresh = await admin('status', url, '--max-unverified-age', '1h');
    expect(fresh.status, fresh.stdout).toBe(0);
    expect(fresh.stdout).toMatch(
      /the newest verified backup is [\dhmins ]+ old \(verified [\dhmins ]+ ago\)/,
    );
    const first = (await listVersions(target.bucket, target.key)).find((v) => v.VersionId === ids[0])!;
    await until(after(first.LastModified!.getTime() + 2000), 'the verified backup to be 2s old');
    const stale = await admin('status', url, '--max-unverified-age', '1s');
    expect(stale.status, stale.stdout).toBe(1);
    expect(stale.stdout).toMatch(
      /^SEALDROP WARNING - .*the newest verified backup is .* old \(verified .* ago; max 1s\)/,
    );
    const unjudged = await admin('status', url);
    expect(unjudged.stdout).not.toMatch(/verified backup/);
  });

  it('status warns when no backup is verified at all', async () => {
    const key = 'db2/never-verified.sql.gz.gpg';
    await adminClient().send(new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: 'x' }));
    const status = await admin('status', `s3://${target.bucket}/${key}`, '--max-unverified-age', '8d');
    expect(status.status, status.stdout).toBe(1);
    expect(status.stdout).toMatch(/no verified backup: restore drills \(sealdrop verify\) mark them; max 8d/);
  });

  it("a host can't forge a mark: RGW refuses a POST with a tagging field its policy does not cover", async () => {
    const before = await listVersions(target.bucket, target.key);
    const tagging = `<Tagging><TagSet><Tag><Key>${TAG}</Key><Value>2030-01-01T00:00:00Z</Value></Tag></TagSet></Tagging>`;
    const forged = await curlPost(target.policyPath, 'junk that claims to be verified', { tagging });
    expect(statusOf(forged)).toBe(403);
    expect(forged.stdout).toMatch(/<Code>AccessDenied<\/Code>.*Policy missing condition: tagging/s);
    expect(await listVersions(target.bucket, target.key)).toHaveLength(before.length);
  });

  it('a version that fails verification loses its mark; restore --verified passes over it', async () => {
    const s3 = adminClient();
    const junk = await s3.send(
      new PutObjectCommand({ Bucket: target.bucket, Key: target.key, Body: 'not a backup' }),
    );
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket: target.bucket,
        Key: target.key,
        VersionId: junk.VersionId,
        Tagging: {
          TagSet: [
            { Key: TAG, Value: '2030-01-01T00:00:00Z' },
            { Key: 'owner', Value: 'ops' },
          ],
        },
      }),
    );
    const failed = await admin('verify', url, '--identity', target.privateKey);
    expect(failed.status).not.toBe(0);
    expect(failed.stdout).toMatch(/^FAILED /m);
    expect(failed.stderr).toMatch(new RegExp(`${junk.VersionId} failed: its verified mark was removed`));
    expect(await tagsOf(target.bucket, target.key, junk.VersionId!)).toEqual({ owner: 'ops' });
    const restored = await admin('restore', url, '--verified', '--identity', target.privateKey);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toBe('dump of night 1\n');
  });
});

describe('credentials that may list but not read objects', () => {
  it('versions still lists, saying why retain-until and marks are not shown', async () => {
    const bucket = await freshBucket('verified-denied');
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
      /warning: retain-until and verified marks not read: reading s3:\/\/\S+\/k version \S+: S3 answered 403/,
    );
  });
});

describe('verified marks on runs', () => {
  let target: BackupTarget;
  const admin = (...args: string[]) => runCli(args, { env: target.adminEnv });

  beforeAll(async () => {
    target = await backupTarget('verified-runs', { key: 'db/' });
    const pushed = await runCli(['push', '--policy', target.policyPath, '-q', '--json'], {
      input: 'a run of one part\n',
      env: target.agentEnv,
    });
    expect(pushed.status, pushed.stderr).toBe(0);
  });

  it("verify tags the run's manifest (its original version); versions, restore --verified see it", async () => {
    const url = `s3://${target.bucket}/${target.key}`;
    const verified = await admin('verify', url, '--identity', target.privateKey);
    expect(verified.status, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/^OK .* marked verified$/m);
    const listed = JSON.parse((await admin('versions', url, '--json')).stdout);
    const [run] = listed.snapshots;
    const manifest = `${target.key}${run.runId}/manifest.json`;
    const [original] = await listVersions(target.bucket, manifest);
    expect((await tagsOf(target.bucket, manifest, original!.VersionId!))[TAG]).toBe(
      run.verifiedAt.replace('.000Z', 'Z'),
    );
    const part = `${target.key}${run.runId}/part-000001`;
    const [partVersion] = await listVersions(target.bucket, part);
    expect(await tagsOf(target.bucket, part, partVersion!.VersionId!)).toEqual({});
    const restored = await admin('restore', url, '--verified', '--identity', target.privateKey);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toBe('a run of one part\n');
  });
});
