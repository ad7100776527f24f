// OpenPGP's packet framing (RFC 4880 §4.2), regrouped before OpenPGP.js reads it. GnuPG writes the
// encrypted data packet in 8 KiB partial body chunks, and OpenPGP.js's cost is per chunk: an object made
// by `gpg --encrypt` restored 3-4x slower than one made by push. The same body in 256 KiB partial chunks
// is the same message, byte for byte once the framing is taken off. Framing only: no byte of any packet
// body is read or changed, and headers of other forms pass through as they are.
import { OPENPGP_CHUNK_BYTES } from '../core/openpgp-chunks.js';

/** 2^18: partial body lengths are powers of two (RFC 4880 §4.2.2.4). */
const PARTIAL_BYTES = OPENPGP_CHUNK_BYTES;
const PARTIAL_OCTET = 0xe0 | Math.log2(PARTIAL_BYTES);

/** Re-emits `source` with every new-format partial-length body in 256 KiB partial chunks. */
export async function* regroupPartialBodies(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const input = new ByteReader(source);
  for (;;) {
    const tag = await input.take(1);
    if (tag === null) return;
    const octet = tag[0]!;
    if ((octet & 0xc0) === 0x80 && (octet & 3) !== 3) {
      // An old-format header with a definite length (GnuPG writes its session key packets so).
      const size = [1, 2, 4][octet & 3]!;
      const length = await input.take(size);
      if (length === null) {
        yield tag;
        return;
      }
      yield Buffer.concat([tag, length]);
      yield* input.pass(length.readUIntBE(0, size));
      continue;
    }
    if ((octet & 0xc0) !== 0xc0) {
      // Old format to the end of the data, or not OpenPGP at all: leave the rest as it is.
      yield tag;
      yield* input.rest();
      return;
    }
    const first = await readLength(input);
    if (first === null) {
      yield tag;
      yield* input.rest(); // a header cut short: OpenPGP.js says what is wrong with it
      return;
    }
    if (!first.partial) {
      yield Buffer.concat([tag, first.header]);
      yield* input.pass(first.length);
      continue;
    }
    yield* regroupBody(input, tag, first);
  }
}

/**
 * One partial-length body: pieces of 256 KiB or more pass as they are (push writes those); smaller ones
 * are gathered into 256 KiB partial chunks while more is known to follow, and the rest ends the body.
 */
async function* regroupBody(input: ByteReader, tag: Buffer, first: Length): AsyncGenerator<Buffer> {
  const pending: Buffer[] = [];
  let pendingBytes = 0;
  let prefix: Buffer | null = tag;
  const header = (octets: Buffer): Buffer => {
    const out = prefix ? Buffer.concat([prefix, octets]) : octets;
    prefix = null;
    return out;
  };
  /** One output buffer: the header, then `length` bytes taken from the front of the pending pieces. */
  const emit = function* (length: number, octets: Buffer): Generator<Buffer> {
    const head = header(octets);
    const out = Buffer.allocUnsafe(head.length + length);
    head.copy(out);
    let at = head.length;
    while (at < out.length) {
      const piece = pending[0]!;
      const used = piece.copy(out, at, 0, Math.min(piece.length, out.length - at));
      at += used;
      if (used === piece.length) pending.shift();
      else pending[0] = piece.subarray(used);
    }
    pendingBytes -= length;
    yield out;
  };
  for (let piece = first; ;) {
    if (pendingBytes === 0 && (piece.length >= PARTIAL_BYTES || !piece.partial)) {
      yield header(piece.header);
      yield* input.pass(piece.length);
    } else {
      const bytes = await input.take(piece.length);
      if (bytes === null) throw truncated();
      pending.push(bytes);
      pendingBytes += bytes.length;
    }
    if (!piece.partial) break;
    const next = await readLength(input);
    if (next === null) throw truncated();
    piece = next;
    // More is known to follow: whole chunks can go now.
    while (pendingBytes >= PARTIAL_BYTES) yield* emit(PARTIAL_BYTES, Buffer.from([PARTIAL_OCTET]));
  }
  while (pendingBytes > PARTIAL_BYTES) yield* emit(PARTIAL_BYTES, Buffer.from([PARTIAL_OCTET]));
  if (pendingBytes > 0) yield* emit(pendingBytes, definiteLength(pendingBytes));
}

function definiteLength(length: number): Buffer {
  if (length < 192) return Buffer.from([length]);
  if (length < 8384) return Buffer.from([((length - 192) >> 8) + 192, (length - 192) & 0xff]);
  const header = Buffer.alloc(5);
  header[0] = 0xff;
  header.writeUInt32BE(length, 1);
  return header;
}

interface Length {
  length: number;
  partial: boolean;
  /** The length octets as read. */
  header: Buffer;
}

/** A new-format body length (RFC 4880 §4.2.2), or null at the end of the input. */
async function readLength(input: ByteReader): Promise<Length | null> {
  const first = await input.take(1);
  if (first === null) return null;
  const octet = first[0]!;
  if (octet < 192) return { length: octet, partial: false, header: first };
  if (octet < 224) {
    const second = await input.take(1);
    if (second === null) return null;
    return {
      length: ((octet - 192) << 8) + second[0]! + 192,
      partial: false,
      header: Buffer.concat([first, second]),
    };
  }
  if (octet < 255) return { length: 2 ** (octet & 0x1f), partial: true, header: first };
  const four = await input.take(4);
  if (four === null) return null;
  return { length: four.readUInt32BE(0), partial: false, header: Buffer.concat([first, four]) };
}

function truncated(): Error {
  return new Error('the OpenPGP data ends in the middle of a packet (truncated)');
}

/** Reads exact byte counts from a chunked source, without copying what passes straight through. */
class ByteReader {
  readonly #source: AsyncIterator<Buffer>;
  #head: Buffer = Buffer.alloc(0);
  #done = false;

  constructor(source: AsyncIterable<Buffer>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  /** Exactly `n` bytes (one buffer), or null when the input ends first (what was read is lost). */
  async take(n: number): Promise<Buffer | null> {
    const parts: Buffer[] = [];
    let have = 0;
    while (have < n) {
      if (this.#head.length === 0 && !(await this.#fill())) return null;
      const part = this.#head.subarray(0, n - have);
      this.#head = this.#head.subarray(part.length);
      parts.push(part);
      have += part.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
  }

  /** The next `n` bytes as they come, in the source's own pieces. */
  async *pass(n: number): AsyncGenerator<Buffer> {
    while (n > 0) {
      if (this.#head.length === 0 && !(await this.#fill())) throw truncated();
      const part = this.#head.subarray(0, n);
      this.#head = this.#head.subarray(part.length);
      n -= part.length;
      yield part;
    }
  }

  async *rest(): AsyncGenerator<Buffer> {
    if (this.#head.length > 0) yield this.#head;
    this.#head = Buffer.alloc(0);
    while (await this.#fill()) {
      yield this.#head;
      this.#head = Buffer.alloc(0);
    }
  }

  async #fill(): Promise<boolean> {
    if (this.#done) return false;
    const { done, value } = await this.#source.next();
    if (done) {
      this.#done = true;
      return false;
    }
    this.#head = value;
    return true;
  }
}
