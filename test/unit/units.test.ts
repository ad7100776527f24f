import { describe, expect, it } from 'vitest';
import { SealdropError } from '../../src/core/errors.js';
import {
  formatBytes,
  formatDuration,
  parseDuration,
  parseDurationParts,
  parseSize,
} from '../../src/core/units.js';
import { parseBucketUrl, parseS3Url } from '../../src/core/s3-url.js';

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

  it('refuses a bare m with a hint naming min, not mo, which a length of time refuses too', () => {
    expect(() => parseDuration('30m')).toThrowError(
      expect.objectContaining({ code: 'USAGE', hint: 'Write 30min for minutes.' }),
    );
    // Where months are taken (retention, --at), the hint names both.
    expect(() => parseDurationParts('30m')).toThrowError(
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

describe('parseBucketUrl', () => {
  it.each(['s3://acme-backups', 's3://acme-backups/'])('reads %s as the bucket', (text) => {
    expect(parseBucketUrl(text, 'setup')).toBe('acme-backups');
  });

  it('refuses a key or prefix: what takes a bucket would silently act on the whole of it', () => {
    expect(() => parseBucketUrl('s3://acme-backups/db1/', 'setup')).toThrow(
      expect.objectContaining({
        code: 'USAGE',
        message: expect.stringMatching(/"s3:\/\/acme-backups\/db1\/" names a prefix: setup takes a bucket/),
        hint: 'Name the bucket alone: s3://acme-backups',
      }),
    );
    expect(() => parseBucketUrl('s3://acme-backups/db1/dump.sql.gz.gpg', 'setup')).toThrow(
      expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/names a key: /) }),
    );
  });

  it.each(['acme-backups', 's3://', 's3://Bad_Bucket'])(
    'refuses "%s" with a hint showing s3://BUCKET',
    (text) => {
      expect(() => parseBucketUrl(text, 'setup')).toThrow(
        expect.objectContaining({
          code: 'USAGE',
          message: expect.stringMatching(/is not an s3:\/\/BUCKET address/),
          hint: expect.not.stringMatching(/dump\.sql|db1/),
        }),
      );
    },
  );
});
