// What the CLI writes for people: a key in the bucket is the attacker's text, and a terminal obeys
// control characters. Every text writer shows them as `?`; --json escapes them as JSON does.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SealdropError } from '../../src/core/errors.js';
import { printData, printLines, reportError, say, warn } from '../../src/cli/output.js';

/** What the writers put on stdout and stderr while `write` runs. */
function captured(write: () => void): string {
  let text = '';
  const grab = (chunk: string | Uint8Array) => ((text += String(chunk)), true);
  vi.spyOn(process.stdout, 'write').mockImplementation(grab);
  vi.spyOn(process.stderr, 'write').mockImplementation(grab);
  try {
    write();
  } finally {
    vi.restoreAllMocks();
  }
  return text;
}

afterEach(() => vi.restoreAllMocks());

describe('text output', () => {
  // ESC sequences that clear the screen and set the title; CR overwrites a line; C1 CSI; RTL override.
  const key = 'db1/\u001b[2J\u001b]0;owned\u0007x\rOK\u009b31m\u202egpg.zg';

  it('shows control characters in keys as ?, on stdout and stderr alike, tabs too; text keeps its lines', () => {
    const text = captured(() => {
      printLines([`key  s3://b/${key}`]);
      printData(`a\tb ${key}`);
      say(`restored s3://b/${key}`);
      warn(`written over: ${key}`);
      reportError(new SealdropError('NOT_FOUND', `s3://b/${key} does not exist`));
    });
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(text).toContain('db1/?[2J?]0;owned?x?OK?31m?gpg.zg');
    expect(text).toContain('a?b');
    expect(text.split('\n')).toHaveLength(7);
  });

  it('a listing line stays one line: newlines and line separators in a name show as ?', () => {
    const text = captured(() =>
      printLines([`key  s3://b/db1\nkey  s3://b/forged\u2028x\u2029\u200f`, 'next']),
    );
    expect(text).toBe('key  s3://b/db1?key  s3://b/forged?x??\nnext\n');
  });

  it('a warning and an error stay one line each, whatever a name in them holds', () => {
    const forged = 'db1/x\nsealdrop: warning: all backups verified\u2028y';
    const text = captured(() => {
      warn(`written over: ${forged}`);
      reportError(new SealdropError('NOT_FOUND', `s3://b/${forged} does not exist`));
    });
    expect(text.split('\n')).toEqual([
      'sealdrop: warning: written over: db1/x?sealdrop: warning: all backups verified?y',
      expect.stringMatching(/^sealdrop: error: s3:\/\/b\/db1\/x\?sealdrop: warning: .*\?y does not exist$/),
      expect.stringMatching(/^ {2}hint: /),
      '',
    ]);
  });
});
