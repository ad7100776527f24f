// sealdrop verify TARGET --identity KEY.asc [--version-id ID | --at TIME | --all]
import type { Command } from 'commander';
import type { VersionCheck } from '../admin/verify.js';
import { EXIT, SealdropError } from '../core/errors.js';
import { formatBytes } from '../core/units.js';
import { collect } from './args.js';
import { printJson, say } from './output.js';
import { readPassphrase } from './passphrase.js';
import { progressLine } from './progress.js';
import { interruptible } from './signals.js';
import { checkRunOptions, versionSelector } from './restore.js';
import { resolveTarget, withTarget, type TargetOptions } from './target.js';

interface VerifyCliOptions extends TargetOptions {
  identity?: string[];
  versionId?: string;
  run?: string;
  at?: string;
  all?: boolean;
  passphraseFile?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerVerifyCommand(program: Command): void {
  withTarget(
    program
      .command('verify')
      .description('download, decrypt and decompress versions to nowhere: is the backup restorable?'),
  )
    .option('--identity <KEY.asc>', 'private key to decrypt with (repeatable)', collect)
    .option('--version-id <ID>', 'this version; default the latest')
    .option('--run <ID>', 'prefix targets: this run; default the latest complete run')
    .option('--at <TIME>', 'the newest version (or complete run) at or before TIME (as in restore)')
    .option('--all', 'every version that is not a delete marker (prefix: every complete run), newest first')
    .option(
      '--passphrase-file <FILE>',
      'passphrase of the identity (else SEALDROP_PASSPHRASE, else a prompt)',
    )
    .option('--json', 'print the results as JSON on stdout')
    .option('-q, --quiet', 'no progress; only failures are printed')
    .addHelpText(
      'after',
      `
Checks everything a restore depends on: the download, the OpenPGP integrity check (MDC), the gzip CRC
and length; for a run (prefix target) also every part's size and SHA-256 against the manifest, missing
parts, and parts written over after the run. A failure says which: tampering (MDC) or a backup that was bad when made (gzip).
Exit status: 0 all verified, 1 some version failed, 2 bad usage, key or passphrase, 3 integrity failure.

Examples:
  sealdrop verify s3://acme-backups/db1/mysql.sql.gz.gpg --identity admin.key.asc
  sealdrop verify --policy db1.policy.json --identity admin.key.asc --all --json
  sealdrop verify s3://acme-backups/db1/ --identity admin.key.asc    # the latest complete run, part by part`,
    )
    .action(async (url: string | undefined, options: VerifyCliOptions) => {
      if (
        options.all &&
        (options.versionId !== undefined || options.at !== undefined || options.run !== undefined)
      ) {
        throw new SealdropError('USAGE', 'give --all, --version-id, --run or --at, not several');
      }
      const selector = options.all ? ({ kind: 'all' } as const) : versionSelector(options);
      const target = await resolveTarget(url, options);
      checkRunOptions(target.location.isPrefix, options);
      const { verify } = await import('../admin/verify.js');
      const progress = progressLine({ quiet: options.quiet || options.json });
      try {
        const result = await interruptible((signal) =>
          verify({
            ...target,
            selector,
            identityPaths: options.identity ?? [],
            askPassphrase: () => {
              progress.done();
              return readPassphrase(options);
            },
            signal,
            onStart: (version) => progress.update(`verify ${version.versionId}`, 0, version.size),
            onProgress: (bytes, total) => progress.update('verify', bytes, total),
            onChecked: (check) => {
              progress.done();
              if (!options.json && (!options.quiet || !check.ok)) say(describe(check));
            },
          }),
        );
        progress.done();
        if (options.json) printJson(result);
        else if (!options.quiet)
          say(
            `${result.checks.length - result.failed} of ${result.checks.length} verified${result.failed ? `, ${result.failed} FAILED` : ''}.`,
          );
        if (result.checks.some((check) => check.code === 'INTEGRITY')) process.exitCode = EXIT.integrity;
        else if (result.failed > 0) process.exitCode = EXIT.failed;
      } finally {
        progress.done();
      }
    });
}

function describe(check: VersionCheck): string {
  const when = check.lastModified.replace('.000Z', 'Z');
  if (!check.ok) return `FAILED  ${check.versionId}  ${when}  ${check.problem}\n  hint: ${check.hint}`;
  return `OK      ${check.versionId}  ${when}  ${formatBytes(check.encryptedBytes)} stored, ${formatBytes(check.plainBytes)} ${check.compression === 'gzip' ? 'gunzipped' : check.compression === 'zstd' ? 'zstd-decompressed' : 'raw'}, ${check.seconds.toFixed(1)} s`;
}
