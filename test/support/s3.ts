// Helpers for tests against the local S3 server started by test/support/global-setup.ts.
import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  S3Client,
  type DeleteMarkerEntry,
  type ObjectVersion,
} from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import type { S3Credentials, S3TestEnv } from './global-setup.js';

export type { S3Credentials, S3TestEnv };

export function s3Env(): S3TestEnv {
  return inject('s3');
}

export function s3Client(credentials: S3Credentials): S3Client {
  const { endpoint, region } = s3Env();
  return new S3Client({ endpoint, region, credentials, forcePathStyle: true });
}

export function adminClient(): S3Client {
  return s3Client(s3Env().admin);
}

export function uploaderClient(): S3Client {
  return s3Client(s3Env().uploader);
}

/** A bucket name no test has used: `<prefix>-<time>-<random>`. */
export function bucketName(prefix = 'test'): string {
  const suffix = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63 - suffix.length - 1);
  return `${clean || 'test'}-${suffix}`;
}

/** A new, empty, versioned bucket owned by the admin user, named by bucketName(). */
export async function freshBucket(prefix = 'test'): Promise<string> {
  const bucket = bucketName(prefix);
  const s3 = adminClient();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
  );
  return bucket;
}

/** RGW's principal ARN for a user of the local server (no account id: RGW users live in the default tenant). */
export function userArn(uid: string): string {
  return `arn:aws:iam:::user/${uid}`;
}

/**
 * Bucket policy letting the uploader only add objects. The explicit Deny matters: RGW lets an object's
 * owner (the uploader) read and delete it through its ACL. The admin statement matters too: without it
 * the admin, although bucket owner, cannot read objects the uploader created (RGW has no
 * BucketOwnerEnforced; an upload with `acl=bucket-owner-full-control` would also do).
 */
export function uploaderBucketPolicy(
  bucket: string,
  uploaderUid = 'sealdrop-uploader',
  adminUid = 'sealdrop-admin',
): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'UploaderMayAddObjects',
        Effect: 'Allow',
        Principal: { AWS: [userArn(uploaderUid)] },
        Action: ['s3:PutObject'],
        Resource: [`arn:aws:s3:::${bucket}/*`],
      },
      {
        Sid: 'UploaderMayNotReadOrDelete',
        Effect: 'Deny',
        Principal: { AWS: [userArn(uploaderUid)] },
        Action: ['s3:GetObject*', 's3:DeleteObject*'],
        Resource: [`arn:aws:s3:::${bucket}/*`],
      },
      {
        Sid: 'AdminMayDoAnything',
        Effect: 'Allow',
        Principal: { AWS: [userArn(adminUid)] },
        Action: ['s3:*'],
        Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
      },
    ],
  });
}

async function listKeyHistory(
  bucket: string,
  key: string,
): Promise<{ versions: ObjectVersion[]; deleteMarkers: DeleteMarkerEntry[] }> {
  const s3 = adminClient();
  const versions: ObjectVersion[] = [];
  const deleteMarkers: DeleteMarkerEntry[] = [];
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key, KeyMarker, VersionIdMarker }),
    );
    versions.push(...(page.Versions ?? []).filter((v) => v.Key === key));
    deleteMarkers.push(...(page.DeleteMarkers ?? []).filter((m) => m.Key === key));
    if (!page.IsTruncated) break;
    KeyMarker = page.NextKeyMarker;
    VersionIdMarker = page.NextVersionIdMarker;
  }
  return { versions, deleteMarkers };
}

/** All versions of exactly `key` (not of other keys sharing the prefix), newest first. */
export async function listVersions(bucket: string, key: string): Promise<ObjectVersion[]> {
  return (await listKeyHistory(bucket, key)).versions;
}

/** Delete markers of exactly `key`, newest first. */
export async function listDeleteMarkers(bucket: string, key: string): Promise<DeleteMarkerEntry[]> {
  return (await listKeyHistory(bucket, key)).deleteMarkers;
}

/**
 * Environment for child processes (e.g. the CLI): process.env with the admin credentials and endpoint
 * as AWS_* variables, plus the uploader's SEALDROP_UPLOADER_* ones, plus `extra`.
 */
export function withEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Settings from the developer's own AWS setup would override or spoil the local ones.
  for (const name of [
    'AWS_SESSION_TOKEN',
    'AWS_PROFILE',
    'AWS_DEFAULT_PROFILE',
    'AWS_DEFAULT_REGION',
    'AWS_ENDPOINT_URL_S3',
  ]) {
    delete env[name];
  }
  return { ...env, ...inject('s3Exports'), ...extra };
}

/** A lifecycle rule "tidy" that expires noncurrent versions: what deletes history behind prune's back. */
export async function expireNoncurrentVersions(bucket: string, days = 30): Promise<void> {
  await adminClient().send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: bucket,
      LifecycleConfiguration: {
        Rules: [
          {
            ID: 'tidy',
            Status: 'Enabled',
            Filter: { Prefix: '' },
            NoncurrentVersionExpiration: { NoncurrentDays: days },
          },
        ],
      },
    }),
  );
}
