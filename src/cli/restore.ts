// sealdrop restore TARGET --identity KEY.asc [--version-id ID | --at TIME] [--out FILE]
import type { Command } from 'commander';
import type { RestoreResult } from '../admin/restore.js';
import { SealdropError } from '../core/errors.js';
import { formatBytes, formatDuration } from '../core/units.js';
import { parsePointInTime, type VersionSelector } from '../core/versions.js';
import { collect } from './args.js';
import { printJson, say, table, warn } from './output.js';
import { readPassphrase } from './passphrase.js';
import { progressLine } from './progress.js';
import { interruptible } from './signals.js';
import { resolveTarget, withTarget, type TargetOptions } from './target.js';

interface RestoreCliOptions extends TargetOptions {
  identity?: string[];
  versionId?: string;
  run?: string;
  at?: string;
  out?: string;
  force?: boolean;
  decompress: boolean;
  passphraseFile?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerRestoreCommand(program: Command): void {
  withTarget(
    program
      .command('restore')
      .description('download one version, decrypt and decompress it to stdout or a file'),
  )
    .option(
      '--identity <KEY.asc>',
      'private key to decrypt with (repeatable; the first one the backup is encrypted to is used)',
      collect,
    )
    .option('--version-id <ID>', 'this version (see `sealdrop versions`); default the latest')
    .option(
      '--run <ID>',
      'prefix targets: this run (see `sealdrop versions`); default the latest complete run',
    )
    .option(
      '--at <TIME>',
      'the newest version (or complete run) at or before TIME: 2024-05-01T03:00:00Z, "2024-05-01 03:00" (local), @EPOCH, "36h ago"',
    )
    .option('--out <FILE>', 'write here (mode 0600), only once every integrity check passed; default stdout')
    .option('--force', 'replace an existing --out file')
    .option('--no-decompress', 'write the decrypted bytes as stored (gzip stays gzip)')
    .option(
      '--passphrase-file <FILE>',
      'passphrase of the identity (else SEALDROP_PASSPHRASE, else a prompt)',
    )
    .option('--json', 'print the result as JSON on stdout (needs --out)')
    .option('-q, --quiet', 'no progress and no summary')
    .addHelpText(
      'after',
      `
A prefix target (s3://BUCKET/PREFIX/, or a prefix policy) restores a run: the latest complete one, or
--run ID, or --at TIME. Its parts are downloaded in order and each is checked against the manifest's size
and SHA-256 as it streams; an incomplete run (no manifest) is refused.
With --out, the data goes to a private temp file beside FILE, which is renamed to FILE only after the
OpenPGP integrity check (MDC) and the gzip CRC passed; on any failure nothing is left behind.
To stdout the data streams as it is decrypted, and the checks can only fail at the end: then the
command says so loudly and exits 3. In pipelines use \`set -o pipefail\`.
Exit status: 0 restored, 1 failed (not found, S3), 2 bad usage, key or passphrase, 3 integrity failure.

Examples:
  sealdrop restore s3://acme-backups/db1/mysql.sql.gz.gpg --identity admin.key.asc --out db1.sql
  sealdrop restore --policy db1.policy.json --identity admin.key.asc --at "2024-05-01 03:00" --out db1.sql
  sealdrop restore s3://acme-backups/db1/ --identity admin.key.asc --out db1.sql   # latest complete run
  set -o pipefail; sealdrop restore s3://acme-backups/db1/mysql.sql.gz.gpg --identity admin.key.asc \\
      --version-id 3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY | mysql db1`,
    )
    .action(async (url: string | undefined, options: RestoreCliOptions) => {
      const selector = versionSelector(options);
      const target = await resolveTarget(url, options);
      checkRunOptions(target.location.isPrefix, options);
      if (options.json && options.out === undefined) {
        throw new SealdropError('USAGE', '--json needs --out: without it, stdout carries the restored data');
      }
      const { restore } = await import('../admin/restore.js');
      const progress = progressLine({ quiet: options.quiet || options.json });
      try {
        const result = await interruptible((signal) =>
          restore({
            ...target,
            selector,
            identityPaths: options.identity ?? [],
            askPassphrase: () => {
              progress.done();
              return readPassphrase(options);
            },
            outPath: options.out,
            overwrite: options.force,
            decompress: options.decompress,
            signal,
            onNote: (message) => {
              progress.done();
              if (!options.quiet) warn(message);
            },
            onProgress: (bytes, total) => progress.update('restore', bytes, total),
          }),
        );
        progress.done();
        if (options.json) printJson(result);
        else if (!options.quiet) say(summary(result));
      } finally {
        progress.done();
      }
    });
}

/** --version-id, --run or --at (one); none means the latest. Shared with verify. */
export function versionSelector(options: { versionId?: string; run?: string; at?: string }): VersionSelector {
  const given = (['versionId', 'run', 'at'] as const).filter((name) => options[name] !== undefined);
  if (given.length > 1) {
    const flags = given.map((name) => ({ versionId: '--version-id', run: '--run', at: '--at' })[name]);
    throw new SealdropError(
      'USAGE',
      `give ${flags.join(' or ')}, not ${given.length === 2 ? 'both' : 'several'}`,
    );
  }
  if (options.versionId !== undefined) return { kind: 'id', versionId: options.versionId };
  // A run id travels as the id of the prefix target's "version".
  if (options.run !== undefined) return { kind: 'id', versionId: options.run };
  if (options.at !== undefined) return { kind: 'at', at: parsePointInTime(options.at) };
  return { kind: 'latest' };
}

function summary(result: RestoreResult): string {
  const age = formatDuration(Date.now() - Date.parse(result.lastModified));
  return [
    `Restored s3://${result.bucket}/${result.key} version ${result.versionId} (${result.lastModified}, ${age} ago)${result.out ? ` to ${result.out}` : ''}`,
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

/** Runs live under prefixes, versions under keys: the wrong one is a usage error, not "not found". */
export function checkRunOptions(isPrefix: boolean, options: { versionId?: string; run?: string }): void {
  if (isPrefix && options.versionId !== undefined)
    throw new SealdropError('USAGE', 'a prefix target holds runs: pick one with --run ID, not --version-id');
  if (!isPrefix && options.run !== undefined)
    throw new SealdropError('USAGE', '--run needs a prefix target (s3://BUCKET/PREFIX/ or a prefix policy)');
}
