// push --metrics-file: node_exporter textfile-collector metrics about the last runs, replaced by rename.
// Each run reads the previous file back (bounded), so a failure keeps the last success's values.
import { open } from 'node:fs/promises';
import { replaceFile } from '../core/files.js';
import { exposition, type MetricFamily } from '../core/prometheus.js';
import type { RenewalResult } from './renew.js';

/** A file we wrote is a few KiB; anything larger is not ours and is not read. */
const MAX_PREVIOUS_BYTES = 64 * 1024;

const RENEWAL_STATES: readonly RenewalResult['state'][] = [
  'not-due',
  'renewed',
  'unchanged',
  'refused',
  'failed',
];

/** What the file says about one backup stream. Times are Unix seconds, sizes bytes. */
export interface PushMetrics {
  /** target: the s3:// URL of the key or prefix; host: the policy's name, when it has one. */
  labels: { target?: string; host?: string };
  lastStart?: number;
  lastSuccess?: number;
  lastFailure?: number;
  /** The last finished push, whatever its outcome. */
  lastDurationSeconds?: number;
  exitStatus?: number;
  /** The last successful push. */
  readBytes?: number;
  storedBytes?: number;
  retriedSeconds?: number;
  policyExpiry?: number;
  renewal?: RenewalResult['state'];
}

type NumberField = Exclude<keyof PushMetrics, 'labels' | 'renewal'>;

/** Every number the file holds: name, field and HELP. The README's table lists the same. */
const GAUGES: readonly { name: string; field: NumberField; help: string }[] = [
  {
    name: 'sealdrop_push_last_start_timestamp_seconds',
    field: 'lastStart',
    help: 'When the last push started (Unix time).',
  },
  {
    name: 'sealdrop_push_last_success_timestamp_seconds',
    field: 'lastSuccess',
    help: 'When the last successful push finished (Unix time).',
  },
  {
    name: 'sealdrop_push_last_failure_timestamp_seconds',
    field: 'lastFailure',
    help: 'When the last failed push finished (Unix time).',
  },
  {
    name: 'sealdrop_push_last_duration_seconds',
    field: 'lastDurationSeconds',
    help: 'How long the last finished push took, whatever its outcome.',
  },
  {
    name: 'sealdrop_push_exit_status',
    field: 'exitStatus',
    help: 'Exit status of the last finished push: 0 stored, 1 failed, 2 bad input or expired policy, 129/130/143 interrupted.',
  },
  {
    name: 'sealdrop_push_read_bytes',
    field: 'readBytes',
    help: 'Bytes the last successful push read from the dump.',
  },
  {
    name: 'sealdrop_push_stored_bytes',
    field: 'storedBytes',
    help: 'Bytes the last successful push stored (compressed and encrypted).',
  },
  {
    name: 'sealdrop_push_retried_seconds',
    field: 'retriedSeconds',
    help: 'How long the last successful push retried after failures: at most how long S3 was out (0: first try).',
  },
  {
    name: 'sealdrop_policy_expiry_timestamp_seconds',
    field: 'policyExpiry',
    help: 'When the policy file in place expires (Unix time); pushes fail after it.',
  },
];

const RENEWAL = 'sealdrop_policy_renewal_state';

/** The metrics as the text exposition format: HELP and TYPE per family; unknown values left out. */
export function metricsText(metrics: PushMetrics): string {
  const labels = labelSet(metrics.labels);
  const families: MetricFamily[] = GAUGES.map(({ name, field, help }) => ({
    name,
    help,
    type: 'gauge',
    samples: metrics[field] === undefined ? [] : [{ labels, value: metrics[field] }],
  }));
  families.push({
    name: RENEWAL,
    help: `The renewal's outcome at the last push that tried one, one series per state (1: this one): ${RENEWAL_STATES.join(', ')}.`,
    type: 'gauge',
    samples:
      metrics.renewal === undefined
        ? []
        : RENEWAL_STATES.map((state) => ({
            labels: { ...labels, state },
            value: state === metrics.renewal ? 1 : 0,
          })),
  });
  return exposition(families);
}

/** Reads back a file metricsText wrote; what it can't read is left out. */
export function parseMetricsText(text: string): PushMetrics {
  const metrics: PushMetrics = { labels: {} };
  const fields = new Map(GAUGES.map(({ name, field }) => [name, field]));
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const [, name, labelText = '', valueText] = match;
    const value = Number(valueText);
    if (!Number.isFinite(value)) continue;
    const labels = parseLabels(labelText);
    const field = fields.get(name!);
    if (field) {
      metrics[field] = value;
      metrics.labels = labelSet({ target: labels.target, host: labels.host });
    } else if (name === RENEWAL && value === 1) {
      const state = RENEWAL_STATES.find((known) => known === labels.state);
      if (state) metrics.renewal = state;
    }
  }
  return metrics;
}

/** The previous file's metrics, or none when there is no readable file of ours at `path`. */
export async function readMetricsFile(path: string): Promise<PushMetrics | null> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return null;
  }
  try {
    const buffer = Buffer.alloc(MAX_PREVIOUS_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_PREVIOUS_BYTES) return null;
    return parseMetricsText(buffer.subarray(0, bytesRead).toString('utf8'));
  } catch {
    return null;
  } finally {
    await handle.close();
  }
}

/** Replaces the file by rename (readable by the collector's user: nothing in it is secret). */
export async function writeMetricsFile(path: string, metrics: PushMetrics): Promise<void> {
  await replaceFile(path, metricsText(metrics), { mode: 0o644 });
}

function labelSet(labels: PushMetrics['labels']): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([, value]) => value !== undefined));
}

/** `a="x",b="y \"q\""` as written by exposition(); escapes undone. */
function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [, name, raw] of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
    labels[name!] = raw!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  return labels;
}
