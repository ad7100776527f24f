// Human sizes and durations on the command line: "5GiB", "512MB", "36h", "7d", "90s".
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

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
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

/** Parses "250ms", "90s", "36h", "7d", "1d12h", "2w" into milliseconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const parts = /^(?:\d+(?:ms|[smhdw]))+$/i.test(text.trim())
    ? text
        .trim()
        .toLowerCase()
        .match(/\d+(?:ms|[smhdw])/g)
    : null;
  if (!parts) {
    throw new SealdropError('USAGE', `${what} "${text}" is not a duration`, {
      hint: 'Write durations like 90s, 30m, 36h, 7d or 1d12h.',
    });
  }
  return parts.reduce((total, part) => {
    const [, amount, unit] = /^(\d+)(\D+)$/.exec(part)!;
    return total + Number(amount) * DURATION_UNITS[unit!]!;
  }, 0);
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

/** "6d 23h", "3h 12m", "42s": precise enough for expiry and age displays. */
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
    [minutes, 'm'],
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
