// The keyed content sketch: continuity of genuine dumps, none with junk, and a sketch that needs the key.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MIN_OVERLAP,
  SKETCH_PARAMS,
  Sketcher,
  decodeSketch,
  encodeSketch,
  overlap,
  type Sketch,
} from '../../src/core/sketch.js';
import { isSealdropError } from '../../src/core/errors.js';

const KEY = new Uint8Array(32).fill(1);
const OTHER_KEY = new Uint8Array(32).fill(2);

function sketchOf(data: Uint8Array, key = KEY, pieces = [data.length]): Sketch {
  const sketcher = new Sketcher(key);
  let at = 0;
  for (const size of pieces) {
    sketcher.update(data.subarray(at, at + size));
    at += size;
  }
  sketcher.update(data.subarray(at));
  return sketcher.digest();
}

/** The repository's deterministic SQL-like dump (scripts/gen-dump.mjs), as rows we can change. */
function dumpRows(size: string, seed: number): string[] {
  const script = fileURLToPath(new URL('../../scripts/gen-dump.mjs', import.meta.url));
  const text = execFileSync(process.execPath, [script, size, String(seed)], { maxBuffer: 1 << 30 }).toString(
    'latin1',
  );
  return text.split(/(?<=\),)|(?<=;\n)/);
}

/** Changes `share` of the rows in place (a digit in the amount), picked by a fixed scattering of indexes. */
function changeRows(rows: string[], share: number): string[] {
  const picked = (i: number) => (i * 40503) % 1009 < share * 1009;
  return rows.map((row, i) =>
    picked(i) ? row.replace(/,(\d)/, (_, digit: string) => `,${(Number(digit) + 1) % 10}`) : row,
  );
}

const bytes = (rows: string[]) => Buffer.from(rows.join(''), 'latin1');

describe('content sketch', () => {
  const rows = dumpRows('4MiB', 3);
  const dump = bytes(rows);

  it('gives identical content an overlap of 1, and a sketch of k values', () => {
    const sketch = sketchOf(dump);
    expect(sketch.values.length).toBe(SKETCH_PARAMS.k * 8);
    expect(overlap(sketch, sketchOf(Buffer.from(dump)))).toBe(1);
  });

  it('gives unrelated random data an overlap near 0', () => {
    expect(overlap(sketchOf(dump), sketchOf(randomBytes(dump.length)))).toBeLessThan(0.02);
    expect(overlap(sketchOf(randomBytes(1 << 22)), sketchOf(randomBytes(1 << 22)))).toBeLessThan(0.02);
  });

  it('keeps a dump with 3% of its rows changed well above the threshold, and 50% changed below it', () => {
    const a = sketchOf(dump);
    const few = overlap(a, sketchOf(bytes(changeRows(rows, 0.03))));
    expect(few).toBeGreaterThan(DEFAULT_MIN_OVERLAP + 0.3);
    expect(few).toBeLessThan(1);
    expect(overlap(a, sketchOf(bytes(changeRows(rows, 0.5))))).toBeLessThan(DEFAULT_MIN_OVERLAP);
  });

  it('falls when a backup is a fragment of the one before', () => {
    const half = overlap(sketchOf(dump), sketchOf(dump.subarray(0, dump.length / 2)));
    expect(half).toBeGreaterThan(0.4);
    expect(half).toBeLessThan(0.6);
  });

  it('cuts the same chunks however the input is split into update() calls', () => {
    const data = dump.subarray(0, 300_000);
    const whole = new Sketcher(KEY);
    whole.update(data);
    const byteByByte = new Sketcher(KEY);
    for (let i = 0; i < data.length; i++) byteByByte.update(data.subarray(i, i + 1));
    const ragged = sketchOf(data, KEY, [1, 63, 64, 65, 4095, 4097, 100_000, 7]);
    expect(byteByByte.chunks).toBe(whole.chunks);
    expect(byteByByte.bytes).toBe(data.length);
    expect(encodeSketch(byteByByte.digest())).toBe(encodeSketch(whole.digest()));
    expect(encodeSketch(ragged)).toBe(encodeSketch(whole.digest()));
  });

  it('makes chunks of the configured sizes', () => {
    const sketcher = new Sketcher(KEY);
    sketcher.update(dump);
    const mean = dump.length / sketcher.chunks;
    expect(mean).toBeGreaterThan(SKETCH_PARAMS.minChunk);
    expect(mean).toBeLessThan(SKETCH_PARAMS.avgChunk * 2);
    const zeros = new Sketcher(KEY);
    zeros.update(new Uint8Array(100_000)); // no content to cut at: every chunk is maxChunk long
    expect(zeros.chunks).toBe(Math.ceil(100_000 / SKETCH_PARAMS.maxChunk));
  });

  it('gives sketches of different keys nothing in common, and refuses to compare them', () => {
    const mine = sketchOf(dump);
    const theirs = sketchOf(dump, OTHER_KEY);
    const shared = new Set(chunked(mine.values)).size + new Set(chunked(theirs.values)).size;
    expect(new Set([...chunked(mine.values), ...chunked(theirs.values)]).size).toBe(shared);
    expect(() => overlap(mine, theirs)).toThrow(/different keys/);
  });

  it('handles empty and tiny inputs', () => {
    const empty = new Sketcher(KEY).digest();
    expect(empty.values.length).toBe(0);
    expect(overlap(empty, sketchOf(new Uint8Array(0)))).toBe(1);
    const tiny = sketchOf(Buffer.from('x'));
    expect(tiny.values.length).toBe(8);
    expect(overlap(tiny, sketchOf(Buffer.from('x')))).toBe(1);
    expect(overlap(empty, tiny)).toBe(0);
    expect(overlap(tiny, sketchOf(Buffer.from('y')))).toBe(0);
    expect(decodeSketch(encodeSketch(empty))).toEqual(empty);
  });

  it('round-trips through its encoding in a few KiB', () => {
    const sketch = sketchOf(dump);
    const text = encodeSketch(sketch);
    expect(text.length).toBeLessThan(6000);
    expect(decodeSketch(text)).toEqual(sketch);
    expect(decodeSketch(`${text}\n`)).toEqual(sketch);
  });

  it('refuses junk, oversized and tampered sketches with a clear error', () => {
    const text = encodeSketch(sketchOf(dump));
    const raw = Buffer.from(text, 'base64');
    const tampered = (change: (data: Buffer) => void) => {
      const copy = Buffer.from(raw);
      change(copy);
      return copy.toString('base64');
    };
    const cases: [string, RegExp][] = [
      ['', /shorter than its header/],
      ['hello world!', /not base64|no SDSK/],
      ['A'.repeat(10_000_000), /more than/],
      [Buffer.from('SDSK').toString('base64') + '!!', /not base64/],
      [text.slice(0, -8), /bytes for|not base64/],
      [tampered((data) => data.writeUInt8(9, 4)), /version 9/],
      [tampered((data) => data.writeUInt16BE(0, 5)), /k must be/],
      [tampered((data) => data.writeUInt32BE(300, 11)), /power of two/],
      [tampered((data) => data.writeUInt16BE(600, 23)), /600 values/],
      [tampered((data) => data.copy(data, 27, 35, 43)), /sorted and distinct/],
    ];
    for (const [input, message] of cases) {
      let error: unknown;
      try {
        decodeSketch(input);
      } catch (err) {
        error = err;
      }
      expect(isSealdropError(error) && error.code, input.slice(0, 40)).toBe('SKETCH_INVALID');
      expect((error as Error).message).toMatch(message);
    }
  });

  it('refuses a key of the wrong length', () => {
    expect(() => new Sketcher(new Uint8Array(16))).toThrow(/32 bytes/);
  });
});

function chunked(values: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i < values.length; i += 8) out.push(Buffer.from(values.subarray(i, i + 8)).toString('hex'));
  return out;
}
