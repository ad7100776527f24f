// zstd's framing: where frames end in a stream cut anyhow, and the decoder that decodes push's frames
// several at a time and streams frames too large for that (the stock tool's one frame for everything).
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { ZstdFrameEnds, zstdDecoder, type ZstdDecoderOptions } from '../../src/admin/openpgp/zstd-frames.js';
import { zstdBinding, type ZstdBinding } from '../../src/core/compression.js';
import { run } from '../support/cli.js';

async function zstdTool(args: string[], input: Buffer): Promise<Buffer> {
  const result = await run('zstd', [...args, '-c'], { input });
  expect(result.status, result.stderr).toBe(0);
  return result.stdoutBytes;
}

const text = (n: number, seed = 0) =>
  Buffer.from(Array.from({ length: n }, (_, i) => `row ${i + seed} ${i * i}\n`).join(''));

/** Frames of the stock tool (content size and checksum in the headers), a skippable one among them. */
async function frames(): Promise<{ stream: Buffer; ends: number[]; content: Buffer }> {
  const skippable = Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0]), Buffer.from('abc')]);
  const contents = [text(20_000), Buffer.alloc(0), text(5), text(30_000, 7), text(900, 3), text(4000, 1)];
  const parts = [
    await zstdTool(['-3', '--check'], contents[0]!),
    skippable,
    await zstdTool(['-1', '--no-check'], contents[2]!),
    await zstdTool(['-9'], contents[3]!),
    await zstdTool(['-3', '--check'], contents[4]!),
    await zstdTool(['-3', '--check'], contents[5]!),
  ];
  const ends: number[] = [];
  let end = 0;
  for (const part of parts) ends.push((end += part.length));
  return { stream: Buffer.concat(parts), ends, content: Buffer.concat(contents) };
}

function cut(stream: Buffer, chunk: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < stream.length; at += chunk) chunks.push(stream.subarray(at, at + chunk));
  return chunks;
}

describe('ZstdFrameEnds', () => {
  it('finds every frame end however the stream is cut, and only those', async () => {
    const { stream, ends } = await frames();
    for (const chunk of [1, 5, 13, 4096, 65_536, stream.length]) {
      const finder = new ZstdFrameEnds();
      const found: number[] = [];
      let at = 0;
      for (const piece of cut(stream, chunk)) {
        for (const end of finder.feed(piece)) {
          expect(end).toBeGreaterThan(0);
          expect(end).toBeLessThanOrEqual(piece.length);
          found.push(at + end);
        }
        at += piece.length;
        expect(finder.atFrameEnd).toBe(ends.includes(at));
      }
      expect(found, `chunk ${chunk}`).toEqual(ends);
    }
  }, 60_000);

  it('fails data that goes on with something that is not zstd, as damaged zstd', async () => {
    const { stream } = await frames();
    const finder = new ZstdFrameEnds();
    expect(() => finder.feed(Buffer.concat([stream, Buffer.from('junk!')]))).toThrow(
      expect.objectContaining({ code: 'ZSTD_error_framing', message: expect.stringMatching(/not zstd/) }),
    );
  }, 60_000);
});

const binding = zstdBinding();

/** Node's zstd, counting the decoders it makes and the most writes being decoded at once. */
function counting(zstd: ZstdBinding) {
  const counts = { decoders: 0, writes: 0, writing: 0, mostWriting: 0 };
  const counted: ZstdBinding = {
    ...zstd,
    createZstdDecompress(options) {
      counts.decoders++;
      const decoder = zstd.createZstdDecompress(options);
      const write = decoder.write.bind(decoder) as (chunk: Buffer, callback: () => void) => boolean;
      decoder.write = ((chunk: Buffer, callback?: () => void) => {
        counts.writes++;
        counts.mostWriting = Math.max(counts.mostWriting, ++counts.writing);
        return write(chunk, () => {
          counts.writing--;
          callback?.();
        });
      }) as typeof decoder.write;
      return decoder;
    },
  };
  return { counts, counted };
}

async function decode(
  zstd: ZstdBinding,
  stream: Buffer,
  chunk: number,
  options?: ZstdDecoderOptions,
): Promise<Buffer> {
  const output: Buffer[] = [];
  await pipeline(
    Readable.from(cut(stream, chunk)),
    zstdDecoder(zstd, options),
    new Writable({
      write(data: Buffer, _encoding, callback) {
        output.push(Buffer.from(data));
        callback();
      },
    }),
  );
  return Buffer.concat(output);
}

// Node.js 20 has no zstd: restore refuses it there (unseal.test.ts), so only the framing above runs.
if (binding)
  describe('zstdDecoder', () => {
    const zstd = binding;

    it('decodes whole frames several at a time and gives their content in order, however the input is cut', async () => {
      const { stream, content } = await frames();
      for (const chunk of [7, 4096, 65_536, stream.length]) {
        const { counts, counted } = counting(zstd);
        const output = await decode(counted, stream, chunk, { inFlight: 3 });
        expect(output.equals(content), `chunk ${chunk}`).toBe(true);
        // One write of a whole frame each, to at most 3 decoders, all 3 busy when the frames come at once.
        expect(counts.writes).toBe(6);
        expect(counts.decoders).toBeLessThanOrEqual(3);
        if (chunk === stream.length) expect(counts).toMatchObject({ decoders: 3, mostWriting: 3 });
      }
    }, 60_000);

    it('streams from the first frame too large to hold, stored or decoded, to the end', async () => {
      const { stream, content, ends } = await frames();
      // The fourth frame (30 000 rows at -9) is the only one over 150 000 bytes stored.
      const sizes = ends.map((end, i) => end - (ends[i - 1] ?? 0));
      expect(sizes.map((size) => size > 150_000)).toEqual([false, false, false, true, false, false]);
      for (const chunk of [7, 4096, stream.length]) {
        const { counts, counted } = counting(zstd);
        const output = await decode(counted, stream, chunk, { inFlight: 2, maxFrameBytes: 150_000 });
        expect(output.equals(content), `chunk ${chunk}`).toBe(true);
        // Two frame decoders, then one streaming decoder for the large frame and the two after it.
        if (chunk === stream.length) expect(counts).toMatchObject({ decoders: 3 });
        expect(counts.writes).toBeGreaterThan(5);
      }
      // A frame that decodes to more than allowed (a decompression bomb looks like this) is streamed again.
      const bomb = await zstdTool(['-19', '--check'], Buffer.alloc(4 << 20));
      expect(bomb.length).toBeLessThan(1000);
      const { counts, counted } = counting(zstd);
      const input = Buffer.concat([stream, bomb, stream]);
      const output = await decode(counted, input, input.length, { inFlight: 2, maxFrameOutput: 1 << 20 });
      expect(output.equals(Buffer.concat([content, Buffer.alloc(4 << 20), content]))).toBe(true);
      // The engine that met the bomb is closed; the bomb and all after it go to one streaming decoder.
      expect(counts.decoders).toBe(3);
    }, 60_000);

    it('fails damaged, truncated and trailing data as damaged zstd, held or streamed', async () => {
      const { stream } = await frames();
      const damaged = Buffer.from(stream);
      damaged[stream.length - 2]! ^= 0xff; // the last frame's checksum
      for (const options of [{}, { maxFrameBytes: 100 }]) {
        await expect(decode(zstd, damaged, 4096, options)).rejects.toMatchObject({
          code: expect.stringMatching(/^ZSTD_error_checksum/),
        });
        await expect(
          decode(zstd, stream.subarray(0, stream.length - 3), 4096, options),
        ).rejects.toMatchObject({
          code: 'ZSTD_error_framing',
          message: expect.stringMatching(/truncated/),
        });
        await expect(
          decode(zstd, Buffer.concat([stream, Buffer.from('junk!')]), 4096, options),
        ).rejects.toMatchObject({ code: 'ZSTD_error_framing', message: expect.stringMatching(/not zstd/) });
      }
    }, 60_000);
  });
