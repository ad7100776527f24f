// Where the ciphertext goes: a sink takes the encrypted stream and stores it. One object (spool, then one
// POST) for a single-key policy; consecutive parts and a manifest for a prefix policy (parts.ts).
import type { Compression } from '../core/compression.js';
import { Writable } from 'node:stream';
import { SealdropError } from '../core/errors.js';
import { formatBytes } from '../core/units.js';
import { Spool } from './spool.js';
import { upload, type PostForm } from './upload.js';

/** What the push knows once the dump has ended well; a run's manifest records it. */
export interface PushFacts {
  bytesIn: number;
  compression: Compression;
  startedAt: Date;
}

export interface StoredObject {
  key: string;
  versionId: string | null;
  etag: string | null;
  /** Encrypted bytes stored (all parts of a run). */
  bytes: number;
  /** SHA-256 of the whole encrypted stream. */
  sha256: string;
  attempts: number;
}

export interface Sink<Stored extends StoredObject = StoredObject> {
  /**
   * Where the data belongs, as the encrypted envelope names it (`s3://BUCKET/KEY`, or a run's
   * `s3://BUCKET/PREFIX<run-id>/`): the read side refuses data found anywhere else.
   */
  readonly binding: string;
  /** The pipeline's last stage. Backpressure from here bounds memory and disk. */
  readonly writable: Writable;
  /** After the dump ended well: store what is not stored yet. Nothing is complete before this resolves. */
  commit(facts: PushFacts): Promise<Stored>;
  /** After a failure: let uploads in flight settle; then says what stays stored (null: nothing). */
  settle(): Promise<string | null>;
  /** Always, last: removes every spool file. */
  dispose(): Promise<void>;
}

export interface ObjectSinkOptions {
  spoolDir: string;
  maxSize: number;
  bucket: string;
  key: string;
  target: PostForm;
  onUploadProgress?: (bytes: number, totalBytes: number) => void;
}

/** One object: the whole ciphertext is spooled, then POSTed once the dump has ended well. */
export async function objectSink(options: ObjectSinkOptions): Promise<Sink> {
  const spool = await Spool.create(options.spoolDir);
  const writable = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _encoding, callback) {
      if (spool.bytes + chunk.length > options.maxSize) return callback(tooLarge(options.maxSize));
      spool.write(chunk).then(() => callback(), callback);
    },
    final(callback) {
      spool.close().then(() => callback(), callback);
    },
  });
  return {
    binding: `s3://${options.bucket}/${options.key}`,
    writable,
    async commit() {
      const result = await upload(options.target, spool, {
        key: options.key,
        onProgress: options.onUploadProgress,
      });
      return { key: options.key, ...result, bytes: spool.bytes, sha256: spool.sha256 };
    },
    settle: async () => null,
    dispose: () => spool.remove(),
  };
}

function tooLarge(maxSize: number): SealdropError {
  return new SealdropError(
    'TOO_LARGE',
    `the encrypted backup is over the policy's limit of ${formatBytes(maxSize)}; nothing was uploaded`,
  );
}
