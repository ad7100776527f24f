import { describe, expect, it } from 'vitest';
import {
  chooseSnapshot,
  mergeListing,
  quoteBounded,
  snapshotJson,
  type ListedVersion,
  type SnapshotSelector,
} from '../../src/core/snapshot.js';
import { run, snapshot } from '../support/snapshots.js';

const at = (iso: string) => new Date(iso);

function entry(key: string, id: string, iso: string, extra: Partial<ListedVersion> = {}): ListedVersion {
  return {
    key,
    versionId: id,
    lastModified: at(iso),
    size: 1,
    etag: null,
    isDeleteMarker: false,
    isLatest: false,
    ...extra,
  };
}

describe('mergeListing', () => {
  it('interleaves delete markers by key, then time', () => {
    const merged = mergeListing(
      [
        entry('a', 'a1', '2024-05-01T00:00:00Z'),
        entry('k', 'c', '2024-05-03T00:00:00Z'),
        entry('k', 'a', '2024-05-01T00:00:00Z'),
      ],
      [
        entry('k', 'm2', '2024-05-04T00:00:00Z', { isDeleteMarker: true }),
        entry('k', 'm1', '2024-05-02T00:00:00Z', { isDeleteMarker: true }),
        entry('z', 'z1', '2024-05-09T00:00:00Z', { isDeleteMarker: true }),
      ],
    );
    expect(merged.map((v) => v.versionId)).toEqual(['a1', 'm2', 'c', 'm1', 'a', 'z1']);
  });

  it("keeps S3's order within versions even when the timestamps disagree (concurrent uploads)", () => {
    const merged = mergeListing(
      [
        entry('k', 'latest', '2024-05-01T00:00:00.100Z', { isLatest: true }),
        entry('k', 'earlier', '2024-05-01T00:00:00.200Z'),
      ],
      [],
    );
    expect(merged.map((v) => v.versionId)).toEqual(['latest', 'earlier']);
  });

  it('puts the latest first when a version and a delete marker share a timestamp', () => {
    const merged = mergeListing(
      [entry('k', 'v', '2024-05-01T00:00:00Z')],
      [entry('k', 'm', '2024-05-01T00:00:00Z', { isDeleteMarker: true, isLatest: true })],
    );
    expect(merged.map((v) => v.versionId)).toEqual(['m', 'v']);
  });
});

describe('chooseSnapshot', () => {
  // As S3 lists them: newest first.
  const history = [
    snapshot('v3', '2024-05-03T02:30:00Z'),
    snapshot('v2', '2024-05-02T02:30:00Z'),
    snapshot('v1', '2024-05-01T02:30:00Z'),
  ];
  const pick = (selector: SnapshotSelector, list = history) =>
    chooseSnapshot(list, selector, 's3://b/k').snapshot.id;

  it('takes the latest by default', () => expect(pick({ kind: 'latest' })).toBe('v3'));
  it('finds one by id', () => expect(pick({ kind: 'id', id: 'v1' })).toBe('v1'));

  it.each([
    ['2024-05-02T02:30:00Z', 'v2'], // exactly at: included
    ['2024-05-02T02:29:59Z', 'v1'],
    ['2024-05-02T12:00:00Z', 'v2'],
    ['2030-01-01T00:00:00Z', 'v3'],
  ])('--at %s picks the newest at or before it: %s', (iso, expected) =>
    expect(pick({ kind: 'at', at: at(iso) })).toBe(expected),
  );

  it('says when nothing is that old, naming the oldest', () => {
    expect(() => pick({ kind: 'at', at: at('2024-04-30T00:00:00Z') })).toThrowError(
      /no version at or before 2024-04-30T00:00:00.000Z; the oldest is from 2024-05-01T02:30:00.000Z/,
    );
  });

  it('refuses an unknown id and an empty set as NOT_FOUND', () => {
    expect(() => pick({ kind: 'id', id: 'nope' })).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND', message: 's3://b/k has no version nope' }),
    );
    expect(() => chooseSnapshot([], { kind: 'latest' }, 's3://b/k')).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND' }),
    );
  });

  it('refuses a delete marker and points at the version before it', () => {
    const deleted = [snapshot('dm', '2024-05-04T00:00:00Z', { state: 'deleted', size: 0 }), ...history];
    for (const selector of [
      { kind: 'latest' } as const,
      { kind: 'at', at: at('2024-05-05T00:00:00Z') } as const,
      { kind: 'id', id: 'dm' } as const,
    ]) {
      expect(() => pick(selector, deleted)).toThrow(
        expect.objectContaining({
          code: 'NOT_FOUND',
          message: expect.stringMatching(/delete marker/),
          hint: expect.stringContaining('--version-id v3'),
        }),
      );
    }
    expect(pick({ kind: 'at', at: at('2024-05-03T12:00:00Z') }, deleted)).toBe('v3');
  });

  const runs = [
    run('r5', '2024-05-05T00:00:00Z', 'broken', { notes: ['the manifest is not valid (not JSON)'] }),
    run('r4', '2024-05-04T00:00:00Z', 'incomplete'),
    run('r3', '2024-05-03T00:00:00Z'),
    run('r2', '2024-05-02T00:00:00Z', 'broken'),
    run('r1', '2024-05-01T00:00:00Z'),
  ];

  it('passes over newer incomplete and broken runs, and says which', () => {
    const choice = chooseSnapshot(runs, { kind: 'latest' }, 's3://b/p/');
    expect(choice.snapshot.id).toBe('r3');
    expect(choice.skipped.map((s) => s.id)).toEqual(['r5', 'r4']);
    expect(
      chooseSnapshot(runs, { kind: 'at', at: at('2024-05-02T12:00:00Z') }, 's3://b/p/').snapshot.id,
    ).toBe('r1');
  });

  it('refuses an incomplete or broken run asked for by id, pointing at the latest complete one', () => {
    expect(() => pick({ kind: 'id', id: 'r4' }, runs)).toThrow(
      expect.objectContaining({ code: 'INCOMPLETE_RUN', hint: expect.stringContaining('--run r3') }),
    );
    expect(() => pick({ kind: 'id', id: 'r5' }, runs)).toThrow(
      expect.objectContaining({
        code: 'INTEGRITY',
        message: expect.stringMatching(/BROKEN \(the manifest is not valid/),
      }),
    );
  });

  it('says there is nothing complete, naming a few of what there is: damage (3) when runs are broken', () => {
    const pending = [run('p1', '2024-05-02T00:00:00Z', 'incomplete')];
    expect(() => chooseSnapshot(pending, { kind: 'latest' }, 's3://b/p/')).toThrow(
      expect.objectContaining({
        code: 'INCOMPLETE_RUN',
        message: 's3://b/p/ has no complete run: 1 INCOMPLETE run (p1)',
      }),
    );
    const junk = Array.from({ length: 10 }, (_, i) =>
      run(`j${i}`, `2024-05-1${i}T00:00:00Z`, 'broken'),
    ).reverse();
    expect(() => chooseSnapshot(junk, { kind: 'latest' }, 's3://b/p/')).toThrow(
      expect.objectContaining({
        code: 'INTEGRITY',
        message: expect.stringMatching(/10 BROKEN runs \(j9: broken because, j8: .*, and 7 more\)$/),
      }),
    );
  });
});

describe('snapshotJson', () => {
  it('names a version versionId and a run runId, times in ISO 8601, sizes in bytes', () => {
    expect(snapshotJson(snapshot('v1', '2024-05-01T00:00:00Z'))).toEqual({
      versionId: 'v1',
      time: '2024-05-01T00:00:00.000Z',
      size: 100,
      state: 'complete',
      notes: [],
    });
    expect(snapshotJson(run('r1', '2024-05-01T00:00:00Z'))).toMatchObject({ runId: 'r1', parts: 1 });
  });
});

describe('quoteBounded', () => {
  it('caps texts from the bucket and describes what is not text', () => {
    expect(quoteBounded('x'.repeat(1000))).toHaveLength(83);
    expect(quoteBounded(['a', 'b'])).toBe('an array of 2');
    expect(quoteBounded({ a: 1 })).toBe('an object');
    expect(quoteBounded(7)).toBe('7');
  });
});
