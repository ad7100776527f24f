// sealdrop verify TARGET --identity KEY.asc [--version-id ID | --run ID | --at TIME | --all]
import type { Command } from 'commander';
import type { SnapshotCheck } from '../admin/backups/verify.js';
import { EXIT, isBadBackup } from '../core/errors.js';
import { formatBytes } from '../core/units.js';
import {
  readerOptions,
  resolveChoice,
  withSnapshotOptions,
  type SnapshotCliOptions,
} from './snapshot-options.js';
import { isQuiet, printData, printJson, say, warn } from './output.js';
import { withProgress } from './progress.js';

interface VerifyCliOptions extends SnapshotCliOptions {
  json?: boolean;
  mark: boolean;
}

export function registerVerifyCommand(program: Command): void {
  const command = withSnapshotOptions(
    program
      .command('verify')
      .description('download, decrypt and decompress backups to nowhere: are they restorable?'),
    { all: true },
  ).option('--json', 'print the results as one JSON document on stdout');
  withMarkOption(command)
    .addHelpText(
      'after',
      `
Checks everything a restore depends on: the download, the OpenPGP integrity check (MDC), the gzip CRC
and length; for a run also every part's size and SHA-256 against the manifest. A failure says which:
tampering (MDC) or a backup that was bad when made (gzip). Objects of a run written over (or hidden by
a delete marker) after the run are warnings: verify reads the originals, as restore does.
Proofs: a backup is good once it decrypts, passes every check, names the place it belongs (what push
writes; --allow-unbound for a set written with gpg and curl), and its content continues the good backup
before it: a keyed sketch of the decompressed data, compared with the one kept for that backup, must
overlap by 25% or more (junk, encrypted data and a ransomware-encrypted database share nothing with a
dump). Otherwise it is REJECTED: status is CRITICAL, prune keeps it as evidence and never ranks it,
\`restore --verified\` never returns it; \`sealdrop approve\` makes a genuine one good. Each verdict is
kept as a small object in the bucket's .sealdrop/ area (never a tag on the backup: backup times stay
fixed); \`versions\` shows them. Needs s3:PutObject there, and s3:GetObject and s3:ListBucketVersions.
The first verify of a bucket stores the sketch key, encrypted to the identities given.
--unproven is the nightly proof: every backup not proven yet, oldest first (at most the newest 100).
One line per backup on stdout (OK or FAILED); -q prints only the failures.
--identity takes key files and gpg:EMAIL / gpg:FINGERPRINT (a key in gpg-agent or on a card), mixed.
--fleet FILE --host NAME names a fleet host's backups, with the fleet file's endpoint and region.
Exit status: 0 all verified (or nothing new), 1 some could not be checked, 2 bad usage, key or
passphrase (or gpg: no secret key, card missing, PIN cancelled), 3 a backup is bad or rejected (damaged, unbound, discontinuous, or no OpenPGP backup at all).

Examples:
  sealdrop verify s3://acme-backups/db1/mysql.sql.gz.gpg --identity admin.key.asc
  sealdrop verify --policy db1.policy.json --identity admin.key.asc --unproven -q   # nightly (cron)
  sealdrop verify --policy db1.policy.json --identity admin.key.asc --all --json
  sealdrop verify --policy db1.policy.json --identity gpg:ops@example.com --identity drill.key.asc
  sealdrop verify --fleet fleet.yaml --host db1 --identity admin.key.asc --at yesterday
  sealdrop verify s3://acme-backups/db1/ --identity admin.key.asc --all -q \\
      || mail -s "bad backup" ops@example.com
  # a restore drill from the monitoring host's cron, with its own recipient key (see the README):
  sealdrop verify --policy db1.policy.json --identity /etc/sealdrop/drill.key.asc -q`,
    )
    .action(async (url: string | undefined, options: VerifyCliOptions) => {
      const { target, selector, client } = await resolveChoice(url, options);
      const { verify } = await import('../admin/backups/verify.js');
      const result = await withProgress({ off: options.json }, (progress, signal) =>
        verify(client, target.location, {
          ...readerOptions(options, progress),
          selector,
          mark: options.mark,
          signal,
          onStart: (snapshot) => progress.update(`verify ${snapshot.id}`, 0, snapshot.size),
          onProgress: (bytes, total) => progress.update('verify', bytes, total),
          onNote: (message) => {
            progress.done();
            warn(message);
          },
          onChecked: (check) => {
            progress.done();
            if (!options.json && (!isQuiet() || !check.ok)) printData(describeCheck(check));
          },
        }),
      );
      if (options.json) printJson(result);
      else
        say(
          result.checks.length === 0
            ? 'Nothing to verify: every backup is proven already.'
            : `${result.checks.length - result.failed} of ${result.checks.length} verified${result.failed ? `, ${result.failed} FAILED` : ''}.`,
        );
      // 3: a backup is bad (damaged, or no backup at all); 1: one could not be checked.
      if (result.checks.some((check) => isBadBackup(check.code))) process.exitCode = EXIT.integrity;
      else if (result.failed > 0) process.exitCode = EXIT.failed;
    });
}

/** --no-mark, for verify and fleet verify. */
export function withMarkOption(command: Command): Command {
  return command.option('--no-mark', 'record no proofs (for credentials that may not write to the bucket)');
}

/** A check as verify prints it: OK or FAILED, the backup, and what was found (a hint when failed). */
export function describeCheck(check: SnapshotCheck): string {
  const { snapshot } = check;
  const id = snapshot.runId ?? snapshot.versionId;
  if (!check.ok) return `FAILED  ${id}  ${snapshot.time}  ${check.problem}\n  hint: ${check.hint}`;
  const warnings = check.warnings.map((w) => `\n  warning: ${w}`).join('');
  const continuity = check.continuity
    ? `, ${Math.round(check.continuity.overlap * 100)}% like ${check.continuity.against}`
    : '';
  return `OK      ${id}  ${snapshot.time}  ${formatBytes(check.encryptedBytes)} stored, ${formatBytes(check.plainBytes)} ${check.compression === 'gzip' ? 'gunzipped' : check.compression === 'zstd' ? 'zstd-decompressed' : 'raw'}${continuity}, ${check.seconds.toFixed(1)} s${check.markedAt ? ', proven good' : ''}${warnings}`;
}
