// The pigz-style compression stage: concatenated gzip members or zstd frames, input order, bounded memory.
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parallelCompress, type ParallelCompressOptions } from '../../src/agent/parallel-compress.js';
import { zstdBinding } from '../../src/core/compression.js';
import { run } from '../support/cli.js';

type GzipOptions = Omit<ParallelCompressOptions, 'format'> & { format?: 'gzip' | 'zstd' };
const parallelGzip = (options: GzipOptions) => parallelCompress({ format: 'gzip', ...options });

/** Compressible, but different in every block, so a reordered member would show. */
function sqlLike(bytes: number): Buffer {
  const lines: string[] = [];
  let length = 0;
  for (let i = 0; length < bytes; i++) {
    const line = `INSERT INTO t VALUES (${i},'customer-${(i * 7919) % 100_003}','${randomBytes(4).toString('hex')}');\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

/** Feeds `input` in chunks of the given sizes (cycled) and collects the output. */
async function compress(input: Buffer, options: GzipOptions, chunkSizes = [65_536]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let offset = 0, i = 0; offset < input.length; i++) {
    const size = chunkSizes[i % chunkSizes.length]!;
    chunks.push(input.subarray(offset, offset + size));
    offset += size;
  }
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks),
    parallelGzip(options),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(out);
}

/** gzip member headers as Node writes them (no name, no mtime): one per member. */
function countMembers(gz: Buffer): number {
  const header = gzipSync(Buffer.alloc(0)).subarray(0, 10);
  let count = 0;
  for (let at = gz.indexOf(header); at !== -1; at = gz.indexOf(header, at + 1)) count++;
  return count;
}

describe('parallelGzip', () => {
  const block = 64 * 1024;

  it.each([
    ['one byte', 1],
    ['a block less one', block - 1],
    ['exactly one block', block],
    ['a block and one byte', block + 1],
    ['many blocks and a bit', 37 * block + 1234],
  ])('round-trips %s through stock gunzip, in order', async (_name, size) => {
    const input = sqlLike(size);
    for (const chunkSizes of [[65_536], [1, 4096, 100_000, 7], [3 * block]]) {
      const output = await compress(
        input,
        { level: 6, blockBytes: block, workers: 2, maxInFlight: 3 },
        chunkSizes,
      );
      expect(gunzipSync(output).equals(input)).toBe(true);
      expect(countMembers(output)).toBe(Math.ceil(size / block));
    }
  });

  it('turns empty input into a valid empty gzip stream', async () => {
    const output = await compress(Buffer.alloc(0), { level: 6 });
    expect(output.length).toBeGreaterThan(0);
    expect(gunzipSync(output).length).toBe(0);
  });

  it('honours the level', async () => {
    const input = sqlLike(8 * block);
    const fast = await compress(input, { level: 1, blockBytes: block });
    const small = await compress(input, { level: 9, blockBytes: block });
    expect(small.length).toBeLessThan(fast.length);
    expect(gunzipSync(fast).equals(input)).toBe(true);
  });

  it('costs little ratio against one gzip stream at 1 MiB blocks', async () => {
    const input = sqlLike(8 << 20);
    const parallel = await compress(input, { level: 6 });
    const single = gzipSync(input, { level: 6 });
    expect(countMembers(parallel)).toBe(8);
    expect(parallel.length / single.length).toBeLessThan(1.01);
  }, 60_000);

  it('holds the writer back while the reader is slow: memory stays bounded', async () => {
    const options = { level: 1, blockBytes: block, workers: 2, maxInFlight: 3 };
    const blocks = 48;
    const data = sqlLike(block);
    // Every block is the same, so every member is as long as this one.
    const memberBytes = (await compress(data, options)).length;
    let produced = 0;
    let consumedBytes = 0;
    let worstAhead = 0;
    async function* source() {
      for (let i = 0; i < blocks * 4; i++) {
        produced += block / 4;
        worstAhead = Math.max(worstAhead, produced - Math.floor(consumedBytes / memberBytes) * block);
        yield data.subarray((i % 4) * (block / 4), ((i % 4) + 1) * (block / 4));
      }
    }
    await pipeline(
      Readable.from(source(), { highWaterMark: 1 }),
      parallelGzip(options),
      new Writable({
        highWaterMark: 1,
        write(chunk: Buffer, _encoding, callback) {
          consumedBytes += chunk.length;
          setTimeout(callback, 2);
        },
      }),
    );
    expect(consumedBytes).toBe(blocks * memberBytes);
    // In flight, plus what stream buffers hold between stages: far below the 48 blocks of input.
    expect(worstAhead).toBeLessThanOrEqual((options.maxInFlight + 6) * block);
  }, 60_000);

  it('keeps order when one worker holds many blocks, and when many workers race', async () => {
    const input = sqlLike(20 * block + 17);
    for (const [workers, maxInFlight] of [
      [1, 1],
      [1, 5],
      [4, 4],
      [8, 16],
    ] as const) {
      const output = await compress(input, { level: 6, blockBytes: block, workers, maxInFlight });
      expect(gunzipSync(output).equals(input)).toBe(true);
    }
  });

  it('fails the pipeline with the downstream error when destroyed mid-stream, and settles', async () => {
    const input = sqlLike(40 * block);
    let written = 0;
    const failing = pipeline(
      Readable.from([input]),
      parallelGzip({ level: 6, blockBytes: block, workers: 2 }),
      new Writable({
        write(_chunk: Buffer, _encoding, callback) {
          callback(++written === 3 ? new Error('disk full') : null);
        },
      }),
    );
    await expect(failing).rejects.toThrow('disk full');
  });

  it('fails the pipeline when zlib fails', async () => {
    await expect(compress(sqlLike(3 * block), { level: 42, blockBytes: block })).rejects.toThrow(RangeError);
  });

  it('refuses nonsense sizes', () => {
    expect(() => parallelGzip({ level: 6, blockBytes: 0 })).toThrow(RangeError);
    expect(() => parallelGzip({ level: 6, maxInFlight: 0 })).toThrow(RangeError);
    expect(() => parallelGzip({ level: 6, workers: 1.5 })).toThrow(RangeError);
  });
});

const zstd = zstdBinding();
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

describe('parallelCompress with zstd', () => {
  const block = 64 * 1024;

  if (zstd) {
    it('writes one checksummed frame per block that stock zstd -d and Node read back, in order', async () => {
      const input = sqlLike(9 * block + 5);
      const output = await compress(
        input,
        { format: 'zstd', level: 3, blockBytes: block, workers: 2 },
        [1, 70_000, 4096],
      );
      let frames = 0;
      for (let at = output.indexOf(ZSTD_MAGIC); at !== -1; at = output.indexOf(ZSTD_MAGIC, at + 1)) frames++;
      expect(frames).toBe(10);
      const stock = await run('zstd', ['-d', '-c'], { input: output });
      expect(stock.status, stock.stderr).toBe(0);
      expect(stock.stdoutBytes.equals(input)).toBe(true);
      // A flipped byte in a frame's content fails its checksum.
      const damaged = Buffer.from(output);
      damaged[output.length - 10]! ^= 0x01;
      expect((await run('zstd', ['-d', '-c'], { input: damaged })).status).not.toBe(0);
    }, 60_000);

    it('costs little ratio against one zstd stream at 1 MiB blocks, and honours the level', async () => {
      const input = sqlLike(2 << 20);
      const frames = await compress(input, { format: 'zstd', level: 3 });
      const single = await run('zstd', ['-3', '-c'], { input });
      expect(frames.length / single.stdoutBytes.length).toBeLessThan(1.05);
      const small = await compress(input, { format: 'zstd', level: 12, blockBytes: block });
      expect(small.length).toBeLessThan(frames.length);
    }, 60_000);
  } else {
    it(`refuses zstd on Node.js ${process.version}, naming the version it needs`, () => {
      expect(() => parallelCompress({ format: 'zstd', level: 3 })).toThrow(
        expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/needs Node\.js 22\.15/) }),
      );
    });
  }
});
