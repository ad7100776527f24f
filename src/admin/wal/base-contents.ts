// What a base backup laid down by pg restore must not hold. It is the host's, and the server replaying
// it runs on the admin's machine, as the restoring user, with the admin's key in reach.
import { open, opendir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { SealdropError } from '../../core/errors.js';

/** Files read at once while looking for shared libraries. */
const READS = 16;

/** Paths named in a refusal; the rest are counted. */
const NAMED = 3;

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
  const named: string[] = [];
  let count = 0;
  const links = await opendir(join(pgdata, 'pg_tblspc')).catch(() => null);
  if (links) for await (const link of links) if (count++ < NAMED) named.push(`pg_tblspc/${link.name}`);
  if (count > 0) throw foreign(named, count, 'tablespace links', 'one pushed through sealdrop has none');
}

/**
 * A C function in the restored catalog that names a library by a relative path loads it from the data
 * directory (the server's working directory) at the first query that calls it: code of the host's,
 * run as the restoring user. PostgreSQL keeps no ELF file in its data directory.
 */
async function refuseLibraries(pgdata: string): Promise<void> {
  // Walked as it is read, a few files at a time: the host chooses how many files its backup holds.
  const named: string[] = [];
  let count = 0;
  let batch: string[] = [];
  const check = async () => {
    const elf = await Promise.all(batch.map(isElf));
    for (const [i, path] of batch.entries())
      if (elf[i] && count++ < NAMED) named.push(relative(pgdata, path));
    batch = [];
  };
  for await (const path of files(pgdata)) {
    batch.push(path);
    if (batch.length === READS) await check();
  }
  await check();
  const what = count === 1 ? 'a shared library' : 'shared libraries';
  if (count > 0) throw foreign(named, count, what, 'PostgreSQL keeps none in its data directory');
}

/**
 * Every regular file under `dir`, depth first, one directory's listing streamed at a time (not
 * opendir's recursive mode: Node.js 20 skips entries in subdirectories with it).
 */
async function* files(dir: string): AsyncGenerator<string> {
  for await (const entry of await opendir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.isFile()) yield path;
  }
}

/** An ELF file's first bytes: the magic, then a class, a byte order and version 1. */
async function isElf(path: string): Promise<boolean> {
  const file = await open(path, 'r');
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

function foreign(named: readonly string[], count: number, what: string, why: string): SealdropError {
  const more = count > named.length ? `, and ${count - named.length} more` : '';
  return new SealdropError(
    'OBJECT_FORMAT',
    `the base backup holds ${what} (${named.join(', ')}${more}): ${why}`,
    {
      hint: 'Pick another base backup (--to, --verified); a host that pushed this one may be compromised.',
    },
  );
}
