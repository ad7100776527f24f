// sealdrop status TARGET... : a monitoring check (Nagios/Icinga plugin convention, also fine for cron).
import type { Command } from 'commander';
import type { StatusResult, TargetStatus } from '../admin/status.js';
import { isSealdropError } from '../core/errors.js';
import { HEALTH_EXIT } from '../core/health.js';
import { formatBytes, formatDuration, parseDuration } from '../core/units.js';
import { errorJson, printData, printJson, reportError } from './output.js';
import { withStreamOptions, streamThresholds, type StreamCliOptions } from './stream-options.js';
import { adminClient, resolveTargets, withTargets, type TargetsOptions } from './target.js';

interface StatusCliOptions extends TargetsOptions, StreamCliOptions {
  maxAge: string;
  warnAge?: string;
  policyWarn: string;
  maxUnverifiedAge?: string;
  json?: boolean;
}

export function registerStatusCommand(program: Command): void {
  withStreamOptions(
    withTargets(
      program
        .command('status')
        .description(
          'are backups arriving? latest age and size, counts; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN',
        ),
    ),
  )
    .option('--max-age <DURATION>', 'CRITICAL when the latest complete backup is older', '26h')
    .option(
      '--warn-age <DURATION>',
      'WARNING when the latest complete backup is older (default: no warning stage)',
    )
    .option(
      '--policy-warn <DURATION>',
      'WARNING when a --policy file expires within this (CRITICAL once expired)',
      '3d',
    )
    .option(
      '--max-unverified-age <DURATION>',
      'WARNING when the newest backup with a verified mark (sealdrop verify) is older (default: not judged)',
    )
    .option('--json', 'print the results as JSON instead of plugin lines')
    .addHelpText(
      'after',
      `
Output is a monitoring plugin's: one line "SEALDROP STATE - summary" on stdout, then a line per target.
Only complete backups count. CRITICAL: the latest is older than --max-age, the key's latest version is
a delete marker, nothing complete at all, or a policy file has expired. WARNING: past --warn-age, a
newer run that stored nothing for an hour, broken runs, a policy expiring within --policy-warn.
The backup stream is judged too, since a compromised host can push junk no content check catches:
the latest backup shrank against the median of the ones before it (WARNING at --warn-shrink,
CRITICAL at --crit-shrink or under --min-size), or came far sooner than usual (a flood: WARNING).
With --max-unverified-age, restore drills are watched too: WARNING when the newest backup that
\`sealdrop verify\` marked is older, or none is (the marks of the newest 1000 are read, newest first).
UNKNOWN: nothing stored there, S3 can't be reached or refuses, an option or policy file can't be read.
With several targets the worst state wins (CRITICAL > UNKNOWN > WARNING > OK).
Durations: s, min, h, d, w (26h, 90min, 1d12h).

Examples:
  sealdrop status s3://acme-backups/db1/mysql.sql.gz.gpg s3://acme-backups/db2/
  sealdrop status --policy db1.policy.json --policy db2.policy.json --max-age 26h --warn-age 25h
  sealdrop status --policy db1.policy.json --max-unverified-age 8d   # with a weekly restore drill
  # Icinga 2 / Nagios: command_line = "sealdrop status --policy $policy$ --max-age 26h"`,
    )
    .action(async (urls: string[], options: StatusCliOptions) => {
      let result: StatusResult;
      try {
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
        const targets = await resolveTargets(urls, options);
        const { status } = await import('../admin/status.js');
        result = await status(await adminClient(options, targets), targets, thresholds);
      } catch (error) {
        // A check that can't even start is UNKNOWN, not a usage error: monitors must not read it as CRITICAL.
        if (!isSealdropError(error)) throw error;
        const unknown = errorJson(error);
        unknown.error.exitStatus = HEALTH_EXIT.UNKNOWN;
        if (options.json) printJson({ state: 'UNKNOWN', ...unknown });
        else printData(`SEALDROP UNKNOWN - ${error.message}`);
        reportError(error);
        process.exitCode = HEALTH_EXIT.UNKNOWN;
        return;
      }
      if (options.json) printJson(result);
      else printData(pluginOutput(result));
      process.exitCode = HEALTH_EXIT[result.state];
    });
}

function pluginOutput(result: StatusResult): string {
  const bad = result.targets.filter((target) => target.state !== 'OK');
  const headline =
    result.targets.length === 1
      ? line(result.targets[0]!)
      : bad.length === 0
        ? `all ${result.targets.length} backups OK`
        : `${bad.length} of ${result.targets.length} backups not OK: ${bad.map((target) => `${target.target} ${target.state}`).join(', ')}`;
  return [
    `SEALDROP ${result.state} - ${headline}`,
    ...(result.targets.length > 1 ? result.targets.map((target) => `${target.state} ${line(target)}`) : []),
  ].join('\n');
}

function line(target: TargetStatus): string {
  const { latest, counts } = target;
  const facts = latest
    ? `latest ${formatBytes(latest.size)} from ${formatDuration((target.ageSeconds ?? 0) * 1000)} ago, ${counts.backups} backup${counts.backups === 1 ? '' : 's'}`
    : '';
  return [target.target, [facts, ...target.reasons].filter(Boolean).join('; ')].join(': ');
}
