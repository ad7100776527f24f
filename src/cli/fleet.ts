// sealdrop fleet check | mint | publish | status | prune
import { plural } from '../core/words.js';
import type { Command } from 'commander';
import type { HostPrune } from '../admin/backups/fleet.js';
import type { FleetPolicyOptions } from '../admin/policies/fleet.js';
import { EXIT, SealdropError } from '../core/errors.js';
import type { Fleet } from '../core/fleet.js';
import type { LoadedFleet } from '../core/fleet-load.js';
import { formatS3Url } from '../core/s3-url.js';
import { formatBytes, formatDuration } from '../core/units.js';
import { collect } from './args.js';
import { asCheck, runCheck, type CheckOptions } from './check.js';
import {
  columns,
  errorJson,
  printJson,
  printableLine,
  printLines,
  say,
  verboseLogger,
  warn,
} from './output.js';
import { withProgress } from './progress.js';
import { registerFleetRevoke } from './revoke.js';
import { describe, failuresOf, outcome, pruneJson } from './prune-plan-output.js';
import { registerFleetVerify } from './fleet-verify.js';
import { changeSigner, SIGNING_HELP, withSigning, type SigningOptions } from './sign-with.js';

interface FleetCliOptions extends SigningOptions {
  outDir?: string;
  json?: boolean;
}

export function registerFleetCommands(program: Command): void {
  const fleet = program
    .command('fleet')
    .description(
      'many hosts from one fleet file: check it, mint their policies, publish their renewals, check and prune their backups, cut one off',
    )
    .addHelpText(
      'after',
      `
Examples:
  sealdrop fleet check fleet.yaml
  sealdrop fleet mint fleet.yaml --out-dir policies      # policies/HOST.policy.json: one per host
  sealdrop fleet publish fleet.yaml                      # daily, from the admin's cron
  sealdrop fleet status fleet.yaml                       # one monitoring check for every host
  sealdrop fleet prune fleet.yaml --yes                  # every host's retention
  sealdrop fleet revoke fleet.yaml db7 --yes             # cut db7 off now (unrevoke undoes it)`,
    );

  registerFleetCheck(fleet);
  registerFleetMint(fleet);
  registerFleetPublish(fleet);
  registerFleetStatus(fleet);
  registerFleetPrune(fleet);
  registerFleetVerify(fleet);
  registerFleetRevoke(fleet);
}

function registerFleetCheck(fleet: Command): void {
  fleet
    .command('check')
    .description('validate a fleet file, read every recipient key, refuse overlapping hosts, find the bucket')
    .argument('<FILE>', 'fleet file (YAML or JSON)')
    .option('--offline', "don't ask S3 whether the bucket exists")
    .option('--json', 'print the hosts and their settings as JSON on stdout')
    .addHelpText(
      'after',
      `
Refuses (exit 2, naming the file, line, host and field) a YAML error (with its column), a schema error,
an unreadable or unusable recipient key, two hosts whose keys or prefixes overlap (naming both: either
could write into the other's backups), a host that would cover sealdrop's own .sealdrop/ area, and a
key whose suffix names another compression than the host's compress (.zst.gpg is zstd, .gz.gpg gzip).
With AWS credentials at hand, asks S3 whether the bucket exists (HeadBucket at the fleet's endpoint):
a misspelled bucket is refused (exit 2), an unreachable endpoint fails (exit 1); without credentials,
or with --offline, it says it skipped that. Prints one line per host.

Examples:
  sealdrop fleet check /etc/sealdrop/fleet.yaml
  sealdrop fleet check fleet.yaml --offline        # on a machine without credentials`,
    )
    .action(async (file: string, options: FleetCliOptions & { offline?: boolean }) => {
      const loaded = await load(file);
      const bucket = options.offline ? 'not checked (--offline)' : await bucketFound(file, loaded);
      if (options.json) printJson({ ...fleetJson(loaded), bucketCheck: bucket });
      else printLines(hostTable(loaded));
      say(
        `${file}: ${plural(loaded.hosts.length, 'host')} in s3://${loaded.bucket} (${bucket}), ${plural(loaded.keys.size, 'recipient key')}, no overlaps`,
      );
    });
}

/** Whether the fleet's bucket exists, in a few words; a missing one is the fleet file's error. */
async function bucketFound(file: string, fleet: Fleet): Promise<string> {
  const { probeBucket } = await import('../admin/s3/bucket-probe.js');
  const { resolveEndpoint } = await import('../admin/s3/client.js');
  const probe = await probeBucket(await clientFor(fleet), fleet.bucket);
  const where = resolveEndpoint(fleet.endpoint) ?? 'AWS';
  if (probe.state === 'skipped') {
    warn(`did not check that s3://${fleet.bucket} exists: ${probe.reason}`);
    return 'not checked: no credentials';
  }
  if (probe.state === 'missing')
    throw new SealdropError(
      'FLEET_INVALID',
      `${file}: bucket: s3://${fleet.bucket} does not exist at ${where} (HeadBucket answered 404 to ${probe.accessKeyId})`,
      {
        hint: 'Check the spelling of bucket: and the endpoint in the fleet file; `sealdrop setup s3://BUCKET --create` makes a new bucket.',
      },
    );
  if (probe.state === 'denied') {
    warn(
      `s3://${fleet.bucket} exists at ${where}, but ${probe.accessKeyId} may not look at it (HeadBucket answered 403): check the bucket with the admin's credentials`,
    );
    return 'exists';
  }
  return 'found';
}

function registerFleetMint(fleet: Command): void {
  const command = fleet
    .command('mint')
    .description(
      "write every host's policy file (HOST.policy.json, 0600); rewrites only what changed or is due",
    )
    .argument('<FILE>', 'fleet file (YAML or JSON)')
    .option('--out-dir <DIR>', 'the policy directory (default: policyDir in the fleet file)')
    .option('--json', 'print what was written as JSON on stdout');
  withSigning(command)
    .addHelpText(
      'after',
      `
Idempotent: a host's file is written when it is missing, rewritten when it no longer matches the fleet
file (key, endpoint, recipients, ACL, sizes, compression, expiry, renewal window, signer) or is due (in
its renewal window, or expired), and kept otherwise. Each line says which, and why. Every host is
minted before any file is written: one that can't be (exit 2, naming it) leaves every file as it was.
The directory is the fleet's state: the files name each host's renewal location, which fleet publish
keeps using, so keep it. compress (per host or in defaults) is recorded in the policy: a key ending in
.zst.gpg is zstd without it (its hosts need Node.js 22.15 or later to push).

Signs offline with the standard AWS chain (the admin's credentials): the POST policies and the
presigned renewal URLs. A new host gets its file installed once, by hand; after that fleet publish
renews it without touching the host.

${SIGNING_HELP}

Examples:
  sealdrop fleet mint fleet.yaml --out-dir /etc/sealdrop/policies
  scp /etc/sealdrop/policies/db1.policy.json db1:/etc/sealdrop/policy.json
  sealdrop fleet mint fleet.yaml --sign-with ~/.sealdrop/admin.key.asc   # after adding a recipient`,
    )
    .action(async (file: string, options: FleetCliOptions) => {
      const { mintFleet } = await import('../admin/policies/fleet.js');
      const { result, outDir } = await sign(file, options, mintFleet);
      for (const host of result.hosts) {
        const why = host.reasons.length
          ? host.reasons.join('; ')
          : host.action === 'written'
            ? 'no policy file yet'
            : 'as the fleet file says; not due';
        say(`${host.action.padEnd(9)} ${host.path}: expires ${host.expiresAt} (${why})`);
      }
      const count = (action: string) => result.hosts.filter((host) => host.action === action).length;
      say(`${count('written')} written, ${count('rewritten')} rewritten, ${count('kept')} kept in ${outDir}`);
    });
}

function registerFleetPublish(fleet: Command): void {
  const command = fleet
    .command('publish')
    .description("mint each host's next policy and upload it to the host's renewal location (the daily cron)")
    .argument('<FILE>', 'fleet file (YAML or JSON)')
    .option('--out-dir <DIR>', 'the policy directory (default: policyDir in the fleet file)')
    .option('--json', 'print what was published as JSON on stdout');
  withSigning(command)
    .addHelpText(
      'after',
      `
Each host's successor goes to its own object under s3://BUCKET/.sealdrop/renew/ (the name in its
policy file, unguessable), and the copy in the policy directory is updated. Every push in the last
part of a policy's life (renewWindow, default half of expires) fetches it and replaces its policy file.
Needs the admin's credentials (write and read .sealdrop/renew/, read the bucket policy): they also
sign the renewal URLs, so they must be allowed s3:GetObject on .sealdrop/renew/* (the uploader is
not). Each URL is fetched back as its host will (no credentials): one that doesn't answer 200 with the
policy just uploaded fails that host, naming the HTTP status and S3's error code, and that upload is
undone. A host revoked in the bucket policy (fleet revoke) is skipped and its successor removed. Exit 1
when a host failed, or the bucket policy can't be read; the others are published. A host without a
copy yet gets one: install it on the host once.

Recommended: policies of 7 days (expires: 7d), publish daily. If the cron stops, pushes warn from
the middle of each policy's life and keep working until it expires.

${SIGNING_HELP}

Examples:
  # the admin's crontab, daily at 06:00:
  0 6 * * * sealdrop fleet publish /etc/sealdrop/fleet.yaml --json > /var/log/sealdrop-publish.json
  sealdrop fleet publish fleet.yaml --sign-with gpg:ops@example.com   # a rotation, signed by gpg`,
    )
    .action(async (file: string, options: FleetCliOptions) => {
      const { publishFleet } = await import('../admin/policies/fleet.js');
      const { result, loaded } = await sign(file, options, publishFleet);
      for (const host of result.hosts)
        say(
          `published ${host.host} (expires ${host.expiresAt})${host.firstPolicy ? `: a first policy, install ${host.path} on the host` : ''}`,
        );
      for (const skipped of result.skipped) say(`skipped ${skipped.host}: ${skipped.reason}`);
      for (const failure of result.failures) {
        warn(`${failure.host} was not published: ${failure.message}`);
        process.stderr.write(`  hint: ${printableLine(failure.hint)}\n`);
      }
      const skipped = result.skipped.length ? `, ${result.skipped.length} skipped (revoked)` : '';
      say(`${result.hosts.length} published${skipped}, ${result.failures.length} failed`);
      if (result.failures.length > 0)
        throw new SealdropError(
          'FAILED',
          `${result.failures.length} of ${loaded.hosts.length} hosts were not published`,
        );
    });
}

function registerFleetStatus(fleet: Command): void {
  asCheck(
    fleet
      .command('status')
      .description("every host's backups against its own thresholds, as one monitoring check (exit 0/1/2/3)")
      .argument('<FILE>', 'fleet file (YAML or JSON)'),
  )
    .addHelpText(
      'after',
      `
A monitoring plugin's output: "SEALDROP STATE - summary | perfdata" (worst state wins), then a line
per host and per bucket, and a perfdata set per host (HOST_age in seconds against the host's warnAge
and maxAge, HOST_size in bytes, HOST_backups). Each host is judged with its own maxAge, warnAge and
policyWarn (its copy in policyDir gives the policy's expiry). A host with nothing stored is CRITICAL
("never backed up"). The bucket's versioning, lifecycle rules and Object Lock are checked once.
A host still on a policy that expires within its policyWarn, though an earlier backup was pushed with
it in its renewal window, is a WARNING: its latest backup names the policy it was pushed with
(fleet policies bind their expiry into what they upload), so a host that can't renew is seen even
when the admin's copy is current.
The proofs are watched: a host whose newest backup proven good (fleet verify) is older than its
maxUnverifiedAge (default its maxAge and a week: a weekly drill; off: not judged), or with none proven
while its oldest backup (or the oldest prune removed) is, is a WARNING: the drill stopped, or never
started.
A host's WAL archive (wal: in the fleet file) gets a line and perfdata of its own (HOST_rpo against
walWarnAge and walMaxAge, HOST_missing_segments, …), judged as sealdrop status --wal judges it.
--format prometheus prints the same as metrics with a host label; --json one document.

Examples:
  sealdrop fleet status fleet.yaml
  # the exit status is the state (2: CRITICAL), so the file is moved in whatever it is:
  cd /var/lib/prometheus/node-exporter && \\
    sealdrop fleet status /etc/sealdrop/fleet.yaml --format prometheus > sealdrop.prom.tmp; \\
    mv sealdrop.prom.tmp sealdrop.prom`,
    )
    .action(async (file: string, options: CheckOptions) => {
      await runCheck(options, async () => {
        const { fleet, client } = await readSide(file);
        const { fleetStatus } = await import('../admin/backups/fleet.js');
        return fleetStatus(client, fleet);
      });
    });
}

function registerFleetPrune(fleet: Command): void {
  fleet
    .command('prune')
    .description(
      "apply each host's retention (keep in the fleet file): one plan per host, a dry run unless --yes",
    )
    .argument('<FILE>', 'fleet file (YAML or JSON)')
    .option('--yes', 'delete what the plans remove (without it: a dry run that prints every plan)')
    .option('--force', "allow plans that remove more than half of a host's backups")
    .option('--delete-markers', 'remove delete markers too (they are kept and listed otherwise)')
    .option('--tz <ZONE>', "time zone for days, weeks, months (IANA name; default this machine's)")
    .option('--host <NAME>', 'only this host (repeatable); a name not in the fleet file is refused', collect)
    .option('--json', 'print every plan (and what was deleted) as one JSON document on stdout')
    .addHelpText(
      'after',
      `
Each host is pruned by its own keep rules (defaults.keep, or the host's), with the guards of
sealdrop prune: the newest backup is kept, incomplete runs while they may still be running, delete
markers unless --delete-markers, and a plan that removes more than half of a host's backups is
refused for that host without --force. Hosts without keep rules are skipped. A host that fails or is
refused is reported and the others go on (exit 1). A host with a WAL archive (wal:) loses the WAL
only its removed base backups needed, as sealdrop prune --wal.

Examples:
  sealdrop fleet prune fleet.yaml                 # every host's plan, nothing deleted
  sealdrop fleet prune fleet.yaml --yes
  sealdrop fleet prune fleet.yaml --host db7 --yes   # one host, by the fleet file's rules`,
    )
    .action(async (file: string, options: FleetPruneCliOptions) => {
      const { fleet, client } = await readSide(file);
      const { fleetPrune } = await import('../admin/backups/fleet.js');
      const outcomes = await withProgress({ off: options.json }, (progress, signal) =>
        fleetPrune(client, fleet, {
          timeZone: options.tz,
          deleteMarkers: options.deleteMarkers,
          execute: Boolean(options.yes),
          force: options.force,
          ...(options.host ? { hosts: options.host } : {}),
          signal,
          onProgress: (host, deleted, total) =>
            progress.update(`${host}: deleted object versions:`, deleted, total),
        }),
      );
      reportFleetPrune(outcomes, options);
    });
}

interface FleetPruneCliOptions {
  yes?: boolean;
  force?: boolean;
  deleteMarkers?: boolean;
  tz?: string;
  host?: string[];
  json?: boolean;
}

/** Every host's plan through prune's own renderer; failures and refusals named; exit 1 if any. */
function reportFleetPrune(outcomes: HostPrune[], options: FleetPruneCliOptions): void {
  const results = outcomes.flatMap((o) => ('result' in o ? [o.result] : []));
  new Set(results.flatMap((r) => r.plan.warnings)).forEach(warn);
  if (options.json)
    printJson({
      dryRun: !options.yes,
      hosts: outcomes.map((o) =>
        'result' in o
          ? { host: o.host, ...pruneJson(o.result) }
          : 'skipped' in o
            ? { host: o.host, skipped: o.skipped }
            : { host: o.host, ...errorJson(o.error) },
      ),
    });
  else
    for (const o of outcomes) {
      if ('result' in o) printLines(blankAfter(describe(o.result, `${o.host} ${o.result.target}`)));
      else if ('skipped' in o) printLines([`${o.host}: skipped (${o.skipped})`, '']);
    }
  for (const o of outcomes) {
    if ('error' in o)
      warn(`${o.host} was not pruned: ${o.error.message}${o.error.hint ? `; ${o.error.hint}` : ''}`);
    if ('result' in o && !o.result.dryRun) say(`${o.host}: ${outcome(o.result)}`);
    if ('result' in o && failuresOf(o.result) > 0)
      warn(`${o.host}: ${failuresOf(o.result)} object version(s) could not be deleted and remain`);
  }
  const failed = outcomes.filter((o) => 'error' in o || ('result' in o && failuresOf(o.result) > 0));
  const skipped = outcomes.filter((o) => 'skipped' in o).length;
  say(
    `${plural(results.length, 'host')} ${options.yes ? 'pruned' : 'planned'}, ${skipped} skipped, ${failed.length} failed${failed.length ? `: ${failed.map((o) => o.host).join(', ')}` : ''}`,
  );
  if (failed.length > 0) process.exitCode = EXIT.failed;
  if (results.some((r) => r.interrupted)) process.exitCode = EXIT.sigint;
}

/** What fleet status and prune read: the hosts (not their key files) and a client for the fleet's store. */
async function readSide(file: string) {
  const { readFleet } = await import('../core/fleet-load.js');
  const fleet = await readFleet(file);
  return { fleet, client: await clientFor(fleet) };
}

async function clientFor(fleet: Fleet) {
  const { createS3Client } = await import('../admin/s3/client.js');
  return createS3Client({ endpoint: fleet.endpoint, region: fleet.region, log: verboseLogger() });
}

/** The fleet module (and its YAML parser) loads on use: push, which shares this executable, needs neither. */
async function load(file: string): Promise<LoadedFleet> {
  const { loadFleet } = await import('../core/fleet-load.js');
  return loadFleet(file);
}

/** Mint and publish alike: sign each host's next policy into the policy directory, warn, print --json. */
async function sign<R extends { warnings: string[] }>(
  file: string,
  options: FleetCliOptions,
  step: (
    client: Awaited<ReturnType<typeof clientFor>>,
    fleet: LoadedFleet,
    options: FleetPolicyOptions,
  ) => Promise<R>,
) {
  const loaded = await load(file);
  const outDir = options.outDir ?? loaded.policyDir;
  if (outDir === undefined)
    throw new SealdropError(
      'USAGE',
      'no policy directory: pass --out-dir DIR or set policyDir in the fleet file',
    );
  const signer = options.signWith === undefined ? undefined : await changeSigner(options.signWith, options);
  const result = await step(await clientFor(loaded), loaded, { outDir, ...(signer ? { signer } : {}) });
  result.warnings.forEach(warn);
  if (options.json) printJson(result);
  return { result, loaded, outDir };
}

function hostTable(fleet: LoadedFleet): Iterable<string> {
  return columns(['host', 'backup', 'compress', 'expires', 'renew in last', 'max size', 'max age'], () =>
    fleet.hosts.map((host) => [
      host.name,
      formatS3Url(host.location),
      host.settings.compress ?? 'gzip',
      formatDuration(host.settings.expires),
      formatDuration(host.settings.renewWindow),
      formatBytes(host.settings.maxSize),
      formatDuration(host.settings.maxAge),
    ]),
  );
}

function fleetJson(fleet: LoadedFleet) {
  return {
    bucket: fleet.bucket,
    endpoint: fleet.endpoint ?? null,
    region: fleet.region ?? null,
    policyDir: fleet.policyDir ?? null,
    recipients: [...fleet.keys].map(([file, key]) => ({ file, fingerprint: key.fingerprint })),
    hosts: fleet.hosts.map((host) => ({
      name: host.name,
      bucket: host.location.bucket,
      [host.location.isPrefix ? 'prefix' : 'key']: host.location.key,
      recipients: host.recipients,
      settings: host.settings,
    })),
  };
}

function* blankAfter(lines: Iterable<string>): Generator<string> {
  yield* lines;
  yield '';
}
