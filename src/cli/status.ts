// sealdrop status TARGET... : a monitoring check (Nagios/Icinga plugin convention, also fine for cron).
import type { Command } from 'commander';
import { parseDuration } from '../core/units.js';
import { asCheck, runCheck, type CheckOptions } from './check.js';
import { streamThresholds, withStreamOptions, type StreamCliOptions } from './stream-options.js';
import { adminClient, resolveTargets, withTargets, type TargetsOptions } from './target.js';

interface StatusCliOptions extends TargetsOptions, CheckOptions, StreamCliOptions {
  maxAge: string;
  warnAge?: string;
  policyWarn: string;
  maxUnverifiedAge?: string;
}

export function registerStatusCommand(program: Command): void {
  asCheck(
    withStreamOptions(
      withTargets(
        program
          .command('status')
          .description(
            'are backups arriving? latest age and size, counts, bucket checks; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN',
          ),
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
      'WARNING when the newest backup proven good (sealdrop verify) is older (default: not judged)',
    )
    .addHelpText(
      'after',
      `
Output is a monitoring plugin's: one line "SEALDROP STATE - summary | perfdata" on stdout, then a line
per target (several) and per bucket. Perfdata per target: age in seconds (with --warn-age and
--max-age as warn and crit), the latest backup's size in bytes, the number of complete backups.
A key is one backup set; a prefix that holds runs is one; any other prefix, or the bucket itself
(s3://BUCKET/), is every backup set under it.
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
good is older, or none is.
UNKNOWN: nothing stored there, S3 can't be reached or refuses, an option or policy file can't be read.
With several targets the worst state wins (CRITICAL > UNKNOWN > WARNING > OK).
--format prometheus prints the same results as metrics (node_exporter's textfile collector).
Durations: s, min, h, d, w (26h, 90min, 1d12h).

Examples:
  sealdrop status s3://acme-backups/db1/mysql.sql.gz.gpg s3://acme-backups/db2/
  sealdrop status --policy db1.policy.json --policy db2.policy.json --max-age 26h --warn-age 25h
  sealdrop status s3://acme-backups/                  # every backup set in the bucket
  sealdrop status --policy db1.policy.json --max-unverified-age 8d   # with a weekly restore drill
  # the exit status is the state (2: CRITICAL), so the file is moved in whatever it is:
  sealdrop status s3://acme-backups/ --format prometheus > /var/lib/prometheus/node-exporter/sealdrop.prom.tmp; \\
    mv /var/lib/prometheus/node-exporter/sealdrop.prom.tmp /var/lib/prometheus/node-exporter/sealdrop.prom
  # Icinga 2 / Nagios, with the plugins' usual -w/-c (the ages for WARNING and CRITICAL):
  #   command_line = "sealdrop status --policy $policy$ -w 25h -c 26h"`,
    )
    .action(async (urls: string[], options: StatusCliOptions) => {
      await runCheck(options, async () => {
        const thresholds = {
          maxAgeMs: parseDuration(options.maxAge, '--max-age'),
          warnAgeMs: options.warnAge === undefined ? null : parseDuration(options.warnAge, '--warn-age'),
          policyWarnMs: parseDuration(options.policyWarn, '--policy-warn'),
          anomaly: streamThresholds(options),
          maxUnverifiedAgeMs:
            options.maxUnverifiedAge === undefined
              ? null
              : parseDuration(options.maxUnverifiedAge, '--max-unverified-age'),
        };
        const targets = await resolveTargets(urls, options, { bucketRoot: true });
        const { status } = await import('../admin/backups/status.js');
        return status(await adminClient(options, targets), targets, thresholds);
      });
    });
}
