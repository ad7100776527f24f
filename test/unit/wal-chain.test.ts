// A WAL archive's health from its listing: RPO, gaps, names written twice, base backups' history files.
import { describe, expect, it } from 'vitest';
import { SetGrouper } from '../../src/core/inventory.js';
import type { ListedVersion } from '../../src/core/snapshot.js';
import { segmentFileName } from '../../src/core/wal.js';
import {
  DEFAULT_WAL_THRESHOLDS,
  judgeWalChain,
  WalChainTally,
  type WalChain,
} from '../../src/core/wal-chain.js';

const PREFIX = 'db1/wal/';
const NOW = new Date('2026-12-01T12:00:00Z');
const minutes = (n: number) => new Date(NOW.getTime() - n * 60_000);

/** One stored version: FILE NAME (+ suffix, default .gz.gpg), minutes ago, size. */
interface Put {
  name: string;
  ago: number;
  size?: number;
  suffix?: string;
  marker?: boolean;
  key?: string;
}

/** The entries in S3's order: by key, each key's versions newest first. */
function listing(puts: readonly Put[]): ListedVersion[] {
  const entries = puts.map((p, i) => ({
    key: p.key ?? `${PREFIX}${p.name}${p.suffix ?? '.gz.gpg'}`,
    versionId: `v${i}`,
    lastModified: minutes(p.ago),
    size: p.marker ? 0 : (p.size ?? 1000),
    etag: null,
    isDeleteMarker: p.marker ?? false,
    isLatest: false,
  }));
  return entries.sort(
    (a, b) =>
      (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) || b.lastModified.getTime() - a.lastModified.getTime(),
  );
}

function chainOf(puts: readonly Put[]): WalChain {
  const tally = new WalChainTally(PREFIX);
  for (const entry of listing(puts)) tally.add(entry);
  return tally.finish();
}

const seg = segmentFileName;
/** Segments FROM..TO of timeline TL, one a minute, the last `ago` minutes ago. */
function segments(tl: number, from: number, to: number, ago = 1): Put[] {
  return Array.from({ length: to - from + 1 }, (_, i) => ({
    name: seg(tl, from + i),
    ago: ago + (to - from - i),
  }));
}
const backup = (tl: number, segno: number, ago: number): Put => ({
  name: `${seg(tl, segno)}.00000028.backup`,
  ago,
  size: 300,
});

function judged(puts: readonly Put[]) {
  return judgeWalChain(chainOf(puts), DEFAULT_WAL_THRESHOLDS, NOW);
}

describe('WAL chain health', () => {
  const cases: { name: string; puts: Put[]; state: string; reasons: RegExp[] }[] = [
    {
      name: 'a healthy chain with a recent base backup is OK, its RPO the newest segment’s age',
      puts: [...segments(1, 2, 9), backup(1, 2, 20)],
      state: 'OK',
      reasons: [
        /newest segment 000000010000000000000009 archived 1min ago/,
        /newest base backup started 20min ago/,
      ],
    },
    {
      name: 'a segment missing since the oldest base backup is CRITICAL, named',
      puts: [...segments(1, 2, 4, 10), ...segments(1, 6, 9), backup(1, 2, 20)],
      state: 'CRITICAL',
      reasons: [
        /1 segment missing since the oldest base backup's start .* in 1 gap: 000000010000000000000005;/,
      ],
    },
    {
      name: 'a gap before the oldest base backup’s start is no alarm',
      puts: [...segments(1, 1, 2, 10), ...segments(1, 5, 9), backup(1, 6, 20)],
      state: 'OK',
      reasons: [/1 gap before the oldest base backup's start/],
    },
    {
      name: 'a gap that reaches into the oldest base backup’s start counts from its start',
      puts: [...segments(1, 1, 2, 10), ...segments(1, 6, 9), backup(1, 4, 20)],
      state: 'CRITICAL',
      reasons: [/2 segments missing .*000000010000000000000004…000000010000000000000005/],
    },
    {
      name: 'the base backup’s own start segment missing is a gap',
      puts: [...segments(1, 5, 9), backup(1, 3, 20)],
      state: 'CRITICAL',
      reasons: [/2 segments missing/],
    },
    {
      name: 'after a timeline switch the new timeline continues the chain at the switch segment',
      puts: [
        ...segments(1, 2, 5, 10),
        { name: `${seg(1, 6)}.partial`, ago: 9 },
        { name: '00000002.history', ago: 9 },
        ...segments(2, 6, 9),
        backup(1, 2, 20),
      ],
      state: 'OK',
      reasons: [/newest segment 000000020000000000000009/],
    },
    {
      name: 'a missing segment after a timeline switch is a gap named on its timeline',
      puts: [...segments(1, 2, 5, 10), ...segments(2, 7, 9), backup(1, 2, 20)],
      state: 'CRITICAL',
      reasons: [/in 1 gap: 000000010000000000000006;/],
    },
    {
      name: 'an RPO past the warning age is a WARNING',
      puts: [...segments(1, 2, 9, 7), backup(1, 2, 20)],
      state: 'WARNING',
      reasons: [/archived 7min ago \(warn at 5min\)/],
    },
    {
      name: 'an RPO past the maximum age is CRITICAL',
      puts: [...segments(1, 2, 9, 16), backup(1, 2, 30)],
      state: 'CRITICAL',
      reasons: [/archived 16min ago \(max 15min\)/],
    },
    {
      name: 'a second version of a segment with another size is CRITICAL, named',
      puts: [...segments(1, 2, 9), { name: seg(1, 4), ago: 0, size: 999 }, backup(1, 2, 20)],
      state: 'CRITICAL',
      reasons: [
        /1 archived file with several versions of differing sizes \(the first is read\): 000000010000000000000004$/,
      ],
    },
    {
      name: 'a second copy under another compression is CRITICAL too',
      puts: [...segments(1, 2, 9), { name: seg(1, 4), ago: 0, suffix: '.zst.gpg' }, backup(1, 2, 20)],
      state: 'CRITICAL',
      reasons: [/several versions of differing sizes .*000000010000000000000004/],
    },
    {
      name: 'a second version of the same size is a re-upload: WARNING, named',
      puts: [...segments(1, 2, 9), { name: seg(1, 4), ago: 0 }, backup(1, 2, 20)],
      state: 'WARNING',
      reasons: [
        /1 archived file stored more than once at the same size \(a re-upload\?\): 000000010000000000000004/,
      ],
    },
    {
      name: 'a newest base backup past its age is a WARNING',
      puts: [...segments(1, 2, 9), backup(1, 2, 9 * 24 * 60)],
      state: 'WARNING',
      reasons: [/newest base backup started 9d ago .*warn at 8d/],
    },
    {
      name: 'no backup history file at all is a WARNING: nothing to restore from',
      puts: segments(1, 2, 9),
      state: 'WARNING',
      reasons: [/no backup history file/],
    },
    {
      name: 'nothing archived is UNKNOWN (a mistyped prefix), strays counted',
      puts: [{ name: 'x', key: `${PREFIX}notes.txt`, ago: 1 }],
      state: 'UNKNOWN',
      reasons: [/no WAL segment archived \(only 1 other key\)/],
    },
    {
      name: 'strays and delete markers are facts, not alarms; a name with only a marker is absent',
      puts: [
        ...segments(1, 2, 9),
        { name: 'x', key: `${PREFIX}README`, ago: 1 },
        { name: seg(1, 12), ago: 0, marker: true },
        backup(1, 2, 20),
      ],
      state: 'OK',
      reasons: [/1 key under the prefix is not archived WAL/, /1 delete marker/],
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const verdict = judged(c.puts);
      expect(verdict.state, verdict.reasons.join('\n')).toBe(c.state);
      for (const reason of c.reasons)
        expect(
          verdict.reasons.some((r) => reason.test(r)),
          verdict.reasons.join('\n'),
        ).toBe(true);
    });

  it('takes a name’s first version: the oldest, whatever the order of its keys', () => {
    const chain = chainOf([
      { name: seg(1, 3), ago: 5, size: 10 },
      { name: seg(1, 3), ago: 2, size: 20 },
      { name: seg(1, 3), ago: 1, size: 30, suffix: '.gpg' },
    ]);
    expect(chain.newestSegment).toMatchObject({ name: seg(1, 3), size: 10, versions: 3, sameSize: false });
    expect(chain.newestSegment!.time).toEqual(minutes(5));
  });

  it('knows when anything under the prefix was last stored: a later version or a stray counts, a delete marker not', () => {
    // What shows a revoked host's archive still taking uploads, whatever the name it wrote.
    const chain = chainOf([
      ...segments(1, 1, 5, 60),
      { name: seg(1, 3), ago: 20 },
      { name: 'not-wal', key: `${PREFIX}notes.txt`, ago: 10 },
      { name: seg(1, 4), ago: 1, marker: true },
    ]);
    expect(chain.newestSegment!.time).toEqual(minutes(60));
    expect(chain.newestUpload).toEqual(minutes(10));
    expect(chainOf([]).newestUpload).toBeNull();
  });

  it('finds the oldest backup history file by position and the newest by time', () => {
    const chain = chainOf([...segments(1, 1, 20), backup(1, 9, 3), backup(1, 4, 30), backup(1, 15, 5)]);
    expect(chain.oldestBackup?.segno).toBe(4);
    expect(chain.newestBackup?.segno).toBe(9);
    expect(chain.backupFiles.map((f) => f.segno)).toEqual([4, 9, 15]);
  });

  it('folds ten thousand segments into one range, holding one position at a time', () => {
    const chain = chainOf(segments(1, 0, 9999));
    expect(chain.ranges).toEqual([{ from: 0, to: 9999, timeline: 1 }]);
    expect(chain.files).toBe(10_000);
  });

  it('names at most ten gaps and counts the rest', () => {
    const puts = Array.from({ length: 30 }, (_, i) => ({ name: seg(1, i * 2), ago: 1 }));
    const verdict = judged([...puts, backup(1, 0, 20)]);
    expect(verdict.gaps.since).toMatchObject({ count: 29, missing: 29 });
    expect(verdict.gaps.since.sample).toHaveLength(10);
    expect(verdict.reasons.join('\n')).toMatch(/and 19 more; a restore stops at the first/);
  });

  it('is one set of an inventory where the admin names the archive, never key sets or strays', () => {
    const grouper = new SetGrouper('b', '', {
      knownWalPrefix: (key) => (key.startsWith(PREFIX) ? PREFIX : null),
    });
    const entries = listing([
      ...segments(1, 1, 3),
      { name: 'x', key: 'db1/base.tar.gz.gpg', ago: 1 },
      { name: 'x', key: 'db1/wax.gz.gpg', ago: 1 },
    ]);
    const sets = [...entries.flatMap((entry) => grouper.add(entry)), ...grouper.finish()];
    expect(sets.map((set) => [set.kind, set.location.key])).toEqual([
      ['version', 'db1/base.tar.gz.gpg'],
      ['wal', PREFIX],
      ['version', 'db1/wax.gz.gpg'],
    ]);
    expect(sets[1]).toMatchObject({ chain: { files: 3, ranges: [{ from: 1, to: 3 }] } });
  });

  it('is recognised by its files where no one named it; never inside a known run prefix', () => {
    const run = '20261126T100000Z-aaaaaa';
    const puts = [
      ...segments(1, 1, 2),
      { name: 'x', key: `${PREFIX}0notes.txt`, ago: 1 },
      ...segments(1, 3, 4),
      { name: 'x', key: `db2/${segmentFileName(1, 1)}.gz.gpg`, ago: 1 },
      { name: 'x', key: `db2/${run}/part-000001`, ago: 1 },
    ];
    const grouped = (options: ConstructorParameters<typeof SetGrouper>[2]) => {
      const grouper = new SetGrouper('b', '', options);
      return [...listing(puts).flatMap((entry) => grouper.add(entry)), ...grouper.finish()];
    };
    const sets = grouped({ knownRunPrefix: (key) => (key.startsWith('db2/') ? 'db2/' : null) });
    expect(sets.map((set) => [set.kind, set.location.key])).toEqual([
      ['wal', PREFIX],
      ['run', 'db2/'],
    ]);
    expect(sets[0]).toMatchObject({
      chain: { files: 4, strays: { count: 1 }, ranges: [{ from: 1, to: 4 }] },
    });
    expect(sets[1]).toMatchObject({ strays: { count: 1 } });
    // Unknown, a WAL-named file before a prefix's first run is an archive of its own: an alarm, the runs whole.
    const guessed = grouped({});
    expect(guessed.map((set) => [set.kind, set.location.key])).toEqual([
      ['wal', PREFIX],
      ['wal', 'db2/'],
      ['run', 'db2/'],
    ]);
  });
});
