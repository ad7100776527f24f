// Which WAL a prune of base backups leaves needed by no one: every archived file before the start of the
// oldest base backup it keeps, and the backup history files of the base backups it removes. Pure.
import type { PrunePlan } from './prune-plan.js';
import type { ArchivedName } from './wal-chain.js';
import { segmentFileName, type WalFile } from './wal.js';

export interface WalPrunePlan {
  /**
   * Archived files before this segment go (segments, partials, backup history files); null: the start
   * of some kept base backup is not known, and no WAL goes.
   */
  cutoff: { segno: number; segment: string; backupFile: string; base: string } | null;
  /** Why, in one line. */
  reason: string;
  /** Backup history files of removed base backups, at or after the cutoff. */
  backupFiles: string[];
}

/**
 * The WAL part of a prune. A base backup's start is known without decrypting it from its backup history
 * file (START-SEGMENT.OFFSET.backup), which PostgreSQL archives when the backup stops, before pg_basebackup
 * exits and so before the push that carries it is stored. A base backup's time is when S3 stored it (a
 * key's version, a run's manifest: the original, which a later write can't move), so its history file is
 * the newest one stored at or before that time. Where that guess can be wrong it errs older (a history
 * file stored late belongs to a later base backup, never an earlier one), and an older cutoff keeps more.
 * Every kept base backup must be placed, else nothing goes; the cutoff is the earliest start among them,
 * so nothing inside or after what is kept is touched and no gap is made. Timeline history files stay.
 *
 * `backupFiles` are the archive's backup history files (first versions); `complete` false: there were
 * more than were held, and then only the cutoff is used (what was dropped lies after what was held).
 */
export function planWalPrune(
  plan: Pick<PrunePlan, 'items'>,
  backupFiles: readonly ArchivedName[],
  complete: boolean,
): WalPrunePlan {
  const byTime = [...backupFiles].sort((a, b) => a.time.getTime() - b.time.getTime() || a.segno! - b.segno!);
  const startOf = (time: Date): ArchivedName | null => {
    let found: ArchivedName | null = null;
    for (const file of byTime) {
      if (file.time.getTime() > time.getTime()) break;
      // On a tie in time, the earlier start: unsure, keep more.
      if (!found || file.time.getTime() > found.time.getTime()) found = file;
    }
    return found;
  };
  const kept = plan.items.filter((i) => i.action === 'keep' && i.snapshot.state === 'complete');
  if (kept.length === 0)
    return { cutoff: null, reason: 'no base backup is kept: all WAL is kept', backupFiles: [] };
  let oldest: { file: ArchivedName; base: string } | null = null;
  const keptFiles = new Set<string>();
  for (const { snapshot } of kept) {
    const file = startOf(snapshot.time);
    if (!file)
      return {
        cutoff: null,
        reason: `no backup history file was stored before base backup ${snapshot.id} (${snapshot.time.toISOString()}): its start is not known, all WAL is kept`,
        backupFiles: [],
      };
    keptFiles.add(file.name);
    if (!oldest || file.segno! < oldest.file.segno!) oldest = { file, base: snapshot.id };
  }
  const { file, base } = oldest!;
  const cutoff = {
    segno: file.segno!,
    segment: segmentFileName(file.timeline, file.segno!),
    backupFile: file.name,
    base,
  };
  const removed = new Set<string>();
  if (complete)
    for (const item of plan.items) {
      if (item.action !== 'remove' || item.snapshot.state !== 'complete') continue;
      const its = startOf(item.snapshot.time);
      if (its && !keptFiles.has(its.name) && its.segno! >= cutoff.segno) removed.add(its.name);
    }
  return {
    cutoff,
    reason: `the oldest kept base backup ${base} starts in ${cutoff.segment} (${file.name}): the WAL before it goes`,
    backupFiles: [...removed].sort(),
  };
}

/** Whether the plan removes an archived file (all its versions). */
export function walRemover(plan: WalPrunePlan): (file: WalFile) => boolean {
  const backupFiles = new Set(plan.backupFiles);
  const { cutoff } = plan;
  // A restore follows timelines through their history files, whatever it starts from.
  return (file) =>
    cutoff !== null &&
    file.kind !== 'history' &&
    (file.segno! < cutoff.segno || (file.kind === 'backup' && backupFiles.has(file.name)));
}
