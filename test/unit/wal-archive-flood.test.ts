// A compromised database server can write any number of objects under its WAL prefix. The admin's
// point-in-time recovery must still find the genuine first version of every file it asks for: junk after
// the archive is never read, and junk in the middle of it costs a listing of the file's own keys.
import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { listing, type Entry } from '../support/generated-listing.js';
import { scanArchive } from '../../src/admin/wal/archive.js';
import { archiveObjectKey, historyFileName, segmentFileName } from '../../src/core/wal.js';

const PREFIX = 'db1/wal/';
const FLOOD = 250_000;

const T0 = Date.parse('2026-12-01T00:00:00Z');
const segment = (segno: number) => segmentFileName(1, segno);
/** Segments 1 to 5 of timeline 1, archived once each (gzip). */
const archive = (): Entry[] =>
  [1, 2, 3, 4, 5].map((segno) => ({
    Key: archiveObjectKey(PREFIX, segment(segno), 'gzip'),
    VersionId: `genuine-${segno}`,
    LastModified: new Date(T0 + segno * 60_000),
    Size: 1000,
  }));
const flood = (key: string, count = FLOOD): Entry[] =>
  Array.from({ length: count }, (_, i) => ({
    Key: key,
    VersionId: `junk-${i}`,
    LastModified: new Date(T0 + 3_600_000 + i),
    Size: 1,
  }));
const scan = (client: S3Client, names: string[], required = names.slice(0, 1)) =>
  scanArchive(client, 'b', PREFIX, names, { required: new Set(required) });
const namesOf = (found: { file: { name: string } }[]) => found.map(({ file }) => file.name);

describe('a WAL archive beside a flood', () => {
  it('junk after the archive is never read: the last segment and a missing history file in a page each', async () => {
    const { client, calls } = listing([...archive(), ...flood(`${PREFIX}zz-junk`)]);
    const last = await scan(client, [segment(5), segment(6), segment(7)]);
    expect(namesOf(last)).toEqual([segment(5)]);
    expect(last[0]).toMatchObject({ versionId: 'genuine-5', versions: 1 });
    // PostgreSQL asks for the next timeline's history file at every start of recovery and at promotion.
    expect(await scan(client, [historyFileName(2)])).toEqual([]);
    expect(calls).toHaveLength(2);
  });

  it('junk keys in the middle of the archive: each asked file is found by its own keys', async () => {
    const junk = `${PREFIX}${segment(3)}-junk`;
    const { client, calls } = listing([...archive(), ...flood(junk)]);
    // From segment 2: the listing stops in the junk after 2, which is settled; 3 and 4 are not asked for.
    const fromTwo = await scan(client, [2, 3, 4].map(segment));
    expect(namesOf(fromTwo)).toEqual([segment(2)]);
    // Segment 3 itself: listed by its three keys.
    calls.length = 0;
    const three = await scan(client, [3, 4].map(segment));
    expect(namesOf(three)).toEqual([segment(3)]);
    expect(three[0]).toMatchObject({ versionId: 'genuine-3' });
    expect(calls.filter((call) => call.prefix !== PREFIX).map((call) => call.prefix)).toEqual([
      archiveObjectKey(PREFIX, segment(3), 'gzip'),
      archiveObjectKey(PREFIX, segment(3), 'zstd'),
      archiveObjectKey(PREFIX, segment(3), 'none'),
    ]);
    // pg restore needs every segment of its base backup: all found past the junk.
    expect(namesOf(await scan(client, [1, 2, 3, 4, 5].map(segment), [1, 2, 3, 4, 5].map(segment)))).toEqual(
      [1, 2, 3, 4, 5].map(segment),
    );
  });

  it('stops at the first required file the archive lacks, past a flood', async () => {
    const withoutThree = archive().filter((entry) => !entry.Key.includes(segment(3)));
    const { client, calls } = listing([...withoutThree, ...flood(`${PREFIX}${segment(2)}.zz-junk`)]);
    const needed = [2, 3, 4, 5].map(segment);
    expect(namesOf(await scan(client, needed, needed))).toEqual([segment(2)]);
    // Segment 3's keys were listed, and found empty; 4 and 5 were not looked for.
    expect(calls.filter((call) => call.prefix !== PREFIX)).toHaveLength(3);
  });

  it('a flooded file gives its first version under the limit, and a clear error over it', async () => {
    const key = archiveObjectKey(PREFIX, segment(4), 'gzip');
    const under = listing([...archive(), ...flood(key, 150_000)]).client;
    expect((await scan(under, [segment(4)]))[0]).toMatchObject({ versionId: 'genuine-4', versions: 150_001 });
    const { client } = listing([...archive(), ...flood(key)]);
    await expect(scan(client, [segment(4)])).rejects.toMatchObject({
      code: 'FAILED',
      message: expect.stringMatching(
        /^more than 200000 versions of s3:\/\/b\/db1\/wal\/0+10+4\.gz\.gpg: a flood/,
      ),
    });
    // The files around it are not held up.
    expect(namesOf(await scan(client, [segment(5)]))).toEqual([segment(5)]);
  });
});
