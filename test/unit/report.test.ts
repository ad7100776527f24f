// sealdrop report's model and page, without S3 or a browser (the browser test is in integration/).
import { describe, expect, it } from 'vitest';
import { buildReport, TIMELINE_COLUMNS, type ReportInput } from '../../src/core/report.js';
import { reportHtml } from '../../src/core/report-html.js';
import { sizeScale } from '../../src/core/report-scale.js';
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

  it('says which period it covers, not how old the oldest backup is (--period 7d, history of minutes)', () => {
    const html = reportHtml(
      buildReport(
        [
          {
            host: 'new1',
            target: 's3://acme/new1/k',
            snapshots: [snapshot('v2', '2026-11-30T08:58:00Z'), snapshot('v1', '2026-11-30T08:54:00Z')],
            strays: 0,
            thresholds,
          },
        ],
        { now: NOW, periodMs: 7 * DAY },
      ),
      { title: 'new' },
    );
    const header = /<p class="period">(.*?)<\/p>/.exec(html)![1]!;
    expect(header).toMatch(
      /^Period: the last 7d, 2026-11-23 09:00 to 2026-11-30 09:00 UTC, when this report was made\. Timelines start at 2026-11-30 08:5\d, just before the oldest backup \(6min \d+s ago\)\.$/,
    );
  });

  it("a tile names every reason, so the one that made the set WARNING is there when it isn't first", () => {
    const snapshots = [
      snapshot('v2', '2026-11-30T02:00:00Z', { verifiedAt: null }),
      snapshot('v1', '2026-11-29T02:00:00Z', { verifiedAt: new Date('2026-11-29T03:00:00Z') }),
    ];
    const model = buildReport(
      [
        {
          host: 'db1',
          target: 's3://acme/db1/k',
          snapshots,
          strays: 0,
          thresholds,
          policyExpiresAt: new Date(NOW.getTime() + DAY),
        },
      ],
      options,
    );
    expect(model.sets[0]).toMatchObject({
      state: 'WARNING',
      reasons: [expect.stringMatching(/not proven yet/), expect.any(String)],
    });
    const tile = /<a class="tile WARNING"[\s\S]*?<\/a>/.exec(reportHtml(model, { title: 't' }))![0];
    expect(tile).toMatch(/<small>1 backup\(s\) \(100 B\) not proven yet by sealdrop verify<\/small>/);
    expect(tile).toContain('<small>the policy file expires in 1d</small>');
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

describe('the period in numbers', () => {
  const week = { now: NOW, periodMs: 7 * DAY };
  const from = NOW.getTime() - 7 * DAY;
  const hosts = (model: ReturnType<typeof buildReport>) =>
    Object.fromEntries(model.sets.map((s) => [s.host, s.period!]));

  it('counts the backups made and missed this week: a stopped host, a broken night', () => {
    const model = buildReport(reportFleet(), week);
    const facts = hosts(model);
    // Nightly backups: 7 in the week; the stopped host missed the last 3 nights, the broken run one.
    expect(facts[TROUBLE.stopped]).toMatchObject({ made: 4, missed: 3 });
    expect(facts[TROUBLE.broken]).toMatchObject({ made: 6, missed: 1 });
    expect(facts[TROUBLE.outage]).toMatchObject({ made: 7, missed: 0 }); // its outage was 10 days ago
    expect(facts[TROUBLE.deleted]).toMatchObject({ made: 7, missed: 0 });
    expect(model.summary).toMatchObject({ made: 50 * 7 - 3 - 1, missed: 3 + 1 });
    for (const set of model.sets) expect(set.period!.cadenceMs, set.host!).toBeCloseTo(DAY, -6);
  });

  it('counts the two nights of an outage once the period reaches back to it', () => {
    const facts = hosts(buildReport(reportFleet(), options));
    // 30 nights in the period (the 31st backup is from before it), less those without a backup.
    expect(facts[TROUBLE.outage]).toMatchObject({ made: 28, missed: 2 });
    // Day 9's incomplete run and day 4's broken one: two nights without a backup.
    expect(facts[TROUBLE.broken]).toMatchObject({ made: 28, missed: 2 });
  });

  it('sums what is stored now and what the period added, and how the latest backups changed', () => {
    const inputs = reportFleet({ trouble: false });
    const model = buildReport(inputs, week);
    let stored = 0;
    let added = 0;
    let first = 0;
    let latest = 0;
    for (const input of inputs) {
      const inWeek = input.snapshots.filter((s) => s.time.getTime() >= from);
      first += inWeek[inWeek.length - 1]!.size;
      latest += inWeek[0]!.size;
      for (const s of input.snapshots) {
        stored += s.storedBytes;
        if (s.time.getTime() >= from) added += s.storedBytes;
      }
    }
    expect(model.summary).toEqual({
      made: 350,
      missed: 0,
      storedBytes: stored,
      addedBytes: added,
      firstBytes: first,
      latestBytes: latest,
    });
    expect(added).toBeLessThan(stored);
  });

  it('counts backups prune removed as made, not as missed', () => {
    const nightly = Array.from({ length: 8 }, (_, d) =>
      snapshot(`v${d}`, new Date(NOW.getTime() - d * DAY - 3_600_000).toISOString()),
    );
    const kept = nightly.filter((_, d) => d % 3 === 0);
    const pruned = nightly.filter((_, d) => d % 3 !== 0).map((s) => ({ time: s.time, size: s.size }));
    const model = buildReport(
      [{ host: 'p', target: 's3://acme/p/k', snapshots: kept, pruned, strays: 0, thresholds }],
      week,
    );
    expect(model.sets[0]!.period).toMatchObject({ made: 7, missed: 0 });
  });

  it('counts nothing missed, and no gap, after a host was revoked: it is judged OK, as fleet status does', () => {
    const inputs = reportFleet();
    const stopped = inputs.find((input) => input.host === TROUBLE.stopped)!;
    // The stopped host was cut off (fleet revoke) a few hours after its last backup.
    const revokedAt = new Date(stopped.snapshots[0]!.time.getTime() + 3 * 3_600_000);
    const model = buildReport(
      inputs.map((input) => (input === stopped ? { ...input, revokedAt } : input)),
      week,
    );
    const set = model.sets.find((s) => s.host === TROUBLE.stopped)!;
    expect(set).toMatchObject({ state: 'OK', revokedAt, gaps: [], period: { made: 4, missed: 0 } });
    expect(set.reasons[0]).toMatch(/^REVOKED since .*: its uploads are denied by the bucket policy$/);
    expect(model.summary).toMatchObject({ missed: 1 }); // the broken night alone
    const html = reportHtml(model, { title: 'fleet.yaml' });
    expect(html).toContain(`data-revoked="${revokedAt.toISOString().replace(/\.\d{3}Z$/, 'Z')}"`);
    expect(html.match(/class="mark revoked"/g)).toHaveLength(1);
  });

  it('draws the cut on a short timeline though it precedes every backup (the Sid keeps whole seconds)', () => {
    const at = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
    const input: ReportInput = {
      host: 'cut',
      target: 's3://acme/cut/k',
      snapshots: [snapshot('v2', at(4000)), snapshot('v1', at(4500))],
      strays: 0,
      thresholds: { maxAgeMs: 2000, warnAgeMs: null, policyWarnMs: 0 },
      revokedAt: new Date(at(5000)),
    };
    const model = buildReport([input], { now: NOW, periodMs: 7 * DAY });
    expect(model.from.getTime()).toBeLessThan(input.revokedAt!.getTime());
    expect(reportHtml(model, { title: 't' }).match(/class="mark revoked"/g)).toHaveLength(1);
  });

  it('a backup landing just after the cut (the Sid keeps whole seconds; uploads under way): still nothing missed', () => {
    const inputs = reportFleet();
    const stopped = inputs.find((input) => input.host === TROUBLE.stopped)!;
    const revokedAt = new Date(stopped.snapshots[0]!.time.getTime() - 400);
    const model = buildReport(
      inputs.map((input) => (input === stopped ? { ...input, revokedAt } : input)),
      week,
    );
    const set = model.sets.find((s) => s.host === TROUBLE.stopped)!;
    expect(set).toMatchObject({ state: 'OK', gaps: [], period: { made: 4, missed: 0 } });
  });

  it('counts a host never backed up as missing the whole week, and a flood as no more than its max age allows', () => {
    const never = buildReport(
      [{ host: 'n', target: 's3://acme/n/k', snapshots: [], strays: 0, thresholds }],
      week,
    );
    expect(never.sets[0]!.period).toMatchObject({ made: 0, missed: 6 }); // 7 days of 26h
    // A backup a second for an hour, then nothing for three days: not a quarter of a million missed.
    const flood = Array.from({ length: 3600 }, (_, i) =>
      snapshot(`f${i}`, new Date(NOW.getTime() - 3 * DAY - i * 1000).toISOString()),
    );
    const flooded = buildReport(
      [{ host: 'f', target: 's3://acme/f/k', snapshots: flood, strays: 0, thresholds }],
      week,
    );
    expect(flooded.sets[0]!.period!.missed).toBeLessThanOrEqual(3 * 24);
    expect(flooded.sets[0]!.period!.missed).toBeGreaterThanOrEqual(3);
  });
});

describe("each set's size axis", () => {
  const MiB = 1024 ** 2;
  it('counts in round steps of a binary unit up past the largest backup', () => {
    expect(sizeScale([27.4 * MiB, 25 * MiB, 8 * MiB])).toEqual({
      top: 30 * MiB,
      ticks: [
        { bytes: 10 * MiB, label: '10 MiB' },
        { bytes: 20 * MiB, label: '20 MiB' },
        { bytes: 30 * MiB, label: '30 MiB' },
      ],
      clips: false,
    });
    expect(sizeScale([300 * 1024 ** 3]).ticks.map((t) => t.label)).toEqual(['100 GiB', '200 GiB', '300 GiB']);
    expect(sizeScale([1800]).ticks.map((t) => t.label)).toEqual(['0.5 KiB', '1 KiB', '1.5 KiB', '2 KiB']);
    expect(sizeScale([])).toEqual({ top: 0, ticks: [], clips: false });
  });

  it('is not set by one outsized backup: that one is clipped, the rest stay readable', () => {
    const sizes = [...Array.from({ length: 30 }, (_, i) => (20 + (i % 3)) * MiB), 5 * 1024 * MiB];
    const scale = sizeScale(sizes);
    expect(scale.clips).toBe(true);
    expect(scale.top).toBeGreaterThanOrEqual(22 * MiB);
    expect(scale.top).toBeLessThanOrEqual(30 * MiB);
  });

  it('draws the outsized backup clipped, with its value written on it', () => {
    const nightly = Array.from({ length: 14 }, (_, d) =>
      snapshot(`v${d}`, new Date(NOW.getTime() - d * DAY - 3_600_000).toISOString(), {
        size: d === 3 ? 5 * 1024 * MiB : (20 + (d % 3)) * MiB,
      }),
    );
    const html = reportHtml(
      buildReport([{ host: 'h', target: 's3://acme/h/k', snapshots: nightly, strays: 0, thresholds }], {
        now: NOW,
        periodMs: 14 * DAY,
      }),
      { title: 'h' },
    );
    expect(html).toContain('>5.00 GiB</text>');
    expect(html).toMatch(/<text class="value clipped"[^>]*>5\.00 GiB</);
    expect(html).toMatch(/<path class="clip" d="M[\d.]+ \d+l[\d.]+ -4"\/>/);
    expect(html).toMatch(/<text class="scale"[^>]*>\d+ MiB<\/text>/);
    expect(html).not.toMatch(/<text class="scale"[^>]*>[\d.]+ GiB</);
  });
});
