// The spool: S3 wants an exact Content-Length and OpenPGP can't say it in advance, so the ciphertext
// (never plaintext) goes to a private temp file first, hashed and counted on the way.
import { createHash, randomBytes } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { SealdropError } from '../core/errors.js';

export class Spool {
  readonly path: string;
  bytes = 0;
  #hash = createHash('sha256');
  #handle: FileHandle | null;

  private constructor(path: string, handle: FileHandle) {
    this.path = path;
    this.#handle = handle;
  }

  static async create(dir: string): Promise<Spool> {
    const path = join(dir, `sealdrop-${randomBytes(8).toString('hex')}.gpg.spool`);
    try {
      return new Spool(path, await open(path, 'wx', 0o600));
    } catch (error) {
      throw new SealdropError('FAILED', `can't create a spool file in ${dir}: ${(error as Error).message}`, {
        hint: 'Point --spool-dir at a writable directory with room for the compressed, encrypted dump.',
      });
    }
  }

  get sha256(): string {
    return this.#hash.copy().digest('hex');
  }

  /** Appends, hashes and counts; resolves once the bytes are in the file (the caller's backpressure). */
  async write(chunk: Buffer): Promise<void> {
    if (!this.#handle) throw new Error('spool closed');
    for (let offset = 0; offset < chunk.length;) {
      const { bytesWritten } = await this.#handle.write(chunk, offset, chunk.length - offset);
      offset += bytesWritten;
    }
    this.#hash.update(chunk);
    this.bytes += chunk.length;
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = null;
    await handle?.close();
  }

  async remove(): Promise<void> {
    await this.close().catch(() => {});
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
