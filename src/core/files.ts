// Reading inputs and writing private files (keys, policy files): 0600, never silently replaced, and
// replaced (when that is the point) only atomically.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { SealdropError } from './errors.js';

export async function writeNewFile(
  path: string,
  data: string,
  {
    overwrite = false,
    mode = 0o600,
    existsHint,
  }: { overwrite?: boolean; mode?: number; existsHint?: string } = {},
): Promise<void> {
  let handle;
  try {
    handle = await open(path, overwrite ? 'w' : 'wx', mode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw new SealdropError('FILE_EXISTS', `${path} already exists; not overwriting it`, {
        ...(existsHint === undefined ? {} : { hint: existsHint }),
      });
    }
    throw new SealdropError('FAILED', `can't write ${path}: ${(error as Error).message}`);
  }
  try {
    await handle.chmod(mode); // an overwritten file keeps its old mode otherwise
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
}

export async function readTextFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SealdropError('FILE_NOT_FOUND', `${what} ${path} does not exist`);
    throw new SealdropError('FILE_NOT_FOUND', `can't read ${what} ${path}: ${(error as Error).message}`);
  }
}

export interface PendingFileOptions {
  mode?: number;
  /** Give the new file this owner (the one it replaces, say); needs the right to chown. */
  owner?: { uid: number; gid: number };
  /** What the temp file's name says it is: `.NAME.<tag>-XXXX`. */
  tag?: string;
}

/**
 * A file that gets its name only once it is whole: written as a private temp file beside `path` (same
 * directory, so the rename is atomic), flushed, then renamed over it. Readers see the old file or the
 * new one, never half of one; discarded, it leaves nothing.
 */
export class PendingFile {
  readonly path: string;
  readonly finalPath: string;
  /** Open for writing, until stream() hands it to a stream (which closes it when it ends). */
  readonly handle: FileHandle;
  #stream: WriteStream | undefined;

  private constructor(path: string, finalPath: string, handle: FileHandle) {
    this.path = path;
    this.finalPath = finalPath;
    this.handle = handle;
  }

  /** Creates the temp file (exclusively). Throws the file system's error as it is. */
  static async beside(finalPath: string, options: PendingFileOptions = {}): Promise<PendingFile> {
    const mode = options.mode ?? 0o600;
    const name = `.${basename(finalPath)}.${options.tag ?? 'tmp'}-${process.pid}-${randomBytes(6).toString('hex')}`;
    const path = join(dirname(finalPath), name);
    const handle = await open(path, 'wx', mode);
    const pending = new PendingFile(path, finalPath, handle);
    try {
      await handle.chmod(mode); // the umask must not loosen it
      if (options.owner) await handle.chown(options.owner.uid, options.owner.gid);
    } catch (error) {
      await pending.discard();
      throw error;
    }
    return pending;
  }

  /** A stream that writes the file; it owns the handle from now on. */
  stream(): Writable {
    this.#stream = createWriteStream('', { fd: this.handle, highWaterMark: 1 << 20 });
    return this.#stream;
  }

  /** Flushes to disk, then gives the file its name. */
  async commit(): Promise<void> {
    await this.#closed();
    const handle = await open(this.path, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(this.path, this.finalPath);
  }

  async discard(): Promise<void> {
    this.#stream?.destroy();
    await this.#closed().catch(() => {});
    await rm(this.path, { force: true });
  }

  /** Waits until the handle is closed: by the stream that owns it, else here. */
  async #closed(): Promise<void> {
    if (!this.#stream) await this.handle.close();
    else if (!this.#stream.closed) await once(this.#stream, 'close');
  }
}

/** Replaces `path` atomically with `data` (see PendingFile); on failure the old file stays. */
export async function replaceFile(
  path: string,
  data: string,
  options: Omit<PendingFileOptions, 'tag'> = {},
): Promise<void> {
  let pending: PendingFile | undefined;
  try {
    pending = await PendingFile.beside(path, options);
    await pending.handle.writeFile(data);
    await pending.commit();
  } catch (error) {
    await pending?.discard();
    throw new SealdropError('FAILED', `can't replace ${path}: ${(error as Error).message}`);
  }
}
