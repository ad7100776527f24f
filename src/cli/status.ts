// sealdrop status TARGET... : a monitoring check (Nagios/Icinga plugin convention, also fine for cron).
import type { Command } from 'commander';
import { SealdropError } from '../core/errors.js';
import { parseDuration } from '../core/units.js';
import { collect } from './args.js';
import { asCheck, runCheck, type CheckOptions } from './check.js';
import { streamThresholds, withStreamOptions, type StreamCliOptions } from './stream-options.js';
import {
  adminClient,
  fleetHosts,
  hostTarget,
  policiesOrEnv,
  resolveTargets,
  walPrefix,
  withFleetHost,
  withTargets,
  type TargetsOptions,
} from './target.js';

interface StatusCliOptions extends TargetsOptions, CheckOptions, StreamCliOptions {
  maxAge: string;
  warnAge?: string;
  policyWarn: string;
  maxUnverifiedAge?: string;
  wal?: string[];
  walWarnAge: string;
  walMaxAge: string;
  walBaseAge: string;
}

/** What a fleet file sets per host: with --fleet these come from there. */
const THRESHOLD_OPTIONS = [
  'maxAge',
  'warnAge',
  'policyWarn',
  'maxUnverifiedAge',
  'walWarnAge',
  'walMaxAge',
  'walBaseAge',
  'warnShrink',
  'critShrink',
  'minSize',
  'growthFactor',
  'floodFactor',
  'anomalyWindow',
] as const;

export function registerStatusCommand(program: Command): void {
  asCheck(
    withStreamOptions(
      withFleetHost(
        withTargets(
          program
            .command('status')
            .description(
              'are backups arriving? latest age and size, counts, bucket checks; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN',
            ),
          { envPolicy: true },
        ),
        { several: true },
      ),
    ),
  )
    .option('-c, --max-age <DURATION>', 'CRITICAL when the latest complete backup is older', '26h')
    .option(
      '-w, --warn-age <DURATION>',
      'WARNING when the latest complete backup is older (default: no warning stage)',
    )
    .option(
      '--policy-warn <DURATION>',
      'WARNING when a --policy file expires within this (CRITICAL once expired)',
      '3d',
    )
    .option(
      '--max-unverified-age <DURATION>',
      'WARNING when the newest backup proven good (sealdrop verify) is older, or, none proven yet, the oldest backup (default: not judged; fleet status: maxAge + 7d)',
    )
    .option(
      '--wal <s3://BUCKET/PREFIX/>',
      'a PostgreSQL WAL archive to check as a chain: RPO, gaps, second versions (repeatable)',
      collect,
    )
    .option('--wal-warn-age <DURATION>', 'WARNING when the newest WAL segment is older (the RPO)', '5min')
    .option('--wal-max-age <DURATION>', 'CRITICAL when the newest WAL segment is older', '15min')
    .option(
      '--wal-base-age <DURATION>',
      "WARNING when a WAL archive's newest base backup (its .backup history file) is older",
      '8d',
    )
    .addHelpText(
      'after',
      `
Output is a monitoring plugin's: one line "SEALDROP STATE - summary | perfdata" on stdout, then a line
per target (several) and per bucket. Perfdata per target: age in seconds (with --warn-age and
--max-age as warn and crit), the latest backup's size in bytes, the number of complete backups.
A key is one backup set; a prefix that holds runs is one; any other prefix, or the bucket itself
(s3://BUCKET/), is every backup set under it, and every WAL archive (recognised by its files' names;
name yours with --wal, below).
Only complete backups count. CRITICAL: the latest is older than --max-age, the key's latest version is
a delete marker, nothing complete at all, a policy file has expired, or the bucket's versioning is not
Enabled. WARNING: past --warn-age, a newer run that stored nothing for an hour, broken runs, a policy
expiring within --policy-warn, lifecycle rules that expire versions. Object Lock is reported.
The backup stream is judged too, since a compromised host can push junk no content check catches:
the latest backup shrank against the median of the ones before it (WARNING at --warn-shrink,
CRITICAL at --crit-shrink or under --min-size), or came far sooner than usual (a flood: WARNING),
judged against the stream as pushed (what prune removed is remembered). What \`sealdrop verify\`
proved is read too: a backup it REJECTED is CRITICAL until \`sealdrop ack\`; the backups not proven yet
are counted. With --max-unverified-age the proofs are watched: WARNING when the newest backup proven
good is older, or, none proven good yet, the oldest backup (or the oldest prune removed) is: a new set
has that long for its first proof.
UNKNOWN: nothing stored there, S3 can't be reached or refuses, an option or policy file can't be read.
With several targets the worst state wins (CRITICAL > UNKNOWN > WARNING > OK).
--format prometheus prints the same results as metrics (node_exporter's textfile collector).
WAL archives (--wal PREFIX, named as such: a listing can't tell an empty or junk-filled archive from
something else): the RPO is the age of the newest segment (WARNING past --wal-warn-age, CRITICAL past
--wal-max-age; set archive_timeout = 60s so a quiet database still archives every minute). CRITICAL: a
segment missing since the oldest base backup's start (its .backup history file), a file stored twice
with differing sizes (the read side takes the first: a forgery or a bug). WARNING: a file stored twice
at the same size (a re-upload), the newest base backup older than --wal-base-age, none at all.
--fleet FILE --host NAME (repeatable) checks those hosts as \`sealdrop fleet status FILE\` does: each
by its own thresholds in the fleet file (so not with -w/-c and the other threshold options), its
policy's expiry from the fleet's policy directory, its WAL archive (wal:) too, and the fleet's endpoint.
Durations: s, min, h, d, w (26h, 90min, 1d12h).

Examples:
  sealdrop status s3://acme-backups/db1/mysql.sql.gz.gpg s3://acme-backups/db2/
  sealdrop status --policy db1.policy.json --policy db2.policy.json --max-age 26h --warn-age 25h
  sealdrop status s3://acme-backups/                  # every backup set in the bucket
  sealdrop status --policy db1.policy.json --max-unverified-age 8d   # with a weekly restore drill
  sealdrop status s3://acme-backups/db1/base/ --max-age 8d --wal s3://acme-backups/db1/wal/
  sealdrop status --wal s3://acme-backups/db1/wal/ --wal-warn-age 3min --wal-max-age 10min
  sealdrop status --fleet fleet.yaml --host db1 --host db2   # judged as fleet status does
  # the exit status is the state (2: CRITICAL), so the file is moved in whatever it is:
  cd /var/lib/prometheus/node-exporter && \\
    sealdrop status s3://acme-backups/ --format prometheus > sealdrop.prom.tmp; \\
    mv sealdrop.prom.tmp sealdrop.prom
  # Icinga 2 / Nagios, with the plugins' usual -w/-c (the ages for WARNING and CRITICAL):
  #   command_line = "sealdrop status --policy $policy$ -w 25h -c 26h"`,
    )
    .action(async (urls: string[], options: StatusCliOptions, command: Command) => {
      await runCheck(options, async () => {
        const named = await fleetHosts(options);
        if (named) {
          if (urls.length > 0 || options.policy || options.wal)
            throw new SealdropError(
              'USAGE',
              'name the backups either as TARGETs/--policy/--wal or with --fleet FILE --host NAME, not both',
            );
          const given = THRESHOLD_OPTIONS.filter((name) => command.getOptionValueSource(name) === 'cli');
          if (given.length > 0)
            throw new SealdropError(
              'USAGE',
              `with --fleet, each host is judged by its own thresholds in the fleet file: drop ${given.map((name) => flagOf(command, name)).join(', ')}`,
              { hint: 'Change maxAge, warnAge and the others in the fleet file (defaults:, or the host).' },
            );
          const { fleetStatus } = await import('../admin/backups/fleet.js');
          const fleet = { ...named.fleet, hosts: named.hosts };
          return fleetStatus(await adminClient(options, [hostTarget(fleet, named.hosts[0]!)]), fleet);
        }
        const thresholds = {
          maxAgeMs: parseDuration(options.maxAge, '--max-age'),
          warnAgeMs: options.warnAge === undefined ? null : parseDuration(options.warnAge, '--warn-age'),
          policyWarnMs: parseDuration(options.policyWarn, '--policy-warn'),
          anomaly: streamThresholds(options),
          maxUnverifiedAgeMs:
            options.maxUnverifiedAge === undefined
              ? null
              : parseDuration(options.maxUnverifiedAge, '--max-unverified-age'),
          wal: {
            warnAgeMs: parseDuration(options.walWarnAge, '--wal-warn-age'),
            maxAgeMs: parseDuration(options.walMaxAge, '--wal-max-age'),
            baseAgeMs: parseDuration(options.walBaseAge, '--wal-base-age'),
          },
        };
        const wal = (options.wal ?? []).map((url) => ({ location: walPrefix(url), wal: true }));
        // As every read-side command: SEALDROP_POLICY when nothing is named (a --wal archive is named).
        const policy = policiesOrEnv(options.policy, urls.length > 0 || wal.length > 0);
        const sets =
          wal.length > 0 && urls.length === 0 && !policy
            ? []
            : await resolveTargets(urls, { ...options, policy }, { bucketRoot: true });
        const targets = [...sets, ...wal];
        const { status } = await import('../admin/backups/status.js');
        return status(await adminClient(options, sets), targets, thresholds);
      });
    });
}

function flagOf(command: Command, attribute: string): string {
  return command.options.find((option) => option.attributeName() === attribute)?.long ?? attribute;
}
