// The report as one self-contained HTML page: inline CSS and hand-made SVG, no script, and a content
// security policy that forbids loading anything, so it shows the same offline, from a mail or a share.
// Every text from the bucket or the fleet file is escaped.
import { reportStyle } from './report-style.js';
import type { Column, Gap, ReportMark, ReportModel, ReportSet } from './report.js';
import { sizeScale, type SizeScale } from './report-scale.js';
import { stateText } from './snapshot.js';
import { formatBytes, formatDuration } from './units.js';
import { plural } from './words.js';
import { DEFAULT_WAL_THRESHOLDS } from './wal-chain.js';

const WIDTH = 680;
/** Right of the timeline: the labels of its size axis. */
const GUTTER = 56;
const HEIGHT = 100;
/** Markers of runs and delete markers sit in the top row; bars of sizes below it, down to the baseline. */
const MARK_ROW = 7;
/** The top of the size axis; the values of the bars are written above them. */
const BAR_TOP = 30;
const BASELINE = HEIGHT - 4;
/** The widest a bar is drawn, where its neighbours are far. */
const MAX_BAR = 14;
/** The room one bar's value label needs: fewer bars than fit are each labelled, else a few of them. */
const LABEL_WIDTH = 54;
/** A tile's reason is shown whole up to this (a host's notes are bounded; the tooltip has them all). */
const TILE_TEXT = 400;

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
    .join(' · ');
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
<style>${reportStyle(WIDTH + GUTTER)}</style>
</head>
<body>
<header>
<h1>Backups: ${escape(options.title)}</h1>
<p class="period">${periodLine(model)}</p>
</header>
${summaryCards(model, counts)}
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

/** What the page covers: the period asked for, and where the timelines start if history is younger. */
function periodLine(model: ReportModel): string {
  const periodMs = model.to.getTime() - model.periodFrom.getTime();
  const zoomed =
    model.from.getTime() > model.periodFrom.getTime()
      ? ` Timelines start at ${minute(model.from)}, just before the oldest backup (${formatDuration(model.to.getTime() - model.from.getTime())} ago).`
      : '';
  return `Period: the last ${formatDuration(periodMs)}, ${minute(model.periodFrom)} to ${minute(model.to)} UTC, when this report was made.${zoomed}`;
}

/** The numbers a manager reads first: made, missed, stored, in trouble. */
function summaryCards(model: ReportModel, counts: string): string {
  const { summary } = model;
  const sets = model.sets.map((set, i) => ({ set, i }));
  const missing = sets
    .filter(({ set }) => (set.period?.missed ?? 0) > 0)
    .sort((a, b) => b.set.period!.missed - a.set.period!.missed);
  const trouble = sets.filter(({ set }) => set.state !== 'OK');
  const link = ({ set, i }: { set: ReportSet; i: number }, text: string) =>
    `<a class="${set.state}" href="#set-${i}">${escape(text)}</a>`;
  const few = (list: typeof sets, text: (set: ReportSet) => string) =>
    list
      .slice(0, 8)
      .map((entry) => link(entry, text(entry.set)))
      .join(', ') + (list.length > 8 ? `, and ${list.length - 8} more` : '');
  const growth =
    summary.firstBytes > 0
      ? ` · the latest backups ${percent(summary.latestBytes / summary.firstBytes - 1)} on the period's first`
      : '';
  return `<section class="week" aria-label="The period in numbers">
${card('made', String(summary.made), 'backups made', `in the last ${formatDuration(model.to.getTime() - model.periodFrom.getTime())}, by ${plural(sets.filter(({ set }) => set.period).length, 'backup set')}`)}
${card('missed', String(summary.missed), 'backups missed', missing.length > 0 ? few(missing, (set) => `${name(set)} ${set.period!.missed}`) : 'none: every set kept its rhythm', summary.missed > 0 ? 'bad' : '')}
${card('stored', formatBytes(summary.storedBytes), 'stored now', `+${formatBytes(summary.addedBytes)} added this period${growth}`)}
${card('trouble', String(trouble.length), `of ${plural(model.sets.length, 'backup set')} in trouble`, `${counts}${trouble.length > 0 ? `: ${few(trouble, name)}` : ''}`, trouble.length > 0 ? 'bad' : '')}
</section>`;
}

function card(fact: string, value: string, what: string, detail: string, level = ''): string {
  return `<div class="card ${level}" data-fact="${fact}"><b>${escape(value)}</b> <span>${escape(what)}</span><small>${detail}</small></div>`;
}

function tile(set: ReportSet, i: number): string {
  const why = headline(set).map((line) => `<small>${escape(line)}</small>`);
  // A revoked host says so even among the quiet tiles, where only names show.
  const revoked = set.revokedAt ? ' revoked' : '';
  return `<a class="tile ${set.state}${revoked}" href="#set-${i}" data-host="${escape(name(set))}" title="${escape(set.reasons.join('\n'))}"><b>${escape(name(set))}</b><span>${set.state}${revoked && ' · REVOKED'}</span>${why.join('')}</a>`;
}

/**
 * What a tile says: an OK set its latest backup; a set in trouble every reason, whole (the first is not
 * always the one that set the state).
 */
function headline(set: ReportSet): string[] {
  if (set.state === 'OK' && set.latest && set.ageMs !== null)
    return [`${formatBytes(set.latest.size)}, ${formatDuration(set.ageMs)} ago`];
  const lines = set.reasons.map((reason) => truncate(reason, TILE_TEXT));
  if (set.moreReasons > 0) lines.push(`and ${set.moreReasons} more below`);
  return lines;
}

function name(set: ReportSet): string {
  return set.host ?? set.target;
}

function setSection(set: ReportSet, i: number, layout: Layout): string {
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
        periodFacts(set),
        `<div class="dim">${plural(counts.backups, 'backup')} stored · ${counts.broken} broken · ${counts.incomplete} incomplete · ${plural(counts.deleteMarkers, 'delete marker')}${counts.strays ? ` · ${counts.strays} strays` : ''}${counts.rejected ? ` · ${counts.rejected} REJECTED` : ''}${counts.unproven ? ` · ${counts.unproven} not proven yet` : ''}</div>`,
      ];
  const revokedAt = set.revokedAt ? ` data-revoked="${iso(set.revokedAt)}"` : '';
  const revoked = set.revokedAt ? ' <span class="badge revoked">REVOKED</span>' : '';
  return `<section class="set ${set.state}" id="set-${i}" data-host="${escape(name(set))}" data-target="${escape(set.target)}" data-state="${set.state}"${revokedAt}>
<div class="facts"><h2>${escape(name(set))} <span class="badge ${set.state}">${set.state}</span>${revoked}</h2>
${facts.filter(Boolean).join('\n')}
<ul class="reasons">${reasons.join('')}</ul></div>
${set.wal ? '' : timeline(set, layout)}
</section>`;
}

/** The set over the period: made, missed, stored. */
function periodFacts({ period }: ReportSet): string {
  if (!period) return '';
  const growth =
    period.firstSize !== null && period.latestSize !== null && period.made > 1 && period.firstSize > 0
      ? ` · size ${percent(period.latestSize / period.firstSize - 1)}`
      : '';
  return `<div class="period-facts" data-made="${period.made}" data-missed="${period.missed}">this period: <b>${period.made} made</b> · <b class="${period.missed > 0 ? 'CRITICAL' : ''}">${period.missed} missed</b> · stored ${formatBytes(period.storedBytes)} (+${formatBytes(period.addedBytes)})${growth}</div>`;
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
    parts.push(`<line class="grid" x1="${n(x(tick))}" x2="${n(x(tick))}" y1="0" y2="${BASELINE}"/>`);
  const withBackups = set.columns.filter((column) => column.backups > 0);
  const scale = sizeScale(withBackups.map((column) => column.maxSize));
  const height = (bytes: number) =>
    scale.top > 0 ? Math.max(1.5, ((BASELINE - BAR_TOP) * Math.min(bytes, scale.top)) / scale.top) : 0;
  parts.push(sizeAxis(scale, height));
  for (const gap of set.gaps) parts.push(gapMark(gap, set, x));
  const spans = barSpans(withBackups, columnWidth);
  const bar = (i: number, bytes: number) =>
    `M${n(spans[i]!.left)} ${BASELINE}v${n(-height(bytes))}h${n(spans[i]!.width)}v${n(height(bytes))}z`;
  if (withBackups.length > 0) {
    parts.push(`<path class="size-max" d="${withBackups.map((c, i) => bar(i, c.maxSize)).join('')}"/>`);
    parts.push(`<path class="size-min" d="${withBackups.map((c, i) => bar(i, c.minSize)).join('')}"/>`);
    // A clipped bar is broken near its top: it is taller than the axis shows, its label says how tall.
    const clipped = withBackups.flatMap((c, i) =>
      c.maxSize > scale.top ? [`M${n(spans[i]!.left)} ${BAR_TOP + 8}l${n(spans[i]!.width)} -4`] : [],
    );
    if (clipped.length > 0) parts.push(`<path class="clip" d="${clipped.join('')}"/>`);
    for (const column of valueLabels(withBackups, columnWidth, scale)) {
      const middle = Math.min(WIDTH - 24, Math.max(24, column.index * columnWidth + columnWidth / 2));
      parts.push(
        `<text class="value${column.maxSize > scale.top ? ' clipped' : ''}" x="${n(middle)}" y="${n(BASELINE - height(column.maxSize) - 3)}">${formatBytes(column.maxSize)}</text>`,
      );
    }
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
  for (const mark of set.anomalies) parts.push(anomalyMark(mark, x));
  if (set.revokedAt) parts.push(revokedMark(set.revokedAt, x));
  parts.push(`<line class="baseline" x1="0" x2="${WIDTH}" y1="${BASELINE}" y2="${BASELINE}"/>`);
  const label = `${name(set)}: ${set.state}; ${plural(set.gaps.length, 'gap')} longer than the max age, ${plural(set.anomalies.length, 'anomaly', 'anomalies')}`;
  return `<svg class="timeline" viewBox="0 0 ${WIDTH + GUTTER} ${HEIGHT}" width="${WIDTH + GUTTER}" height="${HEIGHT}" role="img" aria-label="${escape(label)}">${parts.join('')}</svg>`;
}

/** Bars as wide as their neighbours leave room for (up to MAX_BAR), each centred on its column. */
function barSpans(columns: readonly Column[], columnWidth: number): { left: number; width: number }[] {
  return columns.map((column, i) => {
    const room = Math.min(
      i > 0 ? column.index - columns[i - 1]!.index : Infinity,
      i < columns.length - 1 ? columns[i + 1]!.index - column.index : Infinity,
    );
    const width = Math.max(columnWidth - 1, Math.min(MAX_BAR, room * columnWidth - 3));
    const left = (column.index + 0.5) * columnWidth - width / 2;
    return { left: Math.max(0, Math.min(WIDTH - width, left)), width };
  });
}

/** The set's own size axis: a level line and its label per round value, and 0 at the baseline. */
function sizeAxis(scale: SizeScale, height: (bytes: number) => number): string {
  const levels = scale.ticks.map(({ bytes, label }) => {
    const y = n(BASELINE - height(bytes));
    return `<line class="level" x1="0" x2="${WIDTH}" y1="${y}" y2="${y}"/><text class="scale" x="${WIDTH + 4}" y="${y}">${label}</text>`;
  });
  return `<g class="size-axis">${levels.join('')}<text class="scale" x="${WIDTH + 4}" y="${BASELINE}">0</text></g>`;
}

/**
 * The bars whose value is written above them, as many as fit without overlapping: first the latest,
 * the largest, the smallest and every clipped one, then the rest from the newest back.
 */
function valueLabels(columns: readonly Column[], columnWidth: number, scale: SizeScale): Column[] {
  if (columns.length === 0) return [];
  let largest = columns[0]!;
  let smallest = columns[0]!;
  for (const column of columns) {
    if (column.maxSize > largest.maxSize) largest = column;
    if (column.maxSize < smallest.maxSize) smallest = column;
  }
  const wanted = [columns[columns.length - 1]!, largest, smallest];
  for (const column of columns) if (column.maxSize > scale.top) wanted.push(column);
  for (let i = columns.length - 1; i >= 0; i--) wanted.push(columns[i]!);
  // At most WIDTH / LABEL_WIDTH are chosen, so this stays small whatever the columns.
  const chosen: Column[] = [];
  for (const column of wanted)
    if (chosen.every((other) => Math.abs(other.index - column.index) * columnWidth >= LABEL_WIDTH))
      chosen.push(column);
  return chosen;
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

function anomalyMark(mark: ReportMark, x: (time: Date) => number): string {
  const cx = Math.min(WIDTH - 7, Math.max(7, x(mark.time)));
  // In the top row with the other marks: above the bar, its value stays readable.
  const cy = MARK_ROW + 1;
  return `<g class="mark anomaly ${mark.state}" data-rule="${mark.rule}"><title>${escape(mark.message)}</title><circle cx="${n(cx)}" cy="${n(cy)}" r="7"/><text x="${n(cx)}" y="${n(cy + 4)}">!</text></g>`;
}

/** The cut (fleet revoke): a line across the timeline, where it falls on it. */
function revokedMark(since: Date, x: (time: Date) => number): string {
  const at = x(since);
  if (at < 0) return '';
  return `<g class="mark revoked"><title>REVOKED since ${iso(since)}: its uploads are denied by the bucket policy</title><line x1="${n(at)}" x2="${n(at)}" y1="0" y2="${BASELINE}"/></g>`;
}

function sampleText(column: Column, state: 'incomplete' | 'broken' | 'deleted'): string {
  const count = column[state];
  const sample = column.sample[state];
  const what = state === 'deleted' ? 'delete marker' : `${state.toUpperCase()} run`;
  const named = sample ? `: ${sample.id} at ${iso(sample.time)}, ${truncate(stateText(sample), 200)}` : '';
  return `${plural(count, what)}${count > 1 ? ', for one' : ''}${named}`;
}

function axisSvg(ticks: Tick[], x: (time: Date) => number): string {
  // A tick too close to "now" would print over it.
  const labels = ticks
    .filter(({ time }) => x(time) < WIDTH - LABEL_WIDTH)
    .map(
      ({ time, label }) =>
        `<line x1="${n(x(time))}" x2="${n(x(time))}" y1="14" y2="20"/><text x="${n(x(time))}" y="11">${label}</text>`,
    );
  return `<svg viewBox="0 0 ${WIDTH + GUTTER} 20" width="${WIDTH + GUTTER}" height="20" aria-hidden="true">${labels.join('')}<text class="now" x="${WIDTH}" y="11">now</text></svg>`;
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
  '<span class="key size"></span> size of each backup, on the set\'s own scale (right); the darker part: the smallest where a column holds several',
  '<span class="key gap"></span> no complete backup for longer than the max age',
  '<span class="key anomaly">!</span> anomaly (shrank, too small, flood)',
  '<span class="key broken">×</span> broken run',
  '<span class="key incomplete">○</span> incomplete run',
  '<span class="key deleted">|</span> delete marker',
  '<span class="key revoked">|</span> revoked (fleet revoke)',
].join(' ');

/** "2026-11-30 09:00" (UTC). */
function minute(date: Date): string {
  return date.toISOString().slice(0, 16).replace('T', ' ');
}

/** "+4.8%", "−12.0%". */
function percent(ratio: number): string {
  return `${ratio < 0 ? '−' : '+'}${Math.abs(ratio * 100).toFixed(1)}%`;
}

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
