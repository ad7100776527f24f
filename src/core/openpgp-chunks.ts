// The chunk size OpenPGP.js works in. Its cost is per chunk and per partial-length packet (it copies each
// one several times), so both sides regroup: push writes 256 KiB+ packets, restore feeds 256 KiB+ reads.

/**
 * Measured on a 1 GiB dump: a message written in 64–128 KiB packets restored 1.6x slower than one in
 * 256 KiB+ packets; 1 MiB chunks made restore 1.3x slower and cost 10–30 MiB more peak memory.
 */
export const OPENPGP_CHUNK_BYTES = 256 * 1024;

/**
 * Regroups a byte stream into chunks of at least OPENPGP_CHUNK_BYTES (the last may be smaller).
 * Usable as a pipeline() stage as it is: it takes nothing but the source (pipeline passes a second
 * argument of its own, so the size can't be one).
 */
export const rechunk = rechunker(OPENPGP_CHUNK_BYTES);

/** The same, for chunks of at least `minBytes`. */
export function rechunker(minBytes: number): (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer> {
  return (source) => regroup(source, minBytes);
}

async function* regroup(source: AsyncIterable<Buffer>, minBytes: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of source) {
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes >= minBytes) {
      yield pending.length === 1 ? chunk : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}
