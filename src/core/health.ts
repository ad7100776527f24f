// Is a backup still arriving? One verdict per key in the monitoring-plugin convention (Nagios, Icinga).
import { formatDuration as format } from './units.js';
import type { ObjectVersion } from './versions.js';

export type HealthState = 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';

/** Exit statuses of the monitoring-plugin convention. */
export const HEALTH_EXIT: Record<HealthState, number> = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 };

/** Which state wins when several targets are summed up: Icinga's order, so a stale backup isn't hidden behind a flaky one. */
const SEVERITY: Record<HealthState, number> = { OK: 0, WARNING: 1, UNKNOWN: 2, CRITICAL: 3 };

export interface HealthThresholds {
  /** CRITICAL when the latest version is older. */
  maxAgeMs: number;
  /** WARNING when the latest version is older; null: no warning stage. */
  warnAgeMs: number | null;
  /** WARNING when the policy file expires within this (policy targets only). */
  policyWarnMs: number;
}

export interface HealthInput {
  /** Newest first, as listed. */
  versions: readonly ObjectVersion[];
  /** The expiry of the policy file the target came from, if it came from one. */
  policyExpiresAt?: Date;
}

export interface Health {
  state: HealthState;
  /** Why, in a few words: "latest is 27h 3m old (max 26h)". */
  reasons: string[];
  latest: ObjectVersion | null;
  ageMs: number | null;
  /** Restorable versions (delete markers not counted). */
  versionCount: number;
  deleteMarkerCount: number;
}

export function assessHealth(input: HealthInput, thresholds: HealthThresholds, now = new Date()): Health {
  const latest = input.versions[0] ?? null;
  const versionCount = input.versions.filter((version) => !version.isDeleteMarker).length;
  const base = { latest, versionCount, deleteMarkerCount: input.versions.length - versionCount };
  if (!latest)
    return { ...base, state: 'UNKNOWN', reasons: ['no such key (no versions at all)'], ageMs: null };

  const ageMs = now.getTime() - latest.lastModified.getTime();
  const verdicts: { state: HealthState; reason: string }[] = [];
  if (latest.isDeleteMarker)
    verdicts.push({
      state: 'CRITICAL',
      reason: `the latest version is a delete marker (deleted ${format(ageMs)} ago)`,
    });
  else if (ageMs > thresholds.maxAgeMs)
    verdicts.push({
      state: 'CRITICAL',
      reason: `latest is ${format(ageMs)} old (max ${format(thresholds.maxAgeMs)})`,
    });
  else if (thresholds.warnAgeMs !== null && ageMs > thresholds.warnAgeMs)
    verdicts.push({
      state: 'WARNING',
      reason: `latest is ${format(ageMs)} old (warn at ${format(thresholds.warnAgeMs)})`,
    });
  if (input.policyExpiresAt) {
    const leftMs = input.policyExpiresAt.getTime() - now.getTime();
    if (leftMs <= 0)
      verdicts.push({
        state: 'CRITICAL',
        reason: `the policy file expired ${format(-leftMs)} ago: pushes fail`,
      });
    else if (leftMs < thresholds.policyWarnMs)
      verdicts.push({ state: 'WARNING', reason: `the policy file expires in ${format(leftMs)}` });
  }
  return {
    ...base,
    ageMs,
    state: worstState(verdicts.map(({ state }) => state)),
    reasons: verdicts.map(({ reason }) => reason),
  };
}

export function worstState(states: readonly HealthState[]): HealthState {
  return states.reduce<HealthState>(
    (worst, state) => (SEVERITY[state] > SEVERITY[worst] ? state : worst),
    'OK',
  );
}
