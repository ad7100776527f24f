// Smoke test: the S3 server the integration tests use is a real one (versioning, policies, POST checks).
import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { describe, expect, it } from 'vitest';
import {
  adminClient,
  freshBucket,
  listVersions,
  uploaderBucketPolicy,
  uploaderClient,
} from '../support/s3.js';

/** What S3 answers a request the uploader's write-only access does not allow. */
const DENIED = { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } };

async function postUpload(bucket: string, key: string, body: string, tamper = false): Promise<Response> {
  const { url, fields } = await createPresignedPost(uploaderClient(), {
    Bucket: bucket,
    Key: key,
    Conditions: [['content-length-range', 0, 1024]],
    Expires: 300,
  });
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    form.append(
      name,
      tamper && name === 'X-Amz-Signature' ? value.replace(/^./, (c) => (c === '0' ? '1' : '0')) : value,
    );
  }
  form.append('file', new Blob([body]));
  return fetch(url, { method: 'POST', body: form });
}

describe('local S3 server', () => {
  it('keeps every version of an overwritten key', async () => {
    const s3 = adminClient();
    const bucket = await freshBucket('smoke-versions');
    const first = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'same', Body: 'first' }));
    const second = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'same', Body: 'second' }));

    const versions = await listVersions(bucket, 'same');
    expect(versions).toHaveLength(2);
    expect(new Set(versions.map((v) => v.VersionId)).size).toBe(2);
    expect(versions.map((v) => v.VersionId)).toEqual([second.VersionId, first.VersionId]);

    const old = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: 'same', VersionId: first.VersionId }),
    );
    expect(await old.Body?.transformToString()).toBe('first');
  });

  it('lets the uploader add objects (PUT and POST) but not read or delete them', async () => {
    const bucket = await freshBucket('smoke-policy');
    await adminClient().send(
      new PutBucketPolicyCommand({ Bucket: bucket, Policy: uploaderBucketPolicy(bucket) }),
    );
    const uploader = uploaderClient();

    await uploader.send(new PutObjectCommand({ Bucket: bucket, Key: 'put', Body: 'by PUT' }));
    const posted = await postUpload(bucket, 'post', 'by POST');
    expect(posted.status).toBe(204);

    for (const key of ['put', 'post']) {
      await expect(uploader.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).rejects.toMatchObject(
        DENIED,
      );
      await expect(
        uploader.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })),
      ).rejects.toMatchObject(DENIED);
    }
    const [version] = await listVersions(bucket, 'post');
    await expect(
      uploader.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'post', VersionId: version?.VersionId })),
    ).rejects.toMatchObject(DENIED);

    const read = await adminClient().send(new GetObjectCommand({ Bucket: bucket, Key: 'post' }));
    expect(await read.Body?.transformToString()).toBe('by POST');
  });

  it('checks POST policy signatures and size limits', async () => {
    const bucket = await freshBucket('smoke-post');
    await adminClient().send(
      new PutBucketPolicyCommand({ Bucket: bucket, Policy: uploaderBucketPolicy(bucket) }),
    );

    const forged = await postUpload(bucket, 'forged', 'x', true);
    expect(forged.status).toBe(403);
    // AWS answers SignatureDoesNotMatch; RGW 16 answers AccessDenied.
    expect(await forged.text()).toMatch(/<Code>(SignatureDoesNotMatch|AccessDenied)<\/Code>/);

    const oversize = await postUpload(bucket, 'big', 'x'.repeat(2048));
    expect(oversize.status).toBe(400);
    expect(await oversize.text()).toContain('EntityTooLarge');

    expect(await listVersions(bucket, 'forged')).toEqual([]);
    expect(await listVersions(bucket, 'big')).toEqual([]);
  });
});
