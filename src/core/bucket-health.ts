// What the bucket itself says about every backup in it: versioning (the guarantee everything stands on),
// lifecycle rules that delete history behind sealdrop's back, and Object Lock. Pure: the facts in, a
// verdict in the monitoring-plugin convention out, once per bucket.
import { worstState, type HealthState } from './health-state.js';
import { retentionText, type BucketLock } from './object-lock.js';

/** The fields of a lifecycle rule that matter here (the SDK's LifecycleRule has them). */
export interface LifecycleRuleLike {
  ID?: string;
  Status?: string;
  Expiration?: { Days?: number; Date?: Date };
  NoncurrentVersionExpiration?: { NoncurrentDays?: number; NewerNoncurrentVersions?: number };
}

export interface BucketFacts {
  bucket: string;
  /** Off: never enabled (S3 reports no status at all). */
  versioning: 'Enabled' | 'Suspended' | 'Off';
  lifecycleRules: readonly LifecycleRuleLike[];
  /** null: the store did not say (no permission, not supported); reported, never a failure. */
  objectLock: BucketLock | null;
  objectLockNote?: string;
}

export interface BucketHealth {
  bucket: string;
  state: HealthState;
  reasons: string[];
  versioning: BucketFacts['versioning'] | null;
  objectLock: BucketLock | null;
  /** Enabled lifecycle rules that delete versions, by ID. */
  historyRules: string[];
}

/** Enabled lifecycle rules that delete backup history regardless of sealdrop prune, each as a sentence. */
export function historyRuleWarnings(rules: readonly LifecycleRuleLike[]): { id: string; warning: string }[] {
  return rules
    .filter(
      (rule) =>
        rule.Status === 'Enabled' &&
        (rule.NoncurrentVersionExpiration || rule.Expiration?.Days || rule.Expiration?.Date),
    )
    .map((rule) => {
      const id = rule.ID ?? '(unnamed)';
      const days = rule.NoncurrentVersionExpiration?.NoncurrentDays;
      const what = rule.NoncurrentVersionExpiration
        ? `noncurrent versions${days === undefined ? '' : ` after ${days} days`}`
        : 'objects';
      return {
        id,
        warning: `lifecycle rule ${id} expires ${what}: it deletes backup history regardless of sealdrop prune`,
      };
    });
}

export function assessBucket(facts: BucketFacts): BucketHealth {
  const verdicts: { state: HealthState; reason: string }[] = [];
  if (facts.versioning === 'Enabled') verdicts.push({ state: 'OK', reason: 'versioning Enabled' });
  else
    verdicts.push({
      state: 'CRITICAL',
      reason:
        facts.versioning === 'Suspended'
          ? 'versioning is Suspended: every push replaces the last backup'
          : 'versioning was never enabled: every push replaces the last backup (sealdrop setup turns it on)',
    });
  const history = historyRuleWarnings(facts.lifecycleRules);
  for (const { warning } of history) verdicts.push({ state: 'WARNING', reason: warning });
  verdicts.push({ state: 'OK', reason: objectLockText(facts) });
  return {
    bucket: facts.bucket,
    state: worstState(verdicts.map((v) => v.state)),
    reasons: verdicts.map((v) => v.reason),
    versioning: facts.versioning,
    objectLock: facts.objectLock,
    historyRules: history.map((h) => h.id),
  };
}

/** A bucket that could not be checked: UNKNOWN, as anything that stops a check from checking. */
export function uncheckedBucket(bucket: string, reason: string): BucketHealth {
  return {
    bucket,
    state: 'UNKNOWN',
    reasons: [`can't tell: ${reason}`],
    versioning: null,
    objectLock: null,
    historyRules: [],
  };
}

function objectLockText({ objectLock, objectLockNote }: BucketFacts): string {
  if (!objectLock) return `Object Lock unknown${objectLockNote ? ` (${objectLockNote})` : ''}`;
  if (!objectLock.enabled) return 'Object Lock off';
  if (!objectLock.defaultRetention) return 'Object Lock on, no default retention';
  return `Object Lock on, default retention ${retentionText(objectLock.defaultRetention)}`;
}
