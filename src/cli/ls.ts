// sealdrop ls s3://BUCKET[/PREFIX] [--fleet FILE]: every backup set, one line each, as the listing streams.
import { Option, type Command } from 'commander';
import type { S3Client } from '@aws-sdk/client-s3';
import type { HostRevocation } from '../admin/backups/fleet.js';
import type { InventoryItem } from '../admin/sets/inventory.js';
import { SealdropError } from '../core/errors.js';
import type { Fleet, FleetHost } from '../core/fleet.js';
import { summarizeSet, type GroupedWal } from '../core/inventory.js';
import { formatS3Url, parseS3Url } from '../core/s3-url.js';
import { formatDuration } from '../core/units.js';
import { DEFAULT_WAL_THRESHOLDS, judgeWalChain, WalChainTally } from '../core/wal-chain.js';
import { plural } from '../core/words.js';
import { integerArg } from './args.js';
import { jsonWriter, textWriter, type Row } from './ls-output.js';
import { ReportedFailure, reportError, warn } from './output.js';
import {
  knownKeys,
  recipientReads,
  withRecipientsOptions,
  type RecipientsCliOptions,
} from './recipients-options.js';
import { adminClient, withConnection, type ConnectionOptions } from './target.js';

interface LsCliOptions extends ConnectionOptions, RecipientsCliOptions {
  fleet?: string;
  json?: boolean;
  pageSize?: number;
}

/** Reads in flight at once with --recipients; rows still come out in the listing's order. */
const RECIPIENT_WINDOW = 8;

export function registerLsCommand(program: Command): void {
  withRecipientsOptions(
    withConnection(
      program
        .command('ls')
        .description(
          'list every backup set in a bucket (keys with versions, prefixes with runs): latest, size, count, state',
        )
        .argument(
          '[s3://BUCKET[/PREFIX]]',
          'the bucket, or a prefix in it (default with --fleet: its bucket)',
        ),
    ),
    "set's latest complete backup",
  )
    .option(
      '--fleet <FILE>',
      "name each set's host; flag sets that belong to no host, hosts with nothing stored and revoked hosts",
    )
    .option('--json', 'print the inventory as one JSON document on stdout')
    .addOption(
      new Option('--page-size <N>', 'keys per ListObjectVersions request').argParser(integerArg).hideHelp(),
    )
    .addHelpText(
      'after',
      `
One line per backup set on stdout, as the listing streams (a bucket of millions of objects is never
held at once): kind (key: a key's versions; runs: a prefix's runs), complete backups, the latest
complete one's time and size, the state of the newest backup (complete, DELETED, INCOMPLETE, BROKEN,
EMPTY) and the set's address, then what else it holds. A prefix holds runs once it has a key
PREFIX<run-id>/part-NNNNNN or manifest.json; every other object under it is a stray of that set.
sealdrop's own area (.sealdrop/: renewal policies, proofs) is listed as such. The last line sums up.
With --fleet, the fleet's prefixes are run sets by its word, each set names its host, sets that
belong to no host say NO HOST, and hosts with nothing stored are listed as EMPTY at the end. A WAL
archive (a fleet host's wal:, or any prefix holding files named as PostgreSQL archives them) is one
row of kind wal: its newest segment, the RPO and the chain's state (as sealdrop status --wal judges
it; by the host's thresholds with --fleet).
With --fleet, a host cut off in the bucket policy (fleet revoke) says "REVOKED since TIME" on its
rows, backups and WAL archive each as revoked ("revokedAt" with --json; needs s3:GetBucketPolicy, else
a warning), as fleet status reads it.
--recipients adds to each set the key ids its latest complete backup is encrypted to (a run's: its
first part's), from its first 8 KiB (one ranged GET per set, 8 at a time, for the first
--recipients-limit N sets, default 1000). --key-file KEY.asc, and with --fleet each of its recipient
key files, shows that key's fingerprint for its key ids. With --json: each set's "recipients" (key
ids; null and "recipientsNote" where none were read).

Examples:
  sealdrop ls s3://acme-backups
  sealdrop ls s3://acme-backups/warehouse/
  sealdrop ls --fleet fleet.yaml | grep 'NO HOST'
  sealdrop ls --fleet fleet.yaml | grep REVOKED
  sealdrop ls s3://acme-backups --json | jq -r '.sets[] | select(.state != "complete") | .target'
  sealdrop ls --fleet fleet.yaml --recipients --key-file old.pub.asc | grep OLDKEYFINGERPRINT`,
    )
    .action(async (url: string | undefined, options: LsCliOptions) => {
      const [{ hostIndex, walIndex }, { readFleet }] = await Promise.all([
        import('../core/fleet-hosts.js'),
        import('../core/fleet-load.js'),
      ]);
      const fleet = options.fleet === undefined ? null : await readFleet(options.fleet);
      if (url === undefined && !fleet)
        throw new SealdropError(
          'USAGE',
          'name the bucket (s3://BUCKET or s3://BUCKET/PREFIX) or pass --fleet FILE',
        );
      const location = parseS3Url(url ?? `s3://${fleet!.bucket}/`, { requireKey: false });
      if (fleet && fleet.bucket !== location.bucket)
        throw new SealdropError(
          'USAGE',
          `the fleet file is for bucket ${fleet.bucket}, not ${location.bucket}`,
        );
      const { inventory } = await import('../admin/sets/inventory.js');
      const owner = fleet ? hostIndex(fleet.hosts) : null;
      const walOwner = fleet ? walIndex(fleet.hosts) : null;
      const client = await adminClient({
        endpoint: options.endpoint ?? fleet?.endpoint,
        region: options.region ?? fleet?.region,
      });
      const revoked = fleet ? await revokedHosts(client, fleet) : null;
      const knownRunPrefix = (key: string) => {
        const host = owner?.(key);
        return host?.location.isPrefix && host.location.key.startsWith(location.key)
          ? host.location.key
          : null;
      };
      const known = options.recipients
        ? await knownKeys(options, fleet?.hosts.flatMap((host) => host.recipients) ?? [])
        : [];
      const out = options.json ? jsonWriter(location, known) : textWriter(fleet, known);
      const seen = new Set<string>();
      const walSeen = new Set<string>();
      const recipients = await recipientReader(options);
      const pending: Promise<Row>[] = [];
      try {
        for await (const item of inventory(client, location, {
          knownRunPrefix,
          knownWalPrefix: (key) => walOwner?.(key)?.wal?.key ?? null,
          pageSize: options.pageSize,
        })) {
          const row = markRevoked(
            item.kind === 'wal' ? walRowOf(item.wal, walOwner) : rowOf(item, owner),
            revoked,
          );
          if (row.host) (row.wal ? walSeen : seen).add(row.host);
          if (!recipients) out.row(row);
          else {
            const read = recipients(row, item);
            read.catch(() => {}); // awaited in order below; a failure is thrown there
            pending.push(read);
            if (pending.length >= RECIPIENT_WINDOW) out.row(await pending.shift()!);
          }
        }
        for (const row of pending.splice(0)) out.row(await row);
      } catch (error) {
        if (!out.started || !(error instanceof SealdropError)) throw error;
        out.fail(error);
        throw new ReportedFailure(reportError(error));
      }
      const missing = (fleet?.hosts ?? []).filter(
        (host) => !seen.has(host.name) && host.location.key.startsWith(location.key),
      );
      for (const host of missing)
        out.row(
          markRevoked(
            {
              target: formatS3Url(host.location),
              kind: host.location.isPrefix ? 'run' : 'version',
              host: host.name,
              summary: null,
              area: null,
              wal: null,
              notes: ['nothing stored: never backed up'],
            },
            revoked,
          ),
        );
      for (const host of fleet?.hosts ?? [])
        if (host.wal && !walSeen.has(host.name) && host.wal.key.startsWith(location.key)) {
          const chain = emptyChain(host.wal.key);
          out.row(markRevoked(walRowOf({ kind: 'wal', location: host.wal, chain }, walOwner), revoked));
        }
      out.end(missing.map((host) => host.name));
    });
}

/** With --fleet: who is revoked, as fleet status reads it; a bucket policy that can't be read is a warning. */
async function revokedHosts(client: S3Client, fleet: Fleet): Promise<ReadonlyMap<string, HostRevocation>> {
  const { fleetRevocations } = await import('../admin/backups/fleet.js');
  const revoked = await fleetRevocations(client, fleet);
  if ('hosts' in revoked) return revoked.hosts;
  warn(`can't tell which hosts are revoked: ${revoked.problem}`);
  return new Map();
}

/** With --fleet, a host's row says since when the bucket policy denies its uploads there (fleet revoke). */
function markRevoked(row: Row, revoked: ReadonlyMap<string, HostRevocation> | null): Row {
  if (!revoked || row.host === undefined) return row;
  const host = row.host === null ? undefined : revoked.get(row.host);
  const since = (row.wal ? host?.wal : host?.backups) ?? null;
  return since
    ? { ...row, revokedAt: since, notes: [`REVOKED since ${since.toISOString()}`, ...row.notes] }
    : { ...row, revokedAt: null };
}

/**
 * With --recipients: a function that adds to a backup set's row whom its latest complete backup is
 * encrypted to (the first N sets only); null without it.
 */
async function recipientReader(
  options: LsCliOptions,
): Promise<((row: Row, item: InventoryItem) => Promise<Row>) | null> {
  const limit = recipientReads(options);
  if (limit === null) return null;
  const { readRecipients } = await import('../admin/sets/recipients.js');
  let reads = 0;
  return async (row, item) => {
    const latest = row.summary?.latest;
    if (item.kind !== 'set' || !latest) return row;
    if (reads++ >= limit)
      return { ...row, recipients: { kind: 'none', why: `not read: only the first ${limit} sets are` } };
    return { ...row, recipients: await readRecipients(item.set, latest) };
  };
}

function rowOf(
  item: Exclude<InventoryItem, { kind: 'wal' }>,
  owner: ((key: string) => FleetHost | null) | null,
): Row {
  if (item.kind === 'area') {
    const { area } = item;
    return {
      target: formatS3Url(area.location),
      kind: 'area',
      ...(owner ? { host: null } : {}),
      summary: null,
      area,
      wal: null,
      notes: [`sealdrop's own area (renewals, proofs): ${plural(area.objects, 'object')}`],
    };
  }
  const { listing, location } = item;
  const summary = summarizeSet(listing.snapshots, listing.strays.count);
  const host = owner?.(location.key);
  const belongs = host && host.location.key === location.key ? host.name : null;
  const notes = [
    ...(summary.incomplete ? [`${summary.incomplete} INCOMPLETE`] : []),
    ...(summary.broken ? [`${summary.broken} BROKEN`] : []),
    ...(summary.deleteMarkers ? [plural(summary.deleteMarkers, 'delete marker')] : []),
    ...(summary.strays
      ? [`${plural(summary.strays, 'stray')} (${listing.strays.sample.slice(0, 3).join(', ')})`]
      : []),
    ...(owner && !belongs ? ['belongs to no host'] : []),
  ];
  return {
    target: listing.target,
    kind: listing.kind,
    ...(owner ? { host: belongs } : {}),
    summary,
    area: null,
    wal: null,
    notes,
  };
}

function emptyChain(prefix: string) {
  return new WalChainTally(prefix).finish();
}

/** A host's WAL archive: its chain judged by the host's thresholds, what is not OK in the notes. */
/**
 * A WAL archive: its chain judged by its host's thresholds (a fleet's), else the defaults; what is not
 * OK in the notes. `walOwner` is null without a fleet (then there is no host column).
 */
function walRowOf(grouped: GroupedWal, walOwner: ((key: string) => FleetHost | null) | null): Row {
  const host = walOwner?.(grouped.location.key) ?? null;
  const settings = host?.settings;
  const thresholds = settings
    ? { warnAgeMs: settings.walWarnAge, maxAgeMs: settings.walMaxAge, baseAgeMs: settings.walBaseAge }
    : DEFAULT_WAL_THRESHOLDS;
  const verdict = judgeWalChain(grouped.chain, { ...thresholds, nothingStored: 'CRITICAL' }, new Date());
  const { chain } = grouped;
  return {
    target: formatS3Url(grouped.location),
    kind: 'wal',
    ...(walOwner ? { host: host?.name ?? null } : {}),
    summary: null,
    area: null,
    wal: {
      state: verdict.state,
      rpoMs: verdict.rpoMs,
      newest: chain.newestSegment?.time ?? null,
      files: chain.files,
      storedBytes: chain.storedBytes,
    },
    notes: [
      ...(verdict.rpoMs === null ? [] : [`RPO ${formatDuration(verdict.rpoMs)}`]),
      ...(verdict.state === 'OK' ? [] : verdict.reasons.filter((r) => !/archived .* ago$/.test(r))),
    ],
  };
}
