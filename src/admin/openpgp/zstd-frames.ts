// zstd's framing (RFC 8878 §3.1), read only far enough to find where each frame ends: headers only
// (at most 18 bytes are held back), block contents pass through untouched. Two uses:
// - Node's streaming zstd decoder stops at the end of the first frame of a write that holds more
//   (nodejs/node#64741) and drops the rest without an error; cutting the writes at frame ends keeps
//   every frame.
// - push writes an independent frame per 1 MiB block, so restore decodes two frames at once on
//   libuv's threadpool, as push encoded them, instead of one after the other in one decoder.
import { Transform, type TransformCallback } from 'node:stream';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { ZstdBinding } from '../../core/compression.js';

const FRAME_MAGIC = 0xfd2fb528;
/** Skippable frames: magic 0x184D2A50 to 0x184D2A5F, then a 4-byte length. */
const SKIPPABLE_MAGIC = 0x184d2a50;

type Next = 'magic' | 'frame header' | 'block header' | 'frame end';

/** Where frames end in a zstd stream fed in pieces of any size. */
export class ZstdFrameEnds {
  /** Stream offset of the next structure to read, and what it is. */
  #nextAt = 0;
  #next: Next = 'magic';
  #checksumBytes = 0;
  /** Bytes fed so far. */
  #fed = 0;
  /** The start of a structure not yet whole (at most 18 bytes), from stream offset #nextAt. */
  #carry = Buffer.alloc(0);

  /** True between frames: the stream may end here. */
  get atFrameEnd(): boolean {
    return this.#next === 'magic' && this.#carry.length === 0;
  }

  /** The offsets in `chunk` just past each frame that ends in it; throws on what is not zstd. */
  feed(chunk: Buffer): number[] {
    const chunkAt = this.#fed;
    this.#fed += chunk.length;
    const data = this.#carry.length > 0 ? Buffer.concat([this.#carry, chunk]) : chunk;
    const dataAt = this.#fed - data.length;
    const ends: number[] = [];
    for (;;) {
      while (this.#step(data, this.#nextAt - dataAt));
      if (this.#next !== 'frame end' || this.#nextAt > this.#fed) break;
      ends.push(this.#nextAt - chunkAt);
      this.#next = 'magic';
    }
    this.#carry =
      this.#nextAt < this.#fed ? Buffer.from(data.subarray(this.#nextAt - dataAt)) : Buffer.alloc(0);
    return ends;
  }

  /** Reads the structure at `at` in `data` if it is whole there; false if not yet. */
  #step(data: Buffer, at: number): boolean {
    const has = (n: number) => data.length >= at + n;
    switch (this.#next) {
      case 'magic': {
        if (!has(4)) return false;
        const magic = data.readUInt32LE(at);
        if (magic === FRAME_MAGIC) {
          this.#nextAt += 4;
          this.#next = 'frame header';
          return true;
        }
        if ((magic & 0xfffffff0) >>> 0 !== SKIPPABLE_MAGIC)
          throw zstdError('the data goes on after the last zstd frame with something that is not zstd');
        if (!has(8)) return false;
        this.#nextAt += 8 + data.readUInt32LE(at + 4);
        this.#next = 'frame end';
        return true;
      }
      case 'frame header': {
        if (!has(1)) return false;
        const descriptor = data[at]!;
        const singleSegment = (descriptor >> 5) & 1;
        this.#checksumBytes = (descriptor >> 2) & 1 ? 4 : 0;
        const windowBytes = singleSegment ? 0 : 1;
        const dictionaryBytes = [0, 1, 2, 4][descriptor & 3]!;
        const contentSizeBytes = [singleSegment, 2, 4, 8][descriptor >> 6]!;
        this.#nextAt += 1 + windowBytes + dictionaryBytes + contentSizeBytes;
        this.#next = 'block header';
        return true;
      }
      case 'block header': {
        if (!has(3)) return false;
        const header = data.readUIntLE(at, 3);
        const type = (header >> 1) & 3;
        if (type === 3) throw zstdError('a zstd block has the reserved block type');
        this.#nextAt += 3 + (type === 1 ? 1 : header >> 3); // RLE blocks hold one byte
        if (header & 1) {
          this.#nextAt += this.#checksumBytes;
          this.#next = 'frame end';
        }
        return true;
      }
      case 'frame end':
        return false;
    }
  }
}

export interface ZstdDecoderOptions {
  /**
   * Frames decoded at the same time. Two keep the main thread (download and decryption) the limit; more
   * hold more buffers, and V8 then collects its whole heap every few MiB (measured at 6: 1.5x the CPU).
   */
  inFlight?: number;
  /** A frame larger than this, stored, is decoded as a stream, as is all that follows it. */
  maxFrameBytes?: number;
  /** A frame that decodes to more than this is decoded again as a stream, as is all that follows it. */
  maxFrameOutput?: number;
}

/** Output buffers of the decoders, as restore's other stages use (1 MiB ones cost more CPU, in GC). */
const OUTPUT_CHUNK_BYTES = 256 * 1024;

/**
 * One long-lived streaming decoder fed one whole frame per write: set up once, not once per frame (zlib's
 * one-shot call makes a decoder and its window per frame: a third more CPU, in page faults).
 */
class FrameEngine {
  readonly #stream: Transform;
  #output: Buffer[] = [];
  #outputBytes = 0;

  constructor(zstd: ZstdBinding, maxOutput: number) {
    this.#stream = zstd.createZstdDecompress({ chunkSize: OUTPUT_CHUNK_BYTES });
    this.#stream.on('error', () => {}); // a decode's own listener reports it
    this.#stream.on('data', (chunk: Buffer) => {
      this.#output.push(chunk);
      this.#outputBytes += chunk.length;
      if (this.#outputBytes > maxOutput) this.#stream.destroy();
    });
  }

  /** The frame's content, or null when it decodes to more than maxOutput (the engine is then closed). */
  decode(frame: Buffer): Promise<Buffer[] | null> {
    const stream = this.#stream;
    return new Promise((resolve, reject) => {
      // A damaged frame fails the stream, and its write never calls back.
      stream.once('error', reject);
      stream.write(frame, () => {
        stream.off('error', reject);
        const output = this.#output.splice(0);
        this.#outputBytes = 0;
        if (stream.errored) reject(stream.errored);
        else resolve(stream.destroyed ? null : output);
      });
    });
  }

  get usable(): boolean {
    return !this.#stream.destroyed;
  }

  close(): void {
    this.#stream.destroy();
  }
}

/**
 * A zstd decoder that decodes whole frames several at a time on the threadpool and emits their content in
 * order. Memory stays bounded by `inFlight` frames of at most `maxFrameBytes` each, decoding to at most
 * `maxFrameOutput`: the first frame larger than that (the stock zstd tool writes one frame for all its
 * input) switches the rest of the stream to one streaming decoder, written one frame at a time.
 */
export function zstdDecoder(zstd: ZstdBinding, options: ZstdDecoderOptions = {}): Transform {
  const inFlight = options.inFlight ?? 2;
  const maxFrameBytes = options.maxFrameBytes ?? 4 << 20;
  const maxFrameOutput = options.maxFrameOutput ?? 8 << 20;
  const frames = new ZstdFrameEnds();
  /** The frame being gathered. */
  let pieces: Buffer[] = [];
  /** Frames being decoded, in stream order; an output of null: too large, stream from there on. */
  const decoding: { frame: Buffer; output: Promise<Buffer[] | null> }[] = [];
  const engines: FrameEngine[] = [];
  const idle: FrameEngine[] = [];
  /** Once a frame was too large: the streaming decoder everything goes to, and its own framing. */
  let streaming: { decoder: Transform; frames: ZstdFrameEnds } | null = null;

  function decode(frame: Buffer): Promise<Buffer[] | null> {
    let engine = idle.pop();
    if (!engine) engines.push((engine = new FrameEngine(zstd, maxFrameOutput)));
    const output = engine.decode(frame);
    output.then(
      () => engine.usable && idle.push(engine),
      () => {}, // awaited in order later, or never once an earlier frame failed
    );
    return output;
  }

  /** Writes to the streaming decoder, cut at frame ends (see ZstdFrameEnds). */
  async function toStream(data: Buffer): Promise<void> {
    if (!streaming) {
      const decoder = zstd.createZstdDecompress({ chunkSize: OUTPUT_CHUNK_BYTES });
      decoder.on('error', () => {}); // seen as decoder.errored, by once() or by finished()
      decoder.on('data', (output: Buffer) => {
        if (!stage.push(output)) decoder.pause(); // resumed by stage's read()
      });
      streaming = { decoder, frames: new ZstdFrameEnds() };
    }
    const { decoder } = streaming;
    let from = 0;
    for (const end of [...streaming.frames.feed(data), data.length]) {
      if (end === from) continue;
      if (decoder.errored) throw decoder.errored;
      if (!decoder.write(data.subarray(from, end))) await once(decoder, 'drain');
      from = end;
    }
  }

  /** Emits the oldest frame's content, or hands it and all after it to the streaming decoder. */
  async function emitOldest(): Promise<void> {
    const { frame, output } = decoding.shift()!;
    const decoded = await output;
    if (decoded) {
      for (const chunk of decoded) stage.push(chunk);
      return;
    }
    const rest = [frame, ...decoding.splice(0).map((job) => job.frame), ...pieces.splice(0)];
    for (const data of rest) await toStream(data);
  }

  /** Emits the frames held, then streams `data`: what comes after is streamed too. */
  async function streamFrom(...data: Buffer[]): Promise<void> {
    while (decoding.length > 0 && !streaming) await emitOldest();
    for (const piece of data) await toStream(piece);
  }

  async function take(chunk: Buffer): Promise<void> {
    if (streaming) return toStream(chunk);
    let from = 0;
    for (const end of frames.feed(chunk)) {
      pieces.push(chunk.subarray(from, end));
      from = end;
      const frame = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
      pieces = [];
      if (frame.length > maxFrameBytes) return streamFrom(frame, chunk.subarray(from));
      if (decoding.length >= inFlight) await emitOldest();
      if (streaming) return streamFrom(frame, chunk.subarray(from));
      decoding.push({ frame, output: decode(frame) });
    }
    if (from < chunk.length) pieces.push(chunk.subarray(from));
    if (pieces.reduce((sum, piece) => sum + piece.length, 0) > maxFrameBytes)
      await streamFrom(Buffer.concat(pieces.splice(0)));
  }

  async function finish(): Promise<void> {
    while (decoding.length > 0 && !streaming) await emitOldest();
    if (streaming) {
      streaming.decoder.end();
      await finished(streaming.decoder);
    }
    if (!(streaming?.frames ?? frames).atFrameEnd) throw truncated();
  }

  const stage = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      take(chunk).then(() => callback(), callback);
    },
    flush(callback: TransformCallback) {
      finish().then(() => callback(), callback);
    },
    // The streaming decoder pauses while this stage's output is full; reading resumes it.
    read(size: number) {
      streaming?.decoder.resume();
      Transform.prototype._read.call(this, size);
    },
    destroy(error, callback) {
      for (const engine of engines) engine.close();
      streaming?.decoder.destroy();
      callback(error);
    },
  });
  return stage;
}

function truncated(): Error {
  return zstdError('the zstd data ends in the middle of a frame: it is truncated');
}

function zstdError(message: string): Error {
  return Object.assign(new Error(message), { code: 'ZSTD_error_framing' });
}
