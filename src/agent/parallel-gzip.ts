// pigz-style gzip on every core: the input is cut into fixed-size blocks, each compressed on its own in
// libuv's threadpool (zlib's async API) into a complete gzip member, and the members are emitted in input
// order. Concatenated members are one valid gzip stream (RFC 1952 §2.2): gunzip, pigz -d and Node's
// gunzip read them all. Memory is bounded: at most `maxInFlight` blocks are waiting, being compressed or
// waiting their turn to be emitted, and the writer is held back until one leaves.
import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import { gzip, type ZlibOptions } from 'node:zlib';

export interface ParallelGzipOptions {
  /** 1 (fast) to 9 (small). */
  level: number;
  /** Uncompressed bytes per gzip member. Larger loses less ratio, smaller spreads better. */
  blockBytes?: number;
  /** Blocks compressed at the same time; default one per core, leaving threadpool room for file I/O. */
  workers?: number;
  /** Blocks held at most (queued, compressing, or done and waiting for order); default workers + 1. */
  maxInFlight?: number;
}

export const DEFAULT_BLOCK_BYTES = 1 << 20;

/**
 * One compression per core plus one, so the cores stay busy while the main thread encrypts or a block
 * waits for its turn; but never the whole libuv threadpool (UV_THREADPOOL_SIZE, default 4): stdin read
 * from a file and the spool's writes queue there too, and starving them stalls the input.
 */
export function defaultWorkers(): number {
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(1, Math.min(availableParallelism() + 1, pool - 1));
}

/** One gzip member for `block`, compressed off the main thread. */
function gzipMember(block: Buffer, options: ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gzip(block, options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

interface Job {
  done: boolean;
  output?: Buffer;
}

export function parallelGzip(options: ParallelGzipOptions): Transform {
  const blockBytes = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
  const workers = options.workers ?? defaultWorkers();
  const maxInFlight = options.maxInFlight ?? workers + 1;
  for (const [name, value] of Object.entries({ blockBytes, workers, maxInFlight })) {
    if (!(Number.isInteger(value) && value > 0)) throw new RangeError(`parallelGzip: ${name} ${value}`);
  }
  // One output buffer that holds the whole member (deflate's worst case is input + 5 B per 16 KiB +
  // headers): one trip to the threadpool per block instead of one per 16 KiB of output.
  const zlibOptions: ZlibOptions = {
    level: options.level,
    chunkSize: blockBytes + (blockBytes >> 10) + 1024,
  };

  let block: Buffer | null = null;
  let blockUsed = 0;
  let inputBytes = 0;
  /** Every block held, in input order. */
  const queue: Job[] = [];
  /** Blocks waiting for a worker. */
  const waiting: { job: Job; input: Buffer }[] = [];
  let running = 0;
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
          start(chunk.subarray(offset, offset + blockBytes));
          offset += blockBytes;
          continue;
        }
        block ??= Buffer.allocUnsafe(blockBytes);
        const copied = chunk.copy(
          block,
          blockUsed,
          offset,
          Math.min(chunk.length, offset + blockBytes - blockUsed),
        );
        blockUsed += copied;
        offset += copied;
        if (blockUsed === blockBytes) {
          start(block);
          block = null;
          blockUsed = 0;
        }
      }
      whenRoom(() => queue.length < maxInFlight, callback);
    },
    flush(callback: TransformCallback) {
      // An empty input still makes a valid (empty) gzip stream, as a single gzip would.
      if (blockUsed > 0 || inputBytes === 0) start(block ? block.subarray(0, blockUsed) : Buffer.alloc(0));
      block = null;
      blockUsed = 0;
      whenRoom(() => queue.length === 0, callback);
    },
    destroy(error, callback) {
      failure ??= error ?? new Error('destroyed');
      queue.length = 0;
      waiting.length = 0;
      wake();
      callback(error);
    },
  });

  function start(input: Buffer): void {
    const job: Job = { done: false };
    queue.push(job);
    waiting.push({ job, input });
    runWaiting();
  }

  function runWaiting(): void {
    while (running < workers && waiting.length > 0 && !failure) {
      const { job, input } = waiting.shift()!;
      running++;
      gzipMember(input, zlibOptions).then(
        (output) => {
          running--;
          job.done = true;
          job.output = output;
          runWaiting();
          emitReady();
        },
        (error: Error) => {
          running--;
          stage.destroy(error); // fails the pipeline now, even while the writer is idle
        },
      );
    }
  }

  /** Emits finished members from the head of the queue, in input order. */
  function emitReady(): void {
    while (!failure && queue.length > 0 && queue[0]!.done) {
      stage.push(queue.shift()!.output);
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
