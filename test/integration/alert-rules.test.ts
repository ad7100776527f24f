// The example Prometheus alert rules (scripts/examples/sealdrop.rules.yml), checked by promtool
// (Debian's prometheus package, installed by the test setup): valid, firing when they should in
// promtool's own unit tests, and naming the metrics that push really writes.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { metricsText } from '../../src/agent/metrics.js';
import { run } from '../support/cli.js';

const RULES = fileURLToPath(new URL('../../scripts/examples/sealdrop.rules.yml', import.meta.url));
const RULE_TESTS = fileURLToPath(new URL('testdata/sealdrop.rules.test.yml', import.meta.url));

describe('the example alert rules', () => {
  it('pass promtool check rules', async () => {
    const checked = await run('promtool', ['check', 'rules', RULES]);
    expect(checked.stdout + checked.stderr).toMatch(/SUCCESS: 8 rules found/);
    expect(checked.status).toBe(0);
  });

  it("fire when they should, and only then (promtool's rule unit tests)", async () => {
    const tested = await run('promtool', ['test', 'rules', RULE_TESTS]);
    expect(tested.stdout + tested.stderr).toMatch(/SUCCESS/);
    expect(tested.status).toBe(0);
  });

  it("name only metrics push writes, for the servers' side", async () => {
    const written = parsePrometheusTextFormat(
      metricsText({
        labels: { target: 's3://b/k' },
        lastStart: 1,
        lastSuccess: 1,
        lastFailure: 1,
        lastDurationSeconds: 1,
        exitStatus: 0,
        readBytes: 1,
        storedBytes: 1,
        policyExpiry: 1,
        renewal: 'renewed',
      }),
    ).map((family) => family.name);
    const expressions = (await readFile(RULES, 'utf8')).split('\n').filter((line) => /^\s+expr:/.test(line));
    const named = new Set(expressions.join('\n').match(/\bsealdrop_(push|policy)_[a-z_]+/g));
    expect(named.size).toBeGreaterThan(4);
    for (const name of named) expect(written, name).toContain(name);
  });
});
