// Runs under a prefix: run ids, the manifest, grouping a listing into runs, judging a run.
import { describe, expect, it } from 'vitest';
import { choosePartSize } from '../../src/agent/parts.js';
import { MAX_PARTS, newRunId, partName, runIdTime } from '../../src/core/layout.js';
import {
  listingVerdict,
  MANIFEST_MAX_BYTES,
  manifestProblems,
  parseManifest,
  RunGrouper,
  runSnapshot,
  type Manifest,
} from '../../src/core/runs.js';
import type { ListedVersion } from '../../src/core/snapshot.js';

const MiB = 1024 ** 2;
const sha = (c: string) => c.repeat(64);

function version(key: string, at: string, extra: Partial<ListedVersion> = {}): ListedVersion {
  return {
    key,
    versionId: `${key}@${at}`,
    lastModified: new Date(at),
    size: 10,
    etag: 'e1',
    isDeleteMarker: false,
    isLatest: false,
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
const R4 = '20261126T130000Z-dddddd';

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

  it('accepts what the agent writes', () => {
    expect(parseManifest(JSON.stringify(manifest(R1, 3)), expected).parts).toHaveLength(3);
  });

  it.each([
    ['not JSON', 'x', /not JSON/],
    ['another format', { ...manifest(R1, 1), sealdropRun: 2 }, /format 2/],
    ['another run', manifest(R2, 1), /names run/],
    ['a part out of order', { ...manifest(R1, 2), parts: manifest(R1, 2).parts.reverse() }, /part 1 is/],
    ['a bad hash', { ...manifest(R1, 1), parts: [{ ...manifest(R1, 1).parts[0], sha256: 'x' }] }, /sha256/],
    ['sizes that do not add up', { ...manifest(R1, 2), totalBytes: 21 }, /add up to 20 bytes/],
    ['no parts', { ...manifest(R1, 1), parts: [] }, /no parts/],
    ['too many parts', { ...manifest(R1, 1), parts: new Array(MAX_PARTS + 1).fill(0) }, /over the limit/],
  ])('refuses %s as INTEGRITY', (_name, value, message) => {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    expect(() => parseManifest(text, expected)).toThrow(
      expect.objectContaining({ code: 'INTEGRITY', message: expect.stringMatching(message) }),
    );
  });

  it('keeps its messages short whatever the manifest holds', () => {
    const huge = 'x'.repeat(1_000_000);
    for (const value of [
      { ...manifest(R1, 1), runId: huge },
      { ...manifest(R1, 1), sealdropRun: { huge } },
      { ...manifest(R1, 1), parts: [{ ...manifest(R1, 1).parts[0], key: huge }] },
      `{"a": "${huge}`,
    ]) {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      expect(() => parseManifest(text, expected)).toThrow(
        expect.objectContaining({ message: expect.stringMatching(/^.{1,300}$/s) }),
      );
    }
  });
});

/** Entries in S3's order: by key, each key's versions newest first. */
function s3Order(entries: ListedVersion[]): ListedVersion[] {
  return [...entries].sort((a, b) =>
    a.key === b.key ? b.lastModified.getTime() - a.lastModified.getTime() : a.key < b.key ? -1 : 1,
  );
}

function group(entries: ListedVersion[]) {
  const grouper = new RunGrouper('db/');
  for (const entry of s3Order(entries)) grouper.add(entry);
  const { runs, strays } = grouper.finish();
  return { runs: new Map(runs.map((r) => [r.runId, r])), strays };
}

describe('RunGrouper', () => {
  const listing = [
    version(`db/${R1}/part-000001`, '2026-11-26T10:00:05Z'),
    version(`db/${R1}/part-000002`, '2026-11-26T10:00:09Z'),
    version(`db/${R1}/manifest.json`, '2026-11-26T10:00:10Z'),
    version(`db/${R2}/part-000001`, '2026-11-26T11:00:05Z'),
    version(`db/${R3}/part-000001`, '2026-11-26T12:00:05Z'),
    version(`db/${R3}/manifest.json`, '2026-11-26T12:00:06Z'),
    // written over later, with other content, and a delete marker on top
    version(`db/${R3}/part-000001`, '2026-11-27T00:00:00Z', { etag: 'junk', size: 11 }),
    version(`db/${R3}/part-000001`, '2026-11-27T00:00:01Z', { isDeleteMarker: true, size: 0 }),
    version('db/notes.txt', '2026-11-26T09:00:00Z'),
    version(`db/${R1}/extra/x`, '2026-11-26T09:00:00Z'),
    version(`db/${R1}/part-0000001`, '2026-11-26T09:00:00Z'),
    version('other/x', '2026-11-26T09:00:00Z'),
  ];
  const { runs, strays } = group(listing);

  it('groups by run id, keeping the original (oldest) version of each object', () => {
    expect([...runs.keys()].sort()).toEqual([R1, R2, R3]);
    expect(runs.get(R1)!.parts.size).toBe(2);
    expect(runs.get(R1)!.manifest?.time.toISOString()).toBe('2026-11-26T10:00:10.000Z');
    expect(runs.get(R2)!.manifest).toBeNull();
    const r3 = runs.get(R3)!;
    expect(r3.parts.get(1)).toMatchObject({ size: 10, time: new Date('2026-11-26T12:00:05Z') });
    expect(r3).toMatchObject({
      overwritten: { count: 1, names: ['part-000001'] },
      hidden: { count: 1, names: ['part-000001'] },
      objectVersions: 4,
      storedBytes: 31,
    });
  });

  it('counts what belongs to no run as strays, naming a few, never keeping them all', () => {
    expect(strays.count).toBe(4);
    expect(strays.sample).toEqual([`db/${R1}/extra/x`, `db/${R1}/part-0000001`, 'db/notes.txt', 'other/x']);
  });
});

describe('judging a run', () => {
  const { runs } = group([
    version(`db/${R1}/part-000001`, '2026-11-26T10:00:05Z'),
    version(`db/${R1}/part-000002`, '2026-11-26T10:00:09Z'),
    version(`db/${R1}/manifest.json`, '2026-11-26T10:00:10Z'),
    version(`db/${R2}/part-000001`, '2026-11-26T11:00:05Z'),
    version(`db/${R3}/manifest.json`, '2026-11-26T12:00:06Z', { size: 1 }),
    version(`db/${R4}/part-000001`, '2026-11-26T13:00:05Z'),
    version(`db/${R4}/manifest.json`, '2026-11-26T13:00:06Z', { size: MANIFEST_MAX_BYTES + 1 }),
  ]);

  it('is incomplete without a manifest, broken with a manifest of no parts or over the size limit', () => {
    expect(listingVerdict(runs.get(R2)!)).toMatchObject({ state: 'incomplete' });
    expect(listingVerdict(runs.get(R3)!)).toEqual({
      state: 'broken',
      notes: ['it has a manifest but no parts'],
    });
    expect(listingVerdict(runs.get(R4)!)).toMatchObject({
      state: 'broken',
      notes: [expect.stringMatching(/over the limit/)],
    });
    expect(listingVerdict(runs.get(R1)!)).toBeNull(); // its manifest must be read
  });

  it('is broken, unread, with a manifest larger than one of its listed parts can be', () => {
    // Every listing re-read a junk run's 16 MiB manifest, and JSON.parse made 375 MB of a `[{},{},…]`.
    const longPrefix = `${'p'.repeat(990)}/`;
    const genuine = manifest(R1, 3, { prefix: longPrefix });
    genuine.parts = genuine.parts.map((part, i) => ({
      ...part,
      key: `${longPrefix}${R1}/${partName(i + 1)}`,
    }));
    const genuineBytes = Buffer.byteLength(`${JSON.stringify(genuine, null, 2)}\n`);
    const run = (manifestBytes: number) =>
      group([
        version(`db/${R1}/part-000001`, '2026-11-26T10:00:05Z'),
        version(`db/${R1}/part-000002`, '2026-11-26T10:00:06Z'),
        version(`db/${R1}/part-000003`, '2026-11-26T10:00:07Z'),
        version(`db/${R1}/manifest.json`, '2026-11-26T10:00:10Z', { size: manifestBytes }),
      ]).runs.get(R1)!;
    expect(listingVerdict(run(genuineBytes))).toBeNull();
    expect(listingVerdict(run(1024 ** 2))).toEqual({
      state: 'broken',
      notes: [
        expect.stringMatching(
          /^the manifest is 1048576 bytes, more than a manifest of 3 parts can be \(at most \d+\)$/,
        ),
      ],
    });
  });

  it('finds parts the manifest names that are missing or of another size', () => {
    const r1 = runs.get(R1)!;
    expect(manifestProblems(r1, manifest(R1, 2))).toEqual([]);
    expect(manifestProblems(r1, manifest(R1, 3))).toEqual(['part-000003 is missing']);
    expect(
      manifestProblems(r1, {
        ...manifest(R1, 2),
        parts: [{ ...manifest(R1, 2).parts[0]!, size: 9 }, manifest(R1, 2).parts[1]!],
      }),
    ).toEqual(['part-000001 is 10 bytes, the manifest says 9']);
    expect(manifestProblems(r1, manifest(R1, 9))).toHaveLength(4); // three named, then a count
  });

  it('as a snapshot: a complete run by its manifest, an incomplete one by its newest part', () => {
    expect(runSnapshot(runs.get(R1)!, { state: 'complete', manifest: manifest(R1, 2) })).toMatchObject({
      kind: 'run',
      id: R1,
      state: 'complete',
      time: new Date('2026-11-26T10:00:10Z'),
      size: 20,
      parts: 2,
      notes: [],
    });
    const incomplete = runSnapshot(runs.get(R2)!, listingVerdict(runs.get(R2)!)!);
    expect(incomplete).toMatchObject({
      state: 'incomplete',
      time: new Date('2026-11-26T11:00:05Z'),
      size: 10,
    });
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
