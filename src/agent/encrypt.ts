// Compression and OpenPGP encryption as stream stages. The message format is the contract with
// stock tools: v3 PKESK + SEIPD v1 (MDC), AES-256, no OpenPGP compression — what GnuPG 2.2 reads.
import { randomBytes } from 'node:crypto';
import { Duplex, PassThrough, Readable, type Transform } from 'node:stream';
import * as openpgp from 'openpgp';
import { OPENPGP_CHUNK_BYTES } from '../core/openpgp-chunks.js';
import type { Compression } from '../core/compression.js';
import { bindingName } from '../core/s3-url.js';
import { parallelCompress } from './parallel-compress.js';

/**
 * gzip and zstd are pigz-style (one member or frame per 1 MiB block, all cores): stock gunzip and
 * zstd -d read them as one stream.
 */
export function compressor(compression: Compression, level: number): Transform {
  return compression === 'none' ? new PassThrough() : parallelCompress({ format: compression, level });
}

/**
 * `binding` names where the data belongs: it goes into the literal data packet's file name, inside the
 * integrity-protected envelope, so a copy posted elsewhere is caught on read (gpg -d ignores it).
 */
export async function encryptor(recipients: openpgp.Key[], binding: string): Promise<Duplex> {
  const plaintext = new PassThrough({ highWaterMark: OPENPGP_CHUNK_BYTES });
  const message = await openpgp.createMessage({
    binary: Readable.toWeb(plaintext) as ReadableStream<Uint8Array>,
    filename: bindingName(binding),
  });
  const ciphertext = await openpgp.encrypt({
    message,
    encryptionKeys: recipients,
    format: 'binary',
    // A caller-chosen session key keeps OpenPGP.js from switching to SEIPDv2 (unreadable by gpg 2.2)
    // when every recipient advertises it.
    sessionKey: { data: randomBytes(32), algorithm: 'aes256' },
    config: { aeadProtect: false, preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed },
  });
  return Duplex.from({
    writable: plaintext,
    readable: Readable.fromWeb(ciphertext as import('node:stream/web').ReadableStream<Uint8Array>),
  });
}
