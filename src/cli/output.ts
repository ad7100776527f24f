// The output contract: stdout carries what a command produces (listings, reports, plans, restored data,
// --json documents); stderr is for a human watching (progress, warnings, errors, an action's summary).
import { EXIT, SealdropError } from '../core/errors.js';

const settings = { quiet: false, verbose: false };

/**
 * What a terminal would obey or a reader would take for layout: C0 and C1 controls (newline and tab
 * too), the bidirectional controls, and the line and paragraph separators. A key in the bucket is an
 * attacker's text: it must not clear the screen, reverse a name or start a line of its own.
 */
/* eslint-disable no-control-regex */
const NOT_IN_A_LINE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;
const NOT_IN_TEXT =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;
/* eslint-enable no-control-regex */

/** Text for a person, of lines the program made: all that NOT_IN_A_LINE names but the newline shows as `?`. */
export function printable(text: string): string {
  return text.replace(NOT_IN_TEXT, '?');
}

/** One line for a person (a listing's row): a newline in it is a name's, and shows as `?` too. */
export function printableLine(text: string): string {
  return text.replace(NOT_IN_A_LINE, '?');
}

/** -q / -v, once per run, before the command does anything. */
export function configureOutput(options: { quiet?: boolean; verbose?: boolean }): void {
  settings.quiet = Boolean(options.quiet);
  settings.verbose = Boolean(options.verbose) && !settings.quiet;
}

export function isQuiet(): boolean {
  return settings.quiet;
}

/** A line for the human watching (an action's summary, a note); silent with -q. */
export function say(message: string): void {
  if (!settings.quiet) process.stderr.write(`${printable(message)}\n`);
}

/** Always shown, -q or not; one line, whatever the names in it hold. */
export function warn(message: string): void {
  process.stderr.write(`sealdrop: warning: ${printableLine(message)}\n`);
}

/** Only with -v: what is being done (requests, retries, timings), never a secret. */
export function verbose(message: string): void {
  if (settings.verbose) process.stderr.write(`sealdrop: ${printable(message)}\n`);
}

/** The verbose logger when -v is on, for callers that take one. */
export function verboseLogger(): ((message: string) => void) | undefined {
  return settings.verbose ? verbose : undefined;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printData(text: string): void {
  const shown = printable(text);
  process.stdout.write(shown.endsWith('\n') ? shown : `${shown}\n`);
}

/**
 * Lines on stdout, each one line whatever its names hold, written in slices so a million of them never
 * make one huge string.
 */
export function printLines(lines: Iterable<string>): void {
  let slice: string[] = [];
  for (const line of lines) {
    slice.push(printableLine(line));
    if (slice.length === 10_000) {
      process.stdout.write(`${slice.join('\n')}\n`);
      slice = [];
    }
  }
  if (slice.length > 0) process.stdout.write(`${slice.join('\n')}\n`);
}

/** The error document --json promises on stdout, whatever failed. */
export function errorJson(error: SealdropError): { error: Record<string, unknown> } {
  return {
    error: { code: error.code, message: error.message, hint: error.hint, exitStatus: error.exitStatus },
  };
}

/** A failure the command has already reported in its own format (a check's UNKNOWN): only its exit status. */
export class ReportedFailure extends Error {
  readonly exitStatus: number;
  constructor(exitStatus: number) {
    super(`reported (exit ${exitStatus})`);
    this.exitStatus = exitStatus;
  }
}

/** Prints an error for people and returns the exit status. A non-SealdropError is a bug: show the stack. */
export function reportError(error: unknown): number {
  if (error instanceof ReportedFailure) return error.exitStatus;
  if (error instanceof SealdropError) {
    // One line each: a name from the bucket in them can't start a line of its own.
    process.stderr.write(
      `sealdrop: error: ${printableLine(error.message)}\n  hint: ${printableLine(error.hint)}\n`,
    );
    return error.exitStatus;
  }
  process.stderr.write(
    `sealdrop: internal error (please report this bug):\n${(error as Error)?.stack ?? String(error)}\n`,
  );
  return EXIT.bug;
}

/** Aligned "label: value" lines for human summaries. */
export function table(rows: [string, string][]): string {
  const width = rows.reduce((max, [label]) => Math.max(max, label.length), 0);
  return rows
    .map(([label, value]) => `  ${label ? `${label}:`.padEnd(width + 1) : ''.padEnd(width + 1)} ${value}`)
    .join('\n');
}

/**
 * A plain-text table, line by line: a header row and aligned columns (`right`: the right-aligned ones).
 * `rows` is read twice, for the widths and then for the lines, and no row is kept: a table of a million
 * backups costs no memory beyond the backups.
 */
export function* columns(
  header: string[],
  rows: () => Iterable<readonly string[]>,
  { right = [] as number[] } = {},
): Generator<string> {
  const widths = header.map((title) => title.length);
  for (const row of rows())
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (right.includes(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  yield line(header);
  for (const row of rows()) yield line(row);
}
