// verify: download, decrypt and decompress to nowhere, so a bad backup is found before it is needed.
import { Writable, type Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { isSealdropError, SealdropError, type ErrorCode } from '../core/errors.js';
import { formatS3Url, type S3Location } from '../core/s3-url.js';
import type { ObjectVersion, VersionSelector } from '../core/versions.js';
import { Keyring, loadIdentities, type PassphraseSource } from './identities.js';
import { createS3Client, type S3ClientOptions } from './s3-client.js';
import { unseal, type Compression } from './unseal.js';
import { listRuns, openRun } from './runs.js';
import { listVersions, openVersion } from './versions.js';

export interface VerifyOptions extends S3ClientOptions {
  location: S3Location;
  /** One version, or 'all': every version that is not a delete marker, newest first. */
  selector: VersionSelector | { kind: 'all' };
  identityPaths: string[];
  askPassphrase: PassphraseSource;
  signal?: AbortSignal;
  onStart?: (version: ObjectVersion) => void;
  onProgress?: (encryptedBytes: number, totalBytes: number) => void;
  /** Each version's outcome as soon as it is known. */
  onChecked?: (check: VersionCheck) => void;
}

export interface VersionCheck {
  versionId: string;
  lastModified: string;
  ok: boolean;
  /** What failed, when not ok, and what to do about it. */
  problem: string | null;
  hint: string | null;
  code: ErrorCode | null;
  identity: string | null;
  compression: Compression | null;
  encryptedBytes: number;
  /** Bytes after decryption and decompression: the size of the dump. */
  plainBytes: number;
  seconds: number;
}

export interface VerifyResult {
  bucket: string;
  key: string;
  checks: VersionCheck[];
  failed: number;
}

/** Errors that would fail every version alike: stop at once instead of reporting each. */
const FATAL: ReadonlySet<ErrorCode> = new Set([
  'WRONG_PASSPHRASE',
  'PASSPHRASE_REQUIRED',
  'CREDENTIALS_MISSING',
  'S3_UNREACHABLE',
  'INTERRUPTED',
  'USAGE',
]);

export async function verify(options: VerifyOptions): Promise<VerifyResult> {
  const keyring = new Keyring(await loadIdentities(options.identityPaths), options.askPassphrase);
  await keyring.unlockSoleIdentity();
  const client = createS3Client(options);
  // --all verifies what the listing shows; one selector resolves inside openVersion.
  const todo: { selector: VersionSelector; listed?: ObjectVersion }[] =
    options.selector.kind === 'all'
      ? (await listAll(client, options.location))
          .filter((version) => !version.isDeleteMarker)
          .map((listed) => ({ selector: { kind: 'id', versionId: listed.versionId }, listed }))
      : [{ selector: options.selector }];
  if (todo.length === 0)
    throw new SealdropError(
      'NOT_FOUND',
      `${formatS3Url(options.location)} has no versions to verify (only delete markers)`,
    );
  const checks: VersionCheck[] = [];
  for (const { selector, listed } of todo) {
    const check = await verifyOne(client, keyring, options, selector, listed);
    checks.push(check);
    options.onChecked?.(check);
  }
  return {
    bucket: options.location.bucket,
    key: options.location.key,
    checks,
    failed: checks.filter((check) => !check.ok).length,
  };
}

async function verifyOne(
  client: S3Client,
  keyring: Keyring,
  options: VerifyOptions,
  selector: VersionSelector,
  listed?: ObjectVersion,
): Promise<VersionCheck> {
  const started = performance.now();
  let version = listed;
  let encryptedBytes = 0;
  try {
    // A prefix target verifies runs: every part against the manifest, and nothing written over.
    const opened: { version: ObjectVersion; body: Readable; label?: string } = options.location.isPrefix
      ? await openRun(client, options.location, selector, { strict: true })
      : await openVersion(client, options.location, selector);
    const current = listed ?? opened.version;
    version = current;
    options.onStart?.(current);
    const result = await unseal(opened.body, nowhere(), {
      keyring,
      label: opened.label ?? `${formatS3Url(options.location)} version ${current.versionId}`,
      diagnose: true,
      signal: options.signal,
      onProgress: (bytes) => {
        encryptedBytes = bytes;
        options.onProgress?.(bytes, current.size);
      },
    });
    return {
      ...identify(current, selector),
      ok: true,
      problem: null,
      hint: null,
      code: null,
      identity: result.identity.fingerprint,
      compression: result.compression,
      encryptedBytes: result.encryptedBytes,
      plainBytes: result.outputBytes,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    // A selector that didn't resolve (latest is a delete marker, no such id) is a usage-level answer, not a check.
    if (
      !isSealdropError(error) ||
      FATAL.has(error.code) ||
      (version === undefined && options.selector.kind !== 'all')
    )
      throw error;
    return {
      ...identify(version, selector),
      ok: false,
      problem: error.message,
      hint: error.hint,
      code: error.code,
      identity: null,
      compression: null,
      encryptedBytes,
      plainBytes: 0,
      seconds: (performance.now() - started) / 1000,
    };
  }
}

function identify(
  version: ObjectVersion | undefined,
  selector: VersionSelector,
): { versionId: string; lastModified: string } {
  return {
    versionId: version?.versionId ?? (selector.kind === 'id' ? selector.versionId : '?'),
    lastModified: version?.lastModified.toISOString() ?? '',
  };
}

function nowhere(): Writable {
  return new Writable({
    highWaterMark: 1 << 20,
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}

/** --all: every version of a key, or every complete run under a prefix (incomplete runs can't be checked). */
async function listAll(client: S3Client, location: S3Location): Promise<ObjectVersion[]> {
  if (!location.isPrefix) return listVersions(client, location);
  const { runs } = await listRuns(client, location);
  return runs
    .filter((run) => run.complete)
    .map((run) => ({
      versionId: run.runId,
      lastModified: run.time,
      size: run.size,
      isLatest: false,
      isDeleteMarker: false,
      etag: null,
    }));
}
