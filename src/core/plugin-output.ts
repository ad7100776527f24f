// The monitoring-plugin output format (Nagios, Icinga, Naemon): a status line, long text, and perfdata
// after `|`: 'label'=value[UOM];[warn];[crit];[min];[max]. Multi-line: the first line's perfdata, then
// the long text, whose last line may start more perfdata after a `|`, one line each after that.
import { createHash } from 'node:crypto';

export type Uom = '' | 's' | 'B' | '%' | 'c';

export interface PerfValue {
  label: string;
  /** null: could not be determined (the guidelines' "U"). */
  value: number | null;
  uom: Uom;
  /** Thresholds as "alert above" ranges (the guidelines' "10": outside 0..10); null: none. */
  warn?: number | null;
  crit?: number | null;
  min?: number | null;
  max?: number | null;
}

/** Longest label kept (RRD-based graphers care about the first 19 characters). */
const MAX_LABEL = 120;

/**
 * One perfdata item. Labels are always quoted; quotes, `=`, `|`, spaces and control characters become `_`.
 * A label over MAX_LABEL keeps its head and its last word (the metric: `age`, `size`) around a hash of
 * the whole, so two long keys that differ only past the cut still get labels of their own.
 */
export function perfItem(item: PerfValue): string {
  const label = fitted(item.label.replace(/['=|\s\p{Cc}]/gu, '_'), item.label);
  const number = (v: number | null | undefined) => (v === null || v === undefined ? '' : String(v));
  const fields = [
    item.value === null ? 'U' : `${item.value}${item.uom}`,
    number(item.warn),
    number(item.crit),
    number(item.min),
    number(item.max),
  ];
  while (fields.length > 1 && fields[fields.length - 1] === '') fields.pop();
  return `'${label}'=${fields.join(';')}`;
}

export interface PluginReport {
  /** "SEALDROP OK - all 3 backups OK". */
  statusLine: string;
  /** One line each, after the status line. */
  longText: readonly string[];
  /** Perfdata sets (a set per target): the first goes on the status line, the others after the long text. */
  perfdata: readonly (readonly PerfValue[])[];
}

/** The whole output, as the guidelines lay it out; text never holds a `|` (it would start perfdata). */
export function pluginText(report: PluginReport): string {
  const text = (line: string) => line.replaceAll('|', '/').replace(/[\r\n]+/g, ' ');
  const sets = report.perfdata.map((set) => set.map(perfItem).join(' ')).filter((set) => set !== '');
  const [first, second, ...rest] = sets;
  // One line per target: a bucket may hold a million sets, so no spread into push().
  const long = report.longText.map(text);
  if (second !== undefined) {
    if (long.length === 0) long.push('');
    long[long.length - 1] += ` | ${second}`;
  }
  return `${[`${text(report.statusLine)}${first ? ` | ${first}` : ''}`, ...long, ...rest].join('\n')}\n`;
}

function fitted(label: string, original: string): string {
  if (label.length <= MAX_LABEL) return label;
  const word = label.slice(label.lastIndexOf('_') + 1).slice(-24);
  const hash = createHash('sha256').update(original).digest('hex').slice(0, 8);
  return `${label.slice(0, MAX_LABEL - word.length - hash.length - 2)}~${hash}_${word}`;
}
