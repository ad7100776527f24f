#!/usr/bin/env node
// Deletes every version and delete marker under s3://BUCKET/PREFIX, and the bucket itself when no prefix
// is given: the benchmarks' clean-up, so repeated runs don't fill the local S3 server's store.
//   scripts/s3-empty.mjs BUCKET [PREFIX]      admin credentials and endpoint from the environment
import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectVersionsCommand,
  S3Client,
} from '@aws-sdk/client-s3';

const [bucket, prefix] = process.argv.slice(2);
if (!bucket) {
  console.error('usage: s3-empty.mjs BUCKET [PREFIX]');
  process.exit(2);
}
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const client = new S3Client({
  endpoint: process.env.AWS_ENDPOINT_URL,
  forcePathStyle: true,
  region: process.env.AWS_REGION ?? 'us-east-1',
});
let removed = 0;
for (let keyMarker, versionIdMarker; ;) {
  const page = await client.send(
    new ListObjectVersionsCommand({
      Bucket: bucket,
      Prefix: prefix,
      KeyMarker: keyMarker,
      VersionIdMarker: versionIdMarker,
    }),
  );
  const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({
    Key: v.Key,
    VersionId: v.VersionId,
  }));
  if (objects.length > 0) {
    await client.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }),
    );
    removed += objects.length;
  }
  if (!page.IsTruncated) break;
  ({ NextKeyMarker: keyMarker, NextVersionIdMarker: versionIdMarker } = page);
}
if (prefix === undefined) await client.send(new DeleteBucketCommand({ Bucket: bucket }));
console.error(`s3-empty: removed ${removed} versions under s3://${bucket}/${prefix ?? ''}`);
