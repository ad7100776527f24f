// restore: one version → decrypt → decompress → a file or stdout. A file appears only once the
// OpenPGP integrity check and the gzip CRC have passed; until then it is a private temp file beside it.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { SealdropError } from '../core/errors.js';
import { formatS3Url, type S3Location } from '../core/s3-url.js';
import type { ObjectVersion, VersionSelector } from '../core/versions.js';
import { Keyring, loadIdentities, type PassphraseSource } from './identities.js';
import { createS3Client, type S3ClientOptions } from './s3-client.js';
import { unseal, type Compression } from './unseal.js';
import { openRun } from './runs.js';
import { openVersion } from './versions.js';

export interface RestoreOptions extends S3ClientOptions {
  location: S3Location;
  selector: VersionSelector;
  /** Private key files; the first one the object is encrypted to is used. */
  identityPaths: string[];
  askPassphrase: PassphraseSource;
  /** Write here (atomically, mode 0600); else to `output`. */
  outPath?: string;
  /** Replace an existing outPath. */
  overwrite?: boolean;
  /** Where the data goes without outPath; default stdout. */
  output?: Writable;
  /** false: keep gzip data compressed. */
  decompress?: boolean;
  signal?: AbortSignal;
  /** Called once the version is known and the download starts. */
  onStart?: (version: ObjectVersion) => void;
  /** Things worth knowing that don't stop the restore (a prefix target skipping incomplete runs). */
  onNote?: (message: string) => void;
  onProgress?: (encryptedBytes: number, totalBytes: number) => void;
}

export interface RestoreResult {
  bucket: string;
  key: string;
  versionId: string;
  lastModified: string;
  /** Fingerprint and file of the identity that opened it. */
  identity: { fingerprint: string; source: string };
  compression: Compression;
  decompressed: boolean;
  encryptedBytes: number;
  outputBytes: number;
  out: string | null;
  seconds: number;
}

export async function restore(options: RestoreOptions): Promise<RestoreResult> {
  const started = performance.now();
  const identities = await loadIdentities(options.identityPaths);
  const keyring = new Keyring(identities, options.askPassphrase);
  await keyring.unlockSoleIdentity();
  if (options.outPath !== undefined && !options.overwrite) await refuseExisting(options.outPath);
  const client = createS3Client(options);
  // A prefix target restores a run: its parts, in order, as one stream (checked against its manifest).
  const { body, version, label } = options.location.isPrefix
    ? await openRun(client, options.location, options.selector, { onNote: options.onNote })
    : await openVersion(client, options.location, options.selector).then((opened) => ({
        ...opened,
        label: `${formatS3Url(options.location)} version ${opened.version.versionId}`,
      }));
  options.onStart?.(version);

  const target = options.outPath !== undefined ? await TempFile.beside(options.outPath) : undefined;
  try {
    const result = await unseal(body, target?.stream ?? keepOpen(options.output ?? process.stdout), {
      keyring,
      label,
      decompress: options.decompress,
      signal: options.signal,
      onProgress: (bytes) => options.onProgress?.(bytes, version.size),
    });
    if (target) {
      if (!options.overwrite) await refuseExisting(target.finalPath);
      await target.commit();
    }
    return {
      bucket: options.location.bucket,
      key: options.location.isPrefix ? `${options.location.key}${version.versionId}/` : options.location.key,
      versionId: version.versionId,
      lastModified: version.lastModified.toISOString(),
      identity: { fingerprint: result.identity.fingerprint, source: result.identity.source },
      compression: result.compression,
      decompressed: result.decompressed,
      encryptedBytes: result.encryptedBytes,
      outputBytes: result.outputBytes,
      out: target?.finalPath ?? null,
      seconds: (performance.now() - started) / 1000,
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

async function refuseExisting(path: string): Promise<void> {
  const exists = await access(path).then(
    () => true,
    () => false,
  );
  if (exists)
    throw new SealdropError('FILE_EXISTS', `${path} already exists; not overwriting it`, {
      hint: 'Choose another --out, or pass --force to replace it.',
    });
}

/** `.NAME.sealdrop-partial-XXXX` in the same directory, so the final rename is atomic. */
class TempFile {
  readonly path: string;
  readonly finalPath: string;
  readonly stream: Writable;

  private constructor(path: string, finalPath: string, stream: Writable) {
    this.path = path;
    this.finalPath = finalPath;
    this.stream = stream;
  }

  static async beside(finalPath: string): Promise<TempFile> {
    const path = join(
      dirname(finalPath),
      `.${basename(finalPath)}.sealdrop-partial-${randomBytes(6).toString('hex')}`,
    );
    let handle;
    try {
      handle = await open(path, 'wx', 0o600);
    } catch (error) {
      throw new SealdropError(
        'FAILED',
        `can't create a file in ${dirname(finalPath)}: ${(error as Error).message}`,
        {
          hint: 'Check that the directory of --out exists and is writable.',
        },
      );
    }
    return new TempFile(path, finalPath, createWriteStream('', { fd: handle, highWaterMark: 1 << 20 }));
  }

  /** Flushes to disk, then gives the file its name. */
  async commit(): Promise<void> {
    const handle = await open(this.path, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(this.path, this.finalPath);
  }

  async discard(): Promise<void> {
    this.stream.destroy();
    await rm(this.path, { force: true });
  }
}
