// --at and --to: the exact forms, and English as people type it, read against a fixed clock. The unit
// tests run under UTC and America/New_York (package.json): clocks here are local wall times.
import { describe, expect, it } from 'vitest';
import { parsePointInTime } from '../../src/admin/sets/point-in-time.js';

const at = (iso: string) => new Date(iso);

describe('parsePointInTime: the exact forms', () => {
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
    const local = parsePointInTime('2024-05-01 03:00', now);
    const offsetMs = local.getTimezoneOffset() * 60_000;
    expect(local.getTime() - parsePointInTime('2024-05-01T03:00:00Z', now).getTime()).toBe(offsetMs);
    expect([local.getHours(), local.getMinutes()]).toEqual([3, 0]);
    expect(parsePointInTime('2024-05-01', now).getTime()).toBe(new Date(2024, 4, 1).getTime());
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
});

describe('parsePointInTime: as people type it', () => {
  // Thursday 10 December 2026, 15:30 on this machine's clock.
  const thursday = new Date(2026, 11, 10, 15, 30);
  const local = (...fields: [number, number, number, number?, number?]) =>
    new Date(fields[0], fields[1], fields[2], fields[3] ?? 0, fields[4] ?? 0).toISOString();

  it.each([
    ['last tuesday', local(2026, 11, 8)],
    ['Last Tuesday', local(2026, 11, 8)],
    ['last tuesday 23:00', local(2026, 11, 8, 23)],
    ['last tuesday at 3pm', local(2026, 11, 8, 15)],
    ['yesterday 03:00', local(2026, 11, 9, 3)],
    ['yesterday at 3am', local(2026, 11, 9, 3)],
    ['yesterday', local(2026, 11, 9, 15, 30)],
    ['today 03:00', local(2026, 11, 10, 3)],
    ['2 days ago', local(2026, 11, 8, 15, 30)],
    ['10 minutes ago', local(2026, 11, 10, 15, 20)],
    ['Dec 1', local(2026, 11, 1)],
    ['May 1 3am', local(2026, 4, 1, 3)],
    ['May 1 2024 3am', local(2024, 4, 1, 3)],
    ['31/12/2025', local(2025, 11, 31)],
    ['now', local(2026, 11, 10, 15, 30)],
  ])('reads "%s" on a Thursday afternoon', (text, iso) =>
    expect(parsePointInTime(text, thursday).toISOString()).toBe(iso),
  );

  it('reads "last tuesday" on a Tuesday as the week before, as date(1) does', () => {
    expect(parsePointInTime('last tuesday', new Date(2026, 11, 8, 10)).toISOString()).toBe(
      local(2026, 11, 1),
    );
    expect(parsePointInTime('last tuesday', new Date(2026, 11, 9, 0, 30)).toISOString()).toBe(
      local(2026, 11, 8),
    );
  });

  it.each([
    ['03/04/2024', /reads two ways: 03 could be the day or the month/],
    ['1/2', /reads two ways/],
    ['tuesday 03:00 next week', /is not a point in time/],
    ['friday 03:00', /still to come/],
    ['tomorrow', /still to come/],
    ['in 2 days', /still to come/],
    ['last tuesday to wednesday', /a span of time/],
    ['yesterday 3', /is not a point in time/],
    ['last tuesday, or so', /is not a point in time/],
    ['garbage', /is not a point in time/],
    ['', /is not a point in time/],
    ['5 ago', /is not a point in time/],
    ['2024-02-30T00:00:00Z', /is not a point in time/],
    ['2024-13-01', /is not a point in time/],
    ['2024-05-01T24:00:00Z', /is not a point in time/],
  ])('refuses "%s" with a usage error and the accepted forms', (text, message) => {
    let error: unknown;
    try {
      parsePointInTime(text, thursday);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'USAGE', message: expect.stringMatching(message) });
    if (/is not a point in time/.test(String((error as Error).message)))
      expect((error as { hint: string }).hint).toMatch(/2024-05-01T03:00:00Z.*"36h ago".*"last tuesday"/);
  });
});
