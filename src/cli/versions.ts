// sealdrop versions TARGET [--at TIME]
import { Option, type Command } from 'commander';
import type { BackupSet } from '../admin/sets/backup-set.js';
import type { DetailedListing } from '../admin/sets/details.js';
import { isSealdropError, SealdropError } from '../core/errors.js';
import type { S3Location } from '../core/s3-url.js';
import { retentionText } from '../core/object-lock.js';
import { recipientsJson, recipientsText, type KnownKey, type Recipients } from '../core/recipients.js';
import { chooseSnapshot, SNAPSHOT_WORDS, snapshotJson, stateText, type Snapshot } from '../core/snapshot.js';
import { formatBytes, formatDuration } from '../core/units.js';
import { plural } from '../core/words.js';
import { integerArg } from './args.js';
import {
  columns,
  errorJson,
  printJson,
  printLines,
  ReportedFailure,
  reportError,
  say,
  warn,
} from './output.js';
import {
  knownKeys,
  recipientReads,
  withRecipientsOptions,
  type RecipientsCliOptions,
} from './recipients-options.js';
import { AT_HELP, pointInTime } from './snapshot-options.js';
import { adminClient, resolveTarget, withFleetHost, withTarget, type TargetOptions } from './target.js';

interface VersionsCliOptions extends TargetOptions, RecipientsCliOptions {
  json?: boolean;
  pageSize?: number;
  detail: number;
  at?: string;
}

/** With --recipients: each backup's recipients (by snapshot id), and the keys that name some by fingerprint. */
interface ShownRecipients {
  byId: Map<string, Recipients>;
  known: KnownKey[];
}

/** What `restore --at` would pick from this listing: a snapshot, or the error restore would stop with. */
type AtPick = { at: Date; snapshot: Snapshot } | { at: Date; error: SealdropError };

export function registerVersionsCommand(program: Command): void {
  withRecipientsOptions(
    withFleetHost(
      withTarget(
        program
          .command('versions')
          .description(
            'list the backups of a key (its versions) or of a prefix (its runs), newest first, with their state',
          ),
      ),
    ),
  )
    .option('--json', 'print the list as one JSON document on stdout')
    .option('--at <TIME>', `mark the backup \`restore --at TIME\` picks: ${AT_HELP}`)
    .option(
      '--detail <N>',
      "read the newest N backups' own retain-until and recorded SHA-256 (one request each)",
      integerArg,
      50,
    )
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
--at TIME marks the backup \`restore --at TIME\` would restore, chosen by the same function, and
says so on stderr; when there is none it says why, as restore would, and exits 1 (3: only BROKEN runs).
With --json each version carries S3's etag (for a POST upload the MD5 of the stored bytes) and the
sha256 push recorded in its metadata (read for the newest --detail; null: none recorded, as by a
policy minted before push recorded it), each run the sha256 its manifest records: what push prints,
to match a push to its version where S3 returns no version id (Ceph RGW).
--recipients adds RECIPIENTS: the key ids each backup is encrypted to (a run's: its first part's),
from the key packets in its first 8 KiB (one ranged GET each, 8 at a time, never the data), for the
newest --recipients-limit N (default 1000; the others say "not read"). Objects made by push and by
stock gpg alike; one whose first bytes are no encrypted OpenPGP message says why in brackets.
--key-file KEY.asc shows that key's fingerprint in place of its key ids. With --json: "recipients"
(key ids, 16 upper-case hex digits; null where none were read, "recipientsNote" says why) and
"recipientFingerprints".
--fleet FILE --host NAME names a fleet host's backups, with the fleet file's endpoint and region;
with --recipients, the host's recipient key files from the fleet file are named by fingerprint too.
Needs admin credentials (standard AWS chain) with s3:ListBucketVersions and s3:GetObject (and
s3:GetObjectRetention, s3:GetBucketObjectLockConfiguration for the details).
Exit status: 0 listed, 1 no backup stored there (a mistyped key, a host that never pushed; with
--json the error document), S3 failed, or --at picks none (3: only BROKEN runs), 2 bad usage.

Examples:
  sealdrop versions s3://acme-backups/db1/mysql.sql.gz.gpg
  sealdrop versions s3://acme-backups/db1/ | tail -n +3 | grep -c complete   # past summary, header
  sealdrop versions --policy db1.policy.json --json | jq -r '.snapshots[0].versionId'
  sealdrop versions s3://acme-backups/db1/mysql.sql.gz.gpg --detail 500   # exact retain-until
  sealdrop versions --fleet fleet.yaml --host db1 --at "last tuesday 23:00"   # as restore --at does
  sealdrop versions --policy db1.policy.json --json \\
      | jq -r '.snapshots[] | [.versionId, .etag, .sha256] | @tsv'
  sealdrop versions s3://acme-backups/db1/mysql.sql.gz.gpg --recipients --key-file new.pub.asc
  sealdrop versions --policy db1.policy.json --recipients --json \\
      | jq -r '.snapshots[] | [.versionId, (.recipients // [] | join(","))] | @tsv'`,
    )
    .action(async (url: string | undefined, options: VersionsCliOptions) => {
      const target = await resolveTarget(url, options);
      const at = options.at === undefined ? undefined : await pointInTime(options.at);
      const [{ backupSet }, { listWithDetails }] = await Promise.all([
        import('../admin/sets/open.js'),
        import('../admin/sets/details.js'),
      ]);
      const client = await adminClient(options, [target]);
      const set = backupSet(client, target.location, { pageSize: options.pageSize });
      const listing = await listWithDetails(set, { newest: options.detail });
      listing.warnings.forEach(warn);
      if (listing.snapshots.length === 0) throw nothingStored(listing, target.location);
      const recipients = await readShownRecipients(set, listing, options, target.recipients);
      const pick = at === undefined ? null : pickAt(listing, at);
      if (options.json)
        printJson({
          target: listing.target,
          kind: listing.kind,
          snapshots: listing.snapshots.map((s) => ({
            ...snapshotJson(s),
            ...(recipients ? recipientsJson(recipients.byId.get(s.id), recipients.known) : {}),
          })),
          strays: listing.strays,
          objectLock: listing.bucketLock,
          detailed: listing.detailed,
          ...(pick ? { at: atJson(pick) } : {}),
        });
      else {
        printLines(describe(listing, pick && 'snapshot' in pick ? pick.snapshot : null, recipients));
        const unread = listing.snapshots.filter((s) => s.state !== 'deleted').length - listing.detailed;
        if (unread > 0 && listing.snapshots.some(shown))
          say(
            `retain-until read for the newest ${listing.detailed}; ~ derived from the bucket's default retention, ? not read (--detail N reads more)`,
          );
      }
      if (!pick) return;
      if ('error' in pick) throw new ReportedFailure(reportError(pick.error));
      const { noun } = SNAPSHOT_WORDS[listing.kind];
      say(
        `restore --at ${pick.at.toISOString()} picks ${noun} ${pick.snapshot.id} (${pick.snapshot.time.toISOString()})`,
      );
    });
}

/**
 * --recipients: read for the newest N backups; credentials that may list but not read get the listing.
 * --key-file's keys and a fleet host's own recipient keys are named by fingerprint.
 */
async function readShownRecipients(
  set: BackupSet,
  listing: DetailedListing,
  options: VersionsCliOptions,
  hostRecipients: readonly string[] = [],
): Promise<ShownRecipients | null> {
  const limit = recipientReads(options);
  if (limit === null) return null;
  const known = await knownKeys(options, hostRecipients);
  const { readAllRecipients } = await import('../admin/sets/recipients.js');
  try {
    return { byId: await readAllRecipients(set, listing.snapshots, { limit }), known };
  } catch (error) {
    if (!isSealdropError(error) || error.code !== 'S3_REFUSED') throw error;
    warn(`recipients not read: ${error.message}`);
    return { byId: new Map(), known };
  }
}

/**
 * No backup at all is a failure, as for restore and verify: a mistyped key or a host that never pushed
 * must not pass for an empty history. Where other objects lie, `ls` shows them.
 */
function nothingStored(listing: DetailedListing, location: S3Location): SealdropError {
  const { target, strays } = listing;
  return strays.count > 0
    ? new SealdropError(
        'NOT_FOUND',
        `${target} holds no backups, only ${strays.count} other object(s) that belong to no run`,
        { hint: `sealdrop ls ${target} shows what is there.` },
      )
    : new SealdropError('NOT_FOUND', `${target} does not exist (no backups at all)`, {
        hint: `Check the bucket and the key or prefix: sealdrop ls s3://${location.bucket}/ lists every backup set there.`,
      });
}

/** The choice restore makes (chooseSnapshot, over this listing), or the error it would stop with. */
function pickAt(listing: DetailedListing, at: Date): AtPick {
  try {
    return { at, snapshot: chooseSnapshot(listing.snapshots, { kind: 'at', at }, listing.target).snapshot };
  } catch (error) {
    if (!isSealdropError(error)) throw error;
    return { at, error };
  }
}

function atJson(pick: AtPick) {
  const id = 'snapshot' in pick ? pick.snapshot.id : null;
  return {
    time: pick.at.toISOString(),
    pick: id,
    ...('error' in pick ? errorJson(pick.error) : { error: null }),
  };
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

/** The listing as lines; `picked` (versions --at) is marked. */
function* describe(
  listing: DetailedListing,
  picked: Snapshot | null,
  shown: ShownRecipients | null,
  now = Date.now(),
): Generator<string> {
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
        ...(shown ? [recipientsText(shown.byId.get(s.id), shown.known)] : []),
        s === picked ? `${stateText(s)}  <- restore --at` : stateText(s),
      ];
  }
  const header = [
    `${noun.toUpperCase()} ID`,
    'TIME',
    'AGE',
    'SIZE',
    ...(lockColumn ? ['RETAIN UNTIL'] : []),
    ...(markColumn ? ['VERIFIED'] : []),
    ...(shown ? ['RECIPIENTS'] : []),
    'STATE',
  ];
  yield `${listing.target}: ${summary}`;
  yield* columns(header, rows, { right: [3] });
}
