// sealdrop versions TARGET
import { Option, type Command } from 'commander';
import type { DetailedListing } from '../admin/sets/details.js';
import { retentionText } from '../core/object-lock.js';
import { SNAPSHOT_WORDS, snapshotJson, stateText, type Snapshot } from '../core/snapshot.js';
import { formatBytes, formatDuration } from '../core/units.js';
import { plural } from '../core/words.js';
import { integerArg } from './args.js';
import { columns, printJson, printLines, say, warn } from './output.js';
import { adminClient, resolveTarget, withTarget, type TargetOptions } from './target.js';

interface VersionsCliOptions extends TargetOptions {
  json?: boolean;
  pageSize?: number;
  detail: number;
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
    .option('--detail <N>', "read the newest N backups' own retain-until (one request each)", integerArg, 50)
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
In a bucket with Object Lock, RETAIN UNTIL says until when S3 refuses to delete it: read from the
version for the newest --detail ones, derived from the bucket's default retention (~) for the others.
VERIFIED says since when the admin side holds a backup proven good (\`sealdrop verify\`, or
\`sealdrop approve\`), or REJECTED where verify proved it bad; its proofs live in the bucket's .sealdrop/ area.
Needs admin credentials (standard AWS chain) with s3:ListBucketVersions and s3:GetObject (and
s3:GetObjectRetention, s3:GetBucketObjectLockConfiguration for the details).

Examples:
  sealdrop versions s3://acme-backups/db1/mysql.sql.gz.gpg
  sealdrop versions s3://acme-backups/db1/ | tail -n +3 | grep -c complete   # a summary line, then a header
  sealdrop versions --policy db1.policy.json --json | jq -r '.snapshots[0].versionId'
  sealdrop versions s3://acme-backups/db1/mysql.sql.gz.gpg --detail 500   # exact retain-until of 500`,
    )
    .action(async (url: string | undefined, options: VersionsCliOptions) => {
      const target = await resolveTarget(url, options);
      const [{ backupSet }, { listWithDetails }] = await Promise.all([
        import('../admin/sets/open.js'),
        import('../admin/sets/details.js'),
      ]);
      const client = await adminClient(options, [target]);
      const set = backupSet(client, target.location, { pageSize: options.pageSize });
      const listing = await listWithDetails(set, { newest: options.detail });
      listing.warnings.forEach(warn);
      if (options.json)
        printJson({
          target: listing.target,
          kind: listing.kind,
          snapshots: listing.snapshots.map(snapshotJson),
          strays: listing.strays,
          objectLock: listing.bucketLock,
          detailed: listing.detailed,
        });
      else {
        printLines(describe(listing));
        const unread = listing.snapshots.filter((s) => s.state !== 'deleted').length - listing.detailed;
        if (unread > 0 && listing.snapshots.some(shown))
          say(
            `retain-until read for the newest ${listing.detailed}; ~ derived from the bucket's default retention, ? not read (--detail N reads more)`,
          );
      }
    });
}

/** Whether a snapshot has a lock for the RETAIN UNTIL column. */
const shown = (s: Snapshot) => s.lock !== undefined;

function retainCell(s: Snapshot): string {
  const { lock } = s;
  if (!lock || lock.source === 'unread') return lock ? '?' : '-';
  const until = lock.until ? `${lock.source === 'default' ? '~' : ''}${lock.until.toISOString()}` : '-';
  return lock.legalHold ? `${until} +legal hold` : until;
}

function verifiedCell(s: Snapshot): string {
  if (s.state === 'deleted') return '-';
  if (s.rejectedAt) return 'REJECTED';
  return s.verifiedAt === undefined ? '?' : (s.verifiedAt?.toISOString() ?? '-');
}

function* describe(listing: DetailedListing, now = Date.now()): Generator<string> {
  const { noun } = SNAPSHOT_WORDS[listing.kind];
  const verified = listing.snapshots.filter((s) => s.verifiedAt).length;
  const rejected = listing.snapshots.filter((s) => s.rejectedAt).length;
  const { defaultRetention } = listing.bucketLock;
  const counts = new Map<string, number>();
  for (const s of listing.snapshots) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
  const summary = [
    plural(counts.get('complete') ?? 0, `complete ${noun}`),
    ...(['incomplete', 'broken'] as const).flatMap((state) =>
      counts.get(state) ? [`${counts.get(state)} ${state.toUpperCase()}`] : [],
    ),
    ...(counts.get('deleted') ? [plural(counts.get('deleted')!, 'delete marker')] : []),
    ...(listing.strays.count ? [`${listing.strays.count} other object(s) that belong to no run`] : []),
    ...(verified > 0 ? [`${verified} verified`] : []),
    ...(rejected > 0 ? [`${rejected} REJECTED by verify`] : []),
    ...(defaultRetention ? [`Object Lock default ${retentionText(defaultRetention)}`] : []),
  ].join(', ');
  if (listing.snapshots.length === 0) {
    yield `${listing.target}: nothing stored${listing.strays.count ? ` as backups; ${listing.strays.count} other object(s) that belong to no run (sealdrop ls ${listing.target} shows what is there)` : ''}`;
    return;
  }
  // The columns for Object Lock and proofs appear where there is something to show in them.
  const lockColumn = listing.bucketLock.enabled;
  const markColumn = verified + rejected > 0;
  function* rows() {
    for (const s of listing.snapshots)
      yield [
        s.id,
        s.time.toISOString(),
        `${formatDuration(now - s.time.getTime())} ago`,
        s.state === 'deleted' ? '-' : formatBytes(s.size),
        ...(lockColumn ? [s.state === 'deleted' ? '-' : retainCell(s)] : []),
        ...(markColumn ? [verifiedCell(s)] : []),
        stateText(s),
      ];
  }
  const header = [
    `${noun.toUpperCase()} ID`,
    'TIME',
    'AGE',
    'SIZE',
    ...(lockColumn ? ['RETAIN UNTIL'] : []),
    ...(markColumn ? ['VERIFIED'] : []),
    'STATE',
  ];
  yield `${listing.target}: ${summary}`;
  yield* columns(header, rows, { right: [3] });
}
