// sealdrop versions TARGET
import { Option, type Command } from 'commander';
import type { SnapshotListing } from '../admin/backup-set.js';
import { SNAPSHOT_WORDS, snapshotJson, stateText } from '../core/snapshot.js';
import { formatBytes, formatDuration } from '../core/units.js';
import { integerArg } from './args.js';
import { columns, printJson, printLines } from './output.js';
import { adminClient, resolveTarget, withTarget, type TargetOptions } from './target.js';

interface VersionsCliOptions extends TargetOptions {
  json?: boolean;
  pageSize?: number;
}

export function registerVersionsCommand(program: Command): void {
  withTarget(
    program
      .command('versions')
      .description(
        'list the backups of a key (its versions) or of a prefix (its runs), newest first, with their state',
      ),
  )
    .option('--json', 'print the list as one JSON document on stdout')
    // For tests of the pagination: S3 pages at 1000.
    .addOption(
      new Option('--page-size <N>', 'keys per ListObjectVersions request').argParser(integerArg).hideHelp(),
    )
    .addHelpText(
      'after',
      `
One line per backup on stdout: id, time, age, size and state. The state is complete, DELETE MARKER,
INCOMPLETE (a run without a manifest: failed, or still running) or BROKEN (a run whose manifest is
malformed, too large, lists no parts or names parts that don't check out; never restored or counted).
Needs admin credentials (standard AWS chain) with s3:ListBucketVersions (and s3:GetObject for runs).

Examples:
  sealdrop versions s3://acme-backups/db1/mysql.sql.gz.gpg
  sealdrop versions s3://acme-backups/db1/ | grep -c complete
  sealdrop versions --policy db1.policy.json --json | jq -r '.snapshots[0].versionId'`,
    )
    .action(async (url: string | undefined, options: VersionsCliOptions) => {
      const target = await resolveTarget(url, options);
      const { backupSet } = await import('../admin/open-set.js');
      const client = await adminClient(options, [target]);
      const listing = await backupSet(client, target.location, { pageSize: options.pageSize }).list();
      if (options.json)
        printJson({
          target: listing.target,
          kind: listing.kind,
          snapshots: listing.snapshots.map(snapshotJson),
          strays: listing.strays,
        });
      else printLines(describe(listing));
    });
}

function describe(listing: SnapshotListing, now = Date.now()): string[] {
  const { noun } = SNAPSHOT_WORDS[listing.kind];
  const counts = new Map<string, number>();
  for (const s of listing.snapshots) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
  const summary = [
    `${counts.get('complete') ?? 0} complete ${noun}${counts.get('complete') === 1 ? '' : 's'}`,
    ...(['incomplete', 'broken'] as const).flatMap((state) =>
      counts.get(state) ? [`${counts.get(state)} ${state.toUpperCase()}`] : [],
    ),
    ...(counts.get('deleted')
      ? [`${counts.get('deleted')} delete marker${counts.get('deleted') === 1 ? '' : 's'}`]
      : []),
    ...(listing.strays.count ? [`${listing.strays.count} other object(s) that belong to no run`] : []),
  ].join(', ');
  if (listing.snapshots.length === 0) return [`${listing.target}: nothing stored`];
  const rows = listing.snapshots.map((s) => [
    s.id,
    s.time.toISOString(),
    `${formatDuration(now - s.time.getTime())} ago`,
    s.state === 'deleted' ? '-' : formatBytes(s.size),
    stateText(s),
  ]);
  return [
    `${listing.target}: ${summary}`,
    ...columns([`${noun.toUpperCase()} ID`, 'TIME', 'AGE', 'SIZE', 'STATE'], rows, { right: [3] }),
  ];
}
