// The monitoring-plugin convention's states (Nagios, Icinga): what every verdict of ours is given in.

export type HealthState = 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';

/** Exit statuses of the monitoring-plugin convention. */
export const HEALTH_EXIT: Record<HealthState, number> = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 };

/** Which state wins when several targets are summed up: Icinga's order, so a stale backup isn't hidden behind a flaky one. */
const SEVERITY: Record<HealthState, number> = { OK: 0, WARNING: 1, UNKNOWN: 2, CRITICAL: 3 };

export function worstState(states: readonly HealthState[]): HealthState {
  return states.reduce<HealthState>(
    (worst, state) => (SEVERITY[state] > SEVERITY[worst] ? state : worst),
    'OK',
  );
}
