import { describe, expect, it } from 'vitest';
import { assessHealth, worstState, type HealthThresholds } from '../../src/core/health.js';
import { chooseVersion, newestFirst, parsePointInTime, type ObjectVersion } from '../../src/core/versions.js';

const at = (iso: string) => new Date(iso);
function version(id: string, iso: string, extra: Partial<ObjectVersion> = {}): ObjectVersion {
  return {
    versionId: id,
    lastModified: at(iso),
    size: 100,
    isLatest: false,
    isDeleteMarker: false,
    etag: null,
    ...extra,
  };
}

// As S3 lists them: newest first, the latest flagged.
const history = newestFirst(
  [
    version('v3', '2024-05-03T02:30:00Z', { isLatest: true }),
    version('v2', '2024-05-02T02:30:00Z'),
    version('v1', '2024-05-01T02:30:00Z'),
  ],
  [],
);

describe('newestFirst', () => {
  it('interleaves delete markers by time', () => {
    const merged = newestFirst(
      [version('c', '2024-05-03T00:00:00Z'), version('a', '2024-05-01T00:00:00Z')],
      [
        version('m2', '2024-05-04T00:00:00Z', { isDeleteMarker: true }),
        version('m1', '2024-05-02T00:00:00Z', { isDeleteMarker: true }),
      ],
    );
    expect(merged.map((v) => v.versionId)).toEqual(['m2', 'c', 'm1', 'a']);
  });

  it("keeps S3's order within versions even when the timestamps disagree (concurrent uploads)", () => {
    const merged = newestFirst(
      [
        version('latest', '2024-05-01T00:00:00.100Z', { isLatest: true }),
        version('earlier', '2024-05-01T00:00:00.200Z'),
      ],
      [],
    );
    expect(merged.map((v) => v.versionId)).toEqual(['latest', 'earlier']);
  });

  it('puts the latest first when a version and a delete marker share a timestamp', () => {
    const sameSecond = '2024-05-01T00:00:00Z';
    const merged = newestFirst(
      [version('v', sameSecond)],
      [version('m', sameSecond, { isDeleteMarker: true, isLatest: true })],
    );
    expect(merged.map((v) => v.versionId)).toEqual(['m', 'v']);
  });
});

describe('chooseVersion', () => {
  const pick = (selector: Parameters<typeof chooseVersion>[1]) =>
    chooseVersion(history, selector, 's3://b/k').versionId;

  it('takes the latest by default', () => expect(pick({ kind: 'latest' })).toBe('v3'));
  it('finds a version by id', () => expect(pick({ kind: 'id', versionId: 'v1' })).toBe('v1'));

  it.each([
    ['2024-05-02T02:30:00Z', 'v2'], // exactly at: included
    ['2024-05-02T02:29:59Z', 'v1'],
    ['2024-05-02T12:00:00Z', 'v2'],
    ['2030-01-01T00:00:00Z', 'v3'],
  ])('--at %s picks the newest version at or before it: %s', (iso, expected) =>
    expect(pick({ kind: 'at', at: at(iso) })).toBe(expected),
  );

  it('says when nothing is that old, naming the oldest', () => {
    expect(() => pick({ kind: 'at', at: at('2024-04-30T00:00:00Z') })).toThrowError(
      /no version at or before 2024-04-30T00:00:00.000Z; the oldest is from 2024-05-01T02:30:00.000Z/,
    );
  });

  it('refuses an unknown id and a key without versions as NOT_FOUND', () => {
    expect(() => pick({ kind: 'id', versionId: 'nope' })).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND', message: 's3://b/k has no version nope' }),
    );
    expect(() => chooseVersion([], { kind: 'latest' }, 's3://b/k')).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND' }),
    );
  });

  it('refuses a delete marker and points at the version before it', () => {
    const deleted = newestFirst(
      history.map((v) => ({ ...v, isLatest: false })),
      [version('dm', '2024-05-04T00:00:00Z', { isLatest: true, isDeleteMarker: true, size: 0 })],
    );
    for (const selector of [
      { kind: 'latest' } as const,
      { kind: 'at', at: at('2024-05-05T00:00:00Z') } as const,
      { kind: 'id', versionId: 'dm' } as const,
    ]) {
      expect(() => chooseVersion(deleted, selector, 's3://b/k')).toThrow(
        expect.objectContaining({
          code: 'NOT_FOUND',
          message: expect.stringMatching(/delete marker/),
          hint: expect.stringContaining('--version-id v3'),
        }),
      );
    }
    expect(chooseVersion(deleted, { kind: 'at', at: at('2024-05-03T12:00:00Z') }, 's3://b/k').versionId).toBe(
      'v3',
    );
  });
});

describe('parsePointInTime', () => {
  const now = at('2024-05-10T12:00:00Z');

  it.each([
    ['2024-05-01T03:00:00Z', '2024-05-01T03:00:00.000Z'],
    ['2024-05-01T03:00:00.250Z', '2024-05-01T03:00:00.250Z'],
    ['2024-05-01T05:00:00+02:00', '2024-05-01T03:00:00.000Z'],
    ['2024-05-01 03:00-0130', '2024-05-01T04:30:00.000Z'],
    ['@1714532400', '2024-05-01T03:00:00.000Z'],
    ['36h', '2024-05-09T00:00:00.000Z'],
    ['2d ago', '2024-05-08T12:00:00.000Z'],
    ['1d12h ago', '2024-05-09T00:00:00.000Z'],
    ['90min ago', '2024-05-10T10:30:00.000Z'],
    ['1w', '2024-05-03T12:00:00.000Z'],
  ])('reads %s', (text, iso) => expect(parsePointInTime(text, now).toISOString()).toBe(iso));

  it('reads a time without offset as local time, like date(1)', () => {
    // The unit tests also run under a zone with DST (see package.json), where local and UTC differ.
    const local = parsePointInTime('2024-05-01 03:00', now);
    const offsetMs = local.getTimezoneOffset() * 60_000;
    expect(local.getTime() - parsePointInTime('2024-05-01T03:00:00Z', now).getTime()).toBe(offsetMs);
    expect([local.getHours(), local.getMinutes()]).toEqual([3, 0]);
    expect(parsePointInTime('2024-05-01', now).getTime()).toBe(
      parsePointInTime('2024-05-01T00:00:00Z', now).getTime() +
        new Date(2024, 4, 1).getTimezoneOffset() * 60_000,
    );
  });

  it('goes back months and years on the local calendar', () => {
    const back = parsePointInTime('1mo ago', now);
    expect([back.getMonth(), back.getDate()]).toEqual([now.getMonth() - 1, now.getDate()]);
    expect(parsePointInTime('1y', now).getFullYear()).toBe(2023);
  });

  it('refuses "30m ago" with a hint naming min and mo', () => {
    expect(() => parsePointInTime('30m ago', now)).toThrow(
      expect.objectContaining({ code: 'USAGE', hint: expect.stringMatching(/30min .*30mo/) }),
    );
  });

  it.each([
    '',
    'yesterday',
    '2024-02-30T00:00:00Z',
    '2024-13-01',
    '2024-05-01T24:00:00Z',
    '2024-05-01T03:00:00 CEST',
    '5 ago',
  ])('refuses "%s" with a usage error', (text) => {
    expect(() => parsePointInTime(text, now)).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
});

describe('assessHealth', () => {
  const now = at('2024-05-10T12:00:00Z');
  const thresholds: HealthThresholds = {
    maxAgeMs: 26 * 3600_000,
    warnAgeMs: null,
    policyWarnMs: 3 * 86_400_000,
  };
  const hoursAgo = (hours: number, extra: Partial<ObjectVersion> = {}) =>
    version(`v${hours}`, new Date(now.getTime() - hours * 3600_000).toISOString(), {
      isLatest: true,
      ...extra,
    });

  it('is OK for a fresh backup, counting versions but not delete markers', () => {
    const health = assessHealth(
      {
        versions: [
          hoursAgo(3),
          version('old', '2024-05-01T00:00:00Z'),
          version('dm', '2024-04-30T00:00:00Z', { isDeleteMarker: true }),
        ],
      },
      thresholds,
      now,
    );
    expect(health).toMatchObject({
      state: 'OK',
      reasons: [],
      ageMs: 3 * 3600_000,
      versionCount: 2,
      deleteMarkerCount: 1,
    });
  });

  it('is CRITICAL past --max-age, saying by how much', () => {
    expect(assessHealth({ versions: [hoursAgo(27)] }, thresholds, now)).toMatchObject({
      state: 'CRITICAL',
      reasons: ['latest is 1d 3h old (max 1d 2h)'],
    });
  });

  it('warns only when a warning age is set', () => {
    expect(assessHealth({ versions: [hoursAgo(25)] }, thresholds, now).state).toBe('OK');
    expect(
      assessHealth({ versions: [hoursAgo(25)] }, { ...thresholds, warnAgeMs: 24 * 3600_000 }, now).state,
    ).toBe('WARNING');
  });

  it('is CRITICAL when the latest is a delete marker, however fresh', () => {
    expect(
      assessHealth({ versions: [hoursAgo(1, { isDeleteMarker: true })] }, thresholds, now),
    ).toMatchObject({ state: 'CRITICAL', reasons: [expect.stringMatching(/delete marker/)] });
  });

  it('is UNKNOWN for a key without versions', () => {
    expect(assessHealth({ versions: [] }, thresholds, now)).toMatchObject({
      state: 'UNKNOWN',
      latest: null,
      versionCount: 0,
    });
  });

  it('judges the policy file: WARNING when it expires soon, CRITICAL once expired', () => {
    const fresh = [hoursAgo(1)];
    expect(
      assessHealth({ versions: fresh, policyExpiresAt: at('2024-05-20T00:00:00Z') }, thresholds, now).state,
    ).toBe('OK');
    expect(
      assessHealth({ versions: fresh, policyExpiresAt: at('2024-05-11T00:00:00Z') }, thresholds, now),
    ).toMatchObject({ state: 'WARNING', reasons: ['the policy file expires in 12h'] });
    expect(
      assessHealth({ versions: fresh, policyExpiresAt: at('2024-05-10T00:00:00Z') }, thresholds, now).state,
    ).toBe('CRITICAL');
  });

  it('sums several targets up as the worst, CRITICAL above UNKNOWN', () => {
    expect(worstState([])).toBe('OK');
    expect(worstState(['OK', 'WARNING'])).toBe('WARNING');
    expect(worstState(['WARNING', 'UNKNOWN'])).toBe('UNKNOWN');
    expect(worstState(['UNKNOWN', 'CRITICAL', 'OK'])).toBe('CRITICAL');
  });
});
