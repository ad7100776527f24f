// sealdrop report's model and page, without S3 or a browser (the browser test is in integration/).
import { describe, expect, it } from 'vitest';
import { buildReport, TIMELINE_COLUMNS, type ReportInput } from '../../src/core/report.js';
import { reportHtml } from '../../src/core/report-html.js';
import type { Snapshot } from '../../src/core/snapshot.js';
import { NOW, reportFleet, TROUBLE } from '../support/report-fleet.js';
import { run, snapshot } from '../support/snapshots.js';

const DAY = 86_400_000;
const options = { now: NOW, periodMs: 30 * DAY };
const thresholds = { maxAgeMs: 26 * 3_600_000, warnAgeMs: null, policyWarnMs: 3 * DAY };

describe('the report', () => {
  const model = buildReport(reportFleet(), options);
  const set = (host: string) => model.sets.find((s) => s.host === host)!;

  it("lists the fleet worst first, with status's states", () => {
    expect(model.counts).toEqual({ CRITICAL: 3, UNKNOWN: 0, WARNING: 2, OK: 45 });
    expect(model.sets.slice(0, 5).map((s) => [s.host, s.state])).toEqual([
      [TROUBLE.stopped, 'CRITICAL'],
      [TROUBLE.shrunk, 'CRITICAL'],
      [TROUBLE.deleted, 'CRITICAL'],
      [TROUBLE.expiring, 'WARNING'],
      [TROUBLE.broken, 'WARNING'],
    ]);
    expect(set(TROUBLE.stopped).reasons).toEqual([expect.stringMatching(/^latest is 3d \d+h old/)]);
  });

  it('marks gaps longer than the max age: up to now for a stopped host, in the past for an outage', () => {
    expect(set(TROUBLE.stopped).gaps).toEqual([
      { from: expect.any(Date), to: NOW, longestMs: expect.any(Number) },
    ]);
    expect(set(TROUBLE.stopped).gaps[0]!.longestMs).toBeGreaterThan(3 * DAY);
    const [outage, ...none] = set(TROUBLE.outage).gaps;
    expect(none).toEqual([]);
    expect(outage!.longestMs).toBeGreaterThan(2.9 * DAY);
    expect(NOW.getTime() - outage!.to.getTime()).toBeGreaterThan(8 * DAY);
    for (const ok of model.sets.filter((s) => s.state === 'OK' && s.host !== TROUBLE.outage))
      expect(ok.gaps, ok.host!).toEqual([]);
  });

  it('marks the shrink on the set whose latest backup shrank, and nowhere else', () => {
    expect(set(TROUBLE.shrunk).anomalies).toEqual([
      expect.objectContaining({ rule: 'shrank', state: 'CRITICAL', snapshotId: 'v11-0' }),
    ]);
    expect(model.sets.filter((s) => s.anomalies.length > 0).map((s) => s.host)).toEqual([TROUBLE.shrunk]);
  });

  it('puts broken and incomplete runs and delete markers in their columns', () => {
    const marks = (host: string) =>
      set(host).columns.reduce(
        (sum, c) => ({
          broken: sum.broken + c.broken,
          incomplete: sum.incomplete + c.incomplete,
          deleted: sum.deleted + c.deleted,
        }),
        { broken: 0, incomplete: 0, deleted: 0 },
      );
    expect(marks(TROUBLE.broken)).toEqual({ broken: 1, incomplete: 1, deleted: 0 });
    expect(marks(TROUBLE.deleted)).toEqual({ broken: 0, incomplete: 0, deleted: 1 });
  });

  it('draws a set of a million versions with as few marks as a small one', { timeout: 60_000 }, () => {
    const million: Snapshot[] = [];
    const states = ['complete', 'broken', 'incomplete', 'deleted', 'complete'] as const;
    const notes = ['why'];
    for (let i = 0; i < 1_000_000; i++) {
      const size = 1000 + (i % 977);
      million.push({
        kind: 'run',
        id: `r${i}`,
        time: new Date(NOW.getTime() - i * 2_000),
        size,
        state: states[i % states.length]!,
        parts: 1,
        notes,
        objectVersions: 1,
        storedBytes: size,
      });
    }
    const input: ReportInput = {
      host: 'flooded',
      target: 's3://acme/flooded/',
      snapshots: million,
      strays: 0,
      thresholds,
    };
    const html = reportHtml(buildReport([input], options), { title: 'flood' });
    const svg = /<svg class="timeline"[\s\S]*?<\/svg>/.exec(html)![0];
    const elements = svg.match(/<[a-z]/g)!.length;
    expect(elements).toBeGreaterThan(TIMELINE_COLUMNS); // every column has something
    // At most three marks per column (broken, incomplete, delete marker; each a group, a title and a
    // shape), two paths for every size bar, the grid and the gaps.
    expect(elements).toBeLessThan(TIMELINE_COLUMNS * 10);
    expect(html.length).toBeLessThan(200_000);
  });

  it('escapes what the bucket holds, and loads nothing from anywhere', () => {
    const hostile = run('20261130T020000Z-aaaaaa', '2026-11-30T02:00:00Z', 'broken', {
      notes: ['<script>alert(1)</script><img src=https://evil.example/x>'],
    });
    const html = reportHtml(
      buildReport(
        [
          {
            host: '<b>db1',
            target: 's3://acme/"x"/',
            snapshots: [hostile, snapshot('v1', '2026-11-29T02:00:00Z')],
            strays: 0,
            thresholds,
          },
        ],
        options,
      ),
      { title: '<i>fleet' },
    );
    expect(html).not.toMatch(/<script|<img|<b>db1|<i>fleet|"x"/);
    expect(html).toContain('&#60;script&#62;');
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
    expect(html).not.toMatch(/\b(src|href)="(?!#)/);
  });

  it('shows a set that could not be listed as UNKNOWN, with why', () => {
    const report = buildReport(
      [
        {
          host: 'db9',
          target: 's3://acme/db9/k',
          snapshots: [],
          strays: 0,
          thresholds,
          error: 'AccessDenied',
        },
      ],
      options,
    );
    expect(report.sets[0]).toMatchObject({ state: 'UNKNOWN', reasons: ["can't tell: AccessDenied"] });
  });
});
