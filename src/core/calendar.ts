// Time zones and the calendar with Intl alone: a zone's offsets and wall clock, Go's `AddDate` arithmetic
// (restic computes retention cutoffs with it), and restic's calendar buckets: hour, day, ISO week, month, year.
import { SealdropError } from './errors.js';
import type { RetentionDuration } from './units.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Largest |ms| a JavaScript Date can hold. */
const MAX_DATE_MS = 8.64e15;

export interface Zone {
  /** Offset (wall - UTC) in ms at the instant `ms`. */
  offsetAt(ms: number): number;
}

const zoneCache = new Map<string, Zone>();

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

/** ms since epoch of a proleptic Gregorian wall time read as UTC; months/days overflow like Go and ECMAScript. */
function wallToMs(
  year: number,
  monthZero: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms: number,
): number {
  const d = new Date(0);
  d.setUTCFullYear(year, monthZero, day);
  d.setUTCHours(hour, minute, second, ms);
  return d.getTime();
}

/** The zone named `timeZone` (an IANA name), or the machine's zone; refused with a USAGE error if unknown. */
export function resolveZone(timeZone: string | undefined): Zone {
  let name = timeZone;
  if (name === undefined) {
    name = new Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (typeof name !== 'string' || name === '') name = 'UTC';
  }
  if (typeof name !== 'string')
    throw new SealdropError(
      'USAGE',
      `invalid time zone ${String(name)}: expected an IANA name such as Europe/Berlin`,
    );
  const cached = zoneCache.get(name);
  if (cached !== undefined) return cached;
  const format = wallClock(name);
  const exact = (ms: number) => exactOffset(format, ms);
  // Intl is slow (a million items: 10 s). Offsets change a few times a year, so each UTC hour is looked
  // up at its two ends: equal, and the whole hour has that offset; else each instant in it is exact.
  const hours = new Map<number, number>();
  const zone: Zone = {
    offsetAt(ms: number): number {
      const hour = Math.floor(ms / HOUR_MS);
      let offset = hours.get(hour);
      if (offset === undefined) {
        const start = exact(hour * HOUR_MS);
        offset = start === exact(hour * HOUR_MS + HOUR_MS - 1) ? start : Number.NaN;
        if (hours.size > 100_000) hours.clear();
        hours.set(hour, offset);
      }
      return Number.isNaN(offset) ? exact(ms) : offset;
    },
  };
  zoneCache.set(name, zone);
  return zone;
}

/** What reads an instant's wall clock in the zone `name`; an unknown zone is a USAGE error. */
function wallClock(name: string): Intl.DateTimeFormat {
  try {
    return new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      calendar: 'gregory',
      numberingSystem: 'latn',
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch (error) {
    throw new SealdropError(
      'USAGE',
      `unknown time zone "${name}": use an IANA name such as Europe/Berlin or UTC`,
      { cause: error },
    );
  }
}

/** The offset (wall - UTC) at `ms`, from the wall clock `format` shows (to the second). */
function exactOffset(format: Intl.DateTimeFormat, ms: number): number {
  const field: Partial<Record<Intl.DateTimeFormatPartTypes, string>> = {};
  for (const part of format.formatToParts(new Date(ms))) field[part.type] = part.value;
  const year = Number(field.year);
  const wall = wallToMs(
    field.era?.startsWith('B') ? 1 - year : year,
    Number(field.month) - 1,
    Number(field.day),
    Number(field.hour) % 24,
    Number(field.minute),
    Number(field.second),
    0,
  );
  return wall - (ms - mod(ms, 1000));
}

export const UTC_ZONE: Zone = { offsetAt: () => 0 };

/** The wall clock fields buckets are made of (month and day 1-based). */
export interface WallFields {
  year: number;
  month: number;
  day: number;
  hour: number;
}

export function wallFields(zone: Zone, ms: number): WallFields {
  const wall = new Date(ms + zone.offsetAt(ms));
  return {
    year: wall.getUTCFullYear(),
    month: wall.getUTCMonth() + 1,
    day: wall.getUTCDate(),
    hour: wall.getUTCHours(),
  };
}

function inDateRange(ms: number): boolean {
  return Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS;
}

/**
 * Go's `t.AddDate(-y, -m, -d).Add(-h * time.Hour)` for `t` in `zone`: calendar arithmetic on the wall clock
 * with Go's normalisation (Mar 31 - 1mo = "Feb 31" = Mar 3, or Mar 2 in a leap year), the wall time mapped
 * back to an instant the way Go's time.Date does it (a skipped wall time moves forward by the gap, an
 * ambiguous one picks the later instant), then hours, minutes and seconds subtracted as absolute time.
 * A result before the earliest representable Date is -Infinity (every real item is after it, as in Go).
 */
export function subtractDuration(zone: Zone, ms: number, d: RetentionDuration): number {
  const wall = new Date(ms + zone.offsetAt(ms));
  const local = wallToMs(
    wall.getUTCFullYear() - d.years,
    wall.getUTCMonth() - d.months,
    wall.getUTCDate() - d.days,
    wall.getUTCHours(),
    wall.getUTCMinutes(),
    wall.getUTCSeconds(),
    wall.getUTCMilliseconds(),
  );
  if (!inDateRange(local) || !inDateRange(local - DAY_MS) || !inDateRange(local + DAY_MS)) return -Infinity;
  // time.Date: look up the offset at the wall time taken as UTC; if the resulting instant lies outside
  // that zone period, use the offset in force at the resulting instant instead. Equivalent to:
  const offset = zone.offsetAt(local - zone.offsetAt(local));
  const result = local - offset - d.hours * HOUR_MS - d.minutes * 60_000 - d.seconds * 1000;
  return inDateRange(result) ? result : -Infinity;
}

function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const date = wallToMs(year, month - 1, day, 0, 0, 0, 0);
  const weekday = mod(new Date(date).getUTCDay() + 6, 7); // Monday = 0
  const thursday = date + (3 - weekday) * DAY_MS;
  const isoYear = new Date(thursday).getUTCFullYear();
  const jan1 = wallToMs(isoYear, 0, 1, 0, 0, 0, 0);
  return { year: isoYear, week: Math.floor((thursday - jan1) / (7 * DAY_MS)) + 1 };
}

/** The calendar periods a retention rule can count in. */
export type Period = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';

/** Each period's bucket of a wall time: same integer encodings as restic (YYYYMMDDHH, YYYYMMDD, YYYYWW, YYYYMM, YYYY). */
export const BUCKETS: Record<Period, (f: WallFields) => number> = {
  hourly: (f) => f.year * 1_000_000 + f.month * 10_000 + f.day * 100 + f.hour,
  daily: (f) => f.year * 10_000 + f.month * 100 + f.day,
  weekly: (f) => {
    const w = isoWeek(f.year, f.month, f.day);
    return w.year * 100 + w.week;
  },
  monthly: (f) => f.year * 100 + f.month,
  yearly: (f) => f.year,
};
