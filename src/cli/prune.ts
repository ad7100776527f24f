// sealdrop prune TARGET --keep-…
import { Option, type Command } from 'commander';
import { EXIT } from '../core/errors.js';
import { integerArg } from './args.js';
import { retentionPolicy, withKeepOptions, type KeepCliOptions } from './keep-options.js';
import { printJson, printLines, say, warn } from './output.js';
import { describe, failuresOf, outcome, pruneJson } from './prune-plan-output.js';
import { withProgress } from './progress.js';
import { streamThresholds, withStreamOptions, type StreamCliOptions } from './stream-options.js';
import { adminClient, resolveTarget, walPrefix, withTarget, type TargetOptions } from './target.js';

interface PruneCliOptions extends TargetOptions, StreamCliOptions, KeepCliOptions {
  yes?: boolean;
  force?: boolean;
  deleteMarkers?: boolean;
  removeRejected?: boolean;
  json?: boolean;
  batchSize?: number;
  wal?: string;
}

export function registerPruneCommand(program: Command): void {
  withKeepOptions(
    withStreamOptions(
      withTarget(
        program
          .command('prune')
          .description(
            'delete old backups by a retention policy (restic forget semantics); a dry run unless --yes',
          ),
      ),
    ),
  )
    .option('--yes', 'delete what the plan removes (without it: a dry run that prints the plan)')
    .option(
      '--force',
      'allow a plan that removes more than half of the backups, and lift the circuit breaker',
    )
    .option('--delete-markers', 'remove delete markers too (they are kept and listed otherwise)')
    .option('--remove-rejected', 'remove the backups verify rejected too (kept as evidence otherwise)')
    .option(
      '--wal <s3://BUCKET/PREFIX/>',
      "the base backups' WAL archive: remove the WAL only the removed base backups need",
    )
    .option('--json', 'print the plan (and what was deleted) as one JSON document on stdout')
    // For stores that take fewer keys per DeleteObjects request than S3's 1000 (and for the tests).
    .addOption(
      new Option('--batch-size <N>', 'object versions per DeleteObjects request (1 to 1000)')
        .argParser(integerArg)
        .hideHelp(),
    )
    .addHelpText(
      'after',
      `
The plan goes to stdout: every backup with keep or remove and the rules that keep it; a dry run
unless --yes, and --yes carries out exactly the plan it prints. N may be -1 for "unlimited".
Durations count back from the newest backup, not from now: y, mo, w, d, h (restic's 1y2m is 1y2mo here).

Proven backups: once \`sealdrop verify\` has proven anything of the set, the rules fill their periods
with backups proven good only (verified, or approved), so junk a compromised host pushes never takes a
good backup's place. A backup not proven yet is kept while younger than 30 days, then removed once a
later backup is proven good (until then it may be the last genuine one); one verify rejected is kept
as evidence until --remove-rejected. A set never verified is pruned over every backup as pushed, and
prune warns that it runs blind.

Whatever the policy says: the newest good backup is kept; an incomplete run is kept while it may
still be running (newer than every complete backup, and it stored something within the hour) and
removed otherwise; a broken run is removed; delete markers are kept unless --delete-markers; a plan
that removes more than half of the backups it ranks needs --force. The circuit breaker, for a set never
verified: while the backup stream looks anomalous (a backup that shrank, a flood: the thresholds of
status, within --anomaly-window), nothing older than the first anomalous backup is removed; the plan
says so, and --force lifts it.
In a bucket with Object Lock, what S3 would refuse to delete now is kept, "locked until T": the
retain-until is derived from the bucket's default retention, and read from the version itself for
those the rules would remove (at most 1000 per prune; any left unread are kept until the next prune).
A prefix target prunes runs: removing one
deletes every version of every object of it (parts and manifest).
PostgreSQL base backups (--wal PREFIX): after the plan of the base backups, which it does not change,
the WAL archive loses every file before the start of the oldest base backup kept (segments, partials,
backup history files: all their versions) and the backup history files of the removed base backups;
nothing at or after that start, so no gap is made, and timeline history files always stay. A base
backup's start is read from the newest backup history file stored before it (PostgreSQL archives it as
the backup ends); if any kept base backup has none, no WAL is removed. With --yes the WAL goes only
once the base backups' removal finished without failures.
--yes deletes in batches of 1000 with progress on a terminal; interrupted (Ctrl-C), it stops after the
batch in flight and says what it deleted; running it again continues.

Examples:
  sealdrop prune s3://acme-backups/db1/mysql.sql.gz.gpg --keep-daily 14 --keep-weekly 8 \\
      --keep-monthly 24 --keep-yearly -1 --keep-earliest          # the recommended policy
  sealdrop prune --policy db1.policy.json --keep-within 2d --keep-daily 14 --keep-monthly -1 --yes
  sealdrop prune s3://acme-backups/db1/ --keep-daily 7 --keep-weekly 4 --yes
  sealdrop prune s3://acme-backups/db1/base/ --wal s3://acme-backups/db1/wal/ \\
      --keep-weekly 4 --keep-monthly 6`,
    )
    .action(async (url: string | undefined, options: PruneCliOptions) => {
      const target = await resolveTarget(url, options);
      const { prune } = await import('../admin/backups/prune.js');
      const client = await adminClient(options, [target]);
      const result = await withProgress({ off: options.json, unit: 'object versions' }, (progress, signal) =>
        prune(client, target.location, {
          policy: retentionPolicy(options),
          timeZone: options.tz,
          deleteMarkers: options.deleteMarkers,
          removeRejected: options.removeRejected,
          anomaly: streamThresholds(options),
          execute: Boolean(options.yes),
          force: options.force,
          batchSize: options.batchSize,
          ...(options.wal === undefined ? {} : { wal: walPrefix(options.wal) }),
          signal,
          onProgress: (deleted, total) => progress.update('deleting', deleted, total),
        }),
      );
      result.plan.warnings.forEach(warn);
      if (options.json) printJson(pruneJson(result));
      else printLines(describe(result));
      if (!result.dryRun) say(outcome(result));
      if (result.proofsKept > 0)
        warn(`${result.proofsKept} proof object(s) of removed backups could not be deleted (Object Lock?)`);
      const failed = [...result.failed, ...(result.wal?.failed ?? [])];
      const failures = failuresOf(result);
      if (failures > 0) {
        process.exitCode = EXIT.failed;
        warn(
          `${failures} object version(s) could not be deleted and remain: ${failed
            .slice(0, 5)
            .map((f) => `${f.key}@${f.versionId} (${f.error})`)
            .join(', ')}${failures > 5 ? ', …' : ''}`,
        );
      }
      if (result.interrupted) process.exitCode = EXIT.sigint;
    });
}
