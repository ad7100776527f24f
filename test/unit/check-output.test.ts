// The formats a check speaks: monitoring-plugin perfdata and Prometheus' text exposition (pure writers),
// the bucket's own verdict, and nothing stored as a threshold of the health verdict.
import { describe, expect, it } from 'vitest';
import { assessBucket, historyRuleWarnings, uncheckedBucket } from '../../src/core/bucket-health.js';
import { assessHealth } from '../../src/core/health.js';
import { perfItem, pluginText } from '../../src/core/plugin-output.js';
import { exposition } from '../../src/core/prometheus.js';
import { parsePluginOutput } from '../support/plugin-output.js';

describe('perfdata', () => {
  it('writes label=value with the unit and thresholds, dropping trailing empty fields', () => {
    expect(perfItem({ label: 'age', value: 3600, uom: 's', warn: null, crit: 93600, min: 0 })).toBe(
      "'age'=3600s;;93600;0",
    );
    expect(perfItem({ label: 'size', value: null, uom: 'B', min: 0 })).toBe("'size'=U;;;0");
    expect(perfItem({ label: 'backups', value: 2, uom: '' })).toBe("'backups'=2");
  });

  it('keeps long labels unique and within the limit: two keys that share 120 characters stay apart', () => {
    const shared = `db/${'x'.repeat(130)}`;
    const labels = [`${shared}-a age`, `${shared}-a size`, `${shared}-b age`, `${shared}-b size`].map(
      (label) => perfItem({ label, value: 1, uom: '' }).split('=')[0]!,
    );
    expect(new Set(labels).size).toBe(4);
    for (const label of labels) expect(label.length).toBeLessThanOrEqual(120 + 2);
    // The metric's own name stays readable at the end, where graphers look for it.
    expect(labels[0]).toMatch(/_age'$/);
    expect(labels[1]).toMatch(/_size'$/);
    // Short labels are as they were.
    expect(perfItem({ label: 'db1 age', value: 1, uom: '' })).toBe("'db1_age'=1");
  });

  it('keeps labels parseable whatever a key holds: no quote, =, | or space', () => {
    expect(perfItem({ label: "db's key=1 | x\ny", value: 1, uom: '' })).toBe("'db_s_key_1___x_y'=1");
  });

  it('lays out several perfdata sets as the guidelines do: first line, then after the long text', () => {
    const set = (name: string) => [{ label: `${name}_backups`, value: 1, uom: '' as const }];
    const text = pluginText({
      statusLine: 'SEALDROP OK - all 3 hosts OK',
      longText: ['OK a', 'OK b | not perfdata', 'OK c'],
      perfdata: [set('a'), set('b'), set('c')],
    });
    expect(text).toBe(
      "SEALDROP OK - all 3 hosts OK | 'a_backups'=1\nOK a\nOK b / not perfdata\nOK c | 'b_backups'=1\n'c_backups'=1\n",
    );
    expect(parsePluginOutput(text).perfdata.map((p) => p.label)).toEqual([
      'a_backups',
      'b_backups',
      'c_backups',
    ]);
  });
  it('writes a line per target for a bucket of 200,000 sets (no spread of them into a call)', () => {
    const count = 200_000; // past the ~125,000 arguments a call can take
    const text = pluginText({
      statusLine: 'SEALDROP OK - 200000 backup sets OK',
      longText: Array.from({ length: count }, (_, i) => `OK s${i}`),
      perfdata: Array.from({ length: count }, (_, i) => [
        { label: `s${i}_age`, value: i, uom: 's' as const, warn: null, crit: null, min: 0 },
      ]),
    });
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(1 + count + (count - 2));
    expect(lines[count]).toBe(`OK s${count - 1} | 's1_age'=1s;;;0`);
    expect(lines.at(-1)).toBe(`'s${count - 1}_age'=${count - 1}s;;;0`);
  }, 60_000);
});

describe('Prometheus exposition', () => {
  it('writes HELP and TYPE per family, escapes label values and help, skips empty families', () => {
    const text = exposition([
      {
        name: 'sealdrop_backup_latest_size_bytes',
        help: 'Size\\n of it',
        type: 'gauge',
        samples: [{ labels: { target: 's3://b/"odd"\\key\n' }, value: 27 }],
      },
      { name: 'sealdrop_nothing', help: 'x', type: 'gauge', samples: [] },
    ]);
    expect(text).toBe(
      '# HELP sealdrop_backup_latest_size_bytes Size\\\\n of it\n' +
        '# TYPE sealdrop_backup_latest_size_bytes gauge\n' +
        'sealdrop_backup_latest_size_bytes{target="s3://b/\\"odd\\"\\\\key\\n"} 27\n',
    );
  });

  it('refuses names the format does not allow', () => {
    expect(() =>
      exposition([{ name: 'bad-name', help: '', type: 'gauge', samples: [{ value: 1 }] }]),
    ).toThrow();
    expect(() =>
      exposition([
        { name: 'ok', help: '', type: 'gauge', samples: [{ labels: { 'bad-label': 'x' }, value: 1 }] },
      ]),
    ).toThrow();
  });
});

describe('the bucket’s own verdict', () => {
  const facts = { bucket: 'b', lifecycleRules: [], objectLock: { enabled: false, defaultRetention: null } };

  it('is CRITICAL unless versioning is Enabled, saying why', () => {
    expect(assessBucket({ ...facts, versioning: 'Enabled' })).toMatchObject({
      state: 'OK',
      reasons: ['versioning Enabled', 'Object Lock off'],
    });
    expect(assessBucket({ ...facts, versioning: 'Suspended' }).state).toBe('CRITICAL');
    expect(assessBucket({ ...facts, versioning: 'Off' }).reasons[0]).toMatch(/never enabled/);
  });

  it('warns about enabled lifecycle rules that expire versions, not disabled ones', () => {
    const rules = [
      { ID: 'tidy', Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 30 } },
      { ID: 'off', Status: 'Disabled', NoncurrentVersionExpiration: { NoncurrentDays: 1 } },
      { ID: 'uploads', Status: 'Enabled' },
    ];
    const health = assessBucket({ ...facts, versioning: 'Enabled', lifecycleRules: rules });
    expect(health.state).toBe('WARNING');
    expect(health.historyRules).toEqual(['tidy']);
    expect(historyRuleWarnings(rules)).toHaveLength(1);
  });

  it('reports Object Lock and its default retention; an unreadable bucket is UNKNOWN', () => {
    const locked = assessBucket({
      ...facts,
      versioning: 'Enabled',
      objectLock: { enabled: true, defaultRetention: { mode: 'COMPLIANCE' as const, years: 1 } },
    });
    expect(locked.reasons).toContain('Object Lock on, default retention COMPLIANCE 1y');
    expect(uncheckedBucket('b', 'AccessDenied')).toMatchObject({
      state: 'UNKNOWN',
      reasons: ["can't tell: AccessDenied"],
    });
  });
});

describe('nothing stored', () => {
  const thresholds = { maxAgeMs: 1000, warnAgeMs: null, policyWarnMs: 1000 };

  it('is UNKNOWN by default and CRITICAL ("never backed up") where backups must exist', () => {
    expect(assessHealth({ snapshots: [] }, thresholds).state).toBe('UNKNOWN');
    expect(assessHealth({ snapshots: [] }, { ...thresholds, nothingStored: 'CRITICAL' })).toMatchObject({
      state: 'CRITICAL',
      reasons: ['never backed up (nothing stored)'],
    });
  });
});
