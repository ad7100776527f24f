// sealdrop setup s3://BUCKET
import type { Command } from 'commander';
import { parseS3Url } from '../core/s3-url.js';
import { printJson, say, warn } from './output.js';

interface SetupCliOptions {
  create?: boolean;
  uploader?: string;
  applyBucketPolicy?: boolean;
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
    .option('--region <REGION>', 'AWS region (else AWS_REGION)')
    .option('--endpoint <URL>', 'S3 endpoint (else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS)')
    .option('--json', 'print the result as one JSON object on stdout')
    .addHelpText(
      'after',
      `
Needs admin credentials (standard AWS chain). Safe to run again.

Example:
  sealdrop setup s3://acme-backups --create --uploader arn:aws:iam::123456789012:user/backup-uploader
  # then attach the printed IAM policy to the uploader user and the bucket policy to the bucket,
  # or let setup attach the bucket policy to a bucket that has none:
  sealdrop setup s3://acme-backups --uploader arn:aws:iam::123456789012:user/backup-uploader --apply-bucket-policy`,
    )
    .action(async (target: string, options: SetupCliOptions) => {
      const [{ setupBucket }, { createS3Client }] = await Promise.all([
        import('../admin/setup.js'),
        import('../admin/s3-client.js'),
      ]);
      const { bucket } = parseS3Url(target, { requireKey: false });
      const client = createS3Client({ endpoint: options.endpoint, region: options.region });
      const result = await setupBucket(client, {
        bucket,
        create: options.create,
        uploaderArn: options.uploader,
        applyBucketPolicy: options.applyBucketPolicy,
      });
      result.warnings.forEach(warn);
      if (options.json) return printJson(result);
      say(
        `Bucket ${bucket}: ${result.created ? 'created, ' : ''}versioning enabled (verified)${result.bucketPolicyApplied ? ', write-only bucket policy attached' : ''}.`,
      );
      say('IAM user policy for the uploader (AWS; only s3:PutObject):');
      printJson(result.policies.iamUserPolicy);
      say(
        'Bucket policy (write-only uploader: explicit Deny of reads and deletes; the one Ceph RGW applies to POST):',
      );
      printJson(result.policies.bucketPolicy);
    });
}
