// The chunking OpenPGP.js is fed on both sides: at least 256 KiB, in order, no byte lost.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { OPENPGP_CHUNK_BYTES, rechunk, rechunker } from '../../src/core/openpgp-chunks.js';

async function regroup(chunks: Buffer[]): Promise<Buffer[]> {
  async function* source() {
    yield* chunks;
  }
  const out: Buffer[] = [];
  for await (const chunk of rechunk(source())) out.push(chunk);
  return out;
}

function bytes(length: number, seed: number): Buffer {
  return Buffer.from(Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff));
}

describe('rechunk', () => {
  it('groups HTTP-sized chunks into chunks of at least 256 KiB, the rest last', async () => {
    const input = Array.from({ length: 9 }, (_, i) => bytes(64 * 1024 + i, i));
    const out = await regroup(input);
    expect(out.map((chunk) => chunk.length >= OPENPGP_CHUNK_BYTES)).toEqual([true, true, false]);
    expect(Buffer.concat(out).equals(Buffer.concat(input))).toBe(true);
  });

  it('passes a large chunk through as it is, without copying it', async () => {
    const large = bytes(OPENPGP_CHUNK_BYTES + 1, 7);
    const out = await regroup([large]);
    expect(out).toHaveLength(1);
    expect(out[0]).toBe(large);
  });

  it('yields nothing for an empty stream', async () => {
    expect(await regroup([])).toEqual([]);
  });

  it('works as a pipeline() stage (which passes it a second argument), chunk by chunk', async () => {
    const sizes: number[] = [];
    await pipeline(
      Readable.from(Array.from({ length: 12 }, (_, i) => bytes(64 * 1024, i))),
      rechunk,
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          sizes.push(chunk.length);
          callback();
        },
      }),
    );
    expect(sizes).toEqual([OPENPGP_CHUNK_BYTES, OPENPGP_CHUNK_BYTES, OPENPGP_CHUNK_BYTES]);
  });

  it('gathers to another size with rechunker()', async () => {
    const out: Buffer[] = [];
    for await (const chunk of rechunker(10)(
      Readable.from([bytes(4, 1), bytes(4, 2), bytes(4, 3), bytes(20, 4)]),
    ))
      out.push(chunk);
    expect(out.map((chunk) => chunk.length)).toEqual([12, 20]);
  });
});
