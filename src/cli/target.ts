// TARGET for the admin's read-side commands: s3://BUCKET/KEY, or --policy FILE (its bucket and key).
import type { Command } from 'commander';
import type { S3ClientOptions } from '../admin/s3-client.js';
import { SealdropError } from '../core/errors.js';
import { loadPolicyFile } from '../core/policy-file.js';
import { parseS3Url, type S3Location } from '../core/s3-url.js';
import { collect } from './args.js';
import { warn } from './output.js';
import { assertSignature } from './signature.js';

export interface TargetOptions {
  policy?: string;
  endpoint?: string;
  region?: string;
}

export interface TargetsOptions {
  policy?: string[];
  endpoint?: string;
  region?: string;
}

export interface Target extends S3ClientOptions {
  location: S3Location;
  /** Set when the target came from a policy file. */
  policyExpiresAt?: Date;
}

/** Adds [s3://BUCKET/KEY], --policy, --endpoint and --region to a command. */
export function withTarget(command: Command): Command {
  return withConnection(
    command
      .argument('[s3://BUCKET/KEY]', 'the backup key, or a prefix ending in / (runs)')
      .option('--policy <FILE>', 'take bucket and key from this policy file instead'),
  );
}

/** Like withTarget, for commands that take several: [s3://BUCKET/KEY...] and a repeatable --policy. */
export function withTargets(command: Command): Command {
  return withConnection(
    command
      .argument('[s3://BUCKET/KEY...]', 'the backup keys')
      .option('--policy <FILE>', 'take bucket and key from this policy file (repeatable)', collect),
  );
}

function withConnection(command: Command): Command {
  return command
    .option('--endpoint <URL>', 'S3 endpoint (else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS)')
    .option('--region <REGION>', 'AWS region (else AWS_REGION)');
}

export async function resolveTarget(url: string | undefined, options: TargetOptions): Promise<Target> {
  if ((url === undefined) === (options.policy === undefined)) {
    throw new SealdropError(
      'USAGE',
      'name the backup either as s3://BUCKET/KEY or with --policy FILE (one of them)',
    );
  }
  return url !== undefined ? fromUrl(url, options) : (await fromPolicies([options.policy!], options))[0]!;
}

export async function resolveTargets(urls: string[], options: TargetsOptions): Promise<Target[]> {
  const policies = options.policy ?? [];
  if (urls.length + policies.length === 0) {
    throw new SealdropError(
      'USAGE',
      'name at least one backup: s3://BUCKET/KEY arguments and/or --policy FILE options',
    );
  }
  return [...urls.map((url) => fromUrl(url, options)), ...(await fromPolicies(policies, options))];
}

function fromUrl(url: string, options: S3ClientOptions): Target {
  return { location: parseS3Url(url), endpoint: options.endpoint, region: options.region };
}

/** Policy files whose signature fails are refused; those that can't be checked get one warning. */
async function fromPolicies(paths: string[], options: S3ClientOptions): Promise<Target[]> {
  const targets: Target[] = [];
  const unchecked: string[] = [];
  for (const path of paths) {
    const loaded = await loadPolicyFile(path);
    const reason = await assertSignature(loaded, path);
    if (reason !== null) unchecked.push(`${path} (${reason})`);
    const { summary } = loaded;
    // The policy was signed for the bucket's region: a better default than AWS_REGION.
    targets.push({
      location: summary.location,
      policyExpiresAt: summary.expiresAt,
      endpoint: options.endpoint,
      region: options.region ?? summary.region,
    });
  }
  if (unchecked.length > 0)
    warn(
      `can't check the signature of ${unchecked.join(', ')}: trusting its bucket and key as written. Run with the signer's credentials to check (sealdrop policy show FILE).`,
    );
  return targets;
}
