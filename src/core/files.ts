// Reading inputs and writing private files (keys, policy files): 0600, never silently replaced, and
// replaced (when that is the point) only atomically.
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
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

export interface ReplaceOptions {
  mode?: number;
  /** Give the new file this owner (the one it replaces, say); needs the right to chown. */
  owner?: { uid: number; gid: number };
}

/**
 * Replaces `path` atomically: a temp file beside it (written, flushed, with the mode and owner), then a
 * rename over it. Readers see the old file or the new one, never half of one; on failure the old one stays.
 */
export async function replaceFile(path: string, data: string, options: ReplaceOptions = {}): Promise<void> {
  const mode = options.mode ?? 0o600;
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.chmod(mode); // the umask must not loosen it
      if (options.owner) await handle.chown(options.owner.uid, options.owner.gid);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw new SealdropError('FAILED', `can't replace ${path}: ${(error as Error).message}`);
  }
}
