// TARGET for the admin's read-side commands: s3://BUCKET/KEY, s3://BUCKET/PREFIX/, or --policy FILE (its
// bucket and key or prefix); and the S3 client they use.
import type { S3Client } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import { SealdropError } from '../core/errors.js';
import { loadPolicyFile } from '../core/policy-file.js';
import { parseS3Url, type S3Location } from '../core/s3-url.js';
import { collect } from './args.js';
import { say, verboseLogger } from './output.js';
import { assertSignature } from './signature.js';

export interface ConnectionOptions {
  endpoint?: string;
  region?: string;
}

export interface TargetOptions extends ConnectionOptions {
  policy?: string;
}

export interface TargetsOptions extends ConnectionOptions {
  policy?: string[];
}

/** A backup set as the command line names it: an s3:// URL, or a policy file (with what it says). */
export interface NamedTarget {
  location: S3Location;
  /** Set when the target came from a policy file. */
  policyExpiresAt?: Date;
  /** The region the policy was signed for, if it came from one. */
  region?: string;
  /** A policy's prefix is one run set, whatever else lies under it. */
  whole?: boolean;
}

/** Adds [s3://BUCKET/KEY], --policy, --endpoint and --region to a command. */
export function withTarget(command: Command): Command {
  return withConnection(
    command
      .argument('[s3://BUCKET/KEY]', 'the backup: one key, or a prefix ending in / (runs)')
      .option(
        '--policy <FILE>',
        'take bucket and key (or prefix) from this policy file (else SEALDROP_POLICY)',
      ),
  );
}

/** Like withTarget, for commands that take several: [s3://BUCKET/KEY...] and a repeatable --policy. */
export function withTargets(command: Command): Command {
  return withConnection(
    command
      .argument('[s3://BUCKET/KEY...]', 'the backups: keys, or prefixes ending in /')
      .option('--policy <FILE>', 'take bucket and key from this policy file (repeatable)', collect),
  );
}

export function withConnection(command: Command): Command {
  return command
    .option('--endpoint <URL>', 'S3 endpoint (else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS)')
    .option('--region <REGION>', 'AWS region (else AWS_REGION)');
}

export async function resolveTarget(url: string | undefined, options: TargetOptions): Promise<NamedTarget> {
  const policy = options.policy ?? (url === undefined ? process.env.SEALDROP_POLICY || undefined : undefined);
  if ((url === undefined) === (policy === undefined)) {
    throw new SealdropError(
      'USAGE',
      url === undefined
        ? 'name the backup as s3://BUCKET/KEY, s3://BUCKET/PREFIX/ or with --policy FILE'
        : 'name the backup either as s3://BUCKET/KEY or with --policy FILE, not both',
    );
  }
  return url !== undefined ? { location: parseS3Url(url) } : (await fromPolicies([policy!], options))[0]!;
}

/** `bucketRoot`: s3://BUCKET/ names every set in the bucket (status). */
export async function resolveTargets(
  urls: string[],
  options: TargetsOptions,
  { bucketRoot = false } = {},
): Promise<NamedTarget[]> {
  const policies = options.policy ?? [];
  if (urls.length + policies.length === 0) {
    throw new SealdropError(
      'USAGE',
      'name at least one backup: s3://BUCKET/KEY arguments and/or --policy FILE options',
    );
  }
  return [
    ...urls.map((url) => ({ location: parseS3Url(url, { requireKey: !bucketRoot }) })),
    ...(await fromPolicies(policies, options)),
  ];
}

/** Policy files whose signature fails are refused; those that can't be checked get one warning. */
async function fromPolicies(paths: string[], connection: ConnectionOptions): Promise<NamedTarget[]> {
  const targets: NamedTarget[] = [];
  const unchecked: string[] = [];
  for (const path of paths) {
    const loaded = await loadPolicyFile(path);
    const reason = await assertSignature(loaded, path, connection);
    if (reason !== null) unchecked.push(`${path} (${reason})`);
    const { summary } = loaded;
    targets.push({
      location: summary.location,
      policyExpiresAt: summary.expiresAt,
      region: summary.region,
      whole: true,
    });
  }
  // A note, silent with -q: with the README's split (the uploader signs, the admin reads) it is true on
  // every run, and cron would mail it every night. `policy show` and `fleet check` check signatures.
  if (unchecked.length > 0)
    say(
      `sealdrop: note: can't check the signature of ${unchecked.join(', ')}: trusting its bucket and key as written. Run with the signer's credentials to check (sealdrop policy show FILE).`,
    );
  return targets;
}

/** The admin's S3 client. A policy's region is a better default than AWS_REGION: it was signed for it. */
export async function adminClient(
  options: ConnectionOptions,
  targets: readonly NamedTarget[] = [],
): Promise<S3Client> {
  const { createS3Client } = await import('../admin/s3/client.js');
  return createS3Client({
    endpoint: options.endpoint,
    region: options.region ?? targets.find((t) => t.region)?.region,
    log: verboseLogger(),
  });
}
