// The report as one self-contained HTML page: inline CSS and hand-made SVG, no script, and a content
// security policy that forbids loading anything, so it shows the same offline, from a mail or a share.
// Every text from the bucket or the fleet file is escaped.
import type { HealthState } from './health.js';
import type { Column, Gap, ReportMark, ReportModel, ReportSet } from './report.js';
import { stateText } from './snapshot.js';
import { formatBytes, formatDuration } from './units.js';
import { plural } from './words.js';
import { DEFAULT_WAL_THRESHOLDS } from './wal-chain.js';

const WIDTH = 720;
const HEIGHT = 66;
/** Markers of runs and delete markers sit in the top row; bars of sizes below it, down to the baseline. */
const MARK_ROW = 7;
const BAR_TOP = 18;
const BASELINE = HEIGHT - 4;

export interface HtmlOptions {
  /** What the report is of: "fleet.yaml", or the targets. */
  title: string;
}

export function reportHtml(model: ReportModel, options: HtmlOptions): string {
  const span = model.to.getTime() - model.from.getTime();
  const x = (time: Date) => ((time.getTime() - model.from.getTime()) / span) * WIDTH;
  const columnWidth = WIDTH / model.columns;
  const ticks = axisTicks(model.from.getTime(), model.to.getTime());
  const counts = (['CRITICAL', 'UNKNOWN', 'WARNING', 'OK'] as const)
    .filter((state) => model.counts[state] > 0)
    .map((state) => `<span class="count ${state}">${model.counts[state]} ${state}</span>`)
    .join(' ');
  const sets = model.sets.map((set, i) =>
    setSection(set, i, { now: model.generatedAt, x, columnWidth, ticks }),
  );
  const tiles = model.sets.map((set, i) => tile(set, i));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="sealdrop report">
<title>sealdrop report: ${escape(options.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Backups: ${escape(options.title)}</h1>
<p class="summary">${plural(model.sets.length, 'backup set')}: ${counts}</p>
<p class="meta">Generated ${iso(model.generatedAt)}; timelines from ${iso(model.from)} to now (${formatDuration(span)}), UTC.</p>
</header>
<nav class="overview" aria-label="Fleet overview, worst first">
<div class="trouble">${tiles.filter((_, i) => model.sets[i]!.state !== 'OK').join('\n')}</div>
<div class="quiet">${tiles.filter((_, i) => model.sets[i]!.state === 'OK').join('\n')}</div>
</nav>
<p class="legend">${LEGEND}</p>
<div class="axis"><span></span>${axisSvg(ticks, x)}</div>
<main>
${sets.join('\n')}
</main>
</body>
</html>
`;
}

interface Layout {
  now: Date;
  x: (time: Date) => number;
  columnWidth: number;
  ticks: Tick[];
}

function tile(set: ReportSet, i: number): string {
  const name = set.host ?? set.target;
  return `<a class="tile ${set.state}" href="#set-${i}" data-host="${escape(name)}" title="${escape(set.reasons.join('; '))}"><b>${escape(name)}</b><span>${set.state}</span><small>${escape(headline(set))}</small></a>`;
}

function headline(set: ReportSet): string {
  if (set.state === 'OK' && set.latest && set.ageMs !== null)
    return `${formatBytes(set.latest.size)}, ${formatDuration(set.ageMs)} ago`;
  return truncate(set.reasons[0] ?? '', 90);
}

function setSection(set: ReportSet, i: number, layout: Layout): string {
  const name = set.host ?? set.target;
  const reasons = set.reasons.map((reason) => `<li>${escape(reason)}</li>`);
  if (set.moreReasons > 0) reasons.push(`<li>… and ${set.moreReasons} more</li>`);
  const { counts, thresholds } = set;
  const facts = set.wal
    ? walFacts(set)
    : [
        set.host === null ? '' : `<div class="target">${escape(set.target)}</div>`,
        `<div>latest: ${
          set.latest && set.ageMs !== null
            ? `${formatBytes(set.latest.size)}, ${formatDuration(set.ageMs)} ago <span class="dim">(${iso(set.latest.time)})</span>`
            : '<b>no complete backup</b>'
        }</div>`,
        `<div>max age ${formatDuration(thresholds.maxAgeMs)}${thresholds.warnAgeMs === null ? '' : ` · warn at ${formatDuration(thresholds.warnAgeMs)}`} · policy warn ${formatDuration(thresholds.policyWarnMs)}</div>`,
        `<div>${policyLine(set, layout.now)}</div>`,
        `<div class="verified">newest verified: ${
          set.newestVerified
            ? `${escape(set.newestVerified.id)} (${iso(set.newestVerified.time)})`
            : set.newestVerified === null
              ? 'none'
              : '<span class="dim">not recorded</span>'
        }</div>`,
        `<div class="dim">${plural(counts.backups, 'backup')} · ${counts.broken} broken · ${counts.incomplete} incomplete · ${plural(counts.deleteMarkers, 'delete marker')}${counts.strays ? ` · ${counts.strays} strays` : ''}${counts.rejected ? ` · ${counts.rejected} REJECTED` : ''}${counts.unproven ? ` · ${counts.unproven} not proven yet` : ''}</div>`,
      ];
  return `<section class="set ${set.state}" id="set-${i}" data-host="${escape(name)}" data-target="${escape(set.target)}" data-state="${set.state}">
<div class="facts"><h2>${escape(name)} <span class="badge ${set.state}">${set.state}</span></h2>
${facts.filter(Boolean).join('\n')}
<ul class="reasons">${reasons.join('')}</ul></div>
${set.wal ? '' : timeline(set, layout)}
</section>`;
}

/** A WAL archive's facts: its RPO against its thresholds (its chain's verdicts are the reasons). */
function walFacts(set: ReportSet): string[] {
  const wal = set.thresholds.wal ?? DEFAULT_WAL_THRESHOLDS;
  return [
    set.host === null ? '' : `<div class="target">${escape(set.target)}</div>`,
    `<div>WAL archive: RPO ${set.ageMs === null ? '<b>nothing archived</b>' : formatDuration(set.ageMs)}</div>`,
    `<div>warn at ${formatDuration(wal.warnAgeMs)} · max ${formatDuration(wal.maxAgeMs)} · base backup warn ${formatDuration(wal.baseAgeMs)}</div>`,
  ];
}

function policyLine(set: ReportSet, now: Date): string {
  if (!set.policyExpiresAt)
    return `policy: <span class="dim">${escape(set.policyNote ?? 'not given')}</span>`;
  const left = set.policyExpiresAt.getTime() - now.getTime();
  const level = left <= 0 ? 'CRITICAL' : left < set.thresholds.policyWarnMs ? 'WARNING' : '';
  const text = left <= 0 ? `expired ${formatDuration(-left)} ago` : `expires in ${formatDuration(left)}`;
  return `policy <span class="${level}">${text}</span> <span class="dim">(${iso(set.policyExpiresAt)})</span>`;
}

function timeline(set: ReportSet, { x, columnWidth, ticks }: Layout): string {
  const parts: string[] = [];
  for (const { time: tick } of ticks)
    parts.push(`<line class="grid" x1="${n(x(tick))}" x2="${n(x(tick))}" y1="0" y2="${HEIGHT}"/>`);
  for (const gap of set.gaps) parts.push(gapMark(gap, set, x));
  const height = (bytes: number) =>
    set.scaleBytes > 0 ? Math.max(1.5, ((BASELINE - BAR_TOP) * bytes) / set.scaleBytes) : 0;
  const bar = (column: Column, bytes: number) =>
    `M${n(column.index * columnWidth + 0.5)} ${BASELINE}v${n(-height(bytes))}h${n(Math.max(1, columnWidth - 1))}v${n(height(bytes))}z`;
  const withBackups = set.columns.filter((column) => column.backups > 0);
  if (withBackups.length > 0) {
    parts.push(`<path class="size-max" d="${withBackups.map((c) => bar(c, c.maxSize)).join('')}"/>`);
    parts.push(`<path class="size-min" d="${withBackups.map((c) => bar(c, c.minSize)).join('')}"/>`);
    parts.push(
      `<title>stored size: ${withBackups.length} of ${set.columns.length} columns hold backups; the tallest is ${formatBytes(set.scaleBytes)}</title>`,
    );
  }
  for (const column of set.columns) {
    const middle = column.index * columnWidth + columnWidth / 2;
    if (column.deleted > 0)
      parts.push(
        `<g class="mark deleted"><title>${escape(sampleText(column, 'deleted'))}</title><line x1="${n(middle)}" x2="${n(middle)}" y1="2" y2="${BASELINE}"/></g>`,
      );
    if (column.broken > 0)
      parts.push(
        `<g class="mark broken"><title>${escape(sampleText(column, 'broken'))}</title><path d="M${n(middle - 3.5)} ${MARK_ROW - 3.5}l7 7m0 -7l-7 7"/></g>`,
      );
    if (column.incomplete > 0)
      parts.push(
        `<g class="mark incomplete"><title>${escape(sampleText(column, 'incomplete'))}</title><circle cx="${n(middle)}" cy="${MARK_ROW}" r="3.5"/></g>`,
      );
  }
  for (const mark of set.anomalies) parts.push(anomalyMark(mark, x, height));
  parts.push(`<line class="baseline" x1="0" x2="${WIDTH}" y1="${BASELINE}" y2="${BASELINE}"/>`);
  const label = `${set.host ?? set.target}: ${set.state}; ${plural(set.gaps.length, 'gap')} longer than the max age, ${plural(set.anomalies.length, 'anomaly', 'anomalies')}`;
  return `<svg class="timeline" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escape(label)}">${parts.join('')}</svg>`;
}

function gapMark(gap: Gap, set: ReportSet, x: (time: Date) => number): string {
  const left = x(gap.from);
  const width = Math.max(2, x(gap.to) - left);
  const title = `no complete backup for ${formatDuration(gap.longestMs)} (max age ${formatDuration(set.thresholds.maxAgeMs)}): ${iso(gap.from)} to ${iso(gap.to)}`;
  // Wide enough, the band says how long it lasted.
  const label =
    width >= 44
      ? `<text x="${n(left + width / 2)}" y="${n(BASELINE / 2 + 4)}">${formatDuration(gap.longestMs)}</text>`
      : '';
  return `<g class="mark gap"><title>${escape(title)}</title><rect x="${n(left)}" y="0" width="${n(width)}" height="${BASELINE}"/>${label}</g>`;
}

function anomalyMark(mark: ReportMark, x: (time: Date) => number, height: (bytes: number) => number): string {
  const cx = Math.min(WIDTH - 7, Math.max(7, x(mark.time)));
  // Just above the anomalous backup's own bar, which a shrink makes short.
  const cy = Math.max(BAR_TOP - 8, BASELINE - height(mark.size) - 9);
  return `<g class="mark anomaly ${mark.state}" data-rule="${mark.rule}"><title>${escape(mark.message)}</title><circle cx="${n(cx)}" cy="${n(cy)}" r="7"/><text x="${n(cx)}" y="${n(cy + 4)}">!</text></g>`;
}

function sampleText(column: Column, state: 'incomplete' | 'broken' | 'deleted'): string {
  const count = column[state];
  const sample = column.sample[state];
  const what = state === 'deleted' ? 'delete marker' : `${state.toUpperCase()} run`;
  const named = sample ? `: ${sample.id} at ${iso(sample.time)}, ${truncate(stateText(sample), 200)}` : '';
  return `${plural(count, what)}${count > 1 ? ', for one' : ''}${named}`;
}

function axisSvg(ticks: Tick[], x: (time: Date) => number): string {
  const labels = ticks.map(
    ({ time, label }) =>
      `<line x1="${n(x(time))}" x2="${n(x(time))}" y1="14" y2="20"/><text x="${n(x(time))}" y="11">${label}</text>`,
  );
  return `<svg viewBox="0 0 ${WIDTH} 20" width="${WIDTH}" height="20" aria-hidden="true">${labels.join('')}<text class="now" x="${WIDTH}" y="11">now</text></svg>`;
}

const TICK_STEPS = [
  60_000,
  5 * 60_000,
  15 * 60_000,
  3_600_000,
  6 * 3_600_000,
  86_400_000,
  7 * 86_400_000,
  30 * 86_400_000,
];

interface Tick {
  time: Date;
  /** "11-26" for steps of days, "02:30" for minutes and hours, "02:30:15" for seconds (UTC). */
  label: string;
}

/** Round times (UTC) across the axis, at most 8 of them. */
function axisTicks(from: number, to: number): Tick[] {
  const step = TICK_STEPS.find((s) => (to - from) / s <= 8) ?? (to - from) / 8;
  const [start, end] = step >= 86_400_000 ? [5, 10] : step >= 60_000 ? [11, 16] : [11, 19];
  const ticks: Tick[] = [];
  for (let t = Math.ceil(from / step) * step; t < to - step / 4; t += step)
    ticks.push({ time: new Date(t), label: new Date(t).toISOString().slice(start, end) });
  return ticks;
}

const LEGEND = [
  '<span class="key size"></span> stored size of each backup (the darker part: the smallest in that column)',
  '<span class="key gap"></span> no complete backup for longer than the max age',
  '<span class="key anomaly">!</span> anomaly (shrank, too small, flood)',
  '<span class="key broken">×</span> broken run',
  '<span class="key incomplete">○</span> incomplete run',
  '<span class="key deleted">|</span> delete marker',
].join(' ');

const COLORS: Record<HealthState, string> = {
  CRITICAL: '#c62828',
  UNKNOWN: '#6a4c93',
  WARNING: '#e08e0b',
  OK: '#2e7d32',
};

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d1d1f; background: #fafafa; }
h1 { font-size: 22px; margin: 0 0 4px; }
.summary { font-size: 16px; margin: 0; }
.meta, .dim { color: #666; }
.meta { margin: 2px 0 14px; font-size: 12px; }
.count { font-weight: 600; }
${(Object.entries(COLORS) as [HealthState, string][])
  .map(
    ([state, color]) =>
      `.count.${state}, .facts .${state} { color: ${color}; } .tile.${state}, .badge.${state} { background: ${color}; } .set.${state} { border-left-color: ${color}; }`,
  )
  .join('\n')}
.overview .trouble { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 6px; }
.overview .quiet { display: flex; flex-wrap: wrap; gap: 4px; margin: 8px 0 12px; }
.tile { display: block; color: #fff; text-decoration: none; padding: 6px 8px; border-radius: 6px; min-height: 52px; overflow: hidden; }
.tile b { display: block; font-size: 15px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.tile span { font-size: 11px; font-weight: 700; letter-spacing: .05em; }
.tile small { display: block; font-size: 11px; opacity: .92; line-height: 1.25; max-height: 2.5em; overflow: hidden; }
.quiet .tile { min-height: 0; padding: 2px 8px; border-radius: 10px; }
.quiet .tile b { font-size: 12px; font-weight: 600; }
.quiet .tile span, .quiet .tile small { display: none; }
.legend { font-size: 12px; color: #444; margin: 0 0 4px; }
.key { display: inline-block; width: 14px; height: 10px; vertical-align: middle; text-align: center; font-weight: 700; line-height: 10px; }
.key.size { background: #90b4d8; } .key.gap { background: rgba(198, 40, 40, .25); }
.key.anomaly { color: #fff; background: #c62828; border-radius: 50%; width: 12px; height: 12px; line-height: 12px; font-size: 10px; }
.key.broken { color: #c62828; } .key.incomplete { color: #e08e0b; } .key.deleted { color: #1d1d1f; }
.axis, .set { display: grid; grid-template-columns: 420px ${WIDTH}px; gap: 16px; align-items: start; }
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
.size-max { fill: #90b4d8; } .size-min { fill: #3f72a8; }
.mark.gap rect { fill: rgba(198, 40, 40, .22); }
.mark.gap text { fill: #8e1c1c; font: bold 11px system-ui, sans-serif; text-anchor: middle; }
.mark.broken path { stroke: #c62828; stroke-width: 2; }
.mark.incomplete circle { fill: none; stroke: #e08e0b; stroke-width: 2; }
.mark.deleted line { stroke: #1d1d1f; stroke-width: 2; stroke-dasharray: 3 2; }
.mark.anomaly circle { fill: #c62828; } .mark.anomaly.WARNING circle { fill: #e08e0b; }
.mark.anomaly text { fill: #fff; font: bold 11px system-ui, sans-serif; text-anchor: middle; }
`;

function iso(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A coordinate, short. */
function n(value: number): string {
  return String(Math.round(value * 10) / 10);
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
