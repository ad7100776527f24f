// A push that reports itself: pings (push --ping, or the policy file's) and the metrics file
// (--metrics-file) around it. Reporting never decides the backup's outcome: what fails to report is a
// warning, and the push's result or error comes out unchanged.
import { EXIT, isSealdropError } from '../core/errors.js';
import { loadPolicyFile, type LoadedPolicy } from '../core/policy-file.js';
import { formatS3Url } from '../core/s3-url.js';
import { formatBytes } from '../core/units.js';
import { readMetricsFile, writeMetricsFile, type PushMetrics } from './metrics.js';
import { sendPing, type PingEvent, type PingOptions } from './ping.js';
import { push, type PushOptions } from './push.js';
import type { RenewalResult } from './renew.js';
import { storedWhat, type PushResult } from './result.js';

export interface RunReportOptions {
  /** The ping URL, over the policy file's. */
  ping?: string;
  metricsFile?: string;
  /** sealdrop's version, in ping bodies and the User-Agent. */
  version: string;
  /** Retries and their delays (tests shorten them). */
  pingOptions?: PingOptions;
}

export async function reportedPush(report: RunReportOptions, options: PushOptions): Promise<PushResult> {
  const warn = options.onWarning ?? (() => {});
  const started = Date.now();
  // Read once. A file that can't be read fails the push below, reported like any other failure.
  const loading = loadPolicyFile(options.policyPath);
  const policy = await loading.catch(() => null);
  const target = policy ? formatS3Url(policy.summary.location) : options.policyPath;
  const pingUrl = report.ping ?? policy?.file.ping;
  const ping = async (event: PingEvent, body: string) => {
    if (pingUrl === undefined) return;
    const failed = await sendPing(pingUrl, event, `sealdrop ${report.version}: ${body}`, {
      userAgent: `sealdrop/${report.version}`,
      ...report.pingOptions,
    });
    if (failed) warn(`${failed}; the backup is not affected`);
  };
  const metrics =
    report.metricsFile === undefined ? null : await MetricsRecord.open(report.metricsFile, policy, warn);
  // A push that fails may still have renewed its policy: the expiry to report is the file's in place.
  let renewal: RenewalResult | null = null;
  const policyExpiry = () => {
    const expiresAt = renewal?.policyExpiresAt ?? policy?.summary.expiresAt.toISOString();
    return expiresAt === undefined ? {} : { policyExpiry: Date.parse(expiresAt) / 1000 };
  };

  const startPing = ping('start', `push to ${target} started`);
  await metrics?.update({ lastStart: started / 1000 });
  let result: PushResult;
  try {
    result = await push(await loading, { ...options, onRenewal: (settled) => (renewal = settled) });
  } catch (error) {
    const exitStatus = isSealdropError(error) ? error.exitStatus : EXIT.bug;
    await startPing;
    await Promise.all([
      ping('fail', failureBody(target, error, exitStatus)),
      metrics?.update({
        lastFailure: Date.now() / 1000,
        lastDurationSeconds: (Date.now() - started) / 1000,
        exitStatus,
        ...policyExpiry(),
      }),
    ]);
    throw error;
  }
  await startPing;
  await Promise.all([
    ping('success', successBody(result)),
    metrics?.update({
      lastSuccess: Date.now() / 1000,
      lastDurationSeconds: (Date.now() - started) / 1000,
      exitStatus: EXIT.ok,
      readBytes: result.bytesIn,
      storedBytes: result.bytesOut,
      retriedSeconds: result.retriedSeconds,
      ...policyExpiry(),
      ...(result.renewal ? { renewal: result.renewal.state } : {}),
    }),
  ]);
  return result;
}

/** The metrics of one backup stream: the previous file's values, updated and written back whole. */
class MetricsRecord {
  #warned = false;

  private constructor(
    private readonly path: string,
    private metrics: PushMetrics,
    private readonly warn: (message: string) => void,
  ) {}

  static async open(
    path: string,
    policy: LoadedPolicy | null,
    warn: (message: string) => void,
  ): Promise<MetricsRecord> {
    const previous = await readMetricsFile(path);
    const labels = policy
      ? {
          target: formatS3Url(policy.summary.location),
          ...(policy.summary.name === undefined ? {} : { host: policy.summary.name }),
        }
      : (previous?.labels ?? {});
    // Another backup stream's values (the file now serves another policy) are not this one's past.
    const own = previous && previous.labels.target === labels.target ? previous : { labels };
    return new MetricsRecord(path, { ...own, labels }, warn);
  }

  async update(values: Omit<PushMetrics, 'labels'>): Promise<void> {
    this.metrics = { ...this.metrics, ...values };
    try {
      await writeMetricsFile(this.path, this.metrics);
    } catch (error) {
      // Once per push: the start and the end fail alike.
      if (!this.#warned)
        this.warn(
          `the metrics file was not written: ${(error as Error).message}; the backup is not affected`,
        );
      this.#warned = true;
    }
  }
}

function successBody(result: PushResult): string {
  return [
    `stored ${storedWhat(result)}${result.run ? ` (${result.run.parts.length} parts)` : ''}`,
    `read ${formatBytes(result.bytesIn)} (${result.bytesIn} bytes), stored ${formatBytes(result.bytesOut)} (${result.bytesOut} bytes) in ${result.seconds.toFixed(1)} s`,
    ...(result.retriedSeconds > 0
      ? [`waited ${result.retriedSeconds.toFixed(0)} s for S3 (${result.attempts} attempts)`]
      : []),
    `sha256 ${result.sha256}`,
    `policy expires ${result.renewal?.policyExpiresAt ?? result.policyExpiresAt}${result.renewal ? ` (renewal: ${result.renewal.state})` : ''}`,
  ].join('\n');
}

function failureBody(target: string, error: unknown, exitStatus: number): string {
  const lines = [`push to ${target} failed (exit ${exitStatus})`];
  if (isSealdropError(error)) lines.push(`error: ${error.message}`, `hint: ${error.hint}`);
  else lines.push(`internal error: ${(error as Error)?.message ?? String(error)}`);
  return lines.join('\n');
}
