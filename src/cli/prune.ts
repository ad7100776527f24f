// sealdrop prune TARGET --keep-…
import type { Command } from 'commander';
import type { PruneResult } from '../admin/prune.js';
import type { PruneRunsResult } from '../admin/runs.js';
import type { RetentionPolicy } from '../core/retention.js';
import { formatBytes } from '../core/units.js';
import { integerArg } from './args.js';
import { columns, printJson, say, warn } from './output.js';
import { resolveTarget, withTarget, type TargetOptions } from './target.js';

interface PruneCliOptions extends TargetOptions {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  keepWithin?: string;
  keepWithinHourly?: string;
  keepWithinDaily?: string;
  keepWithinWeekly?: string;
  keepWithinMonthly?: string;
  keepWithinYearly?: string;
  tz?: string;
  yes?: boolean;
  force?: boolean;
  deleteMarkers?: boolean;
  json?: boolean;
}

export function registerPruneCommand(program: Command): void {
  withTarget(
    program
      .command('prune')
      .description(
        'delete old versions by a retention policy (restic forget semantics); a dry run unless --yes',
      ),
  )
    .option('--keep-last <N>', 'keep the N newest versions', integerArg)
    .option(
      '--keep-hourly <N>',
      'keep the newest version of each of the last N hours that have one',
      integerArg,
    )
    .option(
      '--keep-daily <N>',
      'keep the newest version of each of the last N days that have one',
      integerArg,
    )
    .option(
      '--keep-weekly <N>',
      'keep the newest version of each of the last N ISO weeks that have one',
      integerArg,
    )
    .option(
      '--keep-monthly <N>',
      'keep the newest version of each of the last N months that have one',
      integerArg,
    )
    .option(
      '--keep-yearly <N>',
      'keep the newest version of each of the last N years that have one',
      integerArg,
    )
    .option('--keep-within <DURATION>', 'keep every version within DURATION (like 1y2mo3d) of the newest')
    .option('--keep-within-hourly <DURATION>', 'keep one version per hour within DURATION of the newest')
    .option('--keep-within-daily <DURATION>', 'keep one version per day within DURATION of the newest')
    .option('--keep-within-weekly <DURATION>', 'keep one version per week within DURATION of the newest')
    .option('--keep-within-monthly <DURATION>', 'keep one version per month within DURATION of the newest')
    .option('--keep-within-yearly <DURATION>', 'keep one version per year within DURATION of the newest')
    .option('--tz <ZONE>', "time zone for days, weeks, months (IANA name; default this machine's)")
    .option('--yes', 'delete the planned versions (without it: a dry run that prints the plan)')
    .option('--force', 'allow a plan that removes more than half of the versions')
    .option('--delete-markers', 'remove delete markers too (they are kept and listed otherwise)')
    .option('--json', 'print the plan (and result) as one JSON object on stdout')
    .addHelpText(
      'after',
      `
N may be -1 for "unlimited". Durations count back from the newest version, not from now: y years,
mo months, w weeks, d days, h hours (restic's 1y2m is 1y2mo here). The newest version is never deleted.

A prefix target prunes runs: the policy applies to complete runs (by the time their manifest was
stored) and a pruned run loses every version of every object (parts and manifest). The newest
complete run is never deleted. An incomplete run (no manifest) older than the newest complete run is
a failed push and is removed; a newer one may still be running and is kept.

Examples:
  sealdrop prune s3://acme-backups/db1/mysql.sql.gz.gpg --keep-daily 7 --keep-weekly 5 --keep-monthly 12
  sealdrop prune --policy db1.policy.json --keep-within 2d --keep-daily 14 --keep-monthly -1 --yes
  sealdrop prune s3://acme-backups/db1/ --keep-daily 7 --keep-weekly 4 --yes`,
    )
    .action(async (url: string | undefined, options: PruneCliOptions) => {
      const target = await resolveTarget(url, options);
      const { createS3Client } = await import('../admin/s3-client.js');
      const client = createS3Client(target);
      const plan = {
        policy: retentionPolicy(options),
        timeZone: options.tz,
        execute: Boolean(options.yes),
        force: options.force,
      };
      if (target.location.isPrefix) {
        const { pruneRuns } = await import('../admin/runs.js');
        return report(await pruneRuns(client, target.location, plan), options, describeRuns);
      }
      const { prune } = await import('../admin/prune.js');
      const result = await prune(client, target.location, { ...plan, deleteMarkers: options.deleteMarkers });
      report(result, options, describe);
    });
}

/** Warnings, the plan (table or JSON), and what could not be deleted (exit 1). */
function report<R extends PruneResult | PruneRunsResult>(
  result: R,
  options: PruneCliOptions,
  describeResult: (result: R) => string,
): void {
  result.warnings.forEach(warn);
  if (options.json) printJson(result);
  else say(describeResult(result));
  if (result.failed.length > 0) {
    process.exitCode = 1;
    warn(
      `${result.failed.length} object version(s) could not be deleted and remain: ${result.failed.map((f) => `${f.versionId} (${f.error})`).join(', ')}`,
    );
  }
}

function retentionPolicy(o: PruneCliOptions): RetentionPolicy {
  const entries = Object.entries({
    last: o.keepLast,
    hourly: o.keepHourly,
    daily: o.keepDaily,
    weekly: o.keepWeekly,
    monthly: o.keepMonthly,
    yearly: o.keepYearly,
    within: o.keepWithin,
    withinHourly: o.keepWithinHourly,
    withinDaily: o.keepWithinDaily,
    withinWeekly: o.keepWithinWeekly,
    withinMonthly: o.keepWithinMonthly,
    withinYearly: o.keepWithinYearly,
  }).filter(([, value]) => value !== undefined);
  return Object.fromEntries(entries) as RetentionPolicy;
}

function describe(result: PruneResult): string {
  const rows = result.versions.map((v) => [
    v.versionId,
    v.time.toISOString().replace('.000Z', 'Z'),
    v.isDeleteMarker ? '-' : formatBytes(v.size),
    v.action,
    v.reasons.join(', '),
  ]);
  const { totals } = result;
  const verb = result.dryRun ? 'would remove' : 'removed';
  const summary = `${totals.versions} versions: keep ${totals.keep}, ${verb} ${result.dryRun ? totals.remove : result.deleted.length}, freeing ${formatBytes(totals.bytesFreed)}`;
  return [
    `${result.target}: policy ${result.policy}`,
    ...columns(['VERSION ID', 'TIME', 'SIZE', 'ACTION', 'REASONS'], rows, { right: [2] }),
    summary,
    ...(result.dryRun && totals.remove > 0
      ? ['Dry run: nothing was deleted. Run again with --yes to delete.']
      : []),
  ].join('\n');
}

function describeRuns(result: PruneRunsResult): string {
  const rows = result.runs.map((run) => [
    run.runId,
    run.time.toISOString().replace('.000Z', 'Z'),
    String(run.parts),
    formatBytes(run.size),
    run.complete ? 'complete' : 'INCOMPLETE',
    run.action,
    run.reasons.join(', '),
  ]);
  const { totals } = result;
  const verb = result.dryRun ? 'would remove' : 'removed';
  return [
    `${result.target}: policy ${result.policy}`,
    ...columns(['RUN ID', 'TIME', 'PARTS', 'SIZE', '', 'ACTION', 'REASONS'], rows, { right: [2, 3] }),
    `${totals.runs} complete runs: keep ${totals.keep}, ${verb} ${totals.remove}` +
      `${totals.incompleteRemoved ? ` and ${totals.incompleteRemoved} incomplete` : ''}, freeing ${formatBytes(totals.bytesFreed)}` +
      (result.dryRun ? '' : ` (${result.deleted.length} object versions deleted)`),
    ...(result.dryRun && totals.remove + totals.incompleteRemoved > 0
      ? ['Dry run: nothing was deleted. Run again with --yes to delete.']
      : []),
  ].join('\n');
}
