// sealdrop restore TARGET --identity KEY.asc [--version-id ID | --at TIME] [--out FILE]
import type { Command } from 'commander';
import type { RestoreResult } from '../admin/backups/restore.js';
import { SealdropError } from '../core/errors.js';
import type { SnapshotSelector } from '../core/snapshot.js';
import { formatBytes, formatDuration } from '../core/units.js';
import {
  readerOptions,
  resolveChoice,
  withSnapshotOptions,
  type SnapshotCliOptions,
} from './snapshot-options.js';
import { printJson, say, table } from './output.js';
import { withProgress } from './progress.js';

interface RestoreCliOptions extends SnapshotCliOptions {
  out?: string;
  force?: boolean;
  decompress: boolean;
  json?: boolean;
}

export function registerRestoreCommand(program: Command): void {
  withSnapshotOptions(
    program
      .command('restore')
      .description('download one backup, decrypt and decompress it to stdout or a file'),
    { verified: true },
  )
    .option(
      '--out <FILE>',
      'write here (mode 0600), only once every integrity check passed; default (or -) stdout',
    )
    .option('--force', 'replace an existing --out file (a regular file only)')
    .option('--no-decompress', 'write the decrypted bytes as stored (gzip stays gzip)')
    .option('--json', 'print the result as JSON on stdout (needs --out)')
    .addHelpText(
      'after',
      `
The latest complete backup, or --version-id ID (a key), --run ID (a prefix), --at TIME, or with
--verified the newest one proven good (by \`sealdrop verify\` or approve; with --at, at or before TIME). Newer incomplete or broken runs are
passed over, and named on stderr. --at takes ISO 8601, @EPOCH, "36h ago" and English as people type it
("yesterday 03:00", "last tuesday 23:00", "May 1 3am"); a day without a time means its 00:00 local, as
date(1) reads it (but "yesterday" alone is this time a day ago, as in date(1)); what it was read as is said on stderr, and \`sealdrop versions --at TIME\` shows the
backup it picks. A time that reads two ways (03/04/2024) or is still to come is refused.
--fleet FILE --host NAME names a fleet host's backups, with the fleet file's endpoint and region. A run's parts are downloaded in order
and each is checked against the manifest's size and SHA-256 as it streams.
With --out, the data goes to a private temp file beside FILE, which is renamed to FILE only after the
OpenPGP integrity check (MDC) and the gzip CRC passed; on any failure nothing is left behind. --out
takes a new path, or with --force an existing regular file: never a directory, device, FIFO or link.
To stdout the data streams as it is decrypted, and the checks can only fail at the end: then the
command says so loudly and exits 3. In pipelines use \`set -o pipefail\`.
--identity gpg:EMAIL (or gpg:FINGERPRINT) leaves the key in gpg-agent or on a card: gpg decrypts each
object's session key (pinentry asks for the passphrase or PIN), sealdrop the data. --identity repeats,
key files and gpg: mixed: the one holding a key the backup is encrypted to is used.
Exit status: 0 restored, 1 failed (not found, S3), 2 bad usage, key or passphrase (or gpg: no secret
key, card missing, PIN cancelled), 3 integrity failure.

Examples:
  sealdrop restore s3://acme-backups/db1/mysql.sql.gz.gpg --identity admin.key.asc --out db1.sql
  # the key in gpg-agent or on a YubiKey:
  sealdrop restore s3://acme-backups/db1/mysql.sql.gz.gpg --identity gpg:ops@example.com \\
      --out db1.sql
  sealdrop restore --policy db1.policy.json --identity admin.key.asc --at "2024-05-01 03:00" \\
      --out db1.sql
  sealdrop restore s3://acme-backups/db1/ --identity admin.key.asc --out db1.sql   # the last run
  sealdrop restore --policy db1.policy.json --identity admin.key.asc --verified --out db1.sql
  sealdrop restore --fleet fleet.yaml --host db1 --identity admin.key.asc \\
      --at "last tuesday 23:00" --out db1.sql
  set -o pipefail
  sealdrop restore s3://acme-backups/db1/mysql.sql.gz.gpg --identity admin.key.asc \\
      --version-id 3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY | mysql db1`,
    )
    .action(async (url: string | undefined, options: RestoreCliOptions) => {
      // `--out -` is stdout, as in every stock tool.
      const out = options.out === '-' ? undefined : options.out;
      if (options.json && out === undefined) {
        throw new SealdropError('USAGE', '--json needs --out: without it, stdout carries the restored data');
      }
      const { target, selector, client } = await resolveChoice(url, options);
      const { restore } = await import('../admin/backups/restore.js');
      const result = await withProgress({ off: options.json }, (progress, signal) =>
        restore(client, target.location, {
          ...readerOptions(options, progress),
          selector: selector as SnapshotSelector,
          outPath: out,
          overwrite: options.force,
          decompress: options.decompress,
          signal,
          onProgress: (bytes, total) => progress.update('restore', bytes, total),
        }),
      );
      if (options.json) printJson(result);
      else say(summary(result));
    });
}

function summary(result: RestoreResult): string {
  const { snapshot } = result;
  const id = snapshot.runId ? `run ${snapshot.runId}` : `version ${snapshot.versionId}`;
  return [
    `Restored ${result.target} ${id} (${snapshot.time}, ${formatDuration(Date.now() - Date.parse(snapshot.time))} ago)${result.out ? ` to ${result.out}` : ''}`,
    table([
      [
        'integrity',
        'OpenPGP MDC ok' +
          (result.decompressed
            ? `, ${result.compression === 'zstd' ? 'zstd checksums' : 'gzip CRC'} ok`
            : ''),
      ],
      ['identity', `${result.identity.fingerprint} (${result.identity.source})`],
      ['stored', formatBytes(result.encryptedBytes)],
      [
        'restored',
        `${formatBytes(result.outputBytes)}${result.compression === 'none' ? '' : result.decompressed ? ` (${result.compression === 'zstd' ? 'zstd-decompressed' : 'gunzipped'})` : ` (still ${result.compression})`}`,
      ],
      [
        'time',
        `${result.seconds.toFixed(1)} s, ${formatBytes(result.outputBytes / Math.max(result.seconds, 0.001))}/s`,
      ],
    ]),
  ].join('\n');
}
