// --help read through a pipe (`sealdrop push --help | less`, a man page, a web page) stays within 100
// columns: commander wraps nothing when it finds no terminal, so its option lists would run to 170.
import type { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildAgentProgram } from '../../src/cli/agent-program.js';
import { fitHelp } from '../../src/cli/base-program.js';
import { buildProgram } from '../../src/cli/program.js';

const MAX_COLUMNS = 100;

/** Every command of a tree, the root included, with its path. */
function commands(command: Command, path = [command.name()]): [string, Command][] {
  return [
    [path.join(' '), command],
    ...command.commands
      .filter((child) => child.name() !== 'help')
      .flatMap((child) => commands(child, [...path, child.name()])),
  ];
}

/** What `--help` writes to standard output. */
function helpText(command: Command): string {
  let printed = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    printed += String(chunk);
    return true;
  });
  try {
    command.outputHelp();
  } finally {
    write.mockRestore();
  }
  return printed;
}

describe('--help through a pipe', () => {
  const isTTY = process.stdout.isTTY;
  beforeEach(() => {
    process.stdout.isTTY = false;
  });
  afterEach(() => {
    process.stdout.isTTY = isTTY;
  });

  it.each([...commands(buildProgram()), ...commands(buildAgentProgram())])(
    '`%s --help` has no line over 100 columns',
    (_, command) => {
      const long = helpText(command)
        .split('\n')
        .filter((line) => line.length > MAX_COLUMNS);
      expect(long).toEqual([]);
    },
  );

  it('wraps a description under its own column, as commander does in a terminal', () => {
    const lines = helpText(buildProgram()).split('\n');
    const first = lines.findIndex((line) => line.startsWith('  fleet '));
    expect(first).toBeGreaterThan(0);
    const column = /^ {2}fleet +/.exec(lines[first]!)![0].length;
    // The description goes on in the next line, indented to the column where it started.
    expect(lines[first + 1]!.slice(0, column).trim()).toBe('');
    expect(lines[first + 1]![column]).toMatch(/\S/);
  });
});

describe('fitHelp', () => {
  const text = [
    'A sentence that goes on',
    'in the next line, and ends here.',
    'A new line after a full stop stays one.',
    'A colon at the end of a line (as here):',
    'goes on; before indented lines it ends a heading.',
    'Examples:',
    '  sealdrop push --policy p.json -- mysqldump   # indented: as it is',
    '',
    'Short.',
  ].join('\n');

  it('joins the lines of a sentence and keeps the others', () => {
    expect(fitHelp(text, 100)).toBe(
      [
        'A sentence that goes on in the next line, and ends here.',
        'A new line after a full stop stays one.',
        'A colon at the end of a line (as here): goes on; before indented lines it ends a heading.',
        'Examples:',
        '  sealdrop push --policy p.json -- mysqldump   # indented: as it is',
        '',
        'Short.',
      ].join('\n'),
    );
  });

  it('wraps prose to a narrow terminal, never the indented lines', () => {
    const lines = fitHelp(text, 40).split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'A sentence that goes on in the next',
      'line, and ends here.',
      'A new line after a full stop stays one.',
    ]);
    expect(lines).toContain('  sealdrop push --policy p.json -- mysqldump   # indented: as it is');
  });
});
