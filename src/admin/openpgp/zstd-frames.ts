// zstd's framing (RFC 8878 §3.1), read only far enough to find where each frame ends. Node's zstd
// decoder stops at the end of the first frame of a write that holds more (nodejs/node#64741) and drops
// the rest without an error; cutting the writes at frame ends keeps every frame. Framing, not decoding:
// only headers are read (at most 18 bytes are held back), block contents pass through untouched.
import { Transform, type TransformCallback } from 'node:stream';

const FRAME_MAGIC = 0xfd2fb528;
/** Skippable frames: magic 0x184D2A50 to 0x184D2A5F, then a 4-byte length. */
const SKIPPABLE_MAGIC = 0x184d2a50;

type Next = 'magic' | 'frame header' | 'block header' | 'frame end';

/** A stage before Node's zstd decoder: no write it passes on holds the end of a frame and more. */
export function zstdFrameWrites(): Transform {
  let held = Buffer.alloc(0);
  /** Stream offset of held[0]. */
  let heldAt = 0;
  /** Stream offset of the next structure to read, and what it is. */
  let nextAt = 0;
  let next: Next = 'magic';
  let checksumBytes = 0;

  /** Reads the structure at nextAt if `data` (starting at heldAt) holds it whole; false if not yet. */
  function step(data: Buffer): boolean {
    const at = nextAt - heldAt;
    const has = (n: number) => data.length >= at + n;
    switch (next) {
      case 'magic': {
        if (!has(4)) return false;
        const magic = data.readUInt32LE(at);
        if (magic === FRAME_MAGIC) {
          nextAt += 4;
          next = 'frame header';
          return true;
        }
        if ((magic & 0xfffffff0) >>> 0 !== SKIPPABLE_MAGIC)
          throw zstdError('the data goes on after the last zstd frame with something that is not zstd');
        if (!has(8)) return false;
        nextAt += 8 + data.readUInt32LE(at + 4);
        next = 'frame end';
        return true;
      }
      case 'frame header': {
        if (!has(1)) return false;
        const descriptor = data[at]!;
        const singleSegment = (descriptor >> 5) & 1;
        checksumBytes = (descriptor >> 2) & 1 ? 4 : 0;
        const windowBytes = singleSegment ? 0 : 1;
        const dictionaryBytes = [0, 1, 2, 4][descriptor & 3]!;
        const contentSizeBytes = [singleSegment, 2, 4, 8][descriptor >> 6]!;
        nextAt += 1 + windowBytes + dictionaryBytes + contentSizeBytes;
        next = 'block header';
        return true;
      }
      case 'block header': {
        if (!has(3)) return false;
        const header = data.readUIntLE(at, 3);
        const type = (header >> 1) & 3;
        if (type === 3) throw zstdError('a zstd block has the reserved block type');
        nextAt += 3 + (type === 1 ? 1 : header >> 3); // RLE blocks hold one byte
        if (header & 1) {
          nextAt += checksumBytes;
          next = 'frame end';
        }
        return true;
      }
      case 'frame end':
        return false;
    }
  }

  const stage = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      let data = held.length > 0 ? Buffer.concat([held, chunk]) : chunk;
      try {
        for (;;) {
          while (step(data));
          if (next !== 'frame end' || nextAt > heldAt + data.length) break;
          // The whole frame is here: it ends this write; what follows starts another.
          const end = nextAt - heldAt;
          if (end > 0) stage.push(data.subarray(0, end));
          data = data.subarray(end);
          heldAt = nextAt;
          next = 'magic';
        }
        // Everything before the next header can go; the header waits until it is whole.
        const safe = Math.max(0, Math.min(data.length, nextAt - heldAt));
        if (safe > 0) stage.push(data.subarray(0, safe));
        held = Buffer.from(data.subarray(safe));
        heldAt += safe;
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      if (next !== 'magic' || held.length > 0)
        return callback(zstdError('the zstd data ends in the middle of a frame: it is truncated'));
      callback();
    },
  });
  return stage;
}

function zstdError(message: string): Error {
  return Object.assign(new Error(message), { code: 'ZSTD_error_framing' });
}
