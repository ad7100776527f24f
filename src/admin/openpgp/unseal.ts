// Stored object → OpenPGP decryption → decompression, streaming with flat memory. OpenPGP.js only
// streams when told to accept unauthenticated data, so integrity (MDC, gzip CRC, zstd checksums) is
// known at the end: callers must treat the output as untrusted until unseal() resolves.
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as openpgp from 'openpgp';
import { requireZstd, ZSTD_NODE_VERSIONS, zstdBinding, type Compression } from '../../core/compression.js';
import { interruptedBy, SealdropError } from '../../core/errors.js';
import { OPENPGP_CHUNK_BYTES, rechunk, rechunker } from '../../core/openpgp-chunks.js';
import { bindingName, isBindingName } from '../../core/s3-url.js';
import { quoteBounded } from '../../core/snapshot.js';
import { formatBytes } from '../../core/units.js';
import type { Identity, Keyring } from './identities.js';
import { regroupPartialBodies } from './framing.js';
import { zstdDecoder } from './zstd-frames.js';

export type { Compression };

export interface UnsealOptions {
  keyring: Keyring;
  /** Names the object in messages: "s3://b/k version V". */
  label: string;
  /** false: write the decrypted bytes as they are, even when they are gzip or zstd. */
  decompress?: boolean;
  /**
   * After a decompression failure keep decrypting to the end, to tell tampering (the OpenPGP
   * integrity check fails) from a backup that was bad when it was made (it passes). Costs the rest of
   * the download; restore fails fast instead.
   */
  diagnose?: boolean;
  /**
   * Where the data was found (`s3://BUCKET/KEY`, a run's `s3://BUCKET/PREFIX<run-id>/`): an envelope
   * that names another place is a copy from elsewhere, refused as an integrity failure.
   */
  binding?: string;
  /**
   * Refuse (INTEGRITY) an envelope that names no place at all: in a set sealdrop writes, that is not one
   * of its backups (gpg and curl made it). Off for sets written the seed article's way (--allow-unbound).
   */
  requireBinding?: boolean;
  /** Stop (INTEGRITY) once more than this would be written: a decompression bomb. Absent: no limit. */
  maxOutputBytes?: number;
  /** Worth knowing, not a failure: an envelope that names no place at all (gpg, curl, an older push). */
  onNote?: (message: string) => void;
  onProgress?: (encryptedBytes: number) => void;
  signal?: AbortSignal;
}

export interface UnsealResult {
  identity: Identity;
  /** What the decrypted data turned out to be. */
  compression: Compression;
  decompressed: boolean;
  encryptedBytes: number;
  decryptedBytes: number;
  /** Bytes written to the sink. */
  outputBytes: number;
}

const MAGIC: [Exclude<Compression, 'none'>, Buffer][] = [
  ['gzip', Buffer.from([0x1f, 0x8b])],
  ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
];
const UNSUPPORTED_COMPRESSION: [string, Buffer][] = [
  ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
  ['bzip2', Buffer.from('BZh')],
];

/** push never armors; `gpg --armor` does, and OpenPGP.js dearmors a message whole. */
const ARMORED_MAX_BYTES = 16 * 1024 ** 2;

/** Decrypts and decompresses `body` into `sink`; rejects with a SealdropError (INTEGRITY for damage) on any failure. */
export async function unseal(body: Readable, sink: Writable, options: UnsealOptions): Promise<UnsealResult> {
  const { label } = options;
  let encryptedBytes = 0;
  /** How much may be read: an armored message is read whole by OpenPGP.js, at several times its size. */
  let maxBytes = Infinity;
  let downloadFailure: SealdropError | undefined;
  async function* download(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of rechunk(body as AsyncIterable<Buffer>)) {
        encryptedBytes += chunk.length;
        if (encryptedBytes > maxBytes)
          throw new SealdropError(
            'OBJECT_FORMAT',
            `${label} is an armored OpenPGP message over ${formatBytes(ARMORED_MAX_BYTES)}: sealdrop reads armored ones only up to that size`,
            {
              hint: 'Decrypt it by hand: aws s3api get-object --bucket B --key K --version-id V /dev/stdout | gpg -d',
            },
          );
        options.onProgress?.(encryptedBytes);
        yield chunk;
      }
    } catch (error) {
      downloadFailure ??=
        error instanceof SealdropError
          ? error
          : options.signal?.aborted
            ? interrupted(options.signal)
            : new SealdropError(
                'S3_UNREACHABLE',
                `${label}: the download broke off after ${formatBytes(encryptedBytes)} (${(error as Error).message})`,
                {
                  hint: 'Run the command again.',
                  cause: error,
                },
              );
      throw downloadFailure;
    }
  }
  // Whatever openpgp makes of a broken download, the broken download is the story.
  const explain = (error: unknown, fallback: (error: Error) => SealdropError): SealdropError =>
    downloadFailure ??
    (options.signal?.aborted
      ? interrupted(options.signal)
      : error instanceof SealdropError
        ? error
        : fallback(error as Error));

  try {
    const { head, rest } = await peek(download(), 64);
    const armored = head.toString('latin1').startsWith('-----BEGIN PGP');
    if (armored) maxBytes = ARMORED_MAX_BYTES;
    let message: openpgp.Message<ReadableStream<Uint8Array>>;
    try {
      message = armored
        ? ((await openpgp.readMessage({
            armoredMessage: webStream(rest).pipeThrough(new TextDecoderStream()),
          })) as unknown as openpgp.Message<ReadableStream<Uint8Array>>)
        : await openpgp.readMessage({ binaryMessage: webStream(regroupPartialBodies(rest, label)) });
    } catch (error) {
      throw explain(
        error,
        (e) => new SealdropError('OBJECT_FORMAT', `${label} is not an OpenPGP message (${e.message})`),
      );
    }
    const { identity, sessionKeys } = await options.keyring.open(message, label).catch((error: unknown) => {
      throw explain(
        error,
        (e) => new SealdropError('INTEGRITY', `${label}: can't decrypt the session key (${e.message})`),
      );
    });
    let decrypted: ReadableStream<Uint8Array>;
    // null when the envelope names nothing (OpenPGP.js's typings say string).
    let filename: string | null;
    try {
      // The typings want an algorithm; SEIPDv2 session keys (null) carry it inside the data packet.
      ({ data: decrypted, filename } = await openpgp.decrypt({
        message,
        sessionKeys: sessionKeys as openpgp.SessionKey[],
        format: 'binary',
        config: { allowUnauthenticatedStream: true },
      }));
    } catch (error) {
      throw explain(error, (e) => integrityError(label, e));
    }
    checkBinding(filename, options);

    let decryptedBytes = 0;
    async function* plaintext(): AsyncGenerator<Buffer> {
      try {
        for await (const chunk of decrypted) {
          decryptedBytes += chunk.length;
          yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        }
      } catch (error) {
        throw explain(error, (e) => integrityError(label, e));
      }
    }
    const { head: plainHead, rest: plainRest } = await peek(plaintext(), 6);
    const compression: Compression = MAGIC.find(([, magic]) => startsWith(plainHead, magic))?.[0] ?? 'none';
    const decompress = options.decompress !== false && compression !== 'none';
    // This Node.js's limit, not the backup's: verify records nothing against it.
    if (decompress && compression === 'zstd' && !zstdBinding())
      throw new SealdropError(
        'NEEDS_NEWER_NODE',
        `${label} decrypts to zstd data, and this Node.js (${process.version}) has no zstd: decompressing it needs Node.js ${ZSTD_NODE_VERSIONS} or later`,
        {
          hint: 'Restore on a newer Node.js, or pass --no-decompress and pipe the output through `zstd -d`.',
        },
      );

    const unsupported = UNSUPPORTED_COMPRESSION.find(([, magic]) => startsWith(plainHead, magic));
    if (options.decompress !== false && unsupported) {
      const [name] = unsupported;
      throw new SealdropError(
        'OBJECT_FORMAT',
        `${label} decrypts to ${name}-compressed data; ${name} is not supported yet`,
        {
          hint: `Pass --no-decompress and pipe the output through \`${name} -d\`.`,
        },
      );
    }
    let outputBytes = 0;
    const limit = options.maxOutputBytes ?? Infinity;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback: TransformCallback) {
        outputBytes += chunk.length;
        if (outputBytes > limit) callback(overLimit(label, limit));
        else callback(null, chunk);
      },
    });
    const stages: (Readable | Transform | Writable)[] = [
      // GnuPG's literal data comes in 8 KiB pieces, OpenPGP.js's own in about 256 KiB: the small ones
      // are gathered, so zlib is not called 128 times per MiB.
      Readable.from(gatherSmallPieces(plainRest), {
        objectMode: false,
        highWaterMark: OPENPGP_CHUNK_BYTES,
      }),
    ];
    if (decompress) {
      const stage = decompressor(compression);
      stages.push(options.diagnose ? draining(stage, label) : stage);
    }
    stages.push(counter, sink);
    try {
      await pipeline(stages, ...(options.signal ? [{ signal: options.signal }] : []));
    } catch (error) {
      throw explain(error, (e) => stageError(label, e));
    }
    return {
      identity,
      compression,
      decompressed: decompress,
      encryptedBytes,
      decryptedBytes,
      outputBytes,
    };
  } finally {
    body.destroy();
  }
}

/**
 * The default for maxOutputBytes: database dumps compress 5-20x, a decompression bomb 1000x. 100x the
 * stored size, and never under 1 GiB, passes the first and stops the second early.
 */
export function outputLimit(storedBytes: number): number {
  return Math.max(100 * storedBytes, 1024 ** 3);
}

function overLimit(label: string, limit: number): SealdropError {
  return new SealdropError(
    'INTEGRITY',
    `${label} inflates past the output limit of ${formatBytes(limit)} (--max-output): a decompression bomb, or a backup larger than the limit allows`,
    {
      hint: 'If the backup is genuine, give a larger --max-output SIZE; else restore an older one and find out who pushed this.',
    },
  );
}

/** Before any data is written: the envelope must name where the data was found, or nothing at all. */
function checkBinding(filename: string | null, options: UnsealOptions): void {
  if (options.binding === undefined) return;
  if (filename === null || !isBindingName(filename)) {
    if (options.requireBinding)
      throw new SealdropError(
        'INTEGRITY',
        `${options.label} names no place it belongs: sealdrop did not make it (gpg or curl did), so it is no backup of this set; nothing was restored`,
        {
          hint: 'Find out who wrote it. If this set is written with gpg and curl (the seed article\'s way), pass --allow-unbound (a fleet: "allowUnbound": true).',
        },
      );
    options.onNote?.(
      `${options.label} names no place it belongs (made by gpg, curl or an older sealdrop): where it came from can't be checked`,
    );
    return;
  }
  if (filename !== bindingName(options.binding))
    throw new SealdropError(
      'INTEGRITY',
      `${options.label} was made for ${quoteBounded(filename, 300).slice(1, -1)}, not for ${options.binding}: a copy from elsewhere (replayed by the host that wrote it here?); nothing was restored`,
      {
        hint: 'Restore it from where it belongs, and find out who copied it here: that host may be compromised.',
      },
    );
}

const gatherSmallPieces = rechunker(OPENPGP_CHUNK_BYTES / 2);

function integrityError(label: string, error: Error): SealdropError {
  if (/modification detected/i.test(error.message)) {
    return new SealdropError(
      'INTEGRITY',
      `${label} FAILED the OpenPGP integrity check (MDC): it was changed after it was encrypted`,
      { cause: error },
    );
  }
  return new SealdropError('INTEGRITY', `${label}: the encrypted data is damaged (${error.message})`, {
    cause: error,
  });
}

/** Failures inside the pipeline: zlib (damaged gzip or zstd) or the sink (disk full, closed pipe). */
function stageError(label: string, error: Error): SealdropError {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const damaged = decompressionFailure(error);
  if (damaged) {
    return new SealdropError('INTEGRITY', `${label}: the ${damaged} data is damaged (${error.message})`, {
      cause: error,
    });
  }
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new SealdropError('DISK_FULL', `the output disk is full (${error.message})`, {
      hint: 'Free space, or restore somewhere else with --out.',
    });
  }
  if (code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new SealdropError('FAILED', 'the output was closed before the restore finished', {
      hint: 'Whatever read the output stopped early; its data is incomplete.',
    });
  }
  return new SealdropError('FAILED', `writing the output failed: ${error.message}`, { cause: error });
}

function interrupted(signal: AbortSignal): SealdropError {
  return interruptedBy(signal, '', 'Nothing was kept; run again.');
}

/** zlib's error codes: Z_DATA_ERROR … for gzip, ZSTD_error_… for zstd. */
function decompressionFailure(error: Error): 'gzip' | 'zstd' | null {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return code.startsWith('ZSTD_') ? 'zstd' : code.startsWith('Z_') ? 'gzip' : null;
}

function decompressor(compression: 'gzip' | 'zstd'): Transform {
  return compression === 'gzip'
    ? createGunzip({ chunkSize: OPENPGP_CHUNK_BYTES })
    : zstdDecoder(requireZstd('zstd'));
}

/**
 * A decompressor that, on damage, swallows the rest of its input instead of failing at once: the
 * failure is raised at the end, when the OpenPGP integrity check upstream has had its say.
 */
function draining(inner: Transform, label: string): Transform {
  let failure: Error | undefined;
  const stage = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (failure || inner.write(chunk)) return callback();
      const resume = () => {
        inner.off('drain', resume).off('error', resume);
        callback();
      };
      inner.on('drain', resume).on('error', resume);
    },
    flush(callback: TransformCallback) {
      if (!failure) inner.end();
      finished(inner).then(
        () => callback(),
        () => callback(damagedButAuthentic(label, failure!)),
      );
    },
  });
  inner.on('data', (data: Buffer) => stage.push(data));
  inner.on('error', (error) => (failure ??= error));
  return stage;
}

function damagedButAuthentic(label: string, error: Error): SealdropError {
  return new SealdropError(
    'INTEGRITY',
    `${label}: the ${decompressionFailure(error) ?? 'compressed'} data is damaged (${error.message}) although it passed the OpenPGP integrity check: the backup was bad when it was made`,
    {
      hint: 'Restore an older version; check the dump and compression on the server that made this one.',
      cause: error,
    },
  );
}

function startsWith(head: Buffer, magic: Buffer): boolean {
  return head.length >= magic.length && head.subarray(0, magic.length).equals(magic);
}

/** Reads the first `size` bytes without consuming them: `rest` yields everything, head included. */
async function peek(
  source: AsyncGenerator<Buffer>,
  size: number,
): Promise<{ head: Buffer; rest: AsyncGenerator<Buffer> }> {
  const chunks: Buffer[] = [];
  let length = 0;
  while (length < size) {
    const { done, value } = await source.next();
    if (done) break;
    chunks.push(value);
    length += value.length;
  }
  async function* rest(): AsyncGenerator<Buffer> {
    yield* chunks.splice(0);
    yield* source;
  }
  return { head: Buffer.concat(chunks).subarray(0, size), rest: rest() };
}

/** A pull-based web stream over an async generator: one chunk in flight, so memory stays flat. */
function webStream(source: AsyncGenerator<Buffer>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await source.next();
        if (done) controller.close();
        else controller.enqueue(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      },
      async cancel() {
        await source.return(undefined);
      },
    },
    { highWaterMark: 1 },
  );
}
