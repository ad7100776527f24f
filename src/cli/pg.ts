// sealdrop pg restore --base URL --wal URL --to TIME|latest --pgdata DIR
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { PgRestoreResult } from '../admin/wal/pg-restore.js';
import { SealdropError } from '../core/errors.js';
import { isGpgSpec } from '../core/gpg-spec.js';
import { parseS3Url } from '../core/s3-url.js';
import { durationOption } from './args.js';
import { printJson, say, table } from './output.js';
import { withProgress } from './progress.js';
import { pointInTime, readerOptions, withReading, type IdentityOptions } from './snapshot-options.js';
import { adminClient, withConnection, type ConnectionOptions } from './target.js';
import { walArchive } from './wal.js';

interface PgRestoreCliOptions extends IdentityOptions, ConnectionOptions {
  base: string;
  wal: string;
  to: string;
  pgdata: string;
  timeline: number | 'latest';
  targetAction: 'promote' | 'pause' | 'shutdown';
  archiveMode: 'off' | 'preserve';
  verified?: boolean;
  start?: boolean;
  startTimeout: number;
  json?: boolean;
}

export function registerPgCommands(program: Command): void {
  const pg = program.command('pg').description('PostgreSQL point-in-time recovery from a WAL archive');
  withReading(withConnection(pg.command('restore')))
    .description('restore a base backup and the WAL after it into a new data directory, up to a time')
    .requiredOption(
      '--base <s3://BUCKET/PREFIX/>',
      'the base backups (pushed pg_basebackup -Ft -X none tars)',
    )
    .requiredOption('--wal <s3://BUCKET/PREFIX/>', 'the WAL archive (wal push)')
    .requiredOption(
      '--to <TIME|latest>',
      'replay up to TIME (as --at takes it), or to the end of the archive',
    )
    .requiredOption('--pgdata <DIR>', 'the new data directory: absent or empty')
    .option(
      '--verified',
      'only base backups proven good (by `sealdrop verify` or `sealdrop approve`): junk the host pushed, and what verify rejected, is passed over',
    )
    .addOption(
      new Option(
        '--timeline <ID|latest>',
        'recover along this timeline (after a compromise: the last one you made yourself)',
      )
        .argParser(timelineArg)
        .default('latest'),
    )
    .addOption(
      new Option('--target-action <ACTION>', 'what the server does at the target')
        .choices(['promote', 'pause', 'shutdown'])
        .default('promote'),
    )
    .addOption(
      new Option(
        '--archive-mode <MODE>',
        "off: the restored server doesn't archive; preserve: the base backup's setting",
      )
        .choices(['off', 'preserve'])
        .default('off'),
    )
    .option(
      '--start',
      'start PostgreSQL on a socket in a temp dir and wait until recovery has ended (not as root)',
    )
    .addOption(durationOption('--start-timeout <DURATION>', 'how long --start waits for recovery', '1h'))
    .option('--json', 'print the result as JSON on stdout')
    .addHelpText(
      'after',
      `
Takes the newest complete base backup at or before --to (with --verified, the newest one proven
good), extracts it into --pgdata (created, or an empty directory; on any failure it is emptied
again), checks that the archive holds its backup history file and every segment up to the base
backup's end, and writes the recovery settings to postgresql.auto.conf: restore_command calling
\`sealdrop wal fetch\` with the same --identity, --passphrase-file and endpoint, recovery_target_time
(or the end of the archive), recovery_target_timeline (--timeline) and recovery_target_action, plus
recovery.signal. PostgreSQL then replays the archive when it starts. Its environment needs AWS
credentials (and SEALDROP_PASSPHRASE unless --passphrase-file). Files are the restorer's own: run it
as the database's user, or chown -R the directory afterwards.

A compromised server can push junk as its newest base backup, which stops a restore: --verified
takes the newest one proven good instead (verify rejects junk, but can't tell a doctored copy of the
real data). What the server archived after a compromise is its own too, and it can archive the
history file of a timeline it made up, which latest follows: restoring from before a compromise,
give --to a time before it and --timeline the last timeline you made yourself.

Exit status: 0 restored, 1 failed (no base backup, WAL missing, S3), 2 bad usage, key or passphrase,
3 integrity failure.

Examples:
  sealdrop pg restore --base s3://acme-backups/db1/base/ --wal s3://acme-backups/db1/wal/ \\
      --to "2026-12-05 16:55" --pgdata /var/lib/postgresql/15/pitr --identity admin.key.asc
  sudo -u postgres env AWS_PROFILE=restore sealdrop pg restore --base s3://acme-backups/db1/base/ \\
      --wal s3://acme-backups/db1/wal/ --to latest --pgdata /srv/pitr --identity /srv/admin.asc \\
      --passphrase-file /srv/pass --start
  sealdrop pg restore --base s3://acme-backups/db1/base/ --wal s3://acme-backups/db1/wal/ \\
      --to "2026-12-05 03:00" --timeline 1 --verified --pgdata /srv/pitr --identity admin.key.asc`,
    )
    .action(async (options: PgRestoreCliOptions) => {
      const base = parseS3Url(options.base);
      const wal = walArchive(options.wal);
      const to = options.to === 'latest' ? 'latest' : await pointInTime(options.to, '--to');
      if (options.start && options.targetAction !== 'promote')
        throw new SealdropError(
          'USAGE',
          '--start waits for the server to promote: leave out --target-action',
        );
      const pgdata = resolve(options.pgdata);
      const client = await adminClient(options);
      const { pgRestore, restoreCommand } = await import('../admin/wal/pg-restore.js');
      const command = await restoreCommand(client, walFetchArgs(options), options.endpoint);
      const result = await withProgress({ off: options.json }, (progress, signal) =>
        pgRestore(client, {
          ...readerOptions(options, progress),
          base,
          wal,
          to,
          ...(options.timeline === 'latest' ? {} : { timeline: options.timeline }),
          pgdata,
          restoreCommand: command,
          targetAction: options.targetAction,
          keepArchiving: options.archiveMode === 'preserve',
          verified: options.verified ?? false,
          signal,
          onProgress: (bytes, total) => progress.update('base backup', bytes, total),
        }),
      );
      const server = options.start
        ? await (
            await import('../admin/wal/pg-server.js')
          ).startRecovered(pgdata, { timeoutMs: options.startTimeout })
        : null;
      if (options.json) printJson({ ...result, ...(server ? { server } : {}) });
      else say(summary(result, server?.socketDir ?? null));
    });
}

/** A timeline id as PostgreSQL numbers them (1 to 2^32 - 1, in decimal), or latest. */
function timelineArg(text: string): number | 'latest' {
  if (text === 'latest') return text;
  const id = /^[1-9]\d{0,9}$/.test(text) ? Number(text) : 0;
  if (id < 1 || id > 0xffffffff)
    throw new SealdropError('USAGE', `--timeline ${text}: not a timeline`, {
      hint: 'Give its number in decimal (timeline 2 is 00000002.history in the archive), or latest.',
    });
  return id;
}

/** `sealdrop wal fetch ARCHIVE` with this run's identities and passphrase file (absolute paths). */
export function walFetchArgs(options: IdentityOptions & { wal: string }): string[] {
  return [
    ...thisSealdrop(),
    'wal',
    'fetch',
    options.wal,
    ...(options.identity ?? []).flatMap((path) => ['--identity', isGpgSpec(path) ? path : resolve(path)]),
    ...(options.passphraseFile ? ['--passphrase-file', resolve(options.passphraseFile)] : []),
    ...(options.allowUnbound ? ['--allow-unbound'] : []),
  ];
}

/**
 * This sealdrop on this Node.js, as a command: the installed bin/sealdrop (which moves files fetched
 * ahead into place without starting Node.js) with this Node.js first in PATH, else bin.cjs.
 */
function thisSealdrop(): string[] {
  const script = realpathSync(process.argv[1]!);
  const launcher = join(dirname(script), '../../bin/sealdrop');
  if (basename(process.execPath) !== 'node' || !existsSync(launcher)) return [process.execPath, script];
  return ['/usr/bin/env', `PATH=${dirname(process.execPath)}:/usr/bin:/bin`, launcher];
}

function summary(result: PgRestoreResult, socketDir: string | null): string {
  const { snapshot } = result.base;
  return [
    `Restored the base backup ${result.base.target} ${snapshot.runId ? `run ${snapshot.runId}` : `version ${snapshot.versionId}`} (${snapshot.time}) into ${result.pgdata}`,
    table([
      ['base', `${result.label.startTime}, timeline ${result.label.timeline}, label "${result.label.label}"`],
      ['WAL', `${result.requiredWal.from} to ${result.requiredWal.to} needed, all archived`],
      [
        'target',
        `${result.to === 'latest' ? 'the end of the archive' : result.to}, timeline ${result.timeline}`,
      ],
    ]),
    socketDir
      ? `Recovery has ended and the server runs: psql -h ${socketDir} -U postgres`
      : `Start it to replay the WAL (as the directory's owner; AWS credentials in its environment):\n  pg_ctl -D ${result.pgdata} -l ${result.pgdata}.log start`,
  ].join('\n');
}
