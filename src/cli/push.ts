// sealdrop push
import { fstatSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { storedWhat, type PushResult } from '../agent/result.js';
import { parseCompression } from '../core/compression.js';
import { SealdropError } from '../core/errors.js';
import { pingUrlProblem } from '../core/policy-file.js';
import { formatBytes, formatDuration } from '../core/units.js';
import { plural } from '../core/words.js';
import { durationOption, integerArg, sizeArg } from './args.js';
import { printJson, say, table, warn } from './output.js';
import { withProgress } from './progress.js';
import { version } from './version.js';

interface PushCliOptions {
  policy: string;
  compress?: string;
  level?: number;
  allowEmpty?: boolean;
  spoolDir?: string;
  partSize?: number;
  retries: number;
  retryFor: number;
  retryDelay: number;
  warnExpiry: number;
  ping?: string;
  metricsFile?: string;
  json?: boolean;
}

export function registerPushCommand(program: Command): void {
  program
    .command('push')
    .description("encrypt a dump to the policy's recipients and upload it as a new version (runs on servers)")
    .addOption(
      new Option('--policy <FILE>', 'policy file from `sealdrop policy mint` (else SEALDROP_POLICY)')
        .env('SEALDROP_POLICY')
        .makeOptionMandatory(),
    )
    .argument('[COMMAND...]', 'dump command to run (after --); its stdout is the data. Without it, stdin is.')
    .option(
      '--compress <gzip|zstd|none>',
      "compression before encryption (default: the policy file's, else gzip); zstd needs Node.js 22.15+ (sealdrop-agent has it)",
    )
    .option('--level <N>', 'gzip 1-9 (default 6), zstd 1-19 (default 3)', integerArg)
    .option('--allow-empty', 'upload even when the input is empty')
    .option('--spool-dir <DIR>', 'where the ciphertext is spooled before upload (default: the OS temp dir)')
    .option(
      '--part-size <SIZE>',
      "prefix policies: size of each part of the run (default: the policy file's, else 1GiB; at most its max size)",
      sizeArg,
    )
    .option('--retries <N>', 'retries on network errors and 5xx (0 to 100)', retriesArg, 5)
    .addOption(
      durationOption(
        '--retry-for <DURATION>',
        'and go on retrying for this long after the first failure (an S3 outage); the spool stays meanwhile',
        '15min',
      ),
    )
    .addOption(
      durationOption('--retry-delay <DURATION>', 'first retry delay, doubled each time (at most 1min)', '1s'),
    )
    .addOption(durationOption('--warn-expiry <DURATION>', 'warn when the policy expires within this', '3d'))
    .option(
      '--ping <URL>',
      "report the run to URL/start, URL (success) and URL/fail (default: the policy file's ping URL)",
      pingArg,
    )
    .addOption(
      new Option(
        '--metrics-file <PATH>',
        'node_exporter textfile metrics of the last runs, replaced by rename (e.g. /var/lib/prometheus/node-exporter/sealdrop-db1.prom)',
      ).env('SEALDROP_METRICS_FILE'),
    )
    .option('--json', 'print the result as one JSON object on stdout')
    .addHelpText(
      'after',
      `
Give the dump command after --: push runs it, and stores nothing when it fails. Piped into push
(\`dump | sealdrop push\`), a dump cut short looks like a complete one (push can't see the writer's
exit status; it says so on stderr): use \`set -o pipefail\` and check the exit status then.
Nothing is uploaded, and no spool file is left, when the command fails, the input is empty, the
result is over the policy's max size, the disk fills up or the run is interrupted (exit 129/130/143).

With a prefix policy (minted for s3://BUCKET/PREFIX/) a push is a run: PREFIX<run-id>/part-000001 …
uploaded while the dump goes on (at most two parts spooled at once), then PREFIX<run-id>/manifest.json
once every part is stored. A run that fails keeps the parts it stored but gets no manifest: it is
incomplete, and the read side never restores or counts it. \`cat part-* | gpg -d | gunzip\` restores it.

Every run is reported to the ping URL the admin minted into the policy file (policy mint --ping, or
ping in the fleet file), or to --ping: POST URL/start, then URL or URL/fail with what happened. With
--metrics-file it also writes node_exporter textfile metrics (last start, success and failure, bytes,
exit status, policy expiry, renewal). A ping or metrics file that fails is a warning, never a failed push.

A policy with a renewal location (minted by \`sealdrop fleet\`) renews itself: in its renewal window
the push also fetches the successor and, if it is the same upload with a later expiry, replaces the
policy file (rename, 0600, same owner). A renewal that fails is a warning (and "renewal" in --json),
never a failed push.

gzip and zstd run on every core the process may use (one thread per core, plus one), as pigz does,
in independent members or frames per 1 MiB block. To leave cores to the database, run it under
taskset or nice, or set UV_THREADPOOL_SIZE=N for N-1 threads. zstd (Node.js 22.15+; the sealdrop-agent
executable has it) takes about a third of gzip's CPU for the same size; stock tools restore it with
\`gpg -d | zstd -d\`. A fixed key's suffix must agree: .gz.gpg for gzip, .zst.gpg for zstd (a mismatch
is refused before any data is read).

Examples:
  sealdrop push --policy /etc/sealdrop/db1.policy.json -- mysqldump --single-transaction db1
  sealdrop push --policy /etc/sealdrop/app.policy.json --compress none -- pg_dump -Fc app
  sealdrop push --policy /etc/sealdrop/db2.policy.json --compress zstd -- pg_dumpall
  sealdrop push --policy /etc/sealdrop/db1-runs.policy.json --part-size 2GiB -- pg_dumpall
  nice taskset -c 0,1 sealdrop push --policy /etc/sealdrop/db1.policy.json -- mysqldump db1
  sealdrop push --policy /etc/sealdrop/db1.policy.json \\
      --metrics-file /var/lib/prometheus/node-exporter/sealdrop-db1.prom -- mysqldump db1
  # cron, nightly at 02:30:
  30 2 * * * root sealdrop push --policy /etc/sealdrop/db1.policy.json -q -- mysqldump db1`,
    )
    .action(async (command: string[], options: PushCliOptions) => {
      if (command.length === 0 && stdinIsPipe())
        say(
          "sealdrop: note: stdin is a pipe, and push can't see whether the command writing it failed: a dump cut short would be stored as complete. The safe form runs the dump itself and stores nothing when it fails: sealdrop push --policy FILE -- COMMAND ARGS",
        );
      const compression = options.compress === undefined ? undefined : parseCompression(options.compress);
      // Loaded on use, as the admin commands are: undici and form-data cost every other command 11 MiB.
      const { reportedPush } = await import('../agent/monitor.js');
      const report = { ping: options.ping, metricsFile: options.metricsFile, version };
      const result = await withProgress({ off: options.json }, (progress, signal) =>
        reportedPush(report, {
          policyPath: options.policy,
          command,
          compression,
          level: options.level,
          allowEmpty: options.allowEmpty,
          spoolDir: options.spoolDir,
          partSize: options.partSize,
          retries: options.retries,
          retryForMs: options.retryFor,
          retryDelayMs: options.retryDelay,
          warnExpiryMs: options.warnExpiry,
          signal,
          onWarning: warn,
          onProgress: ({ phase, bytes, totalBytes }) => progress.update(phase, bytes, totalBytes),
          onPart: (part) => {
            if (options.json) return;
            progress.done();
            say(`stored ${part.key} (${formatBytes(part.size)})`);
          },
          onRetry: (attempt, delay, reason) => {
            progress.done();
            warn(`attempt ${attempt} failed (${reason}); retrying in ${formatDuration(delay)}`);
          },
          // After the policy's own checks: a key that names another compression is the first thing to fix.
          checkOptions: ({ location }) => {
            if (options.partSize !== undefined && !location.isPrefix)
              throw new SealdropError(
                'USAGE',
                '--part-size needs a prefix policy (one minted for s3://BUCKET/PREFIX/)',
              );
          },
        }),
      );
      if (options.json) printJson(result);
      else say(summary(result));
    });
}

function stdinIsPipe(): boolean {
  try {
    return fstatSync(0).isFIFO();
  } catch {
    return false;
  }
}

function pingArg(text: string): string {
  const problem = pingUrlProblem(text);
  if (problem !== null) throw new SealdropError('USAGE', `--ping ${problem}`);
  return text;
}

export function retriesArg(text: string): number {
  const retries = integerArg(text);
  if (retries < 0 || retries > 100)
    throw new SealdropError('USAGE', `--retries ${text}: give 0 (no retries) to 100`);
  return retries;
}

function summary(result: PushResult): string {
  return [
    `Stored ${storedWhat(result)}${result.run ? `: ${plural(result.run.parts.length, 'part')} and the manifest` : ''}`,
    table([
      ['read', formatBytes(result.bytesIn)],
      [
        'stored',
        `${formatBytes(result.bytesOut)} (${result.bytesIn ? ((100 * result.bytesOut) / result.bytesIn).toFixed(1) : '-'}% of input)`,
      ],
      [
        'time',
        `${result.seconds.toFixed(1)} s, ${formatBytes(result.bytesIn / Math.max(result.seconds, 0.001))}/s`,
      ],
      ...(result.retriedSeconds > 0
        ? ([
            [
              'waited',
              `${formatDuration(result.retriedSeconds * 1000)} for S3 (${plural(result.attempts, 'attempt')})`,
            ],
          ] as [string, string][])
        : []),
      ['sha256', result.sha256],
      ...(result.etag ? ([['etag', result.etag]] as [string, string][]) : []),
      [
        'policy',
        result.renewal?.state === 'renewed'
          ? `renewed: expires ${result.renewal.policyExpiresAt} (this backup went under the one expiring ${result.policyExpiresAt})`
          : `expires ${result.policyExpiresAt}`,
      ],
    ]),
  ].join('\n');
}
