// sealdrop versions TARGET
import { Option, type Command } from 'commander';
import { formatS3Url } from '../core/s3-url.js';
import { formatBytes, formatDuration } from '../core/units.js';
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
      .description('list every version of a backup key, newest first (delete markers marked)'),
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
  sealdrop versions --policy db1.policy.json --json | jq -r '.versions[0].versionId'`,
    )
    .action(async (url: string | undefined, options: VersionsCliOptions) => {
      const target = await resolveTarget(url, options);
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
