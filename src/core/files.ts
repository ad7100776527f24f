// Reading inputs and writing private files (keys, policy files): 0600 and never silently replaced.
import { open, readFile } from 'node:fs/promises';
import { SealdropError } from './errors.js';

export async function writeNewFile(
  path: string,
  data: string,
  { overwrite = false, mode = 0o600 } = {},
): Promise<void> {
  let handle;
  try {
    handle = await open(path, overwrite ? 'w' : 'wx', mode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw new SealdropError('FILE_EXISTS', `${path} already exists; not overwriting it`);
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
