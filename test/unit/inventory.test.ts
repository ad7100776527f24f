// Grouping a bucket's listing into backup sets as it streams (core/inventory.ts).
import { describe, expect, it } from 'vitest';
import { SetGrouper, summarizeSet, type GroupedSet } from '../../src/core/inventory.js';
import type { ListedVersion } from '../../src/core/snapshot.js';
import { run, snapshot } from '../support/snapshots.js';

const RUN_A = '20260501T023000Z-aaaaaa';
const RUN_B = '20260502T023000Z-bbbbbb';

let clock = Date.parse('2026-05-01T00:00:00Z');
function entry(key: string, extra: Partial<ListedVersion> = {}): ListedVersion {
  clock += 1000;
  return {
    key,
    versionId: `v${clock}`,
    lastModified: new Date(clock),
    size: 10,
    etag: 'e',
    isDeleteMarker: false,
    isLatest: true,
    ...extra,
  };
}

/** Feeds a listing (keys given in any order; sorted as S3 sorts) and collects the sets. */
function group(keys: (string | ListedVersion)[], root = '', options = {}): GroupedSet[] {
  const entries = keys
    .map((k) => (typeof k === 'string' ? entry(k) : k))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const grouper = new SetGrouper('b', root, options);
  const sets: GroupedSet[] = [];
  for (const e of entries) sets.push(...grouper.add(e));
  sets.push(...grouper.finish());
  return sets;
}

const names = (sets: GroupedSet[]) => sets.map((s) => `${s.kind} ${s.location.key}`);

describe('SetGrouper', () => {
  it('finds keys with versions, prefixes with runs, and sealdrop’s own area, in key order', () => {
    const sets = group([
      'db1/mysql.sql.gz.gpg',
      'db1/mysql.sql.gz.gpg',
      'db2/pg.sql.gz.gpg',
      `warehouse/${RUN_A}/part-000001`,
      `warehouse/${RUN_A}/manifest.json`,
      `warehouse/${RUN_B}/part-000001`,
      '.sealdrop/renew/db1-0123.json',
      '.sealdrop/renew/db2-4567.json',
    ]);
    expect(names(sets)).toEqual([
      'area .sealdrop/',
      'version db1/mysql.sql.gz.gpg',
      'version db2/pg.sql.gz.gpg',
      'run warehouse/',
    ]);
    expect(sets[0]).toMatchObject({ objects: 2, objectVersions: 2 });
    expect(sets[1]).toMatchObject({ snapshots: [{ state: 'complete' }, { state: 'complete' }] });
    const runs = sets[3]!;
    expect(runs.kind === 'run' && runs.runs.map((r) => r.runId).sort()).toEqual([RUN_A, RUN_B]);
  });

  it('counts every other object under a run prefix as its stray, also those sorting before the first run', () => {
    const sets = group([
      'w/.hidden',
      'w/0-notes.txt',
      `w/${RUN_A}/part-000001`,
      `w/${RUN_A}/junk`,
      'w/notes.txt',
      'w/sub/thing',
      'x/key',
    ]);
    expect(names(sets)).toEqual(['run w/', 'version x/key']);
    const w = sets[0]!;
    expect(w.kind === 'run' && w.strays.count).toBe(5);
  });

  it('holds keys that may still turn out to be strays only until the listing passes their runs', () => {
    const grouper = new SetGrouper('b', '');
    expect(grouper.add(entry('db1/2024-01-01.sql.gz.gpg'))).toEqual([]);
    expect(grouper.add(entry('db1/2024-01-02.sql.gz.gpg'))).toEqual([]);
    // Past every run id of db1/ (they start with a digit): both are key sets of their own.
    expect(names(grouper.add(entry('db1/latest.sql.gz.gpg')))).toEqual([
      'version db1/2024-01-01.sql.gz.gpg',
      'version db1/2024-01-02.sql.gz.gpg',
    ]);
    expect(names(grouper.finish())).toEqual(['version db1/latest.sql.gz.gpg']);
  });

  it('lists a prefix that is itself a run set as one set, and a prefix holding sets as each', () => {
    expect(names(group([`w/${RUN_A}/manifest.json`, 'w/notes'], 'w/'))).toEqual(['run w/']);
    expect(names(group(['p/a/k', `p/b/${RUN_A}/part-000001`], 'p/'))).toEqual(['version p/a/k', 'run p/b/']);
    // The bucket's root is never a run prefix: runs need a prefix of their own.
    expect(names(group([`${RUN_A}/part-000001`]))).toEqual([`version ${RUN_A}/part-000001`]);
  });

  it('takes the admin’s word for a run prefix: junk under a prefix host is its stray, even without runs', () => {
    const known = (key: string) => (key.startsWith('host1/') ? 'host1/' : null);
    const sets = group(['host1/x', 'host1/y/z', 'host2/k'], '', { knownRunPrefix: known });
    expect(names(sets)).toEqual(['run host1/', 'version host2/k']);
    expect(sets[0]!.kind === 'run' && sets[0]!.strays.count).toBe(2);
  });

  it('keeps delete markers in a key’s snapshots, newest first', () => {
    const [set] = group([
      entry('k', { isDeleteMarker: true, size: 0, lastModified: new Date('2026-05-03T00:00:00Z') }),
      entry('k', { isLatest: false, lastModified: new Date('2026-05-02T00:00:00Z') }),
    ]);
    expect(set!.kind === 'version' && set!.snapshots.map((s) => s.state)).toEqual(['deleted', 'complete']);
  });

  it('groups a generated listing of 1,000,000 entries holding little at once', () => {
    const grouper = new SetGrouper('b', '');
    let sets = 0;
    let runs = 0;
    let versions = 0;
    const count = (done: GroupedSet[]) => {
      for (const set of done) {
        sets++;
        if (set.kind === 'run') runs += set.runs.length;
        if (set.kind === 'version') versions += set.snapshots.length;
      }
    };
    let entries = 0;
    const feed = (key: string) => {
      entries++;
      count(grouper.add(entry(key)));
    };
    // 2,000 hosts with a key of 100 versions each; 80 hosts with 50 runs of 199 parts and a manifest.
    for (let h = 0; h < 2000; h++)
      for (let v = 0; v < 100; v++) feed(`k${String(h).padStart(4, '0')}/db.gpg`);
    for (let h = 0; h < 80; h++)
      for (let r = 0; r < 50; r++) {
        const id = `202605${String(1 + (r % 28)).padStart(2, '0')}T0000${String(r).padStart(2, '0')}Z-abcdef`;
        for (let p = 1; p <= 199; p++) feed(`r${h}/${id}/part-${String(p).padStart(6, '0')}`);
        feed(`r${h}/${id}/manifest.json`);
      }
    count(grouper.finish());
    expect(entries).toBe(1_000_000);
    expect(sets).toBe(2080);
    expect(versions).toBe(200_000);
    expect(runs).toBe(80 * 50);
    expect(grouper.peakHeld).toBeLessThanOrEqual(100); // one key's versions
  }, 120_000); // a few seconds; far more on a loaded machine

  it('bounds what it holds when a host writes a flood of names that sort before its runs', () => {
    const grouper = new SetGrouper('b', '', { maxHeldEntries: 1000 });
    let released = 0;
    for (let i = 0; i < 200_000; i++)
      released += grouper.add(entry(`h/0${String(i).padStart(7, '0')}`)).length;
    released += grouper.add(entry(`h/${RUN_A}/part-000001`)).length;
    const rest = grouper.finish();
    expect(grouper.peakHeld).toBeLessThanOrEqual(1001);
    // What was held at the end became strays of the run set; what went over the bound, key sets.
    const runSet = rest.find((s) => s.kind === 'run');
    expect(runSet?.kind === 'run' && runSet.strays.count + released + rest.length - 1).toBe(200_000);
  }, 60_000);
});

describe('summarizeSet', () => {
  it('counts complete backups, names the latest, and says the newest state', () => {
    const summary = summarizeSet(
      [
        run('c', '2026-05-03T00:00:00Z', 'incomplete'),
        run('b', '2026-05-02T00:00:00Z'),
        run('a', '2026-05-01T00:00:00Z', 'broken'),
      ],
      2,
    );
    expect(summary).toMatchObject({ backups: 1, state: 'incomplete', incomplete: 1, broken: 1, strays: 2 });
    expect(summary.latest?.id).toBe('b');
    expect(summarizeSet([snapshot('v', '2026-05-01T00:00:00Z', { state: 'deleted' })], 0).state).toBe(
      'deleted',
    );
    expect(summarizeSet([], 3).state).toBe('empty');
  });
});
