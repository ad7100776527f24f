// sealdrop wal push (archive_command, on the database server) and wal fetch (restore_command, admin side)
import { Option, type Command } from 'commander';
import { parseCompression } from '../core/compression.js';
import { SealdropError } from '../core/errors.js';
import { parseS3Url, type S3Location } from '../core/s3-url.js';
import { DEFAULT_AHEAD } from '../agent/wal-memory.js';
import { durationOption, integerArg } from './args.js';
import { printJson, say, warn } from './output.js';
import { retriesArg } from './push.js';
import { readerOptions, withReading, type IdentityOptions } from './snapshot-options.js';
import { withProgress } from './progress.js';
import { adminClient, withConnection, type ConnectionOptions } from './target.js';

/** What PostgreSQL makes of restore_command's exit: 1 ends recovery there, above 125 aborts it. */
export const WAL_FETCH_EXIT = { notArchived: 1, abort: 126 } as const;

interface WalPushCliOptions {
  policy: string;
  compress?: string;
  level?: number;
  jobs: number;
  ahead: number;
  spoolDir?: string;
  retries: number;
  retryDelay: number;
  json?: boolean;
}

export function walCommand(program: Command): Command {
  return program.command('wal').description('PostgreSQL WAL archiving: archive_command and restore_command');
}

export function registerWalPushCommand(wal: Command): void {
  wal
    .command('push')
    .description('archive one WAL file (and the others ready) under a prefix policy: archive_command')
    .addOption(
      new Option('--policy <FILE>', 'prefix policy file from `sealdrop policy mint s3://BUCKET/PREFIX/`')
        .env('SEALDROP_POLICY')
        .makeOptionMandatory(),
    )
    .argument('<PATH>', '%p: the file to archive, relative to the data directory')
    .option(
      '--compress <gzip|zstd|none>',
      "compression (default: the policy file's, else zstd where Node.js has it, else gzip)",
    )
    .option('--level <N>', 'gzip 1-9 (default 6), zstd 1-19 (default 3)', integerArg)
    .option('--jobs <N>', 'files uploaded at once', positive('--jobs', 16), 2)
    .option(
      '--ahead <N>',
      'other ready files uploaded per call, at most, also those marked ready meanwhile',
      positive('--ahead', 1000),
      DEFAULT_AHEAD,
    )
    .option('--spool-dir <DIR>', 'where ciphertext is spooled before upload (default: the OS temp dir)')
    .option('--retries <N>', 'retries on network errors and 5xx (0 to 100)', retriesArg, 5)
    .addOption(durationOption('--retry-delay <DURATION>', 'first retry delay, doubled each time', '1s'))
    .option('--json', 'print the result as one JSON object on stdout')
    .addHelpText(
      'after',
      `
PostgreSQL runs archive_command once per file and waits. wal push uploads that file and, in
parallel, up to --ahead others PostgreSQL has marked ready (pg_wal/archive_status/*.ready), also
those marked ready while it runs, and remembers them in pg_wal/sealdrop/: PostgreSQL's calls for
those are answered by the sealdrop command without starting Node.js. Each file becomes one object,
PREFIX + NAME + .zst.gpg (or .gz.gpg), encrypted to the policy's recipients and bound to its place.
Exit 0 only once the file is stored: on any failure PostgreSQL keeps the file and calls again, so
nothing is lost while S3 is down. Set archive_timeout (e.g. 60s) to bound the RPO of a quiet database.

Exit status: 0 stored, 1 failed (PostgreSQL retries), 2 bad usage or policy.

Examples:
  # postgresql.conf; the policy file readable by the postgres user only
  archive_mode = on
  archive_command = 'sealdrop wal push --policy /etc/sealdrop/db1-wal.policy.json %p'
  archive_timeout = 60s
  # the agent's single file works the same:
  archive_command = '/usr/bin/sealdrop-agent wal push --policy /etc/sealdrop/db1-wal.policy.json %p'`,
    )
    .action(async (path: string, options: WalPushCliOptions) => {
      const compression = options.compress === undefined ? undefined : parseCompression(options.compress);
      const [{ walPush }, { loadPolicyFile }] = await Promise.all([
        import('../agent/wal-push.js'),
        import('../core/policy-file.js'),
      ]);
      const policy = await loadPolicyFile(options.policy);
      const result = await withProgress({ off: true }, (_progress, signal) =>
        walPush(policy, {
          policyPath: options.policy,
          path,
          compression,
          level: options.level,
          jobs: options.jobs,
          ahead: options.ahead,
          spoolDir: options.spoolDir,
          retries: options.retries,
          retryDelayMs: options.retryDelay,
          signal,
          onWarning: warn,
        }),
      );
      if (options.json) printJson(result);
      else if (result.uploaded || result.ahead.length > 0)
        say(
          `stored ${result.uploaded ? result.key : `${result.name} (earlier)`}${result.ahead.length ? `, and ${result.ahead.length} ready ahead (${result.ahead[0]}…)` : ''} in ${result.seconds.toFixed(1)} s`,
        );
    });
}

interface WalFetchCliOptions extends IdentityOptions, ConnectionOptions {
  batch: number;
  jobs: number;
  versionId?: string;
}

export function registerWalFetchCommand(wal: Command): void {
  withReading(
    withConnection(
      wal
        .command('fetch')
        .description('restore one archived WAL file for PostgreSQL: restore_command (admin side)')
        .argument('<s3://BUCKET/PREFIX/>', 'the WAL archive (the prefix its hosts push to)')
        .argument('<NAME>', '%f: the file PostgreSQL asks for')
        .argument('<PATH>', '%p: where to write it'),
    ),
  )
    .option(
      '--batch <N>',
      'files fetched per call: the one asked for and the segments after it',
      positive('--batch', 64),
      8,
    )
    .option('--jobs <N>', 'downloads at once', positive('--jobs', 16), 4)
    .option(
      '--version-id <ID>',
      'this version of the file instead of its first (by hand, after status named it)',
    )
    .addHelpText(
      'after',
      `
Writes the FIRST version of the file (a later version of a name was written after it, by a retry or
an attacker; sealdrop status names them) once its OpenPGP integrity check passed and its binding
names this archive: a file copied from another host's archive is refused. The next segments are
fetched in the same call into pg_wal/sealdrop-fetch/, so replay doesn't wait for one request per file.
\`sealdrop pg restore\` writes this command into the recovery settings for you.

Exit status (what PostgreSQL expects of restore_command): 0 written, 1 not in the archive (recovery
ends there), 126 anything else: damaged, forged or from elsewhere, wrong key, S3 unreachable. 126
makes PostgreSQL abort recovery instead of ending it early on a file it could not trust.

Examples (postgresql.auto.conf of the server being recovered):
  restore_command = 'sealdrop wal fetch s3://backups/db1/wal/ %f %p --identity /root/admin.key.asc'
  # a key with a passphrase: add --passphrase-file FILE (or set SEALDROP_PASSPHRASE_FILE)
  # the key in the gpg-agent of the user the server runs as (one gpg call per file):
  restore_command = 'sealdrop wal fetch s3://backups/db1/wal/ %f %p --identity gpg:ops@example.com'`,
    )
    .action(async (url: string, name: string, path: string, options: WalFetchCliOptions) => {
      try {
        const archive = walArchive(url);
        const client = await adminClient(options);
        const [{ walFetch }, { Keyring, loadIdentities }] = await Promise.all([
          import('../admin/wal/fetch.js'),
          import('../admin/openpgp/identities.js'),
        ]);
        await withProgress({ off: true }, async (progress, signal) => {
          const reader = readerOptions(options, progress);
          const keyring = new Keyring(
            await loadIdentities(reader.identityPaths, 'wal fetch'),
            reader.askPassphrase,
          );
          await walFetch(client, archive, {
            name,
            destination: path,
            keyring,
            batch: options.batch,
            jobs: options.jobs,
            versionId: options.versionId,
            signal,
            onNote: warn,
          });
        });
      } catch (error) {
        const { NotArchived } = await import('../admin/wal/fetch.js');
        if (!(error instanceof NotArchived)) throw forPostgres(error);
        // The normal end of archive recovery (and PostgreSQL's probe for a next timeline): no error.
        say(`sealdrop: ${error.message}: PostgreSQL ends recovery here, or goes on without it`);
        process.exitCode = WAL_FETCH_EXIT.notArchived;
      }
    });
}

/** A WAL archive is a prefix: s3://BUCKET/PREFIX/. */
export function walArchive(url: string): S3Location {
  const archive = parseS3Url(url);
  if (!archive.isPrefix)
    throw new SealdropError('USAGE', `${url} is not a prefix: name the WAL archive as s3://BUCKET/PREFIX/`);
  return archive;
}

/**
 * Every failure but "not in the archive" aborts recovery (exit 126), bugs included: ending recovery
 * early would promote a server that is missing data, and look like success.
 */
function forPostgres(error: unknown): unknown {
  if (error instanceof SealdropError && error.exitStatus >= 128) return error; // interrupted
  const exitStatus = WAL_FETCH_EXIT.abort;
  return error instanceof SealdropError
    ? new SealdropError(error.code, error.message, { hint: error.hint, exitStatus, cause: error })
    : new SealdropError('FAILED', `internal error: ${(error as Error)?.stack ?? String(error)}`, {
        hint: 'This is a bug in sealdrop: please report it with the message above.',
        exitStatus,
      });
}

function positive(flag: string, max: number): (text: string) => number {
  return (text) => {
    const value = integerArg(text);
    if (value < 1 || value > max) throw new SealdropError('USAGE', `${flag} ${text}: give 1 to ${max}`);
    return value;
  };
}
