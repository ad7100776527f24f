// Retention planning: which backups to keep and which to delete, with the semantics of restic's
// `forget` (restic internal/data/snapshot_policy.go, ApplyPolicy and ParseDuration), re-implemented
// as a pure function over (id, time) pairs. Nothing here touches S3; callers delete what `remove` lists.
//
// Semantics (same as restic):
// - Items are sorted newest first with a stable sort: identical timestamps keep their input order.
//   Every item ends up in exactly one of `keep` / `remove`, both newest first.
// - Count rules last / hourly / daily / weekly / monthly / yearly (n > 0, or -1 for unlimited; 0 or
//   absent = rule off). Each rule maps an item's time to a bucket (last: every item its own bucket;
//   hourly: year-month-day-hour; daily: year-month-day; weekly: ISO week-numbering year + ISO week;
//   monthly: year-month; yearly: year), all read on the wall clock of `options.timeZone`. Walking
//   newest to oldest, the first item seen in a bucket different from the previous kept bucket is kept
//   and uses up one count.
// - Oldest rule (restic >= 0.17): the oldest item is also kept by every count rule that still has count
//   left (or is unlimited), even when it falls into an already used bucket, so history reaches back as
//   far as possible; that reason reads "oldest <rule>" (e.g. "oldest daily"). Within-bucket rules do the
//   same for the oldest item if it lies within their duration ("oldest within-daily 7d").
// - `within`: keep every item strictly newer than (newest item's time - duration). `withinHourly` ...
//   `withinYearly`: keep the first item of each hourly / daily / weekly / monthly / yearly bucket among
//   the items strictly newer than (newest - duration). The newest item is the newest one not after
//   `options.now` (restic ignores snapshots from the future when it picks the reference time).
// - Durations are restic's `1y2m3d4h` written in sealdrop's one grammar (core/units.ts): `1y2mo3d4h`
//   (y years, mo months, w weeks = 7 days, d days, h hours, min, s; any subset, any order; a bare m is
//   refused). The cutoff is computed exactly like Go's `latest.AddDate(-y, -m, -d).Add(-h * time.Hour)`
//   with `latest` in `options.timeZone` (core/calendar.ts).
// - An empty policy (all counts 0, all durations zero) keeps everything, as `restic forget` does
//   ("no policy was specified, no snapshots will be removed").
//
// Reason strings (restic's minus the word "snapshot", within-bucket rules renamed):
//   "last" "hourly" "daily" "weekly" "monthly" "yearly"        (restic: "daily snapshot", ...)
//   "oldest hourly" ... "oldest yearly"                          (restic: "oldest daily snapshot", ...)
//   "within 7d"                                                  (restic: "within 7d")
//   "within-hourly 1d" ... "within-yearly 9999y"                 (restic: "hourly within 1d", ...)
//   "oldest within-daily 7d" ...                                 (restic: "oldest daily within 7d")
//   "no policy"                                                  (empty policy: everything kept)
//   "earliest daily" ...                                         (not restic's: the `earliest` option)
// Durations in reasons are normalised as restic prints them, in sealdrop's units: y, mo, d, h, min, s
// order (weeks as days), zero parts left out.
// A kept item lists every rule that kept it, in restic's order: within, the count rules (last to
// yearly), then the within-bucket rules (hourly to yearly).
//
// Not restic's: with `earliest`, each period a count rule keeps also keeps its earliest item (see
// RetentionPolicy.earliest); off, the plan is restic's.
// Deliberate differences from restic: no tag/unique rules (our items have neither); durations with a
// negative part are rejected by the parser rather than later (restic forget rejects them as well), and so
// are an empty duration string and a unit given twice ("1d2d"; restic silently keeps the last one);
// hour counts beyond Go's int64-nanosecond range, which overflow in restic, are computed exactly here.

import { BUCKETS, resolveZone, subtractDuration, UTC_ZONE, wallFields, type WallFields } from './calendar.js';
import { SealdropError } from './errors.js';
import { formatRetentionDuration, parseRetentionDuration, type RetentionDuration } from './units.js';

export interface RetentionItem {
  id: string;
  time: Date;
}

export interface RetentionPolicy {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  within?: string;
  withinHourly?: string;
  withinDaily?: string;
  withinWeekly?: string;
  withinMonthly?: string;
  withinYearly?: string;
  /**
   * Not restic's: each hourly/daily/weekly/monthly/yearly period a count rule keeps also keeps its
   * earliest item. A compromised host can push later in a period, displacing its newest backup, but
   * never earlier than the compromise: the earliest backup of a period begun before stays genuine.
   */
  earliest?: boolean;
}

export interface RetentionOptions {
  /** IANA time zone for calendar buckets and duration arithmetic; default: the machine's zone. */
  timeZone?: string;
  /** Items after this instant are not used as the reference "newest" time (restic uses the clock). Default: now. */
  now?: Date;
}

export interface KeptItem {
  id: string;
  time: Date;
  reasons: string[];
}

export interface RemovedItem {
  id: string;
  time: Date;
}

export interface RetentionPlan {
  keep: KeptItem[];
  remove: RemovedItem[];
}

/** The rules of a RetentionPolicy that count backups, and those that take a duration. */
export const COUNT_RULES = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
export const WITHIN_RULE_NAMES = [
  'within',
  'withinHourly',
  'withinDaily',
  'withinWeekly',
  'withinMonthly',
  'withinYearly',
] as const satisfies readonly (keyof RetentionPolicy)[];
type CountRule = (typeof COUNT_RULES)[number];
type BucketRule = Exclude<CountRule, 'last'>;

const WITHIN_RULES = [
  ['withinHourly', 'hourly'],
  ['withinDaily', 'daily'],
  ['withinWeekly', 'weekly'],
  ['withinMonthly', 'monthly'],
  ['withinYearly', 'yearly'],
] as const satisfies readonly (readonly [keyof RetentionPolicy, BucketRule])[];

/** Go's zero time.Time (0001-01-01T00:00:00Z), restic's starting point when it looks for the newest snapshot. */
const GO_ZERO_TIME_MS = -62_135_596_800_000;

function usage(message: string): SealdropError {
  return new SealdropError('USAGE', message);
}

// ---------------------------------------------------------------------------------------------
// Policy validation

interface NormalisedDuration {
  duration: RetentionDuration;
  text: string;
}

interface NormalisedPolicy {
  earliest: boolean;
  counts: Record<CountRule, number>;
  within: NormalisedDuration | undefined;
  withinBuckets: { rule: BucketRule; key: string; within: NormalisedDuration }[];
  empty: boolean;
}

function normaliseDuration(key: string, value: unknown): NormalisedDuration | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw usage(`invalid ${key}: expected a duration such as 1y2mo3d4h`);
  const duration = parseRetentionDuration(value, key);
  const text = formatRetentionDuration(duration);
  return text === '' ? undefined : { duration, text };
}

function normalisePolicy(policy: RetentionPolicy): NormalisedPolicy {
  if (policy === null || typeof policy !== 'object')
    throw usage('invalid retention policy: expected an object');
  const counts = {} as Record<CountRule, number>;
  let empty = true;
  for (const rule of COUNT_RULES) {
    const value: unknown = policy[rule];
    if (value === undefined) {
      counts[rule] = 0;
      continue;
    }
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < -1) {
      throw usage(`invalid ${rule} count ${String(value)}: use a whole number >= 0, or -1 for unlimited`);
    }
    counts[rule] = value;
    if (value !== 0) empty = false;
  }
  const within = normaliseDuration('within', policy.within);
  if (within !== undefined) empty = false;
  const withinBuckets: NormalisedPolicy['withinBuckets'] = [];
  for (const [key, rule] of WITHIN_RULES) {
    const w = normaliseDuration(key, policy[key]);
    if (w !== undefined) {
      withinBuckets.push({ rule, key, within: w });
      empty = false;
    }
  }
  if (policy.earliest !== undefined && typeof policy.earliest !== 'boolean')
    throw usage('invalid earliest: expected true or false');
  return { earliest: policy.earliest === true, counts, within, withinBuckets, empty };
}

/** True if the policy keeps nothing by itself (all counts 0/absent, all durations zero/absent). Throws on invalid input. */
export function isEmptyPolicy(policy: RetentionPolicy): boolean {
  return normalisePolicy(policy).empty;
}

/** A one-line human description, e.g. "keep 7 daily, 4 weekly, all monthly, within 2d, within-daily 1mo". */
export function describePolicy(policy: RetentionPolicy): string {
  const p = normalisePolicy(policy);
  if (p.empty) return 'keep everything (no policy)';
  const parts: string[] = [];
  for (const rule of COUNT_RULES) {
    const n = p.counts[rule];
    if (n === -1) parts.push(`all ${rule}`);
    else if (n > 0) parts.push(`${n} ${rule}`);
  }
  if (p.within !== undefined) parts.push(`within ${p.within.text}`);
  for (const w of p.withinBuckets) parts.push(`within-${w.rule} ${w.within.text}`);
  return `keep ${parts.join(', ')}${p.earliest ? ', and the earliest of each period' : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Planning

interface Entry {
  id: string;
  ms: number;
}

/**
 * Splits `items` into the ones `policy` keeps (with every reason) and the ones it removes, both newest
 * first. Pure except that `options.now` defaults to the current time (only relevant for future items).
 */
export function planRetention(
  items: readonly RetentionItem[],
  policy: RetentionPolicy,
  options: RetentionOptions = {},
): RetentionPlan {
  const p = normalisePolicy(policy);
  const zone = resolveZone(options.timeZone);
  const now = options.now ?? new Date();
  if (!(now instanceof Date) || Number.isNaN(now.getTime()))
    throw usage('invalid "now": expected a valid Date');
  if (!Array.isArray(items)) throw usage('invalid retention items: expected an array');

  const entries: Entry[] = items.map((item, index) => {
    const time: unknown = item?.time;
    if (!(time instanceof Date) || Number.isNaN(time.getTime())) {
      throw usage(`invalid retention item ${String(item?.id ?? index)}: time must be a valid Date`);
    }
    return { id: item.id, ms: time.getTime() };
  });
  // Newest first; Array.prototype.sort is stable, so equal times keep their input order (restic: sort.Stable).
  entries.sort((a, b) => b.ms - a.ms);

  const keep: KeptItem[] = [];
  const remove: RemovedItem[] = [];
  if (p.empty) {
    for (const e of entries) keep.push({ id: e.id, time: new Date(e.ms), reasons: ['no policy'] });
    return { keep, remove };
  }
  if (entries.length === 0) return { keep, remove };

  // restic findLatestTimestamp: the newest snapshot that is not in the future, starting from Go's zero time.
  const nowMs = now.getTime();
  let latest = GO_ZERO_TIME_MS;
  for (const e of entries) if (e.ms > latest && e.ms < nowMs) latest = e.ms;
  // Go's zero time is in UTC; otherwise the newest snapshot's time is read in our zone.
  const latestZone = latest === GO_ZERO_TIME_MS ? UTC_ZONE : zone;
  const cutoff = (d: RetentionDuration): number => subtractDuration(latestZone, latest, d);

  const withinCutoff = p.within === undefined ? undefined : cutoff(p.within.duration);
  const countState = COUNT_RULES.map((rule) => ({
    rule,
    count: p.counts[rule],
    last: undefined as number | undefined,
  }));
  const withinState = p.withinBuckets.map((w) => ({
    rule: w.rule,
    text: w.within.text,
    cutoff: cutoff(w.within.duration),
    last: undefined as number | undefined,
  }));
  const needFields = withinState.length > 0 || COUNT_RULES.some((r) => r !== 'last' && p.counts[r] !== 0);

  const reasonsOf: string[][] = [];
  const fieldsOf: (WallFields | undefined)[] = [];
  /** The periods each count rule kept, for `earliest`. */
  const chosen = new Map<BucketRule, Set<number>>();
  for (let nr = 0; nr < entries.length; nr++) {
    const cur = entries[nr] as Entry;
    const oldest = nr === entries.length - 1;
    const fields = needFields ? wallFields(zone, cur.ms) : undefined;
    const reasons: string[] = [];

    if (p.within !== undefined && withinCutoff !== undefined && cur.ms > withinCutoff) {
      reasons.push(`within ${p.within.text}`);
    }

    for (const b of countState) {
      if (b.count > 0 || b.count === -1) {
        const val = b.rule === 'last' ? nr : BUCKETS[b.rule](fields as WallFields);
        if (val !== b.last || oldest) {
          reasons.push(val === b.last ? `oldest ${b.rule}` : b.rule);
          if (b.rule !== 'last' && val !== b.last) {
            if (!chosen.has(b.rule)) chosen.set(b.rule, new Set());
            chosen.get(b.rule)!.add(val);
          }
          b.last = val;
          if (b.count > 0) b.count--;
        }
      }
    }

    for (const w of withinState) {
      if (cur.ms > w.cutoff) {
        const val = BUCKETS[w.rule](fields as WallFields);
        if (val !== w.last || oldest) {
          reasons.push(`${val === w.last ? 'oldest ' : ''}within-${w.rule} ${w.text}`);
          w.last = val;
        }
      }
    }
    reasonsOf.push(reasons);
    fieldsOf.push(p.earliest ? fields : undefined);
  }

  if (p.earliest) {
    // Newest first: the last item seen in a kept period is its earliest.
    for (const [rule, periods] of chosen) {
      const earliest = new Map<number, number>();
      for (let nr = 0; nr < entries.length; nr++) {
        const val = BUCKETS[rule](fieldsOf[nr] as WallFields);
        if (periods.has(val)) earliest.set(val, nr);
      }
      for (const nr of earliest.values()) {
        const reasons = reasonsOf[nr]!;
        if (!reasons.includes(rule) && !reasons.includes(`oldest ${rule}`)) reasons.push(`earliest ${rule}`);
      }
    }
  }

  for (let nr = 0; nr < entries.length; nr++) {
    const cur = entries[nr] as Entry;
    const reasons = reasonsOf[nr]!;
    if (reasons.length > 0) keep.push({ id: cur.id, time: new Date(cur.ms), reasons });
    else remove.push({ id: cur.id, time: new Date(cur.ms) });
  }
  return { keep, remove };
}
