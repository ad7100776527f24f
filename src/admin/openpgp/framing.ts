// OpenPGP's packet framing (RFC 4880 §4.2), regrouped and bounded before OpenPGP.js reads it.
// - GnuPG writes the encrypted data packet in 8 KiB partial body chunks, and OpenPGP.js's cost is per
//   chunk: an object made by `gpg --encrypt` restored 3-4x slower than one made by push. The same body
//   in 256 KiB partial chunks is the same message, byte for byte once the framing is taken off.
// - OpenPGP.js holds every packet but the data packet whole, all of them at once: an object of a
//   million session key packets, or one of 200 MiB, would take the admin's memory. Such framing is
//   refused here, before it is read.
// - The session key packets come first and name the recipients' key ids: listings read those from an
//   object's first bytes (sessionKeyRecipients), under the same bounds.
// Framing only, those key ids aside: no byte of any packet body is read or changed.
import { SealdropError } from '../../core/errors.js';
import { OPENPGP_CHUNK_BYTES } from '../../core/openpgp-chunks.js';
import type { Recipients } from '../../core/recipients.js';
import { formatBytes } from '../../core/units.js';

/** 2^18: partial body lengths are powers of two (RFC 4880 §4.2.2.4). */
const PARTIAL_BYTES = OPENPGP_CHUNK_BYTES;
const PARTIAL_OCTET = 0xe0 | Math.log2(PARTIAL_BYTES);
/** Compressed, encrypted (SED, SEIPD, AEAD) and literal data: the packets that may be long, and partial. */
const DATA_TAGS = new Set([8, 9, 11, 18, 20]);
/** Public-key and symmetric-key encrypted session keys: one per recipient (a policy allows 16). */
const SESSION_KEY_TAGS = new Set([1, 3]);
/** Encrypted data (SED, SEIPD, AEAD): what follows the session key packets. */
const ENCRYPTED_TAGS = new Set([9, 18, 20]);
/** RFC 4880's marker packet ("PGP"): ignored wherever it is. */
const MARKER_TAG = 10;
const MAX_SESSION_KEYS = 64;
/** The largest other packet: an RSA-16384 session key is 2 KiB. */
const MAX_OTHER_PACKET_BYTES = 64 * 1024;

/**
 * Re-emits `source` with every new-format partial-length body in 256 KiB partial chunks, refusing
 * framing no sealdrop or GnuPG message has (`label` names the object in the error).
 */
export async function* regroupPartialBodies(
  source: AsyncIterable<Buffer>,
  label: string,
): AsyncGenerator<Buffer> {
  const input = new ByteReader(source);
  let sessionKeys = 0;
  /** Refuses what OpenPGP.js would hold whole and could not bound (length null: to the end). */
  const check = (tag: number, length: number | null, partial = false) => {
    if (SESSION_KEY_TAGS.has(tag) && ++sessionKeys > MAX_SESSION_KEYS)
      throw hostile(`${label} holds more than ${MAX_SESSION_KEYS} session key packets`);
    if (DATA_TAGS.has(tag)) return;
    const what = SESSION_KEY_TAGS.has(tag) ? 'session key packet' : `packet of type ${tag}`;
    if (partial || length === null || length > MAX_OTHER_PACKET_BYTES)
      throw hostile(
        `${label} holds a ${what} of ${length === null || partial ? 'unbounded length' : formatBytes(length)}`,
      );
  };
  for (;;) {
    const tag = await input.take(1);
    if (tag === null) return;
    const octet = tag[0]!;
    if ((octet & 0xc0) === 0x80) {
      // Old format (GnuPG writes its session key packets so).
      if ((octet & 3) === 3) {
        check((octet >> 2) & 0x0f, null);
        yield tag;
        yield* input.rest(); // to the end of the data
        return;
      }
      const size = [1, 2, 4][octet & 3]!;
      const length = await input.take(size);
      if (length === null) {
        yield tag;
        return;
      }
      check((octet >> 2) & 0x0f, length.readUIntBE(0, size));
      yield Buffer.concat([tag, length]);
      yield* input.pass(length.readUIntBE(0, size));
      continue;
    }
    if ((octet & 0xc0) !== 0xc0) {
      // Not OpenPGP at all: leave the rest as it is for OpenPGP.js to say so.
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
    check(octet & 0x3f, first.length, first.partial);
    if (!first.partial) {
      yield Buffer.concat([tag, first.header]);
      yield* input.pass(first.length);
      continue;
    }
    yield* regroupBody(input, tag, first);
  }
}

/**
 * The recipients an object's first bytes name: its public-key session key packets' key ids (v3, RFC 4880
 * §5.1), bounded as regroupPartialBodies bounds them. `head` is what a ranged read returned; `whole`: it
 * is the whole object (shorter than the range). Never throws on what the bucket holds: what is not an
 * encrypted OpenPGP message comes back as kind "none", with the reason.
 */
export async function sessionKeyRecipients(head: Buffer, whole: boolean): Promise<Recipients> {
  const none = (why: string): Recipients => ({ kind: 'none', why });
  if (head.length === 0) return none('empty');
  if (head.subarray(0, 15).toString('latin1') === '-----BEGIN PGP ') return none('ASCII-armored, not read');
  const input = new ByteReader(
    (async function* () {
      yield head;
    })(),
  );
  const keyIds: string[] = [];
  let passphrases = 0;
  const cut = (): Recipients =>
    whole
      ? none('too short: it ends among its key packets')
      : { kind: 'read', keyIds, passphrases, more: true };
  for (;;) {
    const tag = await input.take(1);
    if (tag === null) return cut();
    const octet = tag[0]!;
    if ((octet & 0x80) === 0) return none('not OpenPGP');
    let type: number;
    let length: number | null;
    if ((octet & 0x40) === 0) {
      type = (octet >> 2) & 0x0f;
      const size = [1, 2, 4, 0][octet & 3]!;
      const octets = size === 0 ? null : await input.take(size);
      if (size > 0 && octets === null) return cut();
      length = octets ? octets.readUIntBE(0, size) : null;
    } else {
      type = octet & 0x3f;
      const read = await readLength(input);
      if (read === null) return cut();
      length = read.partial ? null : read.length;
    }
    if (!SESSION_KEY_TAGS.has(type) && type !== MARKER_TAG) {
      if (!ENCRYPTED_TAGS.has(type)) return none(`not an encrypted message (a packet of type ${type} first)`);
      return keyIds.length + passphrases === 0
        ? none('no session key packet (not encrypted to a key)')
        : { kind: 'read', keyIds, passphrases, more: false };
    }
    if (keyIds.length + passphrases >= MAX_SESSION_KEYS)
      return none(`more than ${MAX_SESSION_KEYS} session key packets`);
    if (length === null || length > MAX_OTHER_PACKET_BYTES)
      return none(`a session key packet of ${length === null ? 'unbounded length' : formatBytes(length)}`);
    const body = await input.take(length);
    if (body === null) return cut();
    if (type === MARKER_TAG) continue;
    if (type === 3) passphrases++;
    else if (body[0] === 3 && body.length >= 10) keyIds.push(body.toString('hex', 1, 9).toUpperCase());
    else return none(`a session key packet of version ${body[0] ?? '?'} (not 3)`);
  }
}

function hostile(message: string): SealdropError {
  return new SealdropError('OBJECT_FORMAT', `${message}: no backup sealdrop or GnuPG made has that`, {
    hint: 'Someone else put this object there (a compromised host?): restore an older backup, and investigate.',
  });
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
      // In slices: a large piece after small ones is held a chunk at a time, never whole.
      for (let left = piece.length; left > 0;) {
        const bytes = await input.take(Math.min(left, PARTIAL_BYTES));
        if (bytes === null) throw truncated();
        pending.push(bytes);
        pendingBytes += bytes.length;
        left -= bytes.length;
        // More of this piece follows: whole chunks can go now.
        while (left > 0 && pendingBytes >= PARTIAL_BYTES)
          yield* emit(PARTIAL_BYTES, Buffer.from([PARTIAL_OCTET]));
      }
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
