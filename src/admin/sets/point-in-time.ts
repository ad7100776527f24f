// --at and --to: a point in time as people type it. The exact forms (ISO 8601, @EPOCH, "36h ago") are
// read here, as before; the rest ("yesterday 03:00", "last tuesday", "May 1 3am") by chrono-node. Admin
// side only: the agent never parses a time, and its bundle leaves src/admin out.
import { casual, type ParsedResult } from 'chrono-node/en';
import { SealdropError } from '../../core/errors.js';
import { parseDurationParts, type DurationParts } from '../../core/units.js';

/** The forms --at and --to take, for hints and help. */
export const POINT_IN_TIME_FORMS =
  '2024-05-01T03:00:00Z, "2024-05-01 03:00" (local time), @1714532400, "36h ago", "yesterday 03:00", "last tuesday", "May 1 3am"';

/**
 * A point in time: ISO 8601 (without an offset it is local time, like `date`), "@EPOCH_SECONDS", a
 * duration back from `now` ("36h", "2d ago"), or English as people write it, read against `now`. A day
 * named without a time of day ("last tuesday", "May 1") is its start, 00:00 local, as `date -d` reads it;
 * a date without a year is the latest one that has passed. What reads two ways (03/04/2024), names a
 * time still to come ("tuesday": this week's or next?), or leaves words unread is refused.
 */
export function parsePointInTime(text: string, now = new Date()): Date {
  const trimmed = text.trim();
  const ago = trimmed.replace(/\s+ago$/i, '');
  if (/^(?:\d+[a-z]+)+$/i.test(ago)) return durationBefore(now, parseDurationParts(ago, '--at'));
  if (/^@\d+(?:\.\d+)?$/.test(trimmed)) return new Date(Number(trimmed.slice(1)) * 1000);
  return isoDate(text, trimmed) ?? spoken(text, trimmed, now);
}

function spoken(text: string, trimmed: string, now: Date): Date {
  const results = casual.parse(trimmed, now, { forwardDate: false });
  const result = results[0];
  // Every word must be read: "last tuesday, or so" would otherwise quietly become "last tuesday".
  if (results.length !== 1 || !result || result.index !== 0 || result.text.length !== trimmed.length)
    throw notATime(text);
  if (result.end)
    throw new SealdropError('USAGE', `"${text}" is a span of time, not one point in time`, {
      hint: `Name its end, e.g. "${result.end.date().toISOString()}".`,
    });
  const dayMonth = /\b(\d{1,2})[/.](\d{1,2})\b/.exec(trimmed);
  if (dayMonth && dayMonth[1] !== dayMonth[2] && Number(dayMonth[1]) <= 12 && Number(dayMonth[2]) <= 12)
    throw new SealdropError(
      'USAGE',
      `"${text}" reads two ways: ${dayMonth[1]} could be the day or the month`,
      { hint: 'Write the date as YYYY-MM-DD (2024-05-01), or with the month named (May 1 2024).' },
    );
  // "May 1" in December is the May 1 that has passed, not the nearest one chrono-node would pick.
  const { start } = result;
  const read = start.date();
  if (read > now && start.isCertain('month') && !start.isCertain('year'))
    read.setFullYear(read.getFullYear() - 1);
  const date = namedDay(result) ? new Date(read.getFullYear(), read.getMonth(), read.getDate()) : read;
  if (date.getTime() > now.getTime())
    throw new SealdropError('USAGE', `"${text}" reads as ${localText(date)}, which is still to come`, {
      hint: 'Name a past time: "last tuesday" rather than "tuesday", or give the year ("May 1 2024 3am").',
    });
  return date;
}

/**
 * A day named without a time ("last tuesday", "May 1", "2024-05-01" in words): it starts at 00:00 local,
 * as `date -d` and the ISO form read it (chrono-node would say noon). Relative words ("yesterday", "2 days
 * ago") keep the time of day, as `date -d` does too.
 */
function namedDay(result: ParsedResult): boolean {
  const { start } = result;
  if (start.isCertain('hour')) return false;
  if (!start.isCertain('weekday') && !(start.isCertain('day') && start.isCertain('month'))) return false;
  for (const tag of result.tags())
    if (tag.startsWith('casualReference/') || tag === 'result/relativeDate') return false;
  return true;
}

/** The ISO 8601 forms; null: not one. One that isn't a date (2024-02-30) is a typo, not words to guess at. */
function isoDate(text: string, trimmed: string): Date | null {
  const match =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(
      trimmed,
    );
  if (!match) return null;
  const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '0', zone] = match;
  const fields = [
    Number(year),
    Number(month) - 1,
    Number(day),
    Number(hour),
    Number(minute),
    Number(second),
    Number(fraction.padEnd(3, '0')),
  ] as const;
  const utc = new Date(Date.UTC(...fields));
  const date = zone === undefined ? new Date(...fields) : new Date(utc.getTime() - offsetMs(zone));
  // Date rolls 2024-02-30 over into March: a date that doesn't read back is not a date.
  const readBack =
    zone === undefined
      ? [date.getFullYear(), date.getMonth(), date.getDate()]
      : [utc.getUTCFullYear(), utc.getUTCMonth(), utc.getUTCDate()];
  const valid =
    readBack.every((value, i) => value === fields[i]) && fields[3] < 24 && fields[4] < 60 && fields[5] < 60;
  if (!valid) throw notATime(text);
  return date;
}

function notATime(text: string): SealdropError {
  return new SealdropError('USAGE', `"${text}" is not a point in time`, {
    hint: `Write one of: ${POINT_IN_TIME_FORMS}.`,
  });
}

/** "2026-12-08 00:00 local (2026-12-08T00:00:00.000Z)": what a time was read as, for people. */
export function localText(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const local = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
  return `${local} local (${date.toISOString()})`;
}

/** `now` minus a duration: years and months on the local calendar (like `date -d "1 month ago"`), the rest exactly. */
function durationBefore(now: Date, parts: DurationParts): Date {
  const date = new Date(now);
  date.setFullYear(date.getFullYear() - parts.years, date.getMonth() - parts.months);
  const ms =
    ((((parts.weeks * 7 + parts.days) * 24 + parts.hours) * 60 + parts.minutes) * 60 + parts.seconds) * 1000 +
    parts.milliseconds;
  return new Date(date.getTime() - ms);
}

function offsetMs(zone: string): number {
  if (zone.toUpperCase() === 'Z') return 0;
  const digits = zone.replace(':', '');
  const minutes = Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5));
  return (digits.startsWith('-') ? -1 : 1) * minutes * 60_000;
}
