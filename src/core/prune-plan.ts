// Every keep/remove decision of prune, in one pure function: the retention rules (planRetention, restic's
// semantics) over the complete backups, plus sealdrop's own guards. The dry run and --yes show this plan.
import { DEFAULT_ANOMALY_THRESHOLDS, judgeStream, type Anomaly, type AnomalyThresholds } from './anomaly.js';
import { SealdropError } from './errors.js';
import { lockReason } from './object-lock.js';
import { describePolicy, isEmptyPolicy, planRetention, type RetentionPolicy } from './retention.js';
import { asPushed, everProven, type PrunedBackup } from './proofs.js';
import type { Snapshot } from './snapshot.js';

export interface PrunePlanOptions {
  policy: RetentionPolicy;
  /** IANA zone for calendar rules; default the machine's. */
  timeZone?: string;
  now?: Date;
  /** Remove delete markers too (kept by default: they record that someone deleted the key). */
  deleteMarkers?: boolean;
  /** What counts as an anomalous backup (core/anomaly.ts); while one stands, older backups are held. */
  anomaly?: AnomalyThresholds;
  /** Lift the circuit breaker (after checking), and allow removing more than half. */
  force?: boolean;
  /** Remove the backups verify rejected too (kept as evidence otherwise). */
  removeRejected?: boolean;
  /** Backups prune removed lately: the breaker judges the stream as pushed. */
  pruned?: readonly PrunedBackup[];
}

export interface PlannedSnapshot {
  snapshot: Snapshot;
  action: 'keep' | 'remove';
  /** Every rule that keeps it, or the guard that removes it; empty: the policy does not keep it. */
  reasons: readonly string[];
}

export interface PrunePlan {
  policy: string;
  /** Every snapshot, newest first. */
  items: PlannedSnapshot[];
  totals: {
    /** Complete backups, and how many of them the plan keeps and removes. */
    backups: number;
    keep: number;
    remove: number;
    /** Incomplete and broken runs and delete markers removed. */
    otherRemoved: number;
    /** Snapshots the plan would remove but Object Lock keeps (still locked, or not known). */
    locked: number;
    /** What removing deletes: object versions and their bytes. */
    objectVersions: number;
    bytesFreed: number;
    /** Backups verify rejected, and backups not proven yet (once the set was ever verified). */
    rejected: { count: number; bytes: number };
    unproven: { count: number; bytes: number };
  };
  /** No backup of the set was ever proven: retention ranks whatever was pushed, junk included. */
  blind: boolean;
  warnings: string[];
  /** The plan removes more than half of the complete backups: carried out only with --force. */
  needsForce: boolean;
  /** The circuit breaker: the anomaly since which nothing older is removed (null: none, or --force). */
  held: Anomaly | null;
}

/** A run that has stored nothing for this long has failed, whatever it was. */
export const STALLED_MS = 3_600_000;

/** A backup not proven yet is kept while younger than this: time enough for a verify that broke. */
export const UNPROVEN_KEEP_MS = 30 * 86_400_000;
const UNPROVEN_KEEP = '30 days';

/**
 * Plans prune over a backup set's snapshots (newest first). Once anything of the set was proven
 * (core/proofs.ts: the proofs must have been read), the retention rules fill their periods with the
 * backups proven good only, and any policy keeps the newest of them (every rule does, as in restic):
 * junk a compromised host pushes never takes a good backup's place, however long it goes on. Besides:
 * - a backup not proven yet is kept while younger than UNPROVEN_KEEP_MS, and removed after once a
 *   later backup is proven good: until one is, it may be the last genuine one (a flood of junk can
 *   keep the nightly verify, which takes at most 100, from ever reaching it);
 * - a backup verify rejected is kept as evidence, unless `removeRejected`.
 * A set never verified is planned over every complete backup, as pushed: prune runs blind, and says so.
 * Guards, whatever the policy says:
 * - delete markers are kept unless `deleteMarkers`;
 * - an incomplete run is kept while it may still be running (newer than every complete backup and
 *   stored something within the last hour), and removed otherwise;
 * - a broken run is removed: it is not a backup;
 * - the circuit breaker, when blind: while the stream looks anomalous (a backup that shrank, a flood:
 *   core/anomaly.ts) nothing older than the first anomalous backup is removed, unless `force`;
 * - Object Lock: what S3 would refuse to delete now (`snapshot.lock`, read or derived), or whose lock
 *   was not read, is kept with the reason.
 */
/** Shared by every item the policy does not keep (a flood: a million of them). */
const NO_REASONS: readonly string[] = Object.freeze([]);

export function planPrune(snapshots: readonly Snapshot[], options: PrunePlanOptions): PrunePlan {
  if (isEmptyPolicy(options.policy)) {
    throw new SealdropError('USAGE', 'no retention policy given: prune would not know what to keep', {
      hint: 'For nightly dumps the README recommends --keep-daily 14 --keep-weekly 8 --keep-monthly 24 --keep-yearly -1 --keep-earliest (see --help).',
    });
  }
  const now = options.now ?? new Date();
  const complete = snapshots.filter((s) => s.state === 'complete');
  const blind = !everProven(complete);
  const ranked = blind ? complete : complete.filter((s) => s.verifiedAt);
  const retention = planRetention(ranked, options.policy, {
    ...(options.timeZone ? { timeZone: options.timeZone } : {}),
    now,
  });
  const kept = new Map(retention.keep.map((k) => [k.id, k.reasons]));
  const newest = complete[0];
  const since = blind
    ? judgeStream(
        asPushed(snapshots, options.pruned ?? []),
        options.anomaly ?? DEFAULT_ANOMALY_THRESHOLDS,
        now,
      ).since
    : null;
  const held = options.force ? null : since;
  const unprovenReasons = Object.freeze([`not proven yet: kept while younger than ${UNPROVEN_KEEP}`]);
  const staleReasons = Object.freeze([`not proven within ${UNPROVEN_KEEP}`]);
  const lastHopeReasons = Object.freeze([
    'not proven yet, and no later backup is proven good: kept (it may be the last genuine one)',
  ]);
  // Newest first, as the snapshots are.
  const newestGood = blind ? undefined : ranked[0];
  const rejectedReasons = Object.freeze(
    options.removeRejected
      ? ['rejected by verify (--remove-rejected)']
      : ['rejected by verify: kept as evidence (prune --remove-rejected removes it)'],
  );
  const holdReason = held
    ? `held: the backup stream looks anomalous since ${held.snapshot.time.toISOString()}: ${held.message}; pass --force after checking`
    : '';
  const planned = snapshots.map((snapshot): PlannedSnapshot => {
    switch (snapshot.state) {
      case 'complete': {
        // Every rule keeps the newest (restic's semantics): a prune never removes the latest good backup.
        const reasons = kept.get(snapshot.id);
        if (reasons) return { snapshot, action: 'keep', reasons };
        if (blind || snapshot.verifiedAt) return { snapshot, action: 'remove', reasons: NO_REASONS };
        if (snapshot.rejectedAt)
          return {
            snapshot,
            action: options.removeRejected ? 'remove' : 'keep',
            reasons: rejectedReasons,
          };
        if (now.getTime() - snapshot.time.getTime() < UNPROVEN_KEEP_MS)
          return { snapshot, action: 'keep', reasons: unprovenReasons };
        return newestGood && newestGood.time.getTime() > snapshot.time.getTime()
          ? { snapshot, action: 'remove', reasons: staleReasons }
          : { snapshot, action: 'keep', reasons: lastHopeReasons };
      }
      case 'deleted':
        return { snapshot, action: options.deleteMarkers ? 'remove' : 'keep', reasons: ['delete marker'] };
      case 'broken':
        return { snapshot, action: 'remove', reasons: [`broken: ${snapshot.notes[0] ?? 'not a backup'}`] };
      case 'incomplete': {
        const running =
          (!newest || snapshot.time.getTime() > newest.time.getTime()) &&
          now.getTime() - snapshot.time.getTime() < STALLED_MS;
        return running
          ? { snapshot, action: 'keep', reasons: ['incomplete, may still be running'] }
          : { snapshot, action: 'remove', reasons: ['incomplete: the push did not finish'] };
      }
    }
  });
  // The breaker holds backups only: junk that is not one (broken, incomplete) may go.
  const unheld = held
    ? planned.map((item) =>
        item.action === 'remove' &&
        item.snapshot.state === 'complete' &&
        item.snapshot.time.getTime() < held.snapshot.time.getTime()
          ? { ...item, action: 'keep' as const, reasons: [holdReason] }
          : item,
      )
    : planned;
  // S3 would refuse to delete what is locked: plan around it instead of failing on it.
  let locked = 0;
  const items = unheld.map((item) => {
    const reason = item.action === 'remove' ? lockReason(item.snapshot.lock, now) : null;
    if (reason === null) return item;
    locked++;
    return { ...item, action: 'keep' as const, reasons: [reason] };
  });
  let keep = 0;
  let remove = 0;
  let goodRemoved = 0;
  let otherRemoved = 0;
  let objectVersions = 0;
  let bytesFreed = 0;
  const rejected = { count: 0, bytes: 0 };
  const unproven = { count: 0, bytes: 0 };
  for (const item of items) {
    const { snapshot } = item;
    const isBackup = snapshot.state === 'complete';
    if (isBackup && !blind && !snapshot.verifiedAt) {
      const tally = snapshot.rejectedAt ? rejected : unproven;
      tally.count++;
      tally.bytes += snapshot.storedBytes;
    }
    if (isBackup && item.action === 'remove' && (blind || snapshot.verifiedAt)) goodRemoved++;
    if (item.action === 'keep') {
      if (isBackup) keep++;
      continue;
    }
    if (isBackup) remove++;
    else otherRemoved++;
    objectVersions += item.snapshot.objectVersions;
    bytesFreed += item.snapshot.storedBytes;
  }
  return {
    policy: describePolicy(options.policy),
    items,
    totals: {
      backups: complete.length,
      keep,
      remove,
      otherRemoved,
      locked,
      objectVersions,
      bytesFreed,
      rejected,
      unproven,
    },
    blind,
    warnings: [
      ...(blind && complete.length > 0 ? [BLIND] : []),
      ...retentionWarnings(options.policy),
      ...(held ? [holdReason] : []),
    ],
    // More than half of what retention ranks: only with --force (rejected and unproven ones aside).
    needsForce: goodRemoved * 2 > ranked.length,
    held,
  };
}

const BLIND =
  'prune is running blind: no backup of this set was ever verified, so junk a compromised host pushes ranks like a real backup. Run `sealdrop verify TARGET --identity KEY.asc` nightly (README: "Proven backups"); prune then ranks only what verify proved good.';

function retentionWarnings(policy: RetentionPolicy): string[] {
  const { last, ...rest } = policy;
  if (!last || !isEmptyPolicy(rest)) return [];
  return [
    '--keep-last alone is fragile: a compromised server can push junk versions and crowd the real backups out of the last N. Add calendar rules (--keep-daily, --keep-weekly, --keep-monthly).',
  ];
}
