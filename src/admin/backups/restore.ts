// restore: one version → decrypt → decompress → a file or stdout. A file appears only once the
// OpenPGP integrity check and the gzip CRC have passed; until then it is a private temp file beside it.
import type { Stats } from 'node:fs';
import { lstat, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { SealdropError } from '../../core/errors.js';
import { PendingFile } from '../../core/files.js';
import type { S3Location } from '../../core/s3-url.js';
import {
  snapshotJson,
  type Snapshot,
  type SnapshotJson,
  type SnapshotSelector,
} from '../../core/snapshot.js';
import { roundMs } from '../../core/units.js';
import { choose } from '../sets/choose.js';
import { backupSet } from '../sets/open.js';
import { historyOutputLimit } from '../sets/proofs.js';
import { openAhead } from '../sets/recipients.js';
import { Keyring, loadIdentities, type PassphraseSource } from '../openpgp/identities.js';
import { outputLimit, unseal, type Compression } from '../openpgp/unseal.js';

/**
 * The private keys: key files (the first one the object is encrypted to is used) and their passphrase,
 * or a keyring already made (pg restore's, so that the base backups it tries ask once).
 */
type Keys = { identityPaths: string[]; askPassphrase: PassphraseSource } | { keyring: Keyring };

export type RestoreOptions = Keys & {
  selector: SnapshotSelector;
  /** Write here (atomically, mode 0600); else to `output`. */
  outPath?: string;
  /** Replace an existing outPath (a regular file only). */
  overwrite?: boolean;
  /** Where the data goes without outPath; default stdout. */
  output?: Writable;
  /** false: keep gzip data compressed. */
  decompress?: boolean;
  /**
   * What the output may grow to: a bomb stops, leaving no file. Default: 20 times what the good backup
   * at or before it restored to (the set's history), else outputLimit() of the stored size.
   */
  maxOutputBytes?: number;
  /** Accept an object that names no place it belongs (gpg- and curl-made sets); else it is refused. */
  allowUnbound?: boolean;
  signal?: AbortSignal;
  /** Called once the snapshot is known and the download starts. */
  onStart?: (snapshot: Snapshot) => void;
  /** Things worth knowing that don't stop the restore (newer incomplete runs skipped, objects written over). */
  onNote?: (message: string) => void;
  onProgress?: (encryptedBytes: number, totalBytes: number) => void;
};

export interface RestoreResult {
  target: string;
  snapshot: SnapshotJson;
  /** Fingerprint and file of the identity that opened it. */
  identity: { fingerprint: string; source: string };
  compression: Compression;
  decompressed: boolean;
  encryptedBytes: number;
  outputBytes: number;
  out: string | null;
  seconds: number;
}

/** Restores one snapshot of the backup set at `location` (latest complete, by id, or as of a time). */
export async function restore(
  client: S3Client,
  location: S3Location,
  options: RestoreOptions,
): Promise<RestoreResult> {
  const started = performance.now();
  const keyring =
    'keyring' in options
      ? options.keyring
      : new Keyring(await loadIdentities(options.identityPaths, 'restore'), options.askPassphrase);
  if (options.outPath !== undefined) await checkOut(options.outPath, options.overwrite);
  const set = backupSet(client, location);
  const { listing, snapshot } = await choose(set, options.selector, options);
  // Asked once there is something to restore, and before its download starts.
  await keyring.unlockSoleIdentity();
  const maxOutput =
    options.maxOutputBytes ??
    (await historyOutputLimit(set, snapshot, options.signal)) ??
    outputLimit(snapshot.size);
  await openAhead(set, snapshot, keyring, options.signal);
  const { body, label, binding, notes } = await set.open(snapshot, { signal: options.signal });
  for (const note of notes) options.onNote?.(`${label}: ${note}`);
  options.onStart?.(snapshot);

  const target = options.outPath !== undefined ? await pendingOut(options.outPath) : undefined;
  try {
    const result = await unseal(body, target?.stream() ?? keepOpen(options.output ?? process.stdout), {
      keyring,
      label,
      binding,
      requireBinding: !options.allowUnbound,
      onNote: options.onNote,
      decompress: options.decompress,
      maxOutputBytes: maxOutput,
      signal: options.signal,
      onProgress: (bytes) => options.onProgress?.(bytes, snapshot.size),
    });
    if (target) {
      await checkOut(target.finalPath, options.overwrite);
      await target.commit();
    }
    return {
      target: listing.target,
      snapshot: snapshotJson(snapshot),
      identity: { fingerprint: result.identity.fingerprint, source: result.identity.source },
      compression: result.compression,
      decompressed: result.decompressed,
      encryptedBytes: result.encryptedBytes,
      outputBytes: result.outputBytes,
      out: target?.finalPath ?? null,
      seconds: roundMs((performance.now() - started) / 1000),
    };
  } catch (error) {
    await target?.discard();
    if (!target && error instanceof SealdropError && error.code === 'INTEGRITY') {
      // The stream is out already: whoever reads it must hear that it is not to be trusted.
      throw new SealdropError(
        'INTEGRITY',
        `${error.message}. THE DATA WRITTEN TO STDOUT IS DAMAGED OR FORGED: DO NOT USE IT`,
        {
          hint: `${error.hint} Pipelines: use \`set -o pipefail\` so this failure stops them.`,
          cause: error,
        },
      );
    }
    throw error;
  }
}

/** A sink that writes through to stdout without ending it (more output may follow) and reports EPIPE as an error. */
function keepOpen(output: Writable): Writable {
  // The write callbacks carry the error; the stream's own 'error' event (emitted later, and possibly
  // more than once) must not crash the process. Once broken, stdout stays broken: never unhook this.
  if (!output.listeners('error').includes(ignoreError)) output.on('error', ignoreError);
  return new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _encoding, callback) {
      output.write(chunk, (error) => callback(error ?? undefined));
    },
  });
}

function ignoreError(): void {}

/**
 * --out takes an absent path, or (with --force) a regular file. Never a directory, a device, a FIFO or a
 * symlink: replacing /dev/null or a link's target with a plaintext dump is exactly what must not happen.
 */
async function checkOut(path: string, overwrite?: boolean): Promise<void> {
  let stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return checkOutDirectory(path);
    throw new SealdropError('USAGE', `can't use --out ${path}: ${(error as Error).message}`, {
      hint: 'Check the path and its directory.',
    });
  }
  if (!stats.isFile())
    throw new SealdropError(
      'USAGE',
      `--out ${path} is ${describeFileType(stats)}; restore writes regular files only, and left it untouched`,
      { hint: 'Name a new file (or an existing regular file with --force); to stream, leave out --out.' },
    );
  if (!overwrite)
    throw new SealdropError('FILE_EXISTS', `${path} already exists; not overwriting it`, {
      hint: 'Choose another --out, or pass --force to replace it.',
    });
}

/** A new --out file's directory must exist: said before the download, not as a temp file's ENOENT. */
async function checkOutDirectory(path: string): Promise<void> {
  const directory = dirname(path);
  const found = await stat(directory).catch(() => null);
  if (!found?.isDirectory())
    throw new SealdropError(
      'USAGE',
      `--out ${path}: the directory ${directory} ${found ? 'is not a directory' : 'does not exist'}`,
      { hint: 'Create it first, or name a file in an existing directory.' },
    );
}

/** The restored file, named only once its integrity checks have passed: `.NAME.sealdrop-partial-…` until then. */
async function pendingOut(outPath: string): Promise<PendingFile> {
  try {
    return await PendingFile.beside(outPath, { tag: 'sealdrop-partial' });
  } catch (error) {
    throw new SealdropError(
      'FAILED',
      `can't create a file in ${dirname(outPath)}: ${(error as Error).message}`,
      { hint: 'Check that the directory of --out exists and is writable.' },
    );
  }
}

function describeFileType(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}
