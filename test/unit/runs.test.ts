// Runs under a prefix: run ids, the manifest, grouping a listing into runs, choosing and judging a run.
import { describe, expect, it } from 'vitest';
import { choosePartSize } from '../../src/agent/parts.js';
import {
  chooseRun,
  groupRuns,
  newRunId,
  parseManifest,
  partName,
  runDamage,
  runIdTime,
  type ListedVersion,
  type Manifest,
} from '../../src/core/runs.js';

const MiB = 1024 ** 2;
const sha = (c: string) => c.repeat(64);

function version(key: string, at: string, extra: Partial<ListedVersion> = {}): ListedVersion {
  return {
    key,
    versionId: `${key}@${at}`,
    lastModified: new Date(at),
    size: 10,
    etag: '"e1"',
    isDeleteMarker: false,
    ...extra,
  };
}

function manifest(runId: string, parts: number, extra: Partial<Manifest> = {}): Manifest {
  return {
    sealdropRun: 1,
    runId,
    prefix: 'db/',
    parts: Array.from({ length: parts }, (_, i) => ({
      key: `db/${runId}/${partName(i + 1)}`,
      size: 10,
      sha256: sha('a'),
    })),
    totalBytes: 10 * parts,
    sha256: sha('b'),
    bytesIn: 100,
    compression: 'gzip',
    partSize: 10,
    startedAt: '2026-11-26T10:00:00.000Z',
    finishedAt: '2026-11-26T10:01:00.000Z',
    seconds: 60,
    ...extra,
  };
}

const R1 = '20261126T100000Z-aaaaaa';
const R2 = '20261126T110000Z-bbbbbb';
const R3 = '20261126T120000Z-cccccc';

describe('run ids', () => {
  it('are a UTC timestamp and a 6-hex suffix, and sort by time', () => {
    const id = newRunId(new Date('2026-11-26T10:53:00.123Z'), '3fa9c1');
    expect(id).toBe('20261126T105300Z-3fa9c1');
    expect(runIdTime(id)?.toISOString()).toBe('2026-11-26T10:53:00.000Z');
    const ids = ['2027-01-01T00:00:00Z', '2026-11-26T10:53:00Z', '2026-12-31T23:59:59Z'].map((t) =>
      newRunId(new Date(t), 'ffffff'),
    );
    expect([...ids].sort()).toEqual([ids[1], ids[2], ids[0]]);
  });

  it('reject anything else', () => {
    for (const bad of [
      '20261126T105300Z',
      '20261126T105300Z-XYZ123',
      '2026-11-26',
      '20261399T000000Z-aaaaaa',
    ])
      expect(runIdTime(bad)).toBeNull();
    expect(() => newRunId(new Date(), 'nothex')).toThrow();
    expect(partName(1)).toBe('part-000001');
    expect(() => partName(0)).toThrow();
  });
});

describe('parseManifest', () => {
  const expected = { prefix: 'db/', runId: R1 };
  const parse = (m: unknown) => parseManifest(JSON.stringify(m), expected, 'm.json');

  it('accepts what the agent writes', () => {
    expect(parse(manifest(R1, 3)).parts).toHaveLength(3);
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['another format', { ...manifest(R1, 1), sealdropRun: 2 }, /format 2/],
    ['another run', manifest(R2, 1), /names run/],
    ['a part out of order', { ...manifest(R1, 2), parts: manifest(R1, 2).parts.reverse() }, /part 1 is/],
    ['a bad hash', { ...manifest(R1, 1), parts: [{ ...manifest(R1, 1).parts[0], sha256: 'x' }] }, /sha256/],
    ['sizes that do not add up', { ...manifest(R1, 2), totalBytes: 21 }, /add up to 20 bytes/],
    ['no parts', { ...manifest(R1, 1), parts: [] }, /no parts/],
  ])('refuses %s as INTEGRITY', (_name, value, message) => {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    expect(() => parseManifest(text, expected, 'm.json')).toThrow(message);
    try {
      parseManifest(text, expected, 'm.json');
    } catch (error) {
      expect((error as { code: string }).code).toBe('INTEGRITY');
    }
  });
});

describe('groupRuns', () => {
  const listing = [
    version(`db/${R1}/part-000001`, '2026-11-26T10:00:05Z'),
    version(`db/${R1}/part-000002`, '2026-11-26T10:00:09Z'),
    version(`db/${R1}/manifest.json`, '2026-11-26T10:00:10Z'),
    version(`db/${R2}/part-000001`, '2026-11-26T11:00:05Z'),
    version(`db/${R3}/part-000001`, '2026-11-26T12:00:05Z'),
    version(`db/${R3}/manifest.json`, '2026-11-26T12:00:06Z'),
    // written over later, with other content, and a delete marker on top
    version(`db/${R3}/part-000001`, '2026-11-27T00:00:00Z', { etag: '"junk"', size: 11 }),
    version(`db/${R3}/part-000001`, '2026-11-27T00:00:01Z', { isDeleteMarker: true, size: 0 }),
    version('db/notes.txt', '2026-11-26T09:00:00Z'),
    version(`db/${R1}/extra/x`, '2026-11-26T09:00:00Z'),
    version('other/x', '2026-11-26T09:00:00Z'),
  ];
  const { runs, strays } = groupRuns('db/', listing);

  it('groups by run id, newest first by server time, complete when a manifest is stored', () => {
    expect(runs.map((r) => [r.runId, r.complete, r.parts.length])).toEqual([
      [R3, true, 1],
      [R2, false, 1],
      [R1, true, 2],
    ]);
    expect(runs[2]!.time.toISOString()).toBe('2026-11-26T10:00:10.000Z');
    expect(runs[1]!.time.toISOString()).toBe('2026-11-26T11:00:05.000Z');
    expect(runs[2]!.size).toBe(20);
    expect(strays).toEqual([`db/${R1}/extra/x`, 'db/notes.txt']);
  });

  it('uses the original (oldest) version of each object and flags later content as an overwrite', () => {
    const part = runs[0]!.parts[0]!;
    expect(part.original?.lastModified.toISOString()).toBe('2026-11-26T12:00:05.000Z');
    expect(part.overwrites).toHaveLength(1);
    expect(part.all).toHaveLength(3);
    expect(runDamage(runs[0]!, manifest(R3, 1)).overwritten).toEqual([
      'part-000001 was written over after the run (1 later version with other content)',
    ]);
  });

  it('finds missing and wrong-sized parts', () => {
    expect(runDamage(runs[2]!, manifest(R1, 3)).missing).toEqual(['part-000003 is missing']);
    expect(
      runDamage(runs[2]!, {
        ...manifest(R1, 2),
        parts: [{ ...manifest(R1, 2).parts[0]!, size: 9 }, manifest(R1, 2).parts[1]!],
      }).missing,
    ).toEqual(['part-000001 is 10 bytes, the manifest says 9']);
  });

  it('chooses the newest complete run, by id, or at a time; refuses incomplete runs by name', () => {
    const listingOf = { runs, strays };
    expect(chooseRun(listingOf, { kind: 'latest' }, 'x').runId).toBe(R3);
    expect(chooseRun(listingOf, { kind: 'at', at: new Date('2026-11-26T11:30:00Z') }, 'x').runId).toBe(R1);
    expect(() => chooseRun(listingOf, { kind: 'id', runId: R2 }, 'x')).toThrow(
      /INCOMPLETE: it has no manifest/,
    );
    expect(() => chooseRun(listingOf, { kind: 'id', runId: 'nope' }, 'x')).toThrow(/has no run nope/);
    expect(() => chooseRun(listingOf, { kind: 'at', at: new Date('2026-01-01T00:00:00Z') }, 'x')).toThrow(
      /no complete run at or before/,
    );
    expect(() => chooseRun({ runs: [runs[1]!], strays: [] }, { kind: 'latest' }, 'x')).toThrow(/INCOMPLETE/);
  });
});

describe('choosePartSize', () => {
  it('defaults to 1 GiB or the policy limit; refuses over the limit and under 1 MiB', () => {
    expect(choosePartSize(undefined, 5 * 1024 ** 3)).toBe(1024 ** 3);
    expect(choosePartSize(undefined, 100 * MiB)).toBe(100 * MiB);
    expect(choosePartSize(8 * MiB, 100 * MiB)).toBe(8 * MiB);
    expect(() => choosePartSize(200 * MiB, 100 * MiB)).toThrow(/over the policy's max size/);
    expect(() => choosePartSize(MiB - 1, 100 * MiB)).toThrow(/at least 1\.00 MiB/);
  });
});
