// The minted policy against the real S3 server, with plain curl (the seed article's way).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadBucketCommand,
} from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { curlPost, statusOf } from '../support/attacker.js';
import { after, until } from '../support/until.js';
import { backupTarget, mint, type BackupTarget } from '../support/backup-target.js';
import { run, runCli } from '../support/cli.js';
import {
  adminClient,
  expireNoncurrentVersions,
  bucketName,
  freshBucket,
  listVersions,
  uploaderClient,
  withEnv,
} from '../support/s3.js';

let target: BackupTarget;
beforeAll(async () => {
  target = await backupTarget('policy');
});

/** POSTs `body` with curl using the policy file's fields, some replaced or added. */
describe('a minted policy', () => {
  it('lets the `policy curl` config upload stdin with curl; two uploads make two versions', async () => {
    const config = join(target.dir, 'upload.curl');
    const printed = await runCli(['policy', 'curl', target.policyPath, '--out', config], {
      env: target.agentEnv,
    });
    expect(printed.status, printed.stderr).toBe(0);
    for (const body of ['first upload', 'second upload']) {
      const uploaded = await run('curl', ['--config', config], { input: body });
      expect(uploaded.status, uploaded.stdout + uploaded.stderr).toBe(0);
    }
    const versions = await listVersions(target.bucket, target.key);
    expect(versions).toHaveLength(2);
    expect(new Set(versions.map((v) => v.VersionId)).size).toBe(2);
    const latest = await adminClient().send(new GetObjectCommand({ Bucket: target.bucket, Key: target.key }));
    expect(await latest.Body!.transformToString()).toBe('second upload');
  });

  it.each([
    ['another key', { key: 'db1/other.sql.gz.gpg' }],
    ['another acl', { acl: 'public-read' }],
    ['a tampered field', { 'Content-Type': 'text/plain' }],
    ['an extra field', { 'x-amz-meta-owner': 'mallory' }],
  ])('is refused by S3 for %s', async (_, change) => {
    const before = (await listVersions(target.bucket, target.key)).length;
    const result = await curlPost(target.policyPath, 'payload', change);
    expect(statusOf(result)).toBe(403);
    expect(result.stdout).toMatch(/<Code>AccessDenied<\/Code>/);
    expect((await listVersions(target.bucket, target.key)).length).toBe(before);
  });

  it('is refused by S3 for another bucket', async () => {
    const other = await freshBucket('other');
    const { url } = JSON.parse(await readFile(target.policyPath, 'utf8'));
    const result = await curlPost(
      target.policyPath,
      'payload',
      { bucket: other },
      url.replace(target.bucket, other),
    );
    expect(statusOf(result)).toBe(403);
    expect(await listVersions(other, target.key)).toEqual([]);
  });

  it('is refused by S3 for a body over --max-size', async () => {
    const small = join(target.dir, 'small.json');
    await mint(`s3://${target.bucket}/${target.key}`, [target.publicKey], small, ['--max-size', '1KiB']);
    expect(statusOf(await curlPost(small, Buffer.alloc(1024, 1)))).toBeLessThan(300);
    const result = await curlPost(small, Buffer.alloc(1025, 1));
    expect(statusOf(result)).toBe(400);
    expect(result.stdout).toMatch(/EntityTooLarge/);
  });

  it('is refused by S3 once expired, and `policy show` says so with exit 2', async () => {
    const shortLived = join(target.dir, 'short.json');
    // Long enough to show it unexpired on a loaded machine, short enough to wait out.
    await mint(`s3://${target.bucket}/${target.key}`, [target.publicKey], shortLived, ['--expires', '8s']);
    const shown = await runCli(['policy', 'show', shortLived, '--json'], { env: target.agentEnv });
    expect(shown.status).toBe(0);
    const summary = JSON.parse(shown.stdout);
    expect(summary).toMatchObject({ bucket: target.bucket, key: target.key, expired: false });
    await until(after(Date.parse(summary.expiresAt) + 1000), 'the policy to expire');
    const result = await curlPost(shortLived, 'late');
    expect(statusOf(result)).toBe(403);
    expect(result.stdout).toMatch(/expired/i);
    const expired = await runCli(['policy', 'show', shortLived], { env: target.agentEnv });
    expect(expired.status).toBe(2);
    expect(expired.stdout).toMatch(/EXPIRED .* ago/);
    expect(expired.stderr).toMatch(/the upload policy expired at/);
  });

  it('signs for an identity that cannot read or delete what it wrote (write-only setup)', async () => {
    const uploader = uploaderClient();
    await expect(
      uploader.send(new GetObjectCommand({ Bucket: target.bucket, Key: target.key })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    const [version] = await listVersions(target.bucket, target.key);
    await expect(
      uploader.send(
        new DeleteObjectCommand({ Bucket: target.bucket, Key: target.key, VersionId: version!.VersionId }),
      ),
    ).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    await expect(
      uploader.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: target.key })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    expect((await listVersions(target.bucket, target.key)).map((v) => v.VersionId)).toContain(
      version!.VersionId,
    );
  });
});

describe('setup', () => {
  it('is idempotent, verifies versioning and warns about lifecycle rules that expire versions', async () => {
    const bucket = `setup-${Date.now().toString(36)}`;
    const env = withEnv();
    const first = await runCli(['setup', `s3://${bucket}`, '--create', '--json'], { env });
    expect(first.status, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      bucket,
      created: true,
      versioning: 'Enabled',
      warnings: [],
    });
    await expireNoncurrentVersions(bucket);
    const again = await runCli(['setup', `s3://${bucket}`, '--create', '--json'], { env });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/warning: lifecycle rule tidy expires noncurrent versions/);
    const result = JSON.parse(again.stdout);
    expect(result).toMatchObject({ created: false, versioning: 'Enabled' });
    expect(result.policies.iamUserPolicy.Statement[0].Resource).toBe(`arn:aws:s3:::${bucket}/*`);
    const human = await runCli(['setup', `s3://${bucket}`], { env });
    expect(human.stderr).toMatch(/versioning enabled \(verified\)/);
  });

  it('attaches the write-only bucket policy once, and never replaces a different one', async () => {
    const bucket = await freshBucket('apply');
    const env = withEnv();
    const uploader = 'arn:aws:iam:::user/sealdrop-uploader';
    const apply = (arn: string, ...more: string[]) =>
      runCli(['setup', `s3://${bucket}`, '--uploader', arn, '--apply-bucket-policy', ...more], { env });
    const first = await apply(uploader, '--json');
    expect(first.status, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ bucketPolicyApplied: true, bucketPolicyChanged: true });
    const again = await apply(uploader, '--json');
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ bucketPolicyApplied: true, bucketPolicyChanged: false });
    const human = await apply(uploader);
    expect(human.stderr).toMatch(/, write-only bucket policy already attached \(unchanged\)\./);
    const other = await apply('arn:aws:iam:::user/someone-else', '--json');
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/already has a different bucket policy; not replacing it/);
  });

  // Usage errors found after S3 changed left a bucket created, versioned or locked for 30 days.
  it.each([
    [['--create', '--apply-bucket-policy'], /--apply-bucket-policy needs --uploader ARN/],
    [['--create', '--object-lock', '30d', '--apply-bucket-policy'], /--apply-bucket-policy needs --uploader/],
    [['--create', '--mode', 'governance'], /--mode needs --object-lock/],
    [['--create', '--object-lock', '36h'], /whole days/],
  ])('refuses %j with exit 2 before creating the bucket', async (args, message) => {
    const bucket = bucketName('setup-usage');
    const result = await runCli(['setup', `s3://${bucket}`, ...args], { env: withEnv() });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toMatch(message);
    await expect(adminClient().send(new HeadBucketCommand({ Bucket: bucket }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('refuses --apply-bucket-policy without --uploader before turning versioning on', async () => {
    const bucket = bucketName('setup-usage');
    await adminClient().send(new CreateBucketCommand({ Bucket: bucket }));
    const result = await runCli(['setup', `s3://${bucket}`, '--apply-bucket-policy'], { env: withEnv() });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/--apply-bucket-policy needs --uploader ARN/);
    const { Status } = await adminClient().send(new GetBucketVersioningCommand({ Bucket: bucket }));
    expect(Status).toBeUndefined();
  });

  it.each([
    [
      `s3://BUCKET/sub/`,
      /"s3:\/\/\S+\/sub\/" names a prefix: setup takes a bucket\n {2}hint: .*s3:\/\/\S+$/m,
    ],
    [`BUCKET`, /"\S+" is not an s3:\/\/BUCKET address\n {2}hint: .*s3:\/\/\S+/],
  ])('refuses %s with exit 2, a hint showing s3://BUCKET, and creates nothing', async (form, message) => {
    const bucket = bucketName('setup-usage');
    const result = await runCli(['setup', form.replace('BUCKET', bucket), '--create'], { env: withEnv() });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/dump\.sql/);
    await expect(adminClient().send(new HeadBucketCommand({ Bucket: bucket }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('says clearly when the bucket does not exist', async () => {
    const result = await runCli(['setup', `s3://${await freshBucket('gone')}-nope`], { env: withEnv() });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/bucket .*-nope does not exist\n {2}hint: Pass --create/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
