// A keyed content sketch: which of a backup's content-defined chunks it shares with the last good one,
// so that verify can flag a backup that is not a continuation of its predecessor (junk, ciphertext).
//
// What a stored sketch protects, for someone who can read the bucket but lacks the 32-byte key:
// - Its values are HMAC-SHA256(key, chunk fingerprint) truncated to 8 bytes: a guess at the data cannot
//   be turned into values to compare with, so a sketch confirms no guess about the content.
// - The chunk boundaries (gear table) and the fingerprints that decide the selection are seeded from the
//   key, and the values are stored sorted by their HMAC: neither which chunks were chosen nor in what
//   order can be recomputed from a guess. Without the key, crafted rows also cannot reliably win the
//   selection (the seeding is cheap, not a cryptographic guarantee).
// - Not protected: sketches made with one key can be compared with each other, so a reader learns how
//   much consecutive backups overlap (the change rate), and whether two sketches share the key (the key
//   id). Byte and chunk counts are not stored. The continuity check is no defence against a compromised
//   server that holds the data: it catches junk and encrypted data, not a forger who copies content.
import { createHmac } from 'node:crypto';
import { SealdropError } from './errors.js';

/**
 * Below this overlap with the last good backup, a backup is not a continuation of it. Measured on 14
 * nights of pg_dump and mariadb-dump (scripts/measure-continuity): genuine nights overlap 0.85 to 0.91
 * (3% of rows changed), 0.53 (30% rewritten), 0.48 at worst (PostgreSQL after CLUSTER); random junk,
 * gpg ciphertext and a ransomware-encrypted database 0.000. A quarter leaves genuine nights twice the
 * margin, and a standard error of about 0.02 at k = 512 keeps chance far from either side.
 */
export const DEFAULT_MIN_OVERLAP = 0.25;

export interface SketchParams {
  /** How many chunks the sketch keeps (bottom-k): 512 values are 4 KiB, a standard error of about 2%. */
  k: number;
  minChunk: number;
  /** A power of two: the gear hash cuts where its top log2(avgChunk) bits are zero. */
  avgChunk: number;
  maxChunk: number;
}

/** Small enough that a changed row spoils a few hundred bytes of chunks, not kilobytes. */
export const SKETCH_PARAMS: Readonly<SketchParams> = { k: 512, minChunk: 64, avgChunk: 256, maxChunk: 4096 };

export interface Sketch {
  params: SketchParams;
  /** Which key made it: HMAC(key, a fixed label), 4 bytes in hex. Sketches of different keys do not compare. */
  keyId: string;
  /** The selected chunks' keyed values, 8 bytes each, sorted ascending and distinct. */
  values: Uint8Array;
}

const KEY_BYTES = 32;
const VALUE_BYTES = 8;
const MAGIC = 'SDSK';
const VERSION = 1;
const HEADER_BYTES = 4 + 1 + 2 + 4 + 4 + 4 + 4 + 2;
/** The largest sketch decodeSketch accepts: far above SKETCH_PARAMS, far below anything harmful. */
const MAX_K = 4096;
const MAX_ENCODED = Math.ceil((HEADER_BYTES + MAX_K * VALUE_BYTES) / 3) * 4;

export class Sketcher {
  readonly params: SketchParams;
  private readonly macKey: Buffer;
  private readonly keyId: string;
  private readonly gear: Int32Array;
  private readonly seed1: number;
  private readonly seed2: number;
  private readonly maskSmall: number;
  private readonly maskLarge: number;
  // The rolling state, carried across update() calls so that boundaries ignore how input is split.
  private readonly state = new Int32Array(4);
  private length = 0;
  // The bottom-k: the k smallest distinct fingerprints (hi, lo as unsigned 32-bit), sorted ascending.
  private readonly hi: Uint32Array;
  private readonly lo: Uint32Array;
  private count = 0;
  private totalBytes = 0;
  private totalChunks = 0;

  constructor(key: Uint8Array, params: SketchParams = SKETCH_PARAMS) {
    if (key.length !== KEY_BYTES)
      throw new RangeError(`a sketch key is ${KEY_BYTES} bytes, not ${key.length}`);
    checkParams(params);
    this.params = { ...params };
    const derive = (label: string, bytes: number) => expand(key, label, bytes);
    this.macKey = derive('sealdrop sketch mac', KEY_BYTES);
    this.keyId = derive('sealdrop sketch key id', 4).toString('hex');
    const gearBytes = derive('sealdrop sketch gear', 256 * 4);
    this.gear = new Int32Array(256);
    for (let i = 0; i < 256; i++) this.gear[i] = gearBytes.readInt32LE(i * 4);
    const seeds = derive('sealdrop sketch seeds', 8);
    this.seed1 = seeds.readInt32LE(0);
    this.seed2 = seeds.readInt32LE(4);
    this.state[F1] = this.seed1;
    this.state[F2] = this.seed2;
    // Normalised chunking (FastCDC): a stricter mask before the average size, a looser one after.
    const bits = Math.log2(params.avgChunk);
    this.maskSmall = topBits(bits + 1);
    this.maskLarge = topBits(bits - 1);
    this.hi = new Uint32Array(params.k);
    this.lo = new Uint32Array(params.k);
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Chunks seen so far, the unfinished last one included once it has a byte. */
  get chunks(): number {
    return this.totalChunks + (this.length > 0 ? 1 : 0);
  }

  update(data: Uint8Array): void {
    const { minChunk, avgChunk, maxChunk } = this.params;
    const state = this.state;
    const end = data.length;
    let i = 0;
    while (i < end) {
      // Per chunk: no cut before minChunk, the strict mask up to avgChunk, the loose one up to maxChunk.
      const length = this.length;
      const limit = length < minChunk ? minChunk : length < avgChunk ? avgChunk : maxChunk;
      const mask = length < minChunk ? 0 : length < avgChunk ? this.maskSmall : this.maskLarge;
      const stop = Math.min(end, i + (limit - length));
      const next = scan(data, i, stop, mask, this.gear, state);
      this.length += next - i;
      i = next;
      if ((mask !== 0 && next <= stop && state[CUT] === 1) || this.length === maxChunk) {
        this.select(state[F1]!, state[F2]!, this.length);
        this.totalChunks++;
        state[F1] = this.seed1;
        state[F2] = this.seed2;
        state[CUT] = 0;
        this.length = 0;
      }
    }
    this.totalBytes += end;
  }

  /** The sketch of everything so far (the unfinished chunk counts as the last one); update may go on. */
  digest(): Sketch {
    const saved = { hi: this.hi.slice(), lo: this.lo.slice(), count: this.count };
    if (this.length > 0) this.select(this.state[F1]!, this.state[F2]!, this.length);
    const fingerprint = Buffer.alloc(VALUE_BYTES);
    const values = new Uint8Array(this.count * VALUE_BYTES);
    for (let j = 0; j < this.count; j++) {
      fingerprint.writeUInt32BE(this.hi[j]!, 0);
      fingerprint.writeUInt32BE(this.lo[j]!, 4);
      const mac = createHmac('sha256', this.macKey).update(fingerprint).digest();
      values.set(mac.subarray(0, VALUE_BYTES), j * VALUE_BYTES);
    }
    this.hi.set(saved.hi);
    this.lo.set(saved.lo);
    this.count = saved.count;
    return { params: { ...this.params }, keyId: this.keyId, values: sortValues(values) };
  }

  /** Offers a finished chunk to the bottom-k; most are turned away by the first comparison. */
  private select(f1: number, f2: number, length: number): void {
    // Finalise both lanes together (murmur3's fmix), the length mixed in, into 64 well-spread bits.
    let a = fmix(f1 ^ Math.imul(length, 0x9e3779b1));
    let b = fmix(f2 ^ a);
    a = fmix(a ^ b) >>> 0;
    b = b >>> 0;
    const { k } = this.params;
    const full = this.count === k;
    if (full && (a > this.hi[k - 1]! || (a === this.hi[k - 1]! && b >= this.lo[k - 1]!))) return;
    let low = 0;
    let high = this.count;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.hi[mid]! < a || (this.hi[mid]! === a && this.lo[mid]! < b)) low = mid + 1;
      else high = mid;
    }
    if (low < this.count && this.hi[low] === a && this.lo[low] === b) return; // a repeated chunk
    const last = full ? k - 1 : this.count;
    this.hi.copyWithin(low + 1, low, last);
    this.lo.copyWithin(low + 1, low, last);
    this.hi[low] = a;
    this.lo[low] = b;
    if (!full) this.count++;
  }
}

/**
 * How much of the larger of two contents the other shares: |A ∩ B| / max(|A|, |B|) over their distinct
 * chunks, estimated as the shared values over the larger sketch. Both sketches sample their chunks below
 * their own k-th smallest fingerprint, so the values both hold are the shared chunks below the lower of
 * the two cut-offs: about k·|A ∩ B| / max(|A|, |B|) of them. Unlike containment, it falls when a backup
 * shrinks to a fragment of its predecessor or balloons with foreign data. Exact below k chunks.
 * Two empty contents are the same content (1); empty against non-empty shares nothing (0).
 */
export function overlap(a: Sketch, b: Sketch): number {
  if (a.keyId !== b.keyId) {
    throw new SealdropError('SKETCH_INVALID', `content sketches of different keys (${a.keyId}, ${b.keyId})`);
  }
  if (!sameParams(a.params, b.params))
    throw new SealdropError('SKETCH_INVALID', 'content sketches of different settings');
  const countA = a.values.length / VALUE_BYTES;
  const countB = b.values.length / VALUE_BYTES;
  if (countA === 0 && countB === 0) return 1;
  let shared = 0;
  let i = 0;
  let j = 0;
  while (i < countA && j < countB) {
    const order = compareValue(a.values, i, b.values, j);
    if (order === 0) shared++;
    if (order <= 0) i++;
    if (order >= 0) j++;
  }
  return shared / Math.max(countA, countB);
}

/** base64 of: "SDSK", version, k, min, avg and max chunk sizes, key id, count, the values. */
export function encodeSketch(sketch: Sketch): string {
  const count = sketch.values.length / VALUE_BYTES;
  const out = Buffer.alloc(HEADER_BYTES + sketch.values.length);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt8(VERSION, 4);
  out.writeUInt16BE(sketch.params.k, 5);
  out.writeUInt32BE(sketch.params.minChunk, 7);
  out.writeUInt32BE(sketch.params.avgChunk, 11);
  out.writeUInt32BE(sketch.params.maxChunk, 15);
  out.write(sketch.keyId, 19, 'hex');
  out.writeUInt16BE(count, 23);
  out.set(sketch.values, HEADER_BYTES);
  return out.toString('base64');
}

/** Reads a sketch from the bucket: bounded, and every field checked before use. */
export function decodeSketch(text: string): Sketch {
  const invalid = (why: string) => new SealdropError('SKETCH_INVALID', `not a content sketch: ${why}`);
  const trimmed = text.trim();
  if (trimmed.length > MAX_ENCODED) throw invalid(`${text.length} characters, more than ${MAX_ENCODED}`);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed) || trimmed.length % 4 !== 0) throw invalid('not base64');
  const data = Buffer.from(trimmed, 'base64');
  if (data.length < HEADER_BYTES) throw invalid(`${data.length} bytes, shorter than its header`);
  if (data.toString('latin1', 0, 4) !== MAGIC) throw invalid('no SDSK header');
  if (data.readUInt8(4) !== VERSION)
    throw invalid(`version ${data.readUInt8(4)} (this sealdrop reads ${VERSION})`);
  const params: SketchParams = {
    k: data.readUInt16BE(5),
    minChunk: data.readUInt32BE(7),
    avgChunk: data.readUInt32BE(11),
    maxChunk: data.readUInt32BE(15),
  };
  try {
    checkParams(params);
  } catch (err) {
    throw invalid((err as Error).message);
  }
  const count = data.readUInt16BE(23);
  if (count > params.k) throw invalid(`${count} values for k = ${params.k}`);
  if (data.length !== HEADER_BYTES + count * VALUE_BYTES)
    throw invalid(`${data.length} bytes for ${count} values`);
  const values = new Uint8Array(data.subarray(HEADER_BYTES));
  for (let i = 1; i < count; i++) {
    if (compareValue(values, i - 1, values, i) >= 0) throw invalid('values not sorted and distinct');
  }
  return { params, keyId: data.toString('hex', 19, 23), values };
}

function checkParams(p: SketchParams): void {
  const whole = [p.k, p.minChunk, p.avgChunk, p.maxChunk].every((n) => Number.isInteger(n) && n > 0);
  if (!whole || p.k > MAX_K)
    throw new RangeError(`k must be 1 to ${MAX_K} and chunk sizes positive integers`);
  const bits = Math.log2(p.avgChunk);
  if (!Number.isInteger(bits) || bits < 4 || bits > 24)
    throw new RangeError('avgChunk must be a power of two, 16 to 16 MiB');
  if (!(p.minChunk < p.avgChunk && p.avgChunk < p.maxChunk))
    throw new RangeError('chunk sizes must be min < avg < max');
}

function sameParams(a: SketchParams, b: SketchParams): boolean {
  return a.k === b.k && a.minChunk === b.minChunk && a.avgChunk === b.avgChunk && a.maxChunk === b.maxChunk;
}

/** HMAC-SHA256 in counter mode: `bytes` of key material for one purpose. */
function expand(key: Uint8Array, label: string, bytes: number): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; blocks.length * 32 < bytes; i++) {
    blocks.push(createHmac('sha256', key).update(`${label} ${i}`).digest());
  }
  return Buffer.concat(blocks).subarray(0, bytes);
}

/** Where scan keeps the rolling state between calls: gear hash, both fingerprint lanes, "ended on a cut". */
const G = 0;
const F1 = 1;
const F2 = 2;
const CUT = 3;

/**
 * The byte loop, kept small and free of `this` so that V8 compiles it the same way every time: feeds
 * data[from, stop) to the gear hash and both fingerprint lanes (FNV-1a style) and stops after the first
 * byte where the gear hash's masked bits are zero (mask 0: no cuts). Returns where it stopped.
 */
function scan(
  data: Uint8Array,
  from: number,
  stop: number,
  mask: number,
  gear: Int32Array,
  state: Int32Array,
): number {
  let g = state[G]!;
  let f1 = state[F1]!;
  let f2 = state[F2]!;
  let i = from;
  let cut = 0;
  if (mask === 0) {
    for (; i < stop; i++) {
      const b = data[i]!;
      g = ((g << 1) + gear[b]!) | 0;
      f1 = Math.imul(f1 ^ b, 0x01000193);
      f2 = Math.imul(f2 ^ b, 0x5bd1e995);
    }
  } else {
    while (i < stop) {
      const b = data[i++]!;
      g = ((g << 1) + gear[b]!) | 0;
      f1 = Math.imul(f1 ^ b, 0x01000193);
      f2 = Math.imul(f2 ^ b, 0x5bd1e995);
      if ((g & mask) === 0) {
        cut = 1;
        break;
      }
    }
  }
  state[G] = g;
  state[F1] = f1;
  state[F2] = f2;
  state[CUT] = cut;
  return i;
}

function topBits(n: number): number {
  return (~0 << (32 - n)) | 0;
}

function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function compareValue(a: Uint8Array, i: number, b: Uint8Array, j: number): number {
  return Buffer.compare(
    a.subarray(i * VALUE_BYTES, (i + 1) * VALUE_BYTES),
    b.subarray(j * VALUE_BYTES, (j + 1) * VALUE_BYTES),
  );
}

function sortValues(values: Uint8Array): Uint8Array {
  const count = values.length / VALUE_BYTES;
  const order = Array.from({ length: count }, (_, i) => i).sort((x, y) => compareValue(values, x, values, y));
  const sorted = new Uint8Array(values.length);
  order.forEach((from, to) =>
    sorted.set(values.subarray(from * VALUE_BYTES, (from + 1) * VALUE_BYTES), to * VALUE_BYTES),
  );
  return sorted;
}

/** How many chunks a sketch keeps (at most k): under a few, there is too little content to compare. */
export function sketchedChunks(sketch: Sketch): number {
  return sketch.values.length / VALUE_BYTES;
}
