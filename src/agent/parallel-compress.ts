// pigz-style compression on every core: the input is cut into fixed-size blocks, each compressed on its
// own in libuv's threadpool (zlib's async API) into a complete gzip member or zstd frame, and those are
// emitted in input order. Concatenated members are one valid gzip stream (RFC 1952 §2.2), concatenated
// frames one valid zstd stream (RFC 8878 §3.1): gunzip and zstd -d read them all. Memory is bounded: at
// most `maxInFlight` blocks are waiting, being compressed or waiting their turn to be emitted, and the
// writer is held back until one leaves.
import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import { constants, createGzip, type Deflate } from 'node:zlib';
import { requireZstd } from '../core/compression.js';

export interface ParallelCompressOptions {
  format: 'gzip' | 'zstd';
  /** gzip: 1 (fast) to 9 (small); zstd: 1 to 19. */
  level: number;
  /** Uncompressed bytes per member or frame. Larger loses less ratio, smaller spreads better. */
  blockBytes?: number;
  /** Blocks compressed at the same time; default one per core, leaving threadpool room for file I/O. */
  workers?: number;
  /** Blocks held at most (queued, compressing, or done and waiting for order); default workers + 1. */
  maxInFlight?: number;
}

export const DEFAULT_BLOCK_BYTES = 1 << 20;
/** zlib's output buffer size: members are slices of it, emitted as they are (no copy). */
const OUTPUT_CHUNK_BYTES = 256 * 1024;

/**
 * One compression per core plus one, so the cores stay busy while the main thread encrypts or a block
 * waits for its turn; but never the whole libuv threadpool (UV_THREADPOOL_SIZE: libuv's default is 4,
 * the executable makes it cores + 2): stdin read from a file and the spool's writes queue there too,
 * and starving them stalls the input.
 */
export function defaultWorkers(): number {
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(1, Math.min(availableParallelism() + 1, pool - 1));
}

/**
 * One long-lived compression stream that makes a complete gzip member or zstd frame per call: a flush
 * with the end flag ends it (gzip then needs reset() to start the next member; zstd starts the next
 * frame by itself), so the compressor is set up once per worker, not once per block, and the output is
 * sliced from zlib's shared buffers instead of one block-sized buffer per member.
 */
class MemberEngine {
  // Node's reset() belongs to every zlib stream; @types/node only declares it on Deflate and Inflate.
  readonly #stream: Transform & Partial<Pick<Deflate, 'reset'>>;
  readonly #endFlag: number;
  readonly #reset: boolean;
  #output: Buffer[] = [];

  constructor(format: 'gzip' | 'zstd', level: number, blockBytes: number) {
    if (format === 'gzip') {
      // memLevel 9: a larger hash table than zlib's default 8; measured 5–9% faster at level 6, no larger.
      this.#stream = createGzip({ level, memLevel: 9, chunkSize: OUTPUT_CHUNK_BYTES });
      this.#endFlag = constants.Z_FINISH;
      this.#reset = true;
    } else {
      const zstd = requireZstd('zstd');
      // Every frame carries a checksum of its content, as every gzip member carries a CRC. A window no
      // larger than a block loses nothing (frames are independent) and halves each worker's memory.
      this.#stream = zstd.createZstdCompress({
        chunkSize: OUTPUT_CHUNK_BYTES,
        params: {
          [zstd.constants.ZSTD_c_compressionLevel]: level,
          [zstd.constants.ZSTD_c_checksumFlag]: 1,
          [zstd.constants.ZSTD_c_windowLog]: Math.max(10, Math.ceil(Math.log2(blockBytes))),
        },
      });
      this.#endFlag = zstd.constants.ZSTD_e_end;
      this.#reset = false;
    }
    this.#stream.on('data', (chunk: Buffer) => this.#output.push(chunk));
  }

  compress(block: Buffer): Promise<Buffer[]> {
    const stream = this.#stream as Transform & Pick<Deflate, 'flush'>;
    return new Promise((resolve, reject) => {
      stream.once('error', reject);
      stream.write(block);
      stream.flush(this.#endFlag, () => {
        stream.off('error', reject);
        // The member's output is pushed before the flush completes; a failure calls back too.
        if (stream.destroyed) return reject(stream.errored ?? new Error('compression closed'));
        if (this.#reset) this.#stream.reset?.();
        resolve(this.#output.splice(0));
      });
    });
  }

  close(): void {
    this.#stream.destroy();
  }
}

interface Job {
  /** The member, once compressed. */
  output: Buffer[] | null;
}

export function parallelCompress(options: ParallelCompressOptions): Transform {
  const blockBytes = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
  const workers = options.workers ?? defaultWorkers();
  const maxInFlight = options.maxInFlight ?? workers + 1;
  for (const [name, value] of Object.entries({ blockBytes, workers, maxInFlight })) {
    if (!(Number.isInteger(value) && value > 0)) throw new RangeError(`parallelCompress: ${name} ${value}`);
  }
  const idle = Array.from(
    { length: workers },
    () => new MemberEngine(options.format, options.level, blockBytes),
  );
  const engines = [...idle];
  /** Blocks of ours to copy input into, back from compression: input costs no new memory per block. */
  const spareBlocks: Buffer[] = [];

  let block: Buffer | null = null;
  let blockUsed = 0;
  let inputBytes = 0;
  /** Every block held, in input order. */
  const queue: Job[] = [];
  /** Blocks waiting for an engine; `owned` ones go back to spareBlocks once compressed. */
  const waiting: { job: Job; input: Buffer; owned: boolean }[] = [];
  let failure: Error | null = null;
  /** Called when the queue has room again (or something failed). */
  let wakeWriter: (() => void) | null = null;

  const stage = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      inputBytes += chunk.length;
      let offset = 0;
      while (offset < chunk.length) {
        if (blockUsed === 0 && chunk.length - offset >= blockBytes) {
          // A whole block inside the chunk: compress a view of it, no copy.
          start(chunk.subarray(offset, offset + blockBytes), false);
          offset += blockBytes;
          continue;
        }
        block ??= spareBlocks.pop() ?? Buffer.allocUnsafe(blockBytes);
        const copied = chunk.copy(
          block,
          blockUsed,
          offset,
          Math.min(chunk.length, offset + blockBytes - blockUsed),
        );
        blockUsed += copied;
        offset += copied;
        if (blockUsed === blockBytes) {
          start(block, true);
          block = null;
          blockUsed = 0;
        }
      }
      whenRoom(() => queue.length < maxInFlight, callback);
    },
    flush(callback: TransformCallback) {
      // An empty input still makes a valid (empty) stream, as a single gzip or zstd would.
      if (blockUsed > 0 || inputBytes === 0)
        start(block ? block.subarray(0, blockUsed) : Buffer.alloc(0), false);
      block = null;
      blockUsed = 0;
      whenRoom(() => queue.length === 0, callback);
    },
    // Also at the normal end (autoDestroy): frees the engines' native deflate state.
    destroy(error, callback) {
      failure ??= error ?? new Error('destroyed');
      queue.length = 0;
      waiting.length = 0;
      for (const engine of engines) engine.close();
      wake();
      callback(error);
    },
  });

  function start(input: Buffer, owned: boolean): void {
    const job: Job = { output: null };
    queue.push(job);
    waiting.push({ job, input, owned });
    runWaiting();
  }

  function runWaiting(): void {
    while (idle.length > 0 && waiting.length > 0 && !failure) {
      const { job, input, owned } = waiting.shift()!;
      const engine = idle.pop()!;
      engine.compress(input).then(
        (output) => {
          idle.push(engine);
          if (owned) spareBlocks.push(input);
          job.output = output;
          runWaiting();
          emitReady();
        },
        (error: Error) => stage.destroy(error), // fails the pipeline now, even while the writer is idle
      );
    }
  }

  /** Emits finished members from the head of the queue, in input order. */
  function emitReady(): void {
    while (!failure && queue.length > 0 && queue[0]!.output) {
      for (const chunk of queue.shift()!.output!) stage.push(chunk);
    }
    wake();
  }

  function wake(): void {
    const resume = wakeWriter;
    wakeWriter = null;
    resume?.();
  }

  /** Calls back once `ready()` holds (re-checked whenever a block finishes), or with the failure. */
  function whenRoom(ready: () => boolean, callback: TransformCallback): void {
    const check = () => {
      if (failure) return callback(failure);
      if (ready()) return callback();
      wakeWriter = check;
    };
    check();
  }

  return stage;
}
