// Vitest global setup of the unit tests: the stock tools some of them compare with (zstd), installed when missing.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

export default async function setup(): Promise<void> {
  await promisify(execFile)(fileURLToPath(new URL('../../scripts/need', import.meta.url)), ['zstd'], {
    timeout: 10 * 60_000,
  });
}
