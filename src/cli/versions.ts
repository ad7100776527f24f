// sealdrop versions TARGET
import { Option, type Command } from 'commander';
import { formatS3Url } from '../core/s3-url.js';
import { formatBytes, formatDuration } from '../core/units.js';
import type { RunListing } from '../core/runs.js';
import type { ObjectVersion } from '../core/versions.js';
import { integerArg } from './args.js';
import { columns, printJson, say } from './output.js';
import { resolveTarget, withTarget, type TargetOptions } from './target.js';

interface VersionsCliOptions extends TargetOptions {
  json?: boolean;
  pageSize?: number;
}

export function registerVersionsCommand(program: Command): void {
  withTarget(
    program
      .command('versions')
      .description(
        'list every version of a backup key, or every run under a prefix, newest first (delete markers and incomplete runs marked)',
      ),
  )
    .option('--json', 'print the list as JSON on stdout')
    // For tests of the pagination: S3 pages at 1000.
    .addOption(
      new Option('--page-size <N>', 'keys per ListObjectVersions request').argParser(integerArg).hideHelp(),
    )
    .addHelpText(
      'after',
      `
Needs admin credentials (standard AWS chain) with s3:ListBucketVersions.

Examples:
  sealdrop versions s3://acme-backups/db1/mysql.sql.gz.gpg
  sealdrop versions --policy db1.policy.json --json | jq -r '.versions[0].versionId'
  sealdrop versions s3://acme-backups/db1/      # a prefix: one line per run, COMPLETE or INCOMPLETE`,
    )
    .action(async (url: string | undefined, options: VersionsCliOptions) => {
      const target = await resolveTarget(url, options);
      if (target.location.isPrefix) {
        const [{ createS3Client }, { listRuns }] = await Promise.all([
          import('../admin/s3-client.js'),
          import('../admin/runs.js'),
        ]);
        const listing = await listRuns(createS3Client(target), target.location);
        if (options.json)
          return printJson({
            bucket: target.location.bucket,
            prefix: target.location.key,
            runs: runsJson(listing),
          });
        return say(describeRuns(formatS3Url(target.location), listing));
      }
      const [{ createS3Client }, { listVersions }] = await Promise.all([
        import('../admin/s3-client.js'),
        import('../admin/versions.js'),
      ]);
      const versions = await listVersions(createS3Client(target), target.location, {
        pageSize: options.pageSize,
      });
      if (options.json)
        return printJson({ bucket: target.location.bucket, key: target.location.key, versions });
      say(describe(formatS3Url(target.location), versions));
    });
}

function describe(label: string, versions: ObjectVersion[], now = Date.now()): string {
  if (versions.length === 0) return `${label}: no versions (the key does not exist)`;
  const restorable = versions.filter((version) => !version.isDeleteMarker).length;
  const rows = versions.map((version) => [
    version.versionId,
    version.lastModified.toISOString().replace('.000Z', 'Z'),
    `${formatDuration(now - version.lastModified.getTime())} ago`,
    version.isDeleteMarker ? '-' : formatBytes(version.size),
    [version.isLatest ? 'latest' : '', version.isDeleteMarker ? 'DELETE MARKER' : '']
      .filter(Boolean)
      .join(', '),
  ]);
  const markers = versions.length - restorable;
  return [
    `${label}: ${restorable} version${restorable === 1 ? '' : 's'}${markers ? `, ${markers} delete marker${markers === 1 ? '' : 's'}` : ''}`,
    ...columns(['VERSION ID', 'LAST MODIFIED', 'AGE', 'SIZE', ''], rows, { right: [3] }),
  ].join('\n');
}

function runsJson(listing: RunListing) {
  return listing.runs.map((run) => ({
    runId: run.runId,
    time: run.time.toISOString(),
    complete: run.complete,
    parts: run.parts.length,
    size: run.size,
  }));
}

function describeRuns(label: string, listing: RunListing, now = Date.now()): string {
  const { runs } = listing;
  if (runs.length === 0) return `${label}: no runs`;
  const complete = runs.filter((run) => run.complete).length;
  const rows = runs.map((run) => [
    run.runId,
    run.time.toISOString().replace('.000Z', 'Z'),
    `${formatDuration(now - run.time.getTime())} ago`,
    String(run.parts.length),
    formatBytes(run.size),
    run.complete ? 'complete' : 'INCOMPLETE (no manifest)',
  ]);
  return [
    `${label}: ${complete} complete run${complete === 1 ? '' : 's'}${runs.length > complete ? `, ${runs.length - complete} INCOMPLETE` : ''}`,
    ...columns(['RUN ID', 'TIME', 'AGE', 'PARTS', 'SIZE', ''], rows, { right: [3, 4] }),
    ...(listing.strays.length
      ? [`(${listing.strays.length} other object(s) under the prefix are not part of any run)`]
      : []),
  ].join('\n');
}
