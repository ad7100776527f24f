import { describe, expect, it } from 'vitest';
import { SealdropError } from '../../src/core/errors.js';
import {
  formatBytes,
  formatDuration,
  parseDuration,
  parsePointInTime,
  parseSize,
} from '../../src/core/units.js';
import { parseS3Url } from '../../src/core/s3-url.js';

describe('parseSize', () => {
  it.each([
    ['1048576', 1048576],
    ['5GiB', 5 * 1024 ** 3],
    ['2G', 2 * 1024 ** 3],
    ['500MB', 500_000_000],
    ['1.5KiB', 1536],
    ['8 mib', 8 * 1024 ** 2],
  ])('reads %s as %d bytes', (text, bytes) => expect(parseSize(text)).toBe(bytes));

  it.each(['', 'lots', '5XB', '-1', '1e9'])('refuses "%s" with a usage error', (text) => {
    expect(() => parseSize(text)).toThrow(SealdropError);
  });
});

describe('parseDuration', () => {
  it.each([
    ['2s', 2000],
    ['250ms', 250],
    ['1min30s', 90_000],
    ['30min', 30 * 60_000],
    ['1h30min', 90 * 60_000],
    ['36h', 36 * 3600_000],
    ['7d', 7 * 86_400_000],
    ['1d12h', 36 * 3600_000],
    ['2w', 14 * 86_400_000],
    ['90min', 90 * 60_000],
  ])('reads %s as %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '7', 'd', 'soon', '3h-1min', '1x', '1h1h', '1.5h'])('refuses "%s"', (text) => {
    expect(() => parseDuration(text)).toThrowError(/not a duration/);
  });

  it('refuses a bare m with a hint naming min and mo', () => {
    expect(() => parseDuration('30m')).toThrowError(
      expect.objectContaining({ code: 'USAGE', hint: expect.stringMatching(/30min .*30mo/) }),
    );
  });

  it('refuses months and years, which vary in length, with a hint', () => {
    for (const text of ['1y', '30mo', '1y2mo'])
      expect(() => parseDuration(text)).toThrowError(
        expect.objectContaining({ hint: expect.stringMatching(/days or weeks/) }),
      );
  });
});

describe('formatting', () => {
  it('formats bytes and durations for people', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(102.23106346749776)).toBe('102 B'); // rates: bytes per second
    expect(formatBytes(5 * 1024 ** 3)).toBe('5.00 GiB');
    expect(formatDuration(6 * 86_400_000 + 23 * 3600_000 + 59_000)).toBe('6d 23h');
    expect(formatDuration(42_000)).toBe('42s');
    expect(formatDuration(0)).toBe('0ms');
    expect(formatDuration(420)).toBe('420ms');
  });
});

describe('parseS3Url', () => {
  it('splits bucket and key, and tells a prefix by its trailing slash', () => {
    expect(parseS3Url('s3://acme-backups/db1/dump.sql.gz.gpg')).toEqual({
      bucket: 'acme-backups',
      key: 'db1/dump.sql.gz.gpg',
      isPrefix: false,
    });
    expect(parseS3Url('s3://acme-backups/db1/')).toEqual({
      bucket: 'acme-backups',
      key: 'db1/',
      isPrefix: true,
    });
    expect(parseS3Url('s3://acme-backups', { requireKey: false })).toEqual({
      bucket: 'acme-backups',
      key: '',
      isPrefix: true,
    });
  });

  it.each(['acme/key', 's3://', 's3://Bad_Bucket/key', 's3://acme-backups'])('refuses "%s"', (text) => {
    expect(() => parseS3Url(text)).toThrow(SealdropError);
  });
});

const at = (iso: string) => new Date(iso);

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
