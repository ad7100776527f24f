// stdout carries data and --json results; everything for people goes to stderr.
import { SealdropError } from '../core/errors.js';

export function say(message: string): void {
  process.stderr.write(`${message}\n`);
}

export function warn(message: string): void {
  process.stderr.write(`sealdrop: warning: ${message}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printData(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Prints an error for people and returns the exit status. A non-SealdropError is a bug: show the stack. */
export function reportError(error: unknown): number {
  if (error instanceof SealdropError) {
    process.stderr.write(`sealdrop: error: ${error.message}\n  hint: ${error.hint}\n`);
    return error.exitStatus;
  }
  process.stderr.write(
    `sealdrop: internal error (please report this bug):\n${(error as Error)?.stack ?? String(error)}\n`,
  );
  return 70;
}

/** Aligned "label: value" lines for human summaries. */
export function table(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  // A blank label continues the row above it (a second recipient, say).
  return rows
    .map(([label, value]) => `  ${(label ? `${label}:` : '').padEnd(width + 1)} ${value}`)
    .join('\n');
}

/** A plain-text table: a header row and aligned columns; `right` lists the right-aligned columns. */
export function columns(header: string[], rows: string[][], { right = [] as number[] } = {}): string[] {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    `  ${cells.map((cell, i) => (right.includes(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ')}`.trimEnd();
  return [header, ...rows].map(line);
}
