// What a backup is compressed with before encryption: gzip (the default: stock gunzip reads it
// everywhere), zstd (where Node's zlib has it: a third of gzip's CPU at the same ratio), or nothing.
import * as zlib from 'node:zlib';
import type { Transform } from 'node:stream';
import { SealdropError } from './errors.js';

export type Compression = 'gzip' | 'zstd' | 'none';

export const COMPRESSIONS: readonly Compression[] = ['gzip', 'zstd', 'none'];

/** zstd came to Node's zlib in these releases (stability 1, experimental; it prints no warning). */
export const ZSTD_NODE_VERSIONS = '22.15 or 23.8';

/** --level per compression: gzip's 1-9, zstd's own 1-19 (its default is 3). */
const LEVELS = {
  gzip: { min: 1, max: 9, default: 6 },
  zstd: { min: 1, max: 19, default: 3 },
} as const;

/** The part of Node's zstd binding sealdrop uses (@types/node 20 does not declare it). */
export interface ZstdBinding {
  createZstdCompress(options: { chunkSize?: number; params?: Record<number, number> }): Transform;
  createZstdDecompress(options?: { chunkSize?: number }): Transform;
  constants: {
    ZSTD_e_end: number;
    ZSTD_c_compressionLevel: number;
    ZSTD_c_checksumFlag: number;
    ZSTD_c_windowLog: number;
  };
}

/** Node's zstd, or null on a Node without it. */
export function zstdBinding(): ZstdBinding | null {
  const binding = zlib as unknown as Partial<ZstdBinding>;
  return typeof binding.createZstdCompress === 'function' ? (binding as ZstdBinding) : null;
}

/**
 * Node's zstd, or a usage error naming the Node.js version it needs (`gzip`: whether gzip is a way out,
 * as it is not for a key that names zstd).
 */
export function requireZstd(what: string, { gzip = true } = {}): ZstdBinding {
  const binding = zstdBinding();
  if (!binding)
    throw new SealdropError(
      'USAGE',
      `${what} needs Node.js ${ZSTD_NODE_VERSIONS} or later (zstd in node:zlib); this is Node.js ${process.version}`,
      {
        hint: `Push with sealdrop-agent, the single executable (its Node.js has zstd), or on a newer Node.js${gzip ? '; or use gzip (the default)' : ''}.`,
      },
    );
  return binding;
}

export function parseCompression(value: string, what = '--compress'): Compression {
  if (!(COMPRESSIONS as readonly string[]).includes(value))
    throw new SealdropError('USAGE', `${what} ${value}: use ${COMPRESSIONS.join(', ')}`);
  return value as Compression;
}

/** The level to use: the default of the compression, or `level` checked against its range. */
export function compressionLevel(compression: Compression, level: number | undefined): number {
  if (compression === 'none') return 0;
  const { min, max, default: fallback } = LEVELS[compression];
  if (level === undefined) return fallback;
  if (!(Number.isInteger(level) && level >= min && level <= max))
    throw new SealdropError(
      'USAGE',
      `--level ${level}: ${compression} takes ${min} (fast) to ${max} (small)`,
    );
  return level;
}
