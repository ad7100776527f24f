// The WAL part of a prune of base backups: what the removed base backups alone needed, and nothing more.
import { describe, expect, it } from 'vitest';
import type { PlannedSnapshot } from '../../src/core/prune-plan.js';
import type { Snapshot } from '../../src/core/snapshot.js';
import type { ArchivedName } from '../../src/core/wal-chain.js';
import { planWalPrune, walRemover } from '../../src/core/wal-prune.js';
import { parseWalFileName, segmentFileName } from '../../src/core/wal.js';

const at = (hour: number) => new Date(Date.UTC(2026, 11, 1, hour));
const seg = (segno: number) => segmentFileName(1, segno);

function base(id: string, hour: number, action: 'keep' | 'remove'): PlannedSnapshot {
  const snapshot: Snapshot = {
    kind: 'run',
    id,
    time: at(hour),
    size: 1,
    state: 'complete',
    notes: [],
    objectVersions: 1,
    storedBytes: 1,
  };
  return { snapshot, action, reasons: [] };
}

/** A backup history file starting at `segno`, stored at `hour` (minutes past it). */
function history(segno: number, hour: number, minute = 0): ArchivedName {
  const time = new Date(at(hour).getTime() + minute * 60_000);
  return {
    ...parseWalFileName(`${seg(segno)}.00000028.backup`)!,
    time,
    size: 300,
    versions: 1,
    sameSize: true,
  };
}

// Base backups at 1h, 2h, 3h, 4h; each history file stored a minute before its base backup.
const HISTORY = [history(2, 0, 59), history(5, 1, 59), history(9, 2, 59), history(12, 3, 59)];

describe('prune --wal', () => {
  const cases: {
    name: string;
    items: PlannedSnapshot[];
    files?: ArchivedName[];
    complete?: boolean;
    cutoff: string | null;
    backupFiles?: string[];
    reason: RegExp;
  }[] = [
    {
      name: 'removes what is before the oldest kept base backup’s start',
      items: [base('d', 4, 'keep'), base('c', 3, 'keep'), base('b', 2, 'remove'), base('a', 1, 'remove')],
      cutoff: seg(9),
      reason: /oldest kept base backup c starts in 000000010000000000000009/,
    },
    {
      name: 'keeps everything between kept base backups, removing only history files of removed ones',
      items: [base('d', 4, 'keep'), base('c', 3, 'remove'), base('b', 2, 'remove'), base('a', 1, 'keep')],
      cutoff: seg(2),
      backupFiles: [`${seg(5)}.00000028.backup`, `${seg(9)}.00000028.backup`],
      reason: /base backup a/,
    },
    {
      name: 'takes the history file stored at or before the base backup, never a later one',
      items: [base('b', 2, 'keep'), base('a', 1, 'remove')],
      // b's own history file came late (after b was stored): the cutoff falls back to a's, keeping more.
      files: [history(2, 0, 59), history(5, 2, 1)],
      cutoff: seg(2),
      reason: /base backup b starts in 000000010000000000000002/,
    },
    {
      name: 'keeps all WAL when a kept base backup has no history file before it',
      items: [base('b', 2, 'keep'), base('a', 1, 'keep')],
      files: [history(5, 1, 59)],
      cutoff: null,
      reason: /before base backup a .* all WAL is kept/,
    },
    {
      name: 'keeps all WAL when no base backup is kept (nothing complete)',
      items: [],
      cutoff: null,
      reason: /no base backup is kept/,
    },
    {
      name: 'removes no history file above the cutoff when the list was cut short',
      items: [base('d', 4, 'keep'), base('c', 3, 'remove'), base('a', 1, 'keep')],
      complete: false,
      cutoff: seg(2),
      backupFiles: [],
      reason: /base backup a/,
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const plan = planWalPrune({ items: c.items }, c.files ?? HISTORY, c.complete ?? true);
      expect(plan.cutoff?.segment ?? null).toBe(c.cutoff);
      expect(plan.backupFiles).toEqual(c.backupFiles ?? []);
      expect(plan.reason).toMatch(c.reason);
    });

  it('removes segments, partials and backup history files before the cutoff; keeps timeline history', () => {
    const plan = planWalPrune({ items: [base('c', 3, 'keep'), base('b', 2, 'remove')] }, HISTORY, true);
    const removes = walRemover(plan);
    const file = (name: string) => removes(parseWalFileName(name)!);
    expect(file(seg(8))).toBe(true);
    expect(file(`${seg(8)}.partial`)).toBe(true);
    expect(file(`${seg(5)}.00000028.backup`)).toBe(true);
    expect(file('00000001.history')).toBe(false);
    expect(file(seg(9))).toBe(false);
    expect(file(`${seg(9)}.00000028.backup`)).toBe(false);
    expect(file(seg(100))).toBe(false);
  });
});
