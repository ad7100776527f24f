// The monitoring-plugin output grammar (monitoring-plugins.org guidelines, "Plugin Output" and
// "Performance data"), strictly: a status line, long text, and perfdata after `|` (on the first line,
// on the long text's last line, and every line after it). Throws on anything the grammar doesn't allow.
export interface Perf {
  label: string;
  value: number | null;
  uom: string;
  warn: string;
  crit: string;
  min: string;
  max: string;
}

export interface PluginOutput {
  state: 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';
  text: string;
  longText: string[];
  perfdata: Perf[];
}

const NUMBER = '-?[0-9]+(?:\\.[0-9]+)?';
const RANGE = `@?(?:${NUMBER}|~)?:?(?:${NUMBER})?`;
const ITEM = new RegExp(
  `^('(?:[^']|'')+'|[^'= ]+)=(U|${NUMBER})(s|ms|us|%|B|KB|MB|GB|TB|c)?` +
    `(?:;(${RANGE})?(?:;(${RANGE})?(?:;(${NUMBER})?(?:;(${NUMBER})?)?)?)?)?$`,
);

export function parsePluginOutput(stdout: string): PluginOutput {
  if (!stdout.endsWith('\n')) throw new Error('plugin output must end in a newline');
  const lines = stdout.slice(0, -1).split('\n');
  const [first, ...rest] = lines;
  const status = /^SEALDROP (OK|WARNING|CRITICAL|UNKNOWN) - ([^|]*?)(?: \| (.*))?$/.exec(first!);
  if (!status) throw new Error(`not a plugin status line: ${first}`);
  const perfText: string[] = status[3] ? [status[3]] : [];
  const longText: string[] = [];
  let inPerf = false;
  for (const line of rest) {
    if (inPerf) perfText.push(line);
    else {
      const bar = line.indexOf('|');
      if (bar < 0) longText.push(line);
      else {
        longText.push(line.slice(0, bar).trimEnd());
        perfText.push(line.slice(bar + 1).trim());
        inPerf = true;
      }
    }
  }
  const perfdata: Perf[] = [];
  for (const text of perfText)
    for (const item of splitItems(text)) {
      const match = ITEM.exec(item);
      if (!match) throw new Error(`perfdata item does not follow the grammar: ${item}`);
      const [, label, value, uom = '', warn = '', crit = '', min = '', max = ''] = match;
      perfdata.push({
        label: label!.startsWith("'") ? label!.slice(1, -1).replaceAll("''", "'") : label!,
        value: value === 'U' ? null : Number(value),
        uom,
        warn,
        crit,
        min,
        max,
      });
    }
  return { state: status[1] as PluginOutput['state'], text: status[2]!, longText, perfdata };
}

/** Space-separated items; a quoted label may hold spaces. */
function splitItems(text: string): string[] {
  const items: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of text) {
    if (char === "'") quoted = !quoted;
    if (char === ' ' && !quoted) {
      if (current) items.push(current);
      current = '';
    } else current += char;
  }
  if (current) items.push(current);
  return items;
}
