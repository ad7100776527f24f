// The spool: S3 wants an exact Content-Length and OpenPGP can't say it in advance, so the ciphertext
// (never plaintext) goes to a private temp file first, hashed and size-checked on the way.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type TransformCallback, type Writable } from 'node:stream';
import { SealdropError } from '../core/errors.js';
import { formatBytes } from '../core/units.js';

export class Spool {
  readonly path: string;
  bytes = 0;
  #hash = createHash('sha256');

  private constructor(path: string) {
    this.path = path;
  }

  static async create(dir: string): Promise<{ spool: Spool; sink: Writable }> {
    const path = join(dir, `sealdrop-${randomBytes(8).toString('hex')}.gpg.spool`);
    let handle;
    try {
      handle = await open(path, 'wx', 0o600);
    } catch (error) {
      throw new SealdropError('FAILED', `can't create a spool file in ${dir}: ${(error as Error).message}`, {
        hint: 'Point --spool-dir at a writable directory with room for the compressed, encrypted dump.',
      });
    }
    const spool = new Spool(path);
    return { spool, sink: createWriteStream('', { fd: handle, highWaterMark: 1 << 20 }) };
  }

  get sha256(): string {
    return this.#hash.copy().digest('hex');
  }

  /** Counts and hashes what passes, failing as soon as it exceeds maxBytes (no need to spool the rest). */
  meter(maxBytes: number): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, callback: TransformCallback) => {
        this.bytes += chunk.length;
        if (this.bytes > maxBytes) {
          return callback(
            new SealdropError(
              'TOO_LARGE',
              `the encrypted backup is over the policy's limit of ${formatBytes(maxBytes)}; nothing was uploaded`,
            ),
          );
        }
        this.#hash.update(chunk);
        callback(null, chunk);
      },
    });
  }

  async remove(): Promise<void> {
    await rm(this.path, { force: true });
  }
}

export function spoolWriteError(error: unknown, dir: string): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new SealdropError('DISK_FULL', `the spool directory ${dir} is full; nothing was uploaded`);
  }
  return error;
}
