// key retire-check over one backup set: every complete backup's recipients (a ranged read each,
// sets/recipients.ts), which of them only the old key opens (core/retire.ts), and when prune's plan
// will have removed the last of those.
import { SealdropError } from '../../core/errors.js';
import type { AnomalyThresholds } from '../../core/anomaly.js';
import { planPrune } from '../../core/prune-plan.js';
import { classifyBackups, forecastRemoval, type Forecast, type RetireBackup } from '../../core/retire.js';
import { describePolicy, isEmptyPolicy, type RetentionPolicy } from '../../core/retention.js';
import type { BackupSet } from '../sets/backup-set.js';
import { listWithDetails } from '../sets/details.js';
import { readAllRecipients } from '../sets/recipients.js';

export interface RetireCheckOptions {
  /** The old key's key ids (primary and subkeys), upper-case hex. */
  oldKeyIds: ReadonlySet<string>;
  /** The set's prune rules (empty: none; the backups then stay until deleted by hand). */
  policy: RetentionPolicy;
  timeZone?: string;
  anomaly?: AnomalyThresholds;
  now: Date;
  /** Backups read at most per set: a set with more complete backups is refused, not half-checked. */
  maxReads: number;
  signal?: AbortSignal;
}

export interface SetRetireCheck {
  target: string;
  /** The prune rules, in words. */
  policy: string;
  /** Complete backups, newest first, each with its recipients and their class. */
  backups: RetireBackup[];
  /** What prune's plan keeps each only-old or unknown backup for now (by id). */
  keptNow: Map<string, readonly string[]>;
  /** When the last only-old (or unknown) backup goes; null: there is none. */
  forecast: Forecast | null;
  warnings: string[];
}

export async function retireCheck(set: BackupSet, options: RetireCheckOptions): Promise<SetRetireCheck> {
  // Proofs and Object Lock (derived from the bucket's default) as prune plans with them.
  const listing = await listWithDetails(set, { newest: 0, signal: options.signal });
  const complete = listing.snapshots.filter((s) => s.state === 'complete');
  if (complete.length > options.maxReads)
    throw new SealdropError(
      'USAGE',
      `${listing.target} holds ${complete.length} complete backups; retire-check reads at most ${options.maxReads} per set (one ranged GET each)`,
      { hint: `Pass --max-reads ${complete.length} to read them all (8 at a time, 8 KiB each).` },
    );
  const recipients = await readAllRecipients(set, complete, {
    limit: options.maxReads,
    signal: options.signal,
  });
  const backups = classifyBackups(listing.snapshots, recipients, options.oldKeyIds);
  const ids = new Set(
    backups.filter((b) => b.class === 'only-old' || b.class === 'unknown').map((b) => b.snapshot.id),
  );
  const planning = {
    policy: options.policy,
    ...(options.timeZone ? { timeZone: options.timeZone } : {}),
    ...(options.anomaly ? { anomaly: options.anomaly } : {}),
  };
  const keptNow = new Map<string, readonly string[]>();
  if (ids.size > 0 && !isEmptyPolicy(options.policy))
    for (const item of planPrune(listing.snapshots, { ...planning, now: options.now, force: true }).items)
      if (ids.has(item.snapshot.id))
        keptNow.set(item.snapshot.id, item.action === 'keep' ? item.reasons : ['removed by the next prune']);
  return {
    target: listing.target,
    policy: isEmptyPolicy(options.policy) ? 'no keep rules' : describePolicy(options.policy),
    backups,
    keptNow,
    forecast:
      ids.size > 0 ? forecastRemoval(listing.snapshots, ids, { ...planning, now: options.now }) : null,
    warnings: listing.warnings,
  };
}
