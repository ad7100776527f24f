// Human sizes, durations and points in time on the command line: "5GiB", "512MB", "36h", "7d", "30min",
// "1y2mo", "2024-05-01 03:00", "36h ago".
import { SealdropError } from './errors.js';

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

/** Parses "5GiB", "2G" (binary), "500MB" (decimal), "1048576" (bytes) into bytes. */
export function parseSize(text: string, what = 'size'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const factor = match ? SIZE_UNITS[(match[2] ?? '').toLowerCase() || 'b'] : undefined;
  if (!match || factor === undefined) {
    throw new SealdropError('USAGE', `${what} "${text}" is not a size`, {
      hint: 'Write sizes like 512MiB, 2GiB or 5GB.',
    });
  }
  return Math.round(Number(match[1]) * factor);
}

/**
 * The one duration grammar of every option: whole numbers with a unit, combined largest first or in any
 * order, each unit at most once: "90s", "30min", "36h", "7d", "2w", "1y2mo3d", "1h30min" (and "250ms").
 * A bare "m" is refused: it means minutes to some tools and months to others (restic).
 */
export interface DurationParts {
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
  milliseconds: number;
}

const DURATION_UNITS: Record<string, keyof DurationParts> = {
  y: 'years',
  mo: 'months',
  w: 'weeks',
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
};

export const DURATION_HINT = 'Write durations with s, min, h, d, w, mo or y: 90s, 30min, 36h, 7d, 1y2mo3d.';

/** `fixed`: for a length of time (months and years, which vary, are refused then). */
export function parseDurationParts(text: string, what = 'duration', { fixed = false } = {}): DurationParts {
  const refuse = (problem: string, hint = DURATION_HINT) =>
    new SealdropError('USAGE', `${what} "${text}" is not a duration${problem ? ` (${problem})` : ''}`, {
      hint,
    });
  const trimmed = text.trim().toLowerCase();
  if (!/^(?:\d+[a-z]+)+$/.test(trimmed)) throw refuse('');
  const parts: DurationParts = {
    years: 0,
    months: 0,
    weeks: 0,
    days: 0,
    hours: 0,
    minutes: 0,
    seconds: 0,
    milliseconds: 0,
  };
  const seen = new Set<string>();
  for (const [, digits, unit] of trimmed.matchAll(/(\d+)([a-z]+)/g)) {
    if (unit === 'm')
      throw refuse(
        '"m" is ambiguous',
        fixed
          ? `Write ${digits}min for minutes.`
          : `Write ${digits}min for minutes or ${digits}mo for months (restic's "m" is "mo" here).`,
      );
    const field = DURATION_UNITS[unit!];
    if (field === undefined) throw refuse(`unknown unit "${unit}"`);
    if (seen.has(field)) throw refuse(`"${unit}" given twice`);
    seen.add(field);
    const value = Number(digits);
    if (!Number.isSafeInteger(value)) throw refuse(`${digits} is too large`);
    parts[field] = value;
  }
  return parts;
}

const FIXED_MS: Partial<Record<keyof DurationParts, number>> = {
  weeks: 7 * 86_400_000,
  days: 86_400_000,
  hours: 3_600_000,
  minutes: 60_000,
  seconds: 1000,
  milliseconds: 1,
};

/** A duration of fixed length in milliseconds; months and years (which vary) are refused with a hint. */
export function parseDuration(text: string, what = 'duration'): number {
  const parts = parseDurationParts(text, what, { fixed: true });
  if (parts.years || parts.months)
    throw new SealdropError('USAGE', `${what} "${text}": months and years vary in length`, {
      hint: 'Write it in days or weeks (30d, 52w).',
    });
  return Object.entries(FIXED_MS).reduce(
    (total, [field, ms]) => total + parts[field as keyof DurationParts] * ms,
    0,
  );
}

/**
 * A duration for calendar arithmetic (retention's cutoffs): years, months and days on the calendar,
 * weeks as 7 days, and hours, minutes and seconds as absolute time.
 */
export interface RetentionDuration {
  years: number;
  months: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

/**
 * Parses a retention duration in the one grammar: restic's `1y2m3d4h` is written `1y2mo3d4h` here.
 * "0d" is valid and means "rule off".
 */
export function parseRetentionDuration(text: string, what = 'duration'): RetentionDuration {
  const parts = parseDurationParts(text, what);
  if (parts.milliseconds)
    throw new SealdropError('USAGE', `${what} "${text}": retention works in seconds at the finest`, {
      hint: DURATION_HINT,
    });
  return {
    years: parts.years,
    months: parts.months,
    days: parts.days + 7 * parts.weeks,
    hours: parts.hours,
    minutes: parts.minutes,
    seconds: parts.seconds,
  };
}

/** Formats a duration as restic prints it, in sealdrop's units: y, mo, d, h, min, s; zero parts omitted. */
export function formatRetentionDuration(d: RetentionDuration): string {
  const units: [number, string][] = [
    [d.years, 'y'],
    [d.months, 'mo'],
    [d.days, 'd'],
    [d.hours, 'h'],
    [d.minutes, 'min'],
    [d.seconds, 's'],
  ];
  return units
    .filter(([value]) => value !== 0)
    .map(([value, unit]) => `${value}${unit}`)
    .join('');
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** "6d 23h", "3h 12min", "42s": precise enough for expiry and age displays. */
export function formatDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  if (Math.abs(ms) < 1000) return `${sign}${Math.round(Math.abs(ms))}ms`;
  let seconds = Math.round(Math.abs(ms) / 1000);
  const days = Math.floor(seconds / 86_400);
  seconds -= days * 86_400;
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  const parts: [number, string][] = [
    [days, 'd'],
    [hours, 'h'],
    [minutes, 'min'],
    [seconds, 's'],
  ];
  const first = parts.findIndex(([value]) => value > 0);
  if (first === -1) return '0s';
  return (
    sign +
    parts
      .slice(first, first + 2)
      .filter(([value]) => value > 0)
      .map(([v, u]) => `${v}${u}`)
      .join(' ')
  );
}

/** Seconds as JSON documents carry them: rounded to milliseconds. */
export function roundMs(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
