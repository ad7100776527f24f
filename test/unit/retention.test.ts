import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  describePolicy,
  isEmptyPolicy,
  planRetention,
  type RetentionItem,
  type RetentionPlan,
  type RetentionPolicy,
} from '../../src/core/retention.js';
import { parseRetentionDuration } from '../../src/core/units.js';

// A fixed "now" after every test item, so results never depend on the real clock.
const NOW = new Date('2100-01-01T00:00:00Z');

function items(...isoTimes: string[]): RetentionItem[] {
  return isoTimes.map((t) => ({ id: t, time: new Date(t) }));
}

function plan(list: readonly RetentionItem[], policy: RetentionPolicy, timeZone = 'UTC'): RetentionPlan {
  return planRetention(list, policy, { timeZone, now: NOW });
}

/** id -> reasons of kept items, newest first, and removed ids, newest first. */
function summary(p: RetentionPlan): { keep: [string, string[]][]; remove: string[] } {
  return { keep: p.keep.map((k) => [k.id, k.reasons]), remove: p.remove.map((r) => r.id) };
}

/** A SealdropError for bad input, its message matching `message`. */
function usageError(message = /./) {
  return expect.objectContaining({
    name: 'SealdropError',
    code: 'USAGE',
    message: expect.stringMatching(message),
  });
}

function expectPartition(input: readonly RetentionItem[], p: RetentionPlan): void {
  const ids = [...p.keep.map((k) => k.id), ...p.remove.map((r) => r.id)];
  expect(ids.slice().sort()).toEqual(input.map((i) => i.id).sort());
  for (const list of [p.keep, p.remove]) {
    for (let i = 1; i < list.length; i++) {
      expect(list[i - 1]!.time.getTime()).toBeGreaterThanOrEqual(list[i]!.time.getTime());
    }
  }
  for (const k of p.keep) expect(k.reasons.length).toBeGreaterThan(0);
}

// ---------------------------------------------------------------------------------------------
// restic's own golden results

interface ResticSnapshot {
  time: string;
  tags?: string[];
  paths?: string[];
}

interface GoldenCase {
  golden: string;
  policy: RetentionPolicy;
  defaultMatches?: string[];
  keep: string[];
}

const fixtures = new URL('./testdata/retention/', import.meta.url);
const resticSnapshots = (
  JSON.parse(readFileSync(new URL('restic-snapshots.json', fixtures), 'utf8')) as {
    snapshots: ResticSnapshot[];
  }
).snapshots;
const goldenCases = (
  JSON.parse(readFileSync(new URL('restic-golden.json', fixtures), 'utf8')) as { cases: GoldenCase[] }
).cases.map((c) => ({
  ...c,
  policy: Object.fromEntries(
    Object.entries(c.policy).map(([rule, value]) => [
      rule,
      typeof value === 'string' ? fromResticDuration(value) : value,
    ]),
  ) as RetentionPolicy,
}));

const resticItems: RetentionItem[] = resticSnapshots.map((s, i) => ({ id: `s${i}`, time: new Date(s.time) }));
const resticById = new Map(resticSnapshots.map((s, i) => [`s${i}`, s]));

function label(time: string, tags?: string[], paths?: string[]): string {
  let s = new Date(time).toISOString();
  if (tags !== undefined && tags.length > 0) s += ` [${tags.join(',')}]`;
  if (paths !== undefined && paths.length > 0) s += ` {${paths.join(',')}}`;
  return s;
}

/** restic's durations -> sealdrop's grammar: restic's "m" is months ("mo"). */
function fromResticDuration(text: string): string {
  return text.replace(/(\d+)m/g, '$1mo');
}

/** restic's reason strings -> ours (see the header of src/core/retention.ts). */
function fromResticReason(reason: string): string {
  const count = /^(oldest )?(last|hourly|daily|weekly|monthly|yearly) snapshot$/.exec(reason);
  if (count !== null) return `${count[1] ?? ''}${count[2]}`;
  const bucket = /^(oldest )?(hourly|daily|weekly|monthly|yearly) within (\S+)$/.exec(reason);
  if (bucket !== null) return `${bucket[1] ?? ''}within-${bucket[2]} ${fromResticDuration(bucket[3]!)}`;
  if (/^within \S+$/.test(reason)) return fromResticDuration(reason);
  throw new Error(`no translation for restic reason "${reason}"`);
}

function goldenEntry(entry: string, defaultMatches: string[] | undefined): string {
  const m = /^(\S+)((?: \[[^\]]*\])?(?: \{[^}]*\})?)(?:: (.*))?$/.exec(entry);
  if (m === null) throw new Error(`bad golden entry ${entry}`);
  const matches = m[3] === undefined ? defaultMatches : m[3].split(', ');
  if (matches === undefined) throw new Error(`golden entry without reasons: ${entry}`);
  return `${new Date(m[1]!).toISOString()}${m[2]}: ${matches.map(fromResticReason).join(', ')}`;
}

describe('restic golden cases (TestApplyPolicy)', () => {
  it('uses restic’s fixed list of 103 snapshots', () => {
    expect(resticItems).toHaveLength(103);
    expect(goldenCases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(goldenCases.map((c) => [c.golden.replace(/^.*\//, ''), c] as const))('%s', (_name, c) => {
    const result = planRetention(resticItems, c.policy, { timeZone: 'UTC', now: NOW });
    expectPartition(resticItems, result);
    const actual = result.keep.map((k) => {
      const s = resticById.get(k.id)!;
      return `${label(s.time, s.tags, s.paths)}: ${k.reasons.join(', ')}`;
    });
    expect(actual).toEqual(c.keep.map((e) => goldenEntry(e, c.defaultMatches)));
  });

  it('gives the same keep sets in any time zone when restic’s UTC times are read in UTC-equivalent zones', () => {
    // Atlantic/Reykjavik has been UTC+0 without DST since 1968: calendar buckets coincide with UTC.
    for (const c of goldenCases) {
      const utc = planRetention(resticItems, c.policy, { timeZone: 'UTC', now: NOW });
      const rvk = planRetention(resticItems, c.policy, { timeZone: 'Atlantic/Reykjavik', now: NOW });
      expect(summary(rvk)).toEqual(summary(utc));
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('count rules', () => {
  const daily = items(
    '2024-05-05T10:00:00Z',
    '2024-05-05T08:00:00Z',
    '2024-05-04T10:00:00Z',
    '2024-05-03T10:00:00Z',
    '2024-05-03T07:00:00Z',
    '2024-05-02T10:00:00Z',
  );

  it.each([
    [
      'last 2',
      { last: 2 },
      [
        ['2024-05-05T10:00:00Z', ['last']],
        ['2024-05-05T08:00:00Z', ['last']],
      ],
    ],
    ['last -1 keeps everything', { last: -1 }, daily.map((i) => [i.id, ['last']])],
    [
      'daily 2: first item of each new day, count used up, oldest not kept',
      { daily: 2 },
      [
        ['2024-05-05T10:00:00Z', ['daily']],
        ['2024-05-04T10:00:00Z', ['daily']],
      ],
    ],
    [
      'daily -1: one per day, the oldest (new day) plain daily',
      { daily: -1 },
      [
        ['2024-05-05T10:00:00Z', ['daily']],
        ['2024-05-04T10:00:00Z', ['daily']],
        ['2024-05-03T10:00:00Z', ['daily']],
        ['2024-05-02T10:00:00Z', ['daily']],
      ],
    ],
    [
      'last 1 + daily 2: every reason listed',
      { last: 1, daily: 2 },
      [
        ['2024-05-05T10:00:00Z', ['last', 'daily']],
        ['2024-05-04T10:00:00Z', ['daily']],
      ],
    ],
    [
      'within + last + daily on one item, restic’s reason order',
      { daily: 1, last: 1, within: '1h' },
      [['2024-05-05T10:00:00Z', ['within 1h', 'last', 'daily']]],
    ],
    ['count 0 is off', { last: 1, daily: 0 }, [['2024-05-05T10:00:00Z', ['last']]]],
  ] as const)('%s', (_name, policy, expected) => {
    const p = plan(daily, policy);
    expectPartition(daily, p);
    expect(summary(p).keep).toEqual(expected);
  });
});

describe('the oldest item is kept while a rule has count left (restic >= 0.17)', () => {
  it('keeps the oldest with "oldest daily" when it shares a day with a kept item', () => {
    const list = items(
      '2024-01-03T10:00:00Z',
      '2024-01-03T09:00:00Z',
      '2024-01-02T10:00:00Z',
      '2024-01-02T09:00:00Z',
    );
    expect(summary(plan(list, { daily: 5 }))).toEqual({
      keep: [
        ['2024-01-03T10:00:00Z', ['daily']],
        ['2024-01-02T10:00:00Z', ['daily']],
        ['2024-01-02T09:00:00Z', ['oldest daily']],
      ],
      remove: ['2024-01-03T09:00:00Z'],
    });
  });

  it('does not keep it once the count is used up', () => {
    const list = items('2024-01-03T10:00:00Z', '2024-01-02T10:00:00Z', '2024-01-02T09:00:00Z');
    expect(summary(plan(list, { daily: 2 })).remove).toEqual(['2024-01-02T09:00:00Z']);
  });

  it('applies to unlimited counts and to every rule with count left', () => {
    const list = items('2024-03-10T10:00:00Z', '2024-02-10T10:00:00Z', '2024-02-09T10:00:00Z');
    expect(summary(plan(list, { daily: 1, monthly: -1, yearly: 5 }))).toEqual({
      keep: [
        ['2024-03-10T10:00:00Z', ['daily', 'monthly', 'yearly']],
        ['2024-02-10T10:00:00Z', ['monthly']],
        ['2024-02-09T10:00:00Z', ['oldest monthly', 'oldest yearly']],
      ],
      remove: [],
    });
  });

  it('applies to within-bucket rules when the oldest item is within the duration', () => {
    const list = items(
      '2024-01-03T10:00:00Z',
      '2024-01-03T09:00:00Z',
      '2024-01-02T12:00:00Z',
      '2024-01-02T11:00:00Z',
    );
    expect(summary(plan(list, { withinDaily: '2d' }))).toEqual({
      keep: [
        ['2024-01-03T10:00:00Z', ['within-daily 2d']],
        ['2024-01-02T12:00:00Z', ['within-daily 2d']],
        ['2024-01-02T11:00:00Z', ['oldest within-daily 2d']],
      ],
      remove: ['2024-01-03T09:00:00Z'],
    });
    // Oldest item outside the duration (cutoff Jan 2 14:00): nothing special happens to it.
    expect(summary(plan(list, { withinDaily: '20h' }))).toEqual({
      keep: [['2024-01-03T10:00:00Z', ['within-daily 20h']]],
      remove: ['2024-01-03T09:00:00Z', '2024-01-02T12:00:00Z', '2024-01-02T11:00:00Z'],
    });
  });
});

describe('calendar buckets in a time zone', () => {
  it('month and year boundaries follow the zone’s wall clock (America/New_York)', () => {
    // 2021-01-01T03:00Z is still 2020-12-31 22:00 in New York.
    const list = items('2021-01-01T03:00:00Z', '2020-12-31T12:00:00Z', '2020-11-15T12:00:00Z');
    expect(summary(plan(list, { monthly: -1 }, 'America/New_York'))).toEqual({
      keep: [
        ['2021-01-01T03:00:00Z', ['monthly']],
        ['2020-11-15T12:00:00Z', ['monthly']],
      ],
      remove: ['2020-12-31T12:00:00Z'],
    });
    expect(summary(plan(list, { monthly: -1 }, 'UTC')).remove).toEqual([]);
    expect(summary(plan(list, { yearly: -1 }, 'America/New_York'))).toEqual({
      keep: [
        ['2021-01-01T03:00:00Z', ['yearly']],
        ['2020-11-15T12:00:00Z', ['oldest yearly']],
      ],
      remove: ['2020-12-31T12:00:00Z'],
    });
    expect(summary(plan(list, { yearly: -1 }, 'UTC')).keep).toEqual([
      ['2021-01-01T03:00:00Z', ['yearly']],
      ['2020-12-31T12:00:00Z', ['yearly']],
      ['2020-11-15T12:00:00Z', ['oldest yearly']],
    ]);
  });

  it.each([
    [
      'Jan 1-3 2021 belong to 2020-W53, Jan 4 starts 2021-W01',
      [
        '2021-01-04T12:00:00Z',
        '2021-01-03T12:00:00Z',
        '2021-01-01T12:00:00Z',
        '2020-12-31T12:00:00Z',
        '2020-12-27T12:00:00Z',
        '2020-12-20T12:00:00Z',
      ],
      ['2021-01-04T12:00:00Z', '2021-01-03T12:00:00Z', '2020-12-27T12:00:00Z', '2020-12-20T12:00:00Z'],
    ],
    [
      'Dec 31 2018 (Monday) belongs to 2019-W01',
      ['2019-01-01T12:00:00Z', '2018-12-31T12:00:00Z', '2018-12-30T12:00:00Z', '2018-12-24T12:00:00Z'],
      ['2019-01-01T12:00:00Z', '2018-12-30T12:00:00Z', '2018-12-24T12:00:00Z'],
    ],
    [
      'Jan 3 2016 (Sunday) belongs to 2015-W53',
      ['2016-01-04T12:00:00Z', '2016-01-03T12:00:00Z', '2015-12-28T12:00:00Z', '2015-12-27T12:00:00Z'],
      ['2016-01-04T12:00:00Z', '2016-01-03T12:00:00Z', '2015-12-27T12:00:00Z'],
    ],
  ])('ISO weeks: %s', (_name, times, kept) => {
    const p = plan(items(...times), { weekly: -1 });
    expect(p.keep.map((k) => k.id)).toEqual(kept);
  });

  it('ISO weeks are taken from the zoned date', () => {
    // 2021-01-03T23:30Z is Sunday (2020-W53) in UTC but Monday 00:30 (2021-W01) in Berlin.
    const list = items('2021-01-04T10:00:00Z', '2021-01-03T23:30:00Z', '2021-01-03T10:00:00Z');
    expect(summary(plan(list, { weekly: -1 }, 'Europe/Berlin'))).toEqual({
      keep: [
        ['2021-01-04T10:00:00Z', ['weekly']],
        ['2021-01-03T10:00:00Z', ['weekly']],
      ],
      remove: ['2021-01-03T23:30:00Z'],
    });
    expect(summary(plan(list, { weekly: -1 }, 'UTC')).keep.map(([id]) => id)).toEqual([
      '2021-01-04T10:00:00Z',
      '2021-01-03T23:30:00Z',
      '2021-01-03T10:00:00Z',
    ]);
  });

  it('daily buckets across the spring-forward switch (Europe/Berlin, 2021-03-28 02:00 -> 03:00)', () => {
    const list = items(
      '2021-03-28T22:30:00Z', // Mar 29 00:30 CEST
      '2021-03-28T21:30:00Z', // Mar 28 23:30 CEST
      '2021-03-28T01:30:00Z', // Mar 28 03:30 CEST
      '2021-03-27T23:30:00Z', // Mar 28 00:30 CET
      '2021-03-27T22:30:00Z', // Mar 27 23:30 CET
    );
    expect(summary(plan(list, { daily: -1 }, 'Europe/Berlin'))).toEqual({
      keep: [
        ['2021-03-28T22:30:00Z', ['daily']],
        ['2021-03-28T21:30:00Z', ['daily']],
        ['2021-03-27T22:30:00Z', ['daily']],
      ],
      remove: ['2021-03-28T01:30:00Z', '2021-03-27T23:30:00Z'],
    });
    expect(summary(plan(list, { daily: -1 }, 'UTC'))).toEqual({
      keep: [
        ['2021-03-28T22:30:00Z', ['daily']],
        ['2021-03-27T23:30:00Z', ['daily']],
        ['2021-03-27T22:30:00Z', ['oldest daily']],
      ],
      remove: ['2021-03-28T21:30:00Z', '2021-03-28T01:30:00Z'],
    });
  });

  it('daily buckets across the spring-forward switch (America/New_York, 2021-03-14)', () => {
    const list = items(
      '2021-03-15T03:30:00Z', // Mar 14 23:30 EDT
      '2021-03-14T07:30:00Z', // Mar 14 03:30 EDT
      '2021-03-14T06:30:00Z', // Mar 14 01:30 EST
      '2021-03-14T04:00:00Z', // Mar 13 23:00 EST
      '2021-03-13T12:00:00Z', // Mar 13 07:00 EST
    );
    expect(summary(plan(list, { daily: 2 }, 'America/New_York'))).toEqual({
      keep: [
        ['2021-03-15T03:30:00Z', ['daily']],
        ['2021-03-14T04:00:00Z', ['daily']],
      ],
      remove: ['2021-03-14T07:30:00Z', '2021-03-14T06:30:00Z', '2021-03-13T12:00:00Z'],
    });
  });

  it('the repeated hour at fall-back is one hourly bucket (Europe/Berlin, 2021-10-31)', () => {
    const list = items(
      '2021-10-31T02:10:00Z', // 03:10 CET
      '2021-10-31T01:50:00Z', // 02:50 CET
      '2021-10-31T01:10:00Z', // 02:10 CET
      '2021-10-31T00:50:00Z', // 02:50 CEST
      '2021-10-31T00:10:00Z', // 02:10 CEST
    );
    expect(summary(plan(list, { hourly: -1 }, 'Europe/Berlin'))).toEqual({
      keep: [
        ['2021-10-31T02:10:00Z', ['hourly']],
        ['2021-10-31T01:50:00Z', ['hourly']],
        ['2021-10-31T00:10:00Z', ['oldest hourly']],
      ],
      remove: ['2021-10-31T01:10:00Z', '2021-10-31T00:50:00Z'],
    });
    expect(summary(plan(list, { hourly: -1 }, 'UTC'))).toEqual({
      keep: [
        ['2021-10-31T02:10:00Z', ['hourly']],
        ['2021-10-31T01:50:00Z', ['hourly']],
        ['2021-10-31T00:50:00Z', ['hourly']],
        ['2021-10-31T00:10:00Z', ['oldest hourly']],
      ],
      remove: ['2021-10-31T01:10:00Z'],
    });
  });

  it('defaults to the machine’s time zone', () => {
    // The unit tests also run under a zone with DST (see package.json): there, 01:30Z and 22:30Z the
    // evening before fall on one local day, and a planner that defaulted to UTC would keep both.
    const list = items(
      '2021-03-28T22:30:00Z',
      '2021-03-28T01:30:00Z',
      '2021-03-27T22:30:00Z',
      '2021-01-01T00:30:00Z',
    );
    const localDay = (item: RetentionItem) =>
      `${item.time.getFullYear()}-${item.time.getMonth()}-${item.time.getDate()}`;
    const firstOfEachLocalDay = list.filter(
      (item, i) => i === 0 || localDay(item) !== localDay(list[i - 1]!),
    );
    expect(planRetention(list, { daily: -1 }, { now: NOW }).keep.map((k) => k.id)).toEqual(
      firstOfEachLocalDay.map((item) => item.id),
    );
  });
});

describe('within durations', () => {
  it.each([
    [
      'months are calendar months: Mar 31 2016 - 1mo = "Feb 31" = Mar 2 (leap year), strictly after',
      '2016-03-31T12:00:00Z',
      '1mo',
      ['2016-03-02T12:00:01Z'],
      ['2016-03-02T12:00:00Z', '2016-03-01T12:00:00Z'],
    ],
    [
      'Mar 31 2015 - 1mo = Mar 3 (non-leap year)',
      '2015-03-31T12:00:00Z',
      '1mo',
      ['2015-03-03T12:00:01Z'],
      ['2015-03-03T11:59:59Z'],
    ],
    [
      '1y2mo: Apr 30 2017 -> "Feb 30 2016" = Mar 1 2016',
      '2017-04-30T00:00:00Z',
      '1y2mo',
      ['2016-03-01T00:00:01Z'],
      ['2016-03-01T00:00:00Z', '2016-02-29T23:59:59Z'],
    ],
    [
      '1y from Feb 29 2016 = "Feb 29 2015" = Mar 1 2015',
      '2016-02-29T12:00:00Z',
      '1y',
      ['2015-03-01T12:00:00.001Z'],
      ['2015-03-01T12:00:00Z', '2015-02-28T13:00:00Z'],
    ],
    [
      'calendar part first, hours after (Go AddDate then Add): Mar 1 00:30 - 1mo1h = Jan 31 23:30',
      '2016-03-01T00:30:00Z',
      '1mo1h',
      ['2016-01-31T23:30:01Z'],
      ['2016-01-31T23:29:59Z'],
    ],
    [
      '1y2mo3d4h, any order of units',
      '2020-06-15T12:00:00Z',
      '4h3d2mo1y',
      ['2019-04-12T08:00:01Z'],
      ['2019-04-12T08:00:00Z'],
    ],
  ])('%s', (_name, newest, within, kept, removed) => {
    const list = items(newest, ...kept, ...removed);
    const p = plan(list, { within });
    expectPartition(list, p);
    expect(p.keep.map((k) => k.id)).toEqual([newest, ...kept]);
    expect(p.remove.map((r) => r.id)).toEqual(removed);
  });

  it('days are calendar days in the zone: 1d across spring-forward is 23 hours of wall clock, 25 h back', () => {
    // Newest: Mar 28 14:00 CEST. 1d back on the wall clock: Mar 27 14:00 CET = 13:00Z.
    const list = items('2021-03-28T12:00:00Z', '2021-03-27T13:00:01Z', '2021-03-27T12:30:00Z');
    expect(plan(list, { within: '1d' }, 'Europe/Berlin').remove.map((r) => r.id)).toEqual([
      '2021-03-27T12:30:00Z',
    ]);
    expect(plan(list, { within: '1d' }, 'UTC').remove).toEqual([]);
    expect(plan(list, { within: '24h' }, 'Europe/Berlin').remove).toEqual([]);
  });

  it('a wall time in the spring-forward gap moves forward like Go’s time.Date', () => {
    // Newest Mar 29 02:30 CEST; minus 1d = Mar 28 02:30, which does not exist -> 03:30 CEST = 01:30Z.
    const list = items(
      '2021-03-29T00:30:00Z',
      '2021-03-28T01:30:01Z',
      '2021-03-28T01:29:59Z',
      '2021-03-28T00:59:00Z',
    );
    expect(plan(list, { within: '1d' }, 'Europe/Berlin').remove.map((r) => r.id)).toEqual([
      '2021-03-28T01:29:59Z',
      '2021-03-28T00:59:00Z',
    ]);
  });

  it('an ambiguous wall time resolves to the later instant like Go’s time.Date (even for 0y0mo0d)', () => {
    // Newest: 02:30 CEST (first 02:30, 00:30Z). Go's AddDate(0,0,0) rebuilds 02:30 and picks 02:30 CET
    // (01:30Z); minus 1h = 00:30Z, which the newest item is not strictly after. restic behaves the same.
    const list = items('2021-10-31T00:30:00Z', '2021-10-30T23:45:00Z');
    expect(plan(list, { within: '1h' }, 'Europe/Berlin').keep).toEqual([]);
    expect(plan(list, { within: '2h' }, 'Europe/Berlin').remove).toEqual([]);
    expect(plan(list, { within: '1h' }, 'UTC').remove).toEqual([]);
  });

  it('is measured from the newest item that is not after `now` (restic ignores future snapshots)', () => {
    const list = items(
      '2030-01-01T00:00:00Z',
      '2020-01-02T00:00:00Z',
      '2020-01-01T12:00:00Z',
      '2019-12-31T00:00:00Z',
    );
    const withNow = (now: string) =>
      planRetention(list, { within: '1d' }, { timeZone: 'UTC', now: new Date(now) }).keep.map((k) => k.id);
    expect(withNow('2020-06-01T00:00:00Z')).toEqual([
      '2030-01-01T00:00:00Z',
      '2020-01-02T00:00:00Z',
      '2020-01-01T12:00:00Z',
    ]);
    expect(withNow('2031-01-01T00:00:00Z')).toEqual(['2030-01-01T00:00:00Z']);
    // Nothing before `now`: restic measures from Go's zero time, so every item is within.
    expect(withNow('2000-01-01T00:00:00Z')).toEqual(list.map((i) => i.id));
  });

  it('huge durations keep everything instead of failing', () => {
    const list = items('2020-01-01T00:00:00Z', '1900-01-01T00:00:00Z', '1000-01-01T00:00:00Z');
    expect(plan(list, { within: '9999999y' }).remove).toEqual([]);
    expect(plan(list, { withinYearly: '999999999d' }).keep.map((k) => k.reasons)).toEqual([
      ['within-yearly 999999999d'],
      ['within-yearly 999999999d'],
      ['within-yearly 999999999d'],
    ]);
  });

  it.each([
    ['withinHourly', '6h', ['2024-01-02T12:10:00Z', '2024-01-02T11:10:00Z'], 'within-hourly 6h'],
    ['withinDaily', '1d', ['2024-01-02T12:10:00Z', '2024-01-01T23:00:00Z'], 'within-daily 1d'],
    [
      'withinWeekly',
      '1mo',
      ['2024-01-02T12:10:00Z', '2023-12-31T10:00:00Z', '2023-12-24T10:00:00Z'],
      'within-weekly 1mo',
    ],
    [
      'withinMonthly',
      '1y',
      ['2024-01-02T12:10:00Z', '2023-12-31T10:00:00Z', '2023-11-30T10:00:00Z'],
      'within-monthly 1y',
    ],
    ['withinYearly', '2y', ['2024-01-02T12:10:00Z', '2023-12-31T10:00:00Z'], 'within-yearly 2y'],
  ] as const)('%s keeps one item per bucket within the duration', (rule, duration, kept, reason) => {
    const list = items(
      '2024-01-02T12:10:00Z',
      '2024-01-02T12:05:00Z',
      '2024-01-02T11:10:00Z',
      '2024-01-01T23:00:00Z',
      '2023-12-31T10:00:00Z',
      '2023-12-24T10:00:00Z',
      '2023-11-30T10:00:00Z',
      '2021-06-01T10:00:00Z',
    );
    const p = plan(list, { [rule]: duration });
    expectPartition(list, p);
    expect(summary(p).keep).toEqual(kept.map((id) => [id, [reason]]));
  });
});

describe('ordering and identical timestamps', () => {
  it('keeps the first of identical timestamps in input order (stable sort, like restic)', () => {
    const list: RetentionItem[] = [
      { id: 'b', time: new Date('2024-01-01T00:00:00Z') },
      { id: 'a', time: new Date('2024-01-01T00:00:00Z') },
      { id: 'old', time: new Date('2023-12-01T00:00:00Z') },
      { id: 'c', time: new Date('2024-01-01T00:00:00Z') },
    ];
    expect(summary(plan(list, { last: 1 }))).toEqual({ keep: [['b', ['last']]], remove: ['a', 'c', 'old'] });
    expect(summary(plan(list, { daily: -1 }))).toEqual({
      keep: [
        ['b', ['daily']],
        ['old', ['daily']],
      ],
      remove: ['a', 'c'],
    });
    expect(summary(plan(list, { last: 2 })).keep.map(([id]) => id)).toEqual(['b', 'a']);
  });

  it('the last of identical oldest timestamps is "the oldest"', () => {
    const list: RetentionItem[] = [
      { id: 'x', time: new Date('2024-01-01T00:00:00Z') },
      { id: 'y', time: new Date('2024-01-01T00:00:00Z') },
    ];
    expect(summary(plan(list, { daily: 3 }))).toEqual({
      keep: [
        ['x', ['daily']],
        ['y', ['oldest daily']],
      ],
      remove: [],
    });
  });

  it('unsorted input gives the same plan as sorted input', () => {
    const seen = new Set<number>();
    const unique = resticItems.filter((i) => !seen.has(i.time.getTime()) && seen.add(i.time.getTime()));
    const random = mulberry32(7);
    const shuffled = unique.slice();
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const sorted = unique.slice().sort((a, b) => b.time.getTime() - a.time.getTime());
    for (const c of goldenCases) expect(plan(shuffled, c.policy)).toEqual(plan(sorted, c.policy));
  });

  it('does not modify its input', () => {
    const list = items('2024-01-01T00:00:00Z', '2024-01-03T00:00:00Z', '2024-01-02T00:00:00Z');
    const copy = structuredClone(list);
    const p = plan(list, { daily: 1 });
    expect(list).toEqual(copy);
    p.keep[0]!.time.setTime(0);
    expect(list).toEqual(copy);
  });
});

describe('every item in exactly one list (randomised)', () => {
  it('holds for random policies over random times around DST switches', () => {
    const random = mulberry32(42);
    const base = Date.parse('2021-03-20T00:00:00Z');
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
    for (let round = 0; round < 300; round++) {
      const n = Math.floor(random() * 40);
      const list: RetentionItem[] = [];
      for (let i = 0; i < n; i++) {
        // Cluster around 2021-03-28 and 2021-10-31, with some identical timestamps.
        const offset =
          random() < 0.5 ? random() * 20 * 86_400_000 : 225 * 86_400_000 + random() * 10 * 86_400_000;
        const t =
          random() < 0.1 && list.length > 0
            ? list[list.length - 1]!.time.getTime()
            : base + Math.floor(offset);
        list.push({ id: `i${i}`, time: new Date(t) });
      }
      const policy: RetentionPolicy = {};
      for (const rule of ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const) {
        if (random() < 0.4) policy[rule] = pick([-1, 1, 2, 3, 7]);
      }
      if (random() < 0.3) policy.within = pick(['1h', '1d', '3d12h', '1mo']);
      if (random() < 0.3) policy.withinDaily = pick(['1d', '5d', '2mo']);
      if (random() < 0.2) policy.withinHourly = pick(['3h', '1d']);
      const zone = pick(['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata']);
      const p = plan(list, policy, zone);
      expectPartition(list, p);
      if (isEmptyPolicy(policy)) {
        expect(p.remove).toEqual([]);
      } else {
        const counts = [
          policy.last,
          policy.hourly,
          policy.daily,
          policy.weekly,
          policy.monthly,
          policy.yearly,
        ];
        const onlyFiniteCounts =
          policy.within === undefined &&
          policy.withinDaily === undefined &&
          policy.withinHourly === undefined &&
          !counts.includes(-1);
        // restic's policySum check: count rules never keep more than the sum of their counts.
        if (onlyFiniteCounts)
          expect(p.keep.length).toBeLessThanOrEqual(counts.reduce<number>((s, c) => s + (c ?? 0), 0));
        if (list.length > 0) expect(p.keep.length).toBeGreaterThan(0);
      }
    }
  });
});

describe('empty policy', () => {
  it('keeps everything, newest first, with reason "no policy"', () => {
    const list = items('2024-01-01T00:00:00Z', '2024-01-03T00:00:00Z', '2024-01-02T00:00:00Z');
    expect(summary(plan(list, {}))).toEqual({
      keep: [
        ['2024-01-03T00:00:00Z', ['no policy']],
        ['2024-01-02T00:00:00Z', ['no policy']],
        ['2024-01-01T00:00:00Z', ['no policy']],
      ],
      remove: [],
    });
    expect(plan(list, { daily: 0, within: '0d', withinWeekly: '0y0h' }).remove).toEqual([]);
  });

  it('an empty list gives an empty plan', () => {
    expect(plan([], { daily: 3 })).toEqual({ keep: [], remove: [] });
    expect(plan([], {})).toEqual({ keep: [], remove: [] });
  });

  it.each([
    [{}, true],
    [{ last: 0, daily: 0, within: '0d', withinYearly: '0h' }, true],
    [{ last: 1 }, false],
    [{ yearly: -1 }, false],
    [{ within: '1h' }, false],
    [{ withinMonthly: '1y' }, false],
  ] as const)('isEmptyPolicy(%j) is %s', (policy, empty) => {
    expect(isEmptyPolicy(policy)).toBe(empty);
  });
});

describe('parseRetentionDuration', () => {
  const zero = { years: 0, months: 0, days: 0, hours: 0, minutes: 0, seconds: 0 };
  it.each([
    ['1y2mo3d4h', { ...zero, years: 1, months: 2, days: 3, hours: 4 }],
    ['9h', { ...zero, hours: 9 }],
    ['7mo5d', { ...zero, months: 7, days: 5 }],
    ['5d7mo', { ...zero, months: 7, days: 5 }],
    ['4h3d9mo', { ...zero, months: 9, days: 3, hours: 4 }],
    ['2w', { ...zero, days: 14 }],
    ['1w2d', { ...zero, days: 9 }],
    ['1h30min', { ...zero, hours: 1, minutes: 30 }],
    ['90s', { ...zero, seconds: 90 }],
    ['  3d\n', { ...zero, days: 3 }],
    ['007d', { ...zero, days: 7 }],
    ['0d', zero],
    ['9999y', { ...zero, years: 9999 }],
  ])('parses %j', (text, expected) => {
    expect(parseRetentionDuration(text)).toEqual(expected);
  });

  it.each([
    ['', /not a duration/],
    ['   ', /not a duration/],
    ['1y2m', /"m" is ambiguous/],
    ['30m', /"m" is ambiguous/],
    ['s', /not a duration/],
    ['d', /not a duration/],
    ['5', /not a duration/],
    ['-1d', /not a duration/],
    ['1d-2h', /not a duration/],
    ['1.5d', /not a duration/],
    ['1 d', /not a duration/],
    ['1d 2h', /not a duration/],
    ['1x', /unknown unit "x"/],
    ['1d2d', /given twice/],
    ['250ms', /seconds at the finest/],
    ['\u07c0d', /not a duration/],
    ['99999999999999999999d', /too large/],
  ])('rejects %j', (text, message) => {
    expect(() => parseRetentionDuration(text)).toThrow(usageError(message));
  });

  it("names mo in the hint for restic's 1y2m", () => {
    expect(() => parseRetentionDuration('1y2m')).toThrow(
      expect.objectContaining({ hint: expect.stringMatching(/2mo for months/) }),
    );
  });
});

describe('invalid input', () => {
  const list = items('2024-01-01T00:00:00Z');

  it.each([
    [{ daily: -2 }, /daily/],
    [{ last: 1.5 }, /last/],
    [{ weekly: Number.NaN }, /weekly/],
    [{ monthly: Number.POSITIVE_INFINITY }, /monthly/],
    [{ yearly: '3' as unknown as number }, /yearly/],
    [{ within: '2m' }, /within/],
    [{ withinDaily: '-1d' }, /withinDaily/],
    [{ withinHourly: 5 as unknown as string }, /withinHourly/],
  ] as const)('rejects policy %j', (policy, message) => {
    expect(() => plan(list, policy)).toThrow(usageError(message));
    expect(() => isEmptyPolicy(policy)).toThrow(usageError());
    expect(() => describePolicy(policy)).toThrow(usageError());
  });

  it.each(['Mars/Olympus_Mons', '', 'Europe/Berlinn'])('rejects time zone %j', (timeZone) => {
    expect(() => planRetention(list, { daily: 1 }, { timeZone, now: NOW })).toThrow(usageError(/time zone/));
  });

  it('rejects invalid item times and an invalid now', () => {
    expect(() => plan([{ id: 'x', time: new Date('nope') }], { daily: 1 })).toThrow(usageError(/x/));
    expect(() => plan([{ id: 'y', time: '2024-01-01' as unknown as Date }], { daily: 1 })).toThrow(
      usageError(/y/),
    );
    expect(() => planRetention(list, { daily: 1 }, { timeZone: 'UTC', now: new Date(Number.NaN) })).toThrow(
      usageError(/now/),
    );
  });
});

describe('describePolicy', () => {
  it.each([
    [{ daily: 7, weekly: 4, within: '2d' }, 'keep 7 daily, 4 weekly, within 2d'],
    [
      { last: 3, monthly: -1, withinDaily: '7d1mo', withinYearly: '5y' },
      'keep 3 last, all monthly, within-daily 1mo7d, within-yearly 5y',
    ],
    [
      { hourly: 24, yearly: 10, within: '1d1y', withinHourly: '2d' },
      'keep 24 hourly, 10 yearly, within 1y1d, within-hourly 2d',
    ],
    [{}, 'keep everything (no policy)'],
    [{ daily: 0, within: '0d' }, 'keep everything (no policy)'],
  ] as const)('%j -> %s', (policy, text) => {
    expect(describePolicy(policy)).toBe(text);
  });
});

/** Small deterministic PRNG for the randomised tests. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
