// Files `wal fetch` fetched ahead: verified plaintext in pg_wal/sealdrop-fetch/, handed to PostgreSQL by
// a rename when it asks. Only node:fs here: PostgreSQL's call for a file fetched ahead is answered
// before the command line (and the AWS SDK) is even loaded.
import { renameSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function aheadDir(destination: string): string {
  return join(dirname(destination), 'sealdrop-fetch');
}

/** Moves the file fetched ahead for `name` to `destination`; false when there is none. */
export function takeAhead(name: string, destination: string): boolean {
  if (!/^[0-9A-F]{24}$/.test(name)) return false;
  try {
    renameSync(join(aheadDir(destination), name), destination);
    return true;
  } catch {
    return false;
  }
}

/** `… wal fetch ARCHIVE NAME PATH [OPTIONS]` for a file fetched ahead: answered from the arguments alone. */
export function fetchedAhead(argv: readonly string[]): boolean {
  const [command, sub, archive, name, destination] = argv.slice(2);
  // --version-id asks for another version than the one fetched ahead.
  const plain = !argv.some((arg) => arg === '--help' || arg === '-h' || arg.startsWith('--version-id'));
  if (command !== 'wal' || sub !== 'fetch' || !plain) return false;
  if ([archive, name, destination].some((arg) => arg === undefined || arg.startsWith('-'))) return false;
  return takeAhead(name!, destination!);
}
