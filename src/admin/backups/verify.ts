// verify: download, decrypt and decompress to nowhere, so a bad backup is found before it is needed;
// each outcome is recorded as the snapshot's verified mark, an object tag no upload policy can set.
import { Writable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { isSealdropError, SealdropError, type ErrorCode } from '../../core/errors.js';
import type { S3Location } from '../../core/s3-url.js';
import {
  snapshotJson,
  type Snapshot,
  type SnapshotJson,
  type SnapshotSelector,
} from '../../core/snapshot.js';
import { roundMs } from '../../core/units.js';
import type { BackupSet } from '../sets/backup-set.js';
import { choose } from '../sets/choose.js';
import { clearMark, markVerified } from '../sets/details.js';
import { backupSet } from '../sets/open.js';
import { Keyring, loadIdentities, type PassphraseSource } from '../openpgp/identities.js';
import { outputLimit, unseal, type Compression } from '../openpgp/unseal.js';

export interface VerifyOptions {
  /** One snapshot, or 'all': every complete one (and every broken one, as a failure), newest first. */
  selector: SnapshotSelector | { kind: 'all' };
  identityPaths: string[];
  askPassphrase: PassphraseSource;
  signal?: AbortSignal;
  onStart?: (snapshot: Snapshot) => void;
  onProgress?: (encryptedBytes: number, totalBytes: number) => void;
  /** Each snapshot's outcome as soon as it is known. */
  onChecked?: (check: SnapshotCheck) => void;
  /** Worth knowing, not a failure: what was skipped, objects written over after a run. */
  onNote?: (message: string) => void;
  /** Tag each snapshot that verified with its verified mark, and untag one that failed (default true). */
  mark?: boolean;
  /** What a snapshot may inflate to (default outputLimit() of its size): a bomb fails, it doesn't run on. */
  maxOutputBytes?: number;
}

export interface SnapshotCheck {
  snapshot: SnapshotJson;
  ok: boolean;
  /** What failed, when not ok, and what to do about it. */
  problem: string | null;
  hint: string | null;
  code: ErrorCode | null;
  /** Worth knowing about a snapshot that verified (a run written over after the fact). */
  warnings: readonly string[];
  identity: string | null;
  compression: Compression | null;
  encryptedBytes: number;
  /** Bytes after decryption and decompression: the size of the dump. */
  plainBytes: number;
  seconds: number;
  /** The verified mark recorded on it (ISO 8601), or null: failed, --no-mark, or it could not be set. */
  markedAt: string | null;
}

export interface VerifyResult {
  target: string;
  checks: SnapshotCheck[];
  failed: number;
}

/** Errors that would fail every snapshot alike: stop at once instead of reporting each. */
const FATAL: ReadonlySet<ErrorCode> = new Set([
  'WRONG_PASSPHRASE',
  'PASSPHRASE_REQUIRED',
  'CREDENTIALS_MISSING',
  'S3_UNREACHABLE',
  'INTERRUPTED',
  'USAGE',
]);

export async function verify(
  client: S3Client,
  location: S3Location,
  options: VerifyOptions,
): Promise<VerifyResult> {
  const keyring = new Keyring(await loadIdentities(options.identityPaths), options.askPassphrase);
  await keyring.unlockSoleIdentity();
  const set = backupSet(client, location);
  const { selector } = options;
  // One listing, whatever is verified: each snapshot is opened from it.
  let todo: Snapshot[];
  let target: string;
  if (selector.kind === 'all') {
    const listing = await set.list({ signal: options.signal });
    target = listing.target;
    todo = listing.snapshots.filter((s) => s.state === 'complete' || s.state === 'broken');
    if (todo.length === 0)
      throw new SealdropError('NOT_FOUND', `${target} has no complete backups to verify`, {
        hint: 'List what is stored with `sealdrop versions`.',
      });
  } else {
    const { listing, snapshot } = await choose(set, selector, options);
    target = listing.target;
    todo = [snapshot];
  }
  const checks: SnapshotCheck[] = [];
  for (const snapshot of todo) {
    const check = await verifyOne(set, keyring, snapshot, options);
    if (options.mark !== false) await recordMark(set, snapshot, check, options);
    checks.push(check);
    options.onChecked?.(check);
  }
  return { target, checks, failed: checks.filter((check) => !check.ok).length };
}

async function verifyOne(
  set: BackupSet,
  keyring: Keyring,
  snapshot: Snapshot,
  options: VerifyOptions,
): Promise<SnapshotCheck> {
  const started = performance.now();
  let encryptedBytes = 0;
  const base = { snapshot: snapshotJson(snapshot) };
  try {
    if (snapshot.state === 'broken')
      throw new SealdropError('INTEGRITY', `it is BROKEN: ${snapshot.notes.join('; ')}`, {
        hint: 'Not a backup: prune removes it. Find out who wrote it.',
      });
    const opened = await set.open(snapshot, { signal: options.signal });
    options.onStart?.(snapshot);
    const warnings = [...opened.notes];
    const result = await unseal(opened.body, nowhere(), {
      keyring,
      label: opened.label,
      binding: opened.binding,
      onNote: (note) => warnings.push(note),
      diagnose: true,
      maxOutputBytes: options.maxOutputBytes ?? outputLimit(snapshot.size),
      signal: options.signal,
      onProgress: (bytes) => {
        encryptedBytes = bytes;
        options.onProgress?.(bytes, snapshot.size);
      },
    });
    return {
      ...base,
      ok: true,
      problem: null,
      hint: null,
      code: null,
      warnings,
      identity: result.identity.fingerprint,
      compression: result.compression,
      encryptedBytes: result.encryptedBytes,
      plainBytes: result.outputBytes,
      seconds: roundMs((performance.now() - started) / 1000),
      markedAt: null,
    };
  } catch (error) {
    if (!isSealdropError(error) || FATAL.has(error.code)) throw error;
    return {
      ...base,
      ok: false,
      problem: error.message,
      hint: error.hint,
      code: error.code,
      warnings: [],
      identity: null,
      compression: null,
      encryptedBytes,
      plainBytes: 0,
      seconds: roundMs((performance.now() - started) / 1000),
      markedAt: null,
    };
  }
}

/** The outcome as the verified mark: set on success, removed on failure. Never fails the verify. */
async function recordMark(
  set: BackupSet,
  snapshot: Snapshot,
  check: SnapshotCheck,
  options: VerifyOptions,
): Promise<void> {
  try {
    if (check.ok) check.markedAt = (await markVerified(set, snapshot)).toISOString();
    else if (snapshot.state === 'complete' && (await clearMark(set, snapshot)))
      options.onNote?.(`${snapshot.id} failed: its verified mark was removed`);
  } catch (error) {
    if (!isSealdropError(error)) throw error;
    options.onNote?.(`the verified mark of ${snapshot.id} was not recorded: ${error.message}`);
  }
}

function nowhere(): Writable {
  return new Writable({
    highWaterMark: 1 << 20,
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}
