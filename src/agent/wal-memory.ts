// What `wal push` remembers having stored: one small record per file in pg_wal/sealdrop/, so that
// PostgreSQL's later calls for files uploaded ahead return at once. Losing it costs a re-upload of the
// same bytes, which the read side tells apart from a forgery. Only node:fs here: the idle call's fast
// path (archivedAlready) runs before the command line is even loaded.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Beside the segments: pg_basebackup -X none leaves pg_wal's contents out, so a restored copy starts afresh. */
const MEMORY_DIR = 'sealdrop';
/** Files a call uploads ahead, by default: see the head start in wal-push.ts. */
export const DEFAULT_AHEAD = 6;
/** How many records a call clears at most: the rest goes next time. */
const MAX_CLEARED = 1000;

export interface StoredRecord {
  key: string;
  /** Plaintext bytes: a record for a file of another size (a recycled name) is no record. */
  bytes: number;
  versionId: string | null;
  storedAt: string;
}

/** pg_wal/sealdrop for %p = pg_wal/NAME. */
function memoryDir(walPath: string): string {
  return join(dirname(walPath), MEMORY_DIR);
}

/** Whether the file at walPath was stored before, as it is now (same size). */
export function rememberedStored(walPath: string): boolean {
  try {
    const record = JSON.parse(
      readFileSync(join(memoryDir(walPath), basename(walPath)), 'utf8'),
    ) as Partial<StoredRecord>;
    return record.bytes === statSync(walPath).size;
  } catch {
    return false;
  }
}

/**
 * The idle call: `… wal push [OPTIONS] PATH` for a file already stored. Judged from the arguments
 * alone, before anything heavy loads, so PostgreSQL's calls for files uploaded ahead cost next to nothing.
 */
export function archivedAlready(argv: readonly string[]): boolean {
  const args = argv.slice(2);
  if (args[0] !== 'wal' || args[1] !== 'push' || args.some((arg) => arg === '-h' || arg === '--help'))
    return false;
  const path = args.at(-1);
  return path !== undefined && args.length > 2 && !path.startsWith('-') && rememberedStored(path);
}

export async function remember(walPath: string, record: StoredRecord): Promise<void> {
  const dir = memoryDir(walPath);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, basename(walPath));
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(record), { mode: 0o600 });
  await rename(temp, path);
}

/** The names PostgreSQL has marked ready to archive (pg_wal/archive_status/NAME.ready), in its order. */
export function readyFiles(walPath: string): string[] {
  let names: string[];
  try {
    names = readdirSync(join(dirname(walPath), 'archive_status'));
  } catch {
    return [];
  }
  const ready = names.filter((name) => name.endsWith('.ready')).map((name) => name.slice(0, -6));
  // PostgreSQL archives timeline history files first, then the oldest.
  return ready.sort(
    (a, b) => Number(b.endsWith('.history')) - Number(a.endsWith('.history')) || (a < b ? -1 : 1),
  );
}

/** Forgets files PostgreSQL no longer has (archived, then recycled or removed). Bounded per call. */
export async function forgetRemoved(walPath: string): Promise<void> {
  const dir = memoryDir(walPath);
  const names = await readdir(dir).catch(() => [] as string[]);
  const present = new Set(await readdir(dirname(walPath)).catch(() => [] as string[]));
  const gone = names.filter((name) => !present.has(name)).slice(0, MAX_CLEARED);
  await Promise.all(gone.map((name) => rm(join(dir, name), { force: true })));
}
