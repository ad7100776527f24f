// What a base backup laid down by pg restore must not hold. It is the host's, and the server replaying
// it runs on the admin's machine, as the restoring user, with the admin's key in reach.
import type { Dirent } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { SealdropError } from '../../core/errors.js';
import { mapBounded } from '../../core/pool.js';

/** Files read at once while looking for shared libraries. */
const READS = 16;

/** Refuses tablespace links and shared libraries in the extracted data directory. */
export async function checkBaseContents(pgdata: string): Promise<void> {
  await refuseTablespaces(pgdata);
  await refuseLibraries(pgdata);
}

/**
 * WAL replay writes a tablespace's files where its link in pg_tblspc leads, on this machine. A base
 * backup pushed through sealdrop has none (pg_basebackup writes one tar on stdout only without
 * tablespaces): links there are the host's doing.
 */
async function refuseTablespaces(pgdata: string): Promise<void> {
  const links = await readdir(join(pgdata, 'pg_tblspc')).catch(() => []);
  if (links.length > 0)
    throw foreign(
      links.map((name) => `pg_tblspc/${name}`),
      'tablespace links',
      'one pushed through sealdrop has none',
    );
}

/**
 * A C function in the restored catalog that names a library by a relative path loads it from the data
 * directory (the server's working directory) at the first query that calls it: code of the host's,
 * run as the restoring user. PostgreSQL keeps no ELF file in its data directory.
 */
async function refuseLibraries(pgdata: string): Promise<void> {
  const entries = await readdir(pgdata, { recursive: true, withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile());
  const elf = await mapBounded(files, READS, isElf);
  const found = files.filter((_, i) => elf[i]).map((entry) => relative(pgdata, pathOf(entry)));
  if (found.length > 0)
    throw foreign(
      found,
      found.length === 1 ? 'a shared library' : 'shared libraries',
      'PostgreSQL keeps none in its data directory',
    );
}

function pathOf(entry: Dirent): string {
  return join(entry.parentPath, entry.name);
}

/** An ELF file's first bytes: the magic, then a class, a byte order and version 1. */
async function isElf(entry: Dirent): Promise<boolean> {
  const file = await open(pathOf(entry), 'r');
  try {
    const head = Buffer.alloc(7);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    return (
      bytesRead === head.length &&
      head.readUInt32BE(0) === 0x7f454c46 &&
      (head[4] === 1 || head[4] === 2) &&
      (head[5] === 1 || head[5] === 2) &&
      head[6] === 1
    );
  } finally {
    await file.close();
  }
}

function foreign(paths: readonly string[], what: string, why: string): SealdropError {
  const named = `${paths.slice(0, 3).join(', ')}${paths.length > 3 ? ', …' : ''}`;
  return new SealdropError('OBJECT_FORMAT', `the base backup holds ${what} (${named}): ${why}`, {
    hint: 'Pick another base backup (--to, --verified); a host that pushed this one may be compromised.',
  });
}
