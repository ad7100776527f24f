// TARGET for the admin's read-side commands: s3://BUCKET/KEY, s3://BUCKET/PREFIX/, --policy FILE (its
// bucket and key or prefix), or --fleet FILE --host NAME (a host's, as ls and fleet status read the
// fleet); and the S3 client they use.
import type { S3Client } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import { SealdropError } from '../core/errors.js';
import type { Fleet, FleetHost } from '../core/fleet.js';
import { loadPolicyFile } from '../core/policy-file.js';
import { parseS3Url, type S3Location } from '../core/s3-url.js';
import { collect } from './args.js';
import { say, verboseLogger } from './output.js';
import { assertSignature } from './signature.js';

export interface ConnectionOptions {
  endpoint?: string;
  region?: string;
}

/** --fleet FILE --host NAME: a fleet host's backups (--host repeatable where several targets are taken). */
export interface FleetHostOptions {
  fleet?: string;
  host?: string | string[];
}

export interface TargetOptions extends ConnectionOptions, FleetHostOptions {
  policy?: string;
}

export interface TargetsOptions extends ConnectionOptions, FleetHostOptions {
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
  /** Set when the target is a fleet host's (--fleet, --host). */
  host?: string;
  /** A fleet host's recipient key files (--recipients names them by fingerprint). */
  recipients?: readonly string[];
  /** The fleet file's endpoint, the default for --endpoint. */
  endpoint?: string;
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

/**
 * Like withTarget, for commands that take several: [s3://BUCKET/KEY...] and a repeatable --policy;
 * `envPolicy`: SEALDROP_POLICY when none is named (see policiesOrEnv).
 */
export function withTargets(command: Command, { envPolicy = false } = {}): Command {
  return withConnection(
    command
      .argument('[s3://BUCKET/KEY...]', 'the backups: keys, or prefixes ending in /')
      .option(
        '--policy <FILE>',
        `take bucket and key from this policy file (repeatable${envPolicy ? '; else SEALDROP_POLICY' : ''})`,
        collect,
      ),
  );
}

/** SEALDROP_POLICY, the read side's target when the command line names none (empty: unset). */
function policyFromEnv(): string | undefined {
  return process.env.SEALDROP_POLICY || undefined;
}

/** A repeatable --policy as given, else SEALDROP_POLICY when the command line names no target (`named`). */
export function policiesOrEnv(policies: string[] | undefined, named: boolean): string[] | undefined {
  const fromEnv = policies || named ? undefined : policyFromEnv();
  return fromEnv === undefined ? policies : [fromEnv];
}

/** Adds --fleet and --host; `several`: --host is repeatable. */
export function withFleetHost(command: Command, { several = false } = {}): Command {
  command.option(
    '--fleet <FILE>',
    "with --host: take the host's key or prefix, the endpoint and the region from this fleet file",
  );
  return several
    ? command.option('--host <NAME>', "with --fleet: this host's backups (repeatable)", collect)
    : command.option('--host <NAME>', "with --fleet: this host's backups");
}

/**
 * The hosts --fleet and --host name, and their fleet (null: neither was given). The fleet file is read
 * as ls and fleet status read it; its endpoint and region are the defaults (see `hostTarget`).
 */
export async function fleetHosts(
  options: FleetHostOptions,
): Promise<{ fleet: Fleet; hosts: FleetHost[] } | null> {
  const names = [options.host ?? []].flat();
  if (options.fleet === undefined && names.length === 0) return null;
  if (options.fleet === undefined)
    throw new SealdropError('USAGE', '--host names a host of a fleet file: pass --fleet FILE too');
  if (names.length === 0)
    throw new SealdropError('USAGE', "--fleet needs --host NAME: which host's backups?", {
      hint: `\`sealdrop ls --fleet ${options.fleet}\` lists every host's; \`sealdrop fleet status ${options.fleet}\` checks them all.`,
    });
  const [{ readFleet }, { findHost }] = await Promise.all([
    import('../core/fleet-load.js'),
    import('../core/fleet-hosts.js'),
  ]);
  const fleet = await readFleet(options.fleet);
  return { fleet, hosts: names.map((name) => findHost(fleet, name)) };
}

/** A fleet host as a target: its key or prefix (a prefix is one run set), with the fleet's endpoint and region. */
export function hostTarget(fleet: Fleet, host: FleetHost): NamedTarget {
  return {
    location: host.location,
    whole: true,
    host: host.name,
    recipients: host.recipients,
    ...(fleet.endpoint === undefined ? {} : { endpoint: fleet.endpoint }),
    ...(fleet.region === undefined ? {} : { region: fleet.region }),
  };
}

export function withConnection(command: Command): Command {
  return command
    .option('--endpoint <URL>', 'S3 endpoint (else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS)')
    .option('--region <REGION>', 'AWS region (else AWS_REGION)');
}

export async function resolveTarget(url: string | undefined, options: TargetOptions): Promise<NamedTarget> {
  const named = await fleetHosts(options);
  if (named) {
    if (url !== undefined || options.policy !== undefined)
      throw new SealdropError(
        'USAGE',
        'name the backup either as s3://BUCKET/KEY, with --policy FILE or with --fleet FILE --host NAME, not several',
      );
    if (named.hosts.length > 1) throw new SealdropError('USAGE', 'name one host: --host NAME, once');
    return hostTarget(named.fleet, named.hosts[0]!);
  }
  const policy = options.policy ?? (url === undefined ? policyFromEnv() : undefined);
  if ((url === undefined) === (policy === undefined)) {
    throw new SealdropError(
      'USAGE',
      url === undefined
        ? 'name the backup as s3://BUCKET/KEY, s3://BUCKET/PREFIX/, with --policy FILE or with --fleet FILE --host NAME'
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

/**
 * The admin's S3 client. A policy's region is a better default than AWS_REGION: it was signed for it; a
 * fleet's endpoint and region are its hosts'.
 */
export async function adminClient(
  options: ConnectionOptions,
  targets: readonly NamedTarget[] = [],
): Promise<S3Client> {
  const { createS3Client } = await import('../admin/s3/client.js');
  return createS3Client({
    endpoint: options.endpoint ?? targets.find((t) => t.endpoint)?.endpoint,
    region: options.region ?? targets.find((t) => t.region)?.region,
    log: verboseLogger(),
  });
}

/** A WAL archive is a prefix: its files are named under it. */
export function walPrefix(url: string, option = '--wal'): S3Location {
  const location = parseS3Url(url);
  if (!location.isPrefix)
    throw new SealdropError('USAGE', `${option} ${url}: a WAL archive is a prefix, ending in /`, {
      hint: `Name the prefix that wal push's policy allows, e.g. ${option} s3://BUCKET/db1/wal/.`,
    });
  return location;
}
