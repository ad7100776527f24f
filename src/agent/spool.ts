// The spool: S3 wants an exact Content-Length and OpenPGP can't say it in advance, so the ciphertext
// (never plaintext) goes to a private temp file first, hashed (SHA-256, and MD5 for Content-MD5) and
// counted on the way, so the file is never read twice before it is sent.
import { createHash, randomBytes } from 'node:crypto';
import { open, readdir, rm, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { SealdropError } from '../core/errors.js';

/** sealdrop-PID-RANDOM.gpg.spool: the pid of the push that writes it, so a later push can tell it is orphaned. */
const SPOOL_NAME = /^sealdrop-(\d+)-[0-9a-f]+\.gpg\.spool$/;

export class Spool {
  readonly path: string;
  bytes = 0;
  #hash = createHash('sha256');
  #md5 = createHash('md5');
  #handle: FileHandle | null;

  private constructor(path: string, handle: FileHandle) {
    this.path = path;
    this.#handle = handle;
  }

  static async create(dir: string): Promise<Spool> {
    const path = join(dir, `sealdrop-${process.pid}-${randomBytes(8).toString('hex')}.gpg.spool`);
    try {
      return new Spool(path, await open(path, 'wx', 0o600));
    } catch (error) {
      throw new SealdropError('USAGE', `can't create a spool file in ${dir}: ${(error as Error).message}`, {
        hint: 'Point --spool-dir at a writable directory with room for the compressed, encrypted dump.',
      });
    }
  }

  get sha256(): string {
    return this.#hash.copy().digest('hex');
  }

  /** Base64, as Content-MD5 wants it. */
  get md5(): string {
    return this.#md5.copy().digest('base64');
  }

  /** Appends, hashes and counts; resolves once the bytes are in the file (the caller's backpressure). */
  async write(chunk: Buffer): Promise<void> {
    if (!this.#handle) throw new Error('spool closed');
    for (let offset = 0; offset < chunk.length;) {
      const { bytesWritten } = await this.#handle.write(chunk, offset, chunk.length - offset);
      offset += bytesWritten;
    }
    this.#hash.update(chunk);
    this.#md5.update(chunk);
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

/**
 * Removes spool files that pushes killed outright (SIGKILL, a crash: nothing of theirs could run) left
 * in `dir`: only sealdrop's own names, only those whose push is gone. Returns their names.
 */
export async function removeOrphans(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return []; // Spool.create reports an unusable directory
  }
  const orphans = names.filter((name) => {
    const pid = Number(SPOOL_NAME.exec(name)?.[1] ?? 0);
    return pid > 0 && pid !== process.pid && !isRunning(pid);
  });
  // Only what this call removed: a push sharing the directory may have removed it first, or its owner
  // may have ended between the listing and the check, having removed its own.
  const removed = await Promise.all(
    orphans.map((name) =>
      unlink(join(dir, name)).then(
        () => name,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return null;
          throw error;
        },
      ),
    ),
  );
  return removed.filter((name) => name !== null);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
