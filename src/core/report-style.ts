// The report's stylesheet (inline in the page: its content security policy allows inline styles only).
import type { HealthState } from './health-state.js';

const COLORS: Record<HealthState, string> = {
  CRITICAL: '#c62828',
  UNKNOWN: '#6a4c93',
  WARNING: '#e08e0b',
  OK: '#2e7d32',
};

export function reportStyle(timelineWidth: number): string {
  return `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d1d1f; background: #fafafa; }
h1 { font-size: 22px; margin: 0 0 4px; }
.period { margin: 0 0 10px; color: #444; }
.dim { color: #666; }
.week { display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px; margin: 0 0 12px; }
.card { background: #fff; border: 1px solid #e2e2e2; border-top: 4px solid #2e7d32; border-radius: 4px; padding: 6px 10px; }
.card.bad { border-top-color: #c62828; }
.card b { font-size: 24px; } .card span { font-weight: 600; }
.card small { display: block; font-size: 12px; color: #444; }
.card a { font-weight: 600; text-decoration: none; }
.count { font-weight: 600; }
${(Object.entries(COLORS) as [HealthState, string][])
  .map(
    ([state, color]) =>
      `.count.${state}, .facts .${state}, .card a.${state} { color: ${color}; } .tile.${state}, .badge.${state} { background: ${color}; } .set.${state} { border-left-color: ${color}; }`,
  )
  .join('\n')}
.overview .trouble { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 6px; }
.overview .quiet { display: flex; flex-wrap: wrap; gap: 4px; margin: 8px 0 12px; }
.tile { display: block; color: #fff; text-decoration: none; padding: 6px 8px; border-radius: 6px; min-height: 52px; overflow-wrap: anywhere; }
.tile b { display: block; font-size: 15px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.tile span { font-size: 11px; font-weight: 700; letter-spacing: .05em; }
.tile small { display: block; font-size: 12px; line-height: 1.3; }
.tile small + small { margin-top: 3px; }
.quiet .tile { min-height: 0; padding: 2px 8px; border-radius: 10px; }
.quiet .tile b { font-size: 12px; font-weight: 600; }
.quiet .tile span, .quiet .tile small { display: none; }
.quiet .tile.revoked b, .quiet .tile.revoked span { display: inline; margin-right: 4px; }
.facts .badge.revoked { background: #455a64; }
.legend { font-size: 12px; color: #444; margin: 0 0 4px; }
.key { display: inline-block; width: 14px; height: 10px; vertical-align: middle; text-align: center; font-weight: 700; line-height: 10px; }
.key.size { background: #90b4d8; } .key.gap { background: rgba(198, 40, 40, .25); }
.key.anomaly { color: #fff; background: #c62828; border-radius: 50%; width: 12px; height: 12px; line-height: 12px; font-size: 10px; }
.key.broken { color: #c62828; } .key.incomplete { color: #e08e0b; } .key.deleted { color: #1d1d1f; }
.key.revoked { color: #455a64; }
.axis, .set { display: grid; grid-template-columns: 380px ${timelineWidth}px; gap: 16px; align-items: start; }
.axis svg text { font-size: 10px; fill: #666; text-anchor: middle; } .axis svg .now { text-anchor: end; }
.axis svg line { stroke: #999; }
.set { background: #fff; border: 1px solid #e2e2e2; border-left: 6px solid; border-radius: 4px; padding: 8px 10px; margin: 6px 0; }
.set h2 { font-size: 16px; margin: 0 0 2px; }
.facts .badge { color: #fff; font-size: 11px; padding: 1px 6px; border-radius: 3px; vertical-align: middle; }
.facts { font-size: 12px; overflow-wrap: anywhere; }
.target { font-family: ui-monospace, monospace; font-size: 11px; color: #444; }
.reasons { margin: 4px 0 0; padding-left: 16px; font-size: 12px; }
.set.OK .reasons { color: #666; }
.timeline { background: #f4f7fa; border-radius: 3px; margin-top: 4px; }
.timeline .grid { stroke: #e1e6eb; }
.timeline .baseline { stroke: #9aa5b1; }
.timeline .level { stroke: #dde3e9; stroke-dasharray: 2 3; }
.timeline .scale { font: 10px system-ui, sans-serif; fill: #666; dominant-baseline: middle; }
.timeline .value { font: 600 10px system-ui, sans-serif; fill: #1f3f66; text-anchor: middle; }
.timeline .value.clipped { fill: #8e1c1c; } .timeline .clip { stroke: #f4f7fa; stroke-width: 3; }
.period-facts b { font-weight: 600; }
.size-max { fill: #90b4d8; } .size-min { fill: #3f72a8; }
.mark.gap rect { fill: rgba(198, 40, 40, .22); }
.mark.gap text { fill: #8e1c1c; font: bold 11px system-ui, sans-serif; text-anchor: middle; }
.mark.broken path { stroke: #c62828; stroke-width: 2; }
.mark.incomplete circle { fill: none; stroke: #e08e0b; stroke-width: 2; }
.mark.deleted line { stroke: #1d1d1f; stroke-width: 2; stroke-dasharray: 3 2; }
.mark.revoked line { stroke: #455a64; stroke-width: 3; }
.mark.anomaly circle { fill: #c62828; } .mark.anomaly.WARNING circle { fill: #e08e0b; }
.mark.anomaly text { fill: #fff; font: bold 11px system-ui, sans-serif; text-anchor: middle; }
`;
}
