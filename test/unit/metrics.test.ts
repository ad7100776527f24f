// push --metrics-file: the text it writes, and reading a previous file back (bounded, forgiving).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { metricsText, parseMetricsText, readMetricsFile, type PushMetrics } from '../../src/agent/metrics.js';
import { EXIT } from '../../src/core/errors.js';
import { tempDir } from '../support/cli.js';

const FULL: PushMetrics = {
  labels: { target: 's3://acme/db1/"odd"\\key\nx', host: 'db1' },
  lastStart: 1_790_000_000.123,
  lastSuccess: 1_790_000_012.5,
  lastFailure: 1_789_900_000,
  lastDurationSeconds: 12.377,
  exitStatus: 0,
  readBytes: 3_145_728,
  storedBytes: 1_234_567,
  retriedSeconds: 95.2,
  policyExpiry: 1_790_600_000,
  renewal: 'unchanged',
};

describe('the metrics file', () => {
  it('has HELP and TYPE lines, base units in the names, and labels for the stream and the renewal state', () => {
    const families = parsePrometheusTextFormat(metricsText(FULL));
    expect(families.map((f) => [f.name, f.type])).toEqual([
      ['sealdrop_push_last_start_timestamp_seconds', 'GAUGE'],
      ['sealdrop_push_last_success_timestamp_seconds', 'GAUGE'],
      ['sealdrop_push_last_failure_timestamp_seconds', 'GAUGE'],
      ['sealdrop_push_last_duration_seconds', 'GAUGE'],
      ['sealdrop_push_exit_status', 'GAUGE'],
      ['sealdrop_push_read_bytes', 'GAUGE'],
      ['sealdrop_push_stored_bytes', 'GAUGE'],
      ['sealdrop_push_retried_seconds', 'GAUGE'],
      ['sealdrop_policy_expiry_timestamp_seconds', 'GAUGE'],
      ['sealdrop_policy_renewal_state', 'GAUGE'],
    ]);
    for (const family of families) expect(family.help.length).toBeGreaterThan(10);
    expect(families[0]!.metrics).toEqual([{ value: '1790000000.123', labels: FULL.labels }]);
    expect(families.at(-1)!.metrics.map((m) => [m.labels!.state, m.value])).toEqual([
      ['not-due', '0'],
      ['renewed', '0'],
      ['unchanged', '1'],
      ['refused', '0'],
      ['failed', '0'],
    ]);
  });

  it("names every exit status a push ends with, as the README's table does (129/130/143 when interrupted)", async () => {
    const statuses = (text: string) => [...text.matchAll(/\b\d+\b/g)].map((match) => Number(match[0]));
    const { help } = parsePrometheusTextFormat(metricsText(FULL)).find(
      (family) => family.name === 'sealdrop_push_exit_status',
    )!;
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const row = readme.split('\n').find((line) => line.startsWith('| `sealdrop_push_exit_status` |'))!;
    expect(statuses(help)).toEqual(statuses(row));
    expect(statuses(help)).toEqual(expect.arrayContaining([EXIT.sighup, EXIT.sigint, EXIT.sigterm]));
  });

  it('leaves out what is not known yet: no success before the first one', () => {
    const text = metricsText({ labels: { target: 's3://acme/db1/k' }, lastStart: 1 });
    expect(parsePrometheusTextFormat(text).map((f) => f.name)).toEqual([
      'sealdrop_push_last_start_timestamp_seconds',
    ]);
  });

  it('reads back every value it wrote, labels unescaped', () => {
    expect(parseMetricsText(metricsText(FULL))).toEqual(FULL);
  });

  it('reads nothing from a file that is not its own: junk, or too large to be one', async () => {
    const dir = await tempDir();
    const junk = join(dir, 'junk.prom');
    await writeFile(junk, 'sealdrop_push_read_bytes{target="x"} lots\n\0\0\0 not metrics\n');
    expect(await readMetricsFile(junk)).toEqual({ labels: {} });
    const huge = join(dir, 'huge.prom');
    await writeFile(huge, metricsText(FULL).repeat(1000));
    expect(await readMetricsFile(huge)).toBeNull();
    expect(await readMetricsFile(join(dir, 'missing.prom'))).toBeNull();
  });
});
