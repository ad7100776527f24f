// Cutting a zstd stream into writes at frame ends (Node's decoder drops frames after the first of a write).
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { zstdFrameWrites } from '../../src/admin/openpgp/zstd-frames.js';
import { run } from '../support/cli.js';

async function zstd(args: string[], input: Buffer): Promise<Buffer> {
  const result = await run('zstd', [...args, '-c'], { input });
  expect(result.status, result.stderr).toBe(0);
  return result.stdoutBytes;
}

/** Three frames of the stock tool (content size and checksum in the headers), a skippable one between. */
async function frames(): Promise<{ stream: Buffer; ends: number[] }> {
  const text = (n: number) =>
    Buffer.from(Array.from({ length: n }, (_, i) => `row ${i} ${i * i}\n`).join(''));
  const skippable = Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0]), Buffer.from('abc')]);
  const parts = [
    await zstd(['-3', '--check'], text(20_000)),
    skippable,
    await zstd(['-1', '--no-check'], text(5)),
    await zstd(['-9'], text(30_000)),
  ];
  const ends: number[] = [];
  let end = 0;
  for (const part of parts) ends.push((end += part.length));
  return { stream: Buffer.concat(parts), ends };
}

async function writesOf(stream: Buffer, chunk: number): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for (let at = 0; at < stream.length; at += chunk) chunks.push(stream.subarray(at, at + chunk));
  const writes: Buffer[] = [];
  await pipeline(
    Readable.from(chunks),
    zstdFrameWrites(),
    new Writable({
      write(data: Buffer, _encoding, callback) {
        writes.push(Buffer.from(data));
        callback();
      },
    }),
  );
  return writes;
}

describe('zstdFrameWrites', () => {
  it('passes every byte on, and no write holds the end of a frame and more, however the input is cut', async () => {
    const { stream, ends } = await frames();
    for (const chunk of [5, 13, 4096, 65_536, stream.length]) {
      const writes = await writesOf(stream, chunk);
      expect(Buffer.concat(writes).equals(stream)).toBe(true);
      let offset = 0;
      for (const write of writes) {
        const inside = ends.filter((end) => end > offset && end < offset + write.length);
        expect(inside, `chunk ${chunk}, write at ${offset}`).toEqual([]);
        offset += write.length;
      }
    }
  }, 60_000);

  it('fails truncated data and data that goes on with something else, as damaged zstd', async () => {
    const { stream } = await frames();
    await expect(writesOf(stream.subarray(0, stream.length - 3), 4096)).rejects.toMatchObject({
      code: 'ZSTD_error_framing',
      message: expect.stringMatching(/truncated/),
    });
    await expect(writesOf(Buffer.concat([stream, Buffer.from('junk!')]), 4096)).rejects.toMatchObject({
      code: 'ZSTD_error_framing',
      message: expect.stringMatching(/not zstd/),
    });
  }, 60_000);
});
