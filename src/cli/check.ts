// What `status` and `fleet status` share: a monitoring plugin's output (status line, long text, perfdata),
// --format plugin|json|prometheus, and UNKNOWN (3) for anything that stops the check from checking,
// commander's own parse errors included (exit 2 would read as CRITICAL to Nagios).
import { CommanderError, Option, type Command } from 'commander';
import type { StatusResult, TargetStatus } from '../admin/backups/status.js';
import type { WalStatusJson } from '../admin/wal/chain.js';
import { isSealdropError, SealdropError } from '../core/errors.js';
import { HEALTH_EXIT, worstState, type HealthState } from '../core/health-state.js';
import { pluginText, type PerfValue } from '../core/plugin-output.js';
import { exposition, type MetricFamily } from '../core/prometheus.js';
import { formatBytes, formatDuration } from '../core/units.js';
import { plural } from '../core/words.js';
import { errorJson, printData, printJson, ReportedFailure, reportError } from './output.js';

export type CheckFormat = 'plugin' | 'json' | 'prometheus';
const FORMATS: CheckFormat[] = ['plugin', 'json', 'prometheus'];

export interface CheckOptions {
  format?: CheckFormat;
  json?: boolean;
}

/** Adds --format and --json, and turns the command's parse errors into UNKNOWN results. */
export function asCheck(command: Command): Command {
  return command
    .addOption(
      new Option('--format <FORMAT>', 'plugin (status line, long text, perfdata), json or prometheus')
        .choices(FORMATS)
        .default('plugin'),
    )
    .option('--json', 'the same as --format json')
    .exitOverride((error: CommanderError) => {
      if (error.exitCode === 0) throw error; // --help
      const usage = new SealdropError('USAGE', error.message.replace(/^error: /, ''));
      printFailure(usage, requestedFormat(process.argv));
      throw new ReportedFailure(HEALTH_EXIT.UNKNOWN);
    });
}

/** Runs a check: prints its result in the chosen format and exits with its state; failures are UNKNOWN. */
export async function runCheck(options: CheckOptions, check: () => Promise<StatusResult>): Promise<void> {
  const format: CheckFormat = options.json ? 'json' : (options.format ?? 'plugin');
  let result: StatusResult;
  try {
    if (
      options.json &&
      options.format !== undefined &&
      options.format !== 'plugin' &&
      options.format !== 'json'
    )
      throw new SealdropError('USAGE', `--json and --format ${options.format} contradict each other`, {
        hint: 'Pass one of them (--json is --format json).',
      });
    result = await check();
  } catch (error) {
    if (!isSealdropError(error)) throw error;
    printFailure(error, format);
    process.exitCode = HEALTH_EXIT.UNKNOWN;
    return;
  }
  if (format === 'json') printJson(result);
  else if (format === 'prometheus') printData(exposition(statusMetrics(result)));
  else printData(pluginText(pluginReport(result)));
  process.exitCode = HEALTH_EXIT[result.state];
}

/** The format asked for on the command line, read from the words themselves (for parse errors). */
function requestedFormat(argv: readonly string[]): CheckFormat {
  let format: CheckFormat = 'plugin';
  for (const [i, arg] of argv.entries()) {
    if (arg === '--') break;
    const value = arg === '--format' ? argv[i + 1] : arg.startsWith('--format=') ? arg.slice(9) : undefined;
    if (value !== undefined && (FORMATS as string[]).includes(value)) format = value as CheckFormat;
    if (arg === '--json') return 'json';
  }
  return format;
}

function printFailure(error: SealdropError, format: CheckFormat): void {
  if (format === 'json') {
    const unknown = errorJson(error);
    unknown.error.exitStatus = HEALTH_EXIT.UNKNOWN;
    printJson({ state: 'UNKNOWN', ...unknown });
  } else if (format === 'prometheus') printData(exposition(overallMetrics('UNKNOWN', new Date())));
  else printData(`SEALDROP UNKNOWN - ${error.message.replace(/\s*\n\s*/g, '; ')}`);
  reportError(error);
}

/** How a target is named in lines and labels: its fleet host, else its address. */
function nameOf(target: TargetStatus): string {
  return target.host ?? target.target;
}

/** The plugin report: worst state first, a long-text line per target (several) and per bucket. */
function pluginReport(result: StatusResult) {
  const { targets, buckets } = result;
  const noun = targets.length > 0 && targets.every((t) => t.host !== null) ? 'host' : 'backup';
  const single = targets.length === 1 ? targets[0]! : null;
  const badBuckets = buckets.filter((b) => b.state !== 'OK');
  // A host may be judged twice (its backups, its WAL archive): the headline counts it once, at its worst.
  const states = new Map<string, HealthState>();
  for (const t of targets) states.set(nameOf(t), worstState([states.get(nameOf(t)) ?? 'OK', t.state]));
  const bad = [...states].filter(([, state]) => state !== 'OK');
  const named = bad.slice(0, 10).map(([name, state]) => `${name} ${state}`);
  const more = bad.length > named.length ? `, and ${bad.length - named.length} more` : '';
  const headline = [
    single
      ? line(single)
      : bad.length === 0
        ? `${states.size === 1 ? '' : 'all '}${plural(states.size, noun)} OK`
        : `${bad.length} of ${states.size} ${noun}s not OK: ${named.join(', ')}${more}`,
    ...badBuckets.map((b) => `bucket ${b.bucket} ${b.state}: ${b.reasons.filter(notOk).join('; ')}`),
  ].join('; ');
  return {
    statusLine: `SEALDROP ${result.state} - ${headline}`,
    longText: [
      ...(single ? [] : targets.map((t) => `${t.state} ${line(t)}`)),
      ...buckets.map((b) => `${b.state} bucket ${b.bucket}: ${b.reasons.join('; ')}`),
    ],
    perfdata: targets.map((t) => perfdata(t, single ? '' : `${labelOf(t, buckets.length === 1)} `)),
  };
}

/** A target in perfdata labels: its host, else its key (with the bucket when there are several). */
function labelOf(target: TargetStatus, oneBucket: boolean): string {
  if (target.host !== null) return target.host;
  const address = target.target.replace(/^s3:\/\//, '');
  return oneBucket ? address.slice(address.indexOf('/') + 1) : address;
}

/** Reasons that are not merely facts ("versioning Enabled", "Object Lock off"). */
function notOk(reason: string): boolean {
  return !/^(versioning Enabled|Object Lock)/.test(reason);
}

function line(target: TargetStatus): string {
  const { latest, counts, wal } = target;
  const facts = wal
    ? `WAL archive of ${plural(wal.files, 'file')} (${formatBytes(wal.storedBytes)})`
    : latest
      ? `latest ${formatBytes(latest.size)} from ${formatDuration((target.ageSeconds ?? 0) * 1000)} ago, ${plural(counts.backups, 'backup')}`
      : '';
  const name = target.host === null ? target.target : `${target.host} (${target.target})`;
  return [name, [facts, ...target.reasons].filter(Boolean).join('; ')].join(': ');
}

/** age (s) against the thresholds, size of the latest (B), complete backups: one set per target. */
function perfdata(target: TargetStatus, prefix: string): PerfValue[] {
  const { maxAgeSeconds, warnAgeSeconds } = target.thresholds;
  const age: PerfValue = {
    label: `${prefix}${target.wal ? 'rpo' : 'age'}`,
    value: target.ageSeconds === null ? null : Math.round(target.ageSeconds),
    uom: 's',
    warn: warnAgeSeconds === null ? null : Math.round(warnAgeSeconds),
    crit: Math.round(maxAgeSeconds),
    min: 0,
  };
  if (target.wal) return [age, ...walPerfdata(target.wal, prefix)];
  return [
    age,
    { label: `${prefix}size`, value: target.latest?.size ?? null, uom: 'B', min: 0 },
    { label: `${prefix}backups`, value: target.counts.backups, uom: '', min: 0 },
  ];
}

/** A WAL archive's chain: segments missing (any is critical), files stored twice, the base backup's age. */
function walPerfdata(wal: WalStatusJson, prefix: string): PerfValue[] {
  const baseAge = wal.baseAgeSeconds === null ? null : Math.round(wal.baseAgeSeconds);
  return [
    { label: `${prefix}missing_segments`, value: wal.gaps.missing, uom: '', crit: 0, min: 0 },
    { label: `${prefix}differing_versions`, value: wal.differing.count, uom: '', crit: 0, min: 0 },
    { label: `${prefix}reuploads`, value: wal.reuploaded.count, uom: '', warn: 0, min: 0 },
    { label: `${prefix}base_age`, value: baseAge, uom: 's', warn: wal.thresholds.baseAgeSeconds, min: 0 },
  ];
}

const STATE_HELP = '0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the monitoring-plugin exit statuses)';

function overallMetrics(state: HealthState, checkedAt: Date): MetricFamily[] {
  return [
    {
      name: 'sealdrop_status',
      help: `The worst state of the check: ${STATE_HELP}.`,
      type: 'gauge',
      samples: [{ value: HEALTH_EXIT[state] }],
    },
    {
      name: 'sealdrop_status_timestamp_seconds',
      help: 'When the check ran (Unix time).',
      type: 'gauge',
      samples: [{ value: checkedAt.getTime() / 1000 }],
    },
  ];
}

/** The same results as Prometheus metrics, for node_exporter's textfile collector. */
function statusMetrics(result: StatusResult): MetricFamily[] {
  const labels = (t: TargetStatus) => ({ target: t.target, ...(t.host === null ? {} : { host: t.host }) });
  const per = (pick: (t: TargetStatus) => number | null | undefined) =>
    result.targets.flatMap((t) => {
      const value = pick(t);
      return value === null || value === undefined ? [] : [{ labels: labels(t), value }];
    });
  const seconds = (iso: string | null | undefined) => (iso ? Date.parse(iso) / 1000 : null);
  const states = ['complete', 'incomplete', 'broken', 'deleted'] as const;
  const count = {
    complete: 'backups',
    incomplete: 'incomplete',
    broken: 'broken',
    deleted: 'deleteMarkers',
  } as const;
  const bucket = (pick: (b: StatusResult['buckets'][number]) => number | null) =>
    result.buckets.flatMap((b) => {
      const value = pick(b);
      return value === null ? [] : [{ labels: { bucket: b.bucket }, value }];
    });
  const gauge = (name: string, help: string, samples: MetricFamily['samples']): MetricFamily => ({
    name,
    help,
    type: 'gauge',
    samples,
  });
  return [
    ...overallMetrics(result.state, new Date(result.checkedAt)),
    gauge(
      'sealdrop_backup_status',
      `The backup set's state: ${STATE_HELP}.`,
      per((t) => HEALTH_EXIT[t.state]),
    ),
    gauge(
      'sealdrop_backup_latest_timestamp_seconds',
      'When S3 stored the newest complete backup (Unix time).',
      per((t) => seconds(t.latest?.time)),
    ),
    gauge(
      'sealdrop_backup_latest_size_bytes',
      'Stored size of the newest complete backup.',
      per((t) => t.latest?.size),
    ),
    gauge(
      'sealdrop_backup_max_age_seconds',
      'CRITICAL when the newest complete backup is older than this.',
      per((t) => t.thresholds.maxAgeSeconds),
    ),
    gauge(
      'sealdrop_backup_warn_age_seconds',
      'WARNING when the newest complete backup is older than this.',
      per((t) => t.thresholds.warnAgeSeconds),
    ),
    gauge(
      'sealdrop_backup_snapshots',
      'Backups stored, by state: complete, incomplete and broken runs, delete markers.',
      result.targets.flatMap((t) =>
        states.map((state) => ({ labels: { ...labels(t), state }, value: t.counts[count[state]] })),
      ),
    ),
    gauge(
      'sealdrop_backup_strays',
      'Objects under a prefix that belong to no run.',
      per((t) => t.counts.strays),
    ),
    gauge(
      'sealdrop_policy_expiry_timestamp_seconds',
      "When the target's policy file expires (Unix time); pushes fail after it.",
      per((t) => seconds(t.policyExpiresAt)),
    ),
    gauge(
      'sealdrop_backup_revoked_timestamp_seconds',
      'When the bucket policy cut the host off (sealdrop fleet revoke; Unix time); absent: not revoked.',
      per((t) => seconds(t.revokedAt)),
    ),
    gauge(
      'sealdrop_wal_newest_segment_timestamp_seconds',
      "When S3 stored a WAL archive's newest segment (Unix time): now minus this is the RPO.",
      per((t) => seconds(t.wal?.newestSegment?.time)),
    ),
    gauge(
      'sealdrop_wal_missing_segments',
      "Segments missing from a WAL archive since its oldest base backup's start: a restore stops at the first.",
      per((t) => t.wal?.gaps.missing),
    ),
    gauge(
      'sealdrop_wal_rewritten_files',
      'Archived WAL files stored more than once: with differing sizes (a forgery or a bug), or all of one size (a re-upload).',
      result.targets.flatMap((t) =>
        t.wal
          ? [
              { labels: { ...labels(t), sizes: 'differing' }, value: t.wal.differing.count },
              { labels: { ...labels(t), sizes: 'same' }, value: t.wal.reuploaded.count },
            ]
          : [],
      ),
    ),
    gauge(
      'sealdrop_wal_newest_base_backup_timestamp_seconds',
      "When S3 stored the newest base backup's history file in a WAL archive (Unix time).",
      per((t) => seconds(t.wal?.newestBaseBackup?.time)),
    ),
    gauge(
      'sealdrop_bucket_status',
      `The bucket's own checks: ${STATE_HELP}.`,
      bucket((b) => HEALTH_EXIT[b.state]),
    ),
    gauge(
      'sealdrop_bucket_versioning_enabled',
      '1 when bucket versioning is Enabled (0: suspended or never enabled).',
      bucket((b) => (b.versioning === null ? null : b.versioning === 'Enabled' ? 1 : 0)),
    ),
    gauge(
      'sealdrop_bucket_object_lock_enabled',
      '1 when the bucket has Object Lock enabled.',
      bucket((b) => (b.objectLock === null ? null : b.objectLock.enabled ? 1 : 0)),
    ),
    gauge(
      'sealdrop_bucket_history_expiring_rules',
      'Enabled lifecycle rules that expire versions behind sealdrop prune.',
      bucket((b) => (b.versioning === null ? null : b.historyRules.length)),
    ),
  ];
}
