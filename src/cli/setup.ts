// sealdrop setup s3://BUCKET
import type { Command } from 'commander';
import { SealdropError } from '../core/errors.js';
import type { SetupResult } from '../admin/policies/setup.js';
import { parseRetention, retentionText, type BucketLock } from '../core/object-lock.js';
import { parseBucketUrl } from '../core/s3-url.js';
import { printJson, say, warn } from './output.js';

interface SetupCliOptions {
  create?: boolean;
  uploader?: string;
  applyBucketPolicy?: boolean;
  objectLock?: string;
  mode?: string;
  region?: string;
  endpoint?: string;
  json?: boolean;
}

export function registerSetupCommand(program: Command): void {
  program
    .command('setup')
    .description('prepare a bucket: versioning on and verified; prints the write-only access policies')
    .argument('<s3://BUCKET>', 'the backup bucket')
    .option('--create', 'create the bucket first (fine if it exists)')
    .option('--uploader <ARN>', 'principal of the uploader identity, filled into the bucket policy')
    .option(
      '--apply-bucket-policy',
      'attach the bucket policy too (refused if the bucket has a different one)',
    )
    .option(
      '--object-lock <DURATION>',
      'with --create: a bucket with Object Lock, every new version locked this long (30d, 4w, 1y); on an existing bucket with Object Lock: set its default retention',
    )
    .option(
      '--mode <MODE>',
      'Object Lock mode: compliance (no credential can delete early) or governance (s3:BypassGovernanceRetention can); default compliance',
    )
    .option('--region <REGION>', 'AWS region (else AWS_REGION)')
    .option('--endpoint <URL>', 'S3 endpoint (else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS)')
    .option('--json', 'print the result as one JSON object on stdout')
    .addHelpText(
      'after',
      `
Needs admin credentials (standard AWS chain). Safe to run again.
Ceph RGW turns Object Lock on only when a bucket is created (AWS also for an existing versioned
bucket): on an existing bucket setup says whether it is on and what default retention it has, and
--object-lock sets that default (turning the lock on where the store can). In compliance mode nobody, the admin included, can delete a locked version or
shorten its lock before it ends: choose the length with care.

Example:
  sealdrop setup s3://acme-backups --create \\
      --uploader arn:aws:iam::123456789012:user/backup-uploader
  # then attach the printed IAM policy to the uploader user and the bucket policy to the bucket,
  # or let setup attach the bucket policy to a bucket that has none:
  sealdrop setup s3://acme-backups --uploader arn:aws:iam::123456789012:user/backup-uploader \\
      --apply-bucket-policy
  # a bucket whose backups nobody can delete for 30 days, stolen admin credentials included:
  sealdrop setup s3://acme-locked --create --object-lock 30d --mode compliance`,
    )
    .action(async (target: string, options: SetupCliOptions) => {
      // Every usage check before the first request: setup creates, versions and locks buckets.
      const bucket = parseBucketUrl(target, 'setup');
      if (options.mode !== undefined && options.objectLock === undefined)
        throw new SealdropError('USAGE', '--mode needs --object-lock DURATION (the default retention)');
      const objectLock =
        options.objectLock === undefined ? undefined : parseRetention(options.objectLock, options.mode);
      const [{ setupBucket }, { createS3Client }] = await Promise.all([
        import('../admin/policies/setup.js'),
        import('../admin/s3/client.js'),
      ]);
      const client = createS3Client({ endpoint: options.endpoint, region: options.region });
      const result = await setupBucket(client, {
        bucket,
        create: options.create,
        uploaderArn: options.uploader,
        applyBucketPolicy: options.applyBucketPolicy,
        objectLock,
      });
      result.warnings.forEach(warn);
      if (options.json) return printJson(result);
      say(
        `Bucket ${bucket}: ${result.created ? 'created, ' : ''}versioning enabled (verified), ${lockText(result.objectLock, Boolean(objectLock))}${policyText(result)}.`,
      );
      say('IAM user policy for the uploader (AWS; only s3:PutObject):');
      printJson(result.policies.iamUserPolicy);
      say(
        'Bucket policy (write-only uploader: explicit Deny of reads and deletes; the one Ceph RGW applies to POST):',
      );
      printJson(result.policies.bucketPolicy);
    });
}

function policyText({ bucketPolicyApplied, bucketPolicyChanged }: SetupResult): string {
  if (!bucketPolicyApplied) return '';
  return `, write-only bucket policy ${bucketPolicyChanged ? 'attached' : 'already attached (unchanged)'}`;
}

function lockText(lock: BucketLock, set: boolean): string {
  if (!lock.enabled)
    return 'Object Lock off (it can be chosen when a bucket is created: --create --object-lock 30d)';
  if (!lock.defaultRetention) return 'Object Lock on, no default retention (--object-lock 30d sets one)';
  return `Object Lock on, default retention ${retentionText(lock.defaultRetention)}${set ? ' (verified)' : ''}`;
}
