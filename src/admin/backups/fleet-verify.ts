// fleet verify: verify's proof for every host of a fleet (or of one shard of it), a bounded number at
// a time, with one passphrase for the whole run; a failure that would fail every host stops them all.
import type { S3Client } from '@aws-sdk/client-s3';
import { isSealdropError, SealdropError, type ErrorCode } from '../../core/errors.js';
import type { Fleet, FleetHost } from '../../core/fleet.js';
import { inShard, type Shard } from '../../core/fleet-shard.js';
import { mapBounded } from '../../core/pool.js';
import { formatS3Url } from '../../core/s3-url.js';
import type { Snapshot } from '../../core/snapshot.js';
import { roundMs } from '../../core/units.js';
import { Keyring, loadIdentities, type PassphraseSource } from '../openpgp/identities.js';
import { backupSet } from '../sets/open.js';
import { FATAL as VERIFY_FATAL, verify, type SnapshotCheck, type VerifyOptions } from './verify.js';

/** Hosts verified at once unless told otherwise: each one downloads, decrypts and decompresses. */
export const DEFAULT_JOBS = 2;

export interface FleetVerifyOptions extends Pick<
  VerifyOptions,
  'identityPaths' | 'askPassphrase' | 'signal' | 'mark' | 'maxOutputBytes'
> {
  /** Every complete backup of each host (verify --all); default its latest. */
  all?: boolean;
  /** Every backup not proven yet (the nightly proof), instead of the latest. */
  unproven?: boolean;
  /** Only this shard's hosts; default all of them. */
  shard?: Shard;
  /** Hosts in flight at once (default DEFAULT_JOBS). */
  jobs?: number;
  onStart?: (host: string, snapshot: Snapshot) => void;
  onProgress?: (host: string, encryptedBytes: number, totalBytes: number) => void;
  onNote?: (host: string, message: string) => void;
  /** Each host's outcome as soon as it is known. */
  onHost?: (outcome: HostVerify) => void;
}

/** What became of one host. */
export interface HostVerify {
  host: string;
  /** Its backup set, as an s3:// URL. */
  target: string;
  /** Every backup was checked and verified. */
  ok: boolean;
  /** What verify checked: its latest backup, or with `all` every complete one (and each broken run). */
  checks: SnapshotCheck[];
  /** Why nothing could be checked (nothing complete, S3 refused its listing…); null if something was. */
  error: SealdropError | null;
  /** Nothing is stored at all: what fleet status calls "never backed up", a failure like the others. */
  neverBackedUp: boolean;
  seconds: number;
}

export interface FleetVerifyResult {
  /** The shard's hosts (every host without one), in the fleet file's order. */
  hosts: HostVerify[];
  /** The fleet's hosts in other shards, left to their own runs. */
  otherShards: number;
  /** Hosts not ok. */
  failed: number;
}

/**
 * Errors that fail every host alike (as verify's own FATAL, plus the identity's): stop at once with
 * the one error instead of reporting it per host.
 */
const FATAL: ReadonlySet<ErrorCode> = new Set([...VERIFY_FATAL, 'KEY_INVALID', 'FILE_NOT_FOUND']);

/** Credentials S3 does not take are every host's failure, though S3 answered (S3_REFUSED). */
const REFUSED_CREDENTIALS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch']);

export async function fleetVerify(
  client: S3Client,
  fleet: Fleet,
  options: FleetVerifyOptions,
): Promise<FleetVerifyResult> {
  const hosts = options.shard ? inShard(fleet.hosts, options.shard) : fleet.hosts;
  // Asked once and shared: verify unlocks the key afresh for each host, and hosts run side by side.
  let passphrase: Promise<string> | undefined;
  const askPassphrase: PassphraseSource = (identity) => (passphrase ??= options.askPassphrase(identity));
  // The keys and their passphrase before any host: a typo fails the run, not every host in turn.
  const identities = await loadIdentities(options.identityPaths, 'fleet verify');
  await new Keyring(identities, askPassphrase).unlockSoleIdentity();

  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  let fatal: { error: unknown } | undefined;
  const outcomes = await mapBounded(
    hosts,
    Math.max(1, options.jobs ?? DEFAULT_JOBS),
    async (host) => {
      try {
        const outcome = await verifyHost(client, host, { ...options, askPassphrase, signal });
        // Once another host's error stopped the run, this one's failure is only that: not reported.
        if (stop.signal.aborted) return null;
        options.onHost?.(outcome);
        return outcome;
      } catch (error) {
        // The first one is the one to report: the hosts it stops fail with INTERRUPTED.
        fatal ??= { error };
        stop.abort();
        return null;
      }
    },
    { until: (outcome) => outcome === null },
  );
  if (fatal) throw fatal.error;
  const verified = outcomes.filter((outcome): outcome is HostVerify => outcome != null);
  return {
    hosts: verified,
    otherShards: fleet.hosts.length - hosts.length,
    failed: verified.filter((outcome) => !outcome.ok).length,
  };
}

async function verifyHost(
  client: S3Client,
  host: FleetHost,
  options: FleetVerifyOptions & { askPassphrase: PassphraseSource; signal: AbortSignal },
): Promise<HostVerify> {
  const started = performance.now();
  const seconds = () => roundMs((performance.now() - started) / 1000);
  const base = { host: host.name, target: formatS3Url(host.location) };
  try {
    const result = await verify(client, host.location, {
      selector: options.all ? { kind: 'all' } : options.unproven ? { kind: 'unproven' } : { kind: 'latest' },
      identityPaths: options.identityPaths,
      allowUnbound: host.settings.allowUnbound,
      askPassphrase: options.askPassphrase,
      signal: options.signal,
      ...(options.mark === undefined ? {} : { mark: options.mark }),
      ...(options.maxOutputBytes === undefined ? {} : { maxOutputBytes: options.maxOutputBytes }),
      onStart: (snapshot) => options.onStart?.(host.name, snapshot),
      onProgress: (bytes, total) => options.onProgress?.(host.name, bytes, total),
      onNote: (message) => options.onNote?.(host.name, message),
    });
    return {
      ...base,
      target: result.target,
      ok: result.failed === 0,
      checks: result.checks,
      error: null,
      neverBackedUp: false,
      seconds: seconds(),
    };
  } catch (error) {
    if (!isSealdropError(error) || isFatal(error)) throw error;
    const neverBackedUp = error.code === 'NOT_FOUND' && (await nothingStored(client, host, options.signal));
    return { ...base, ok: false, checks: [], error, neverBackedUp, seconds: seconds() };
  }
}

function isFatal(error: SealdropError): boolean {
  if (FATAL.has(error.code)) return true;
  const cause = error.cause as { name?: unknown } | undefined;
  return error.code === 'S3_REFUSED' && REFUSED_CREDENTIALS.has(String(cause?.name));
}

/** Whether verify found nothing because nothing is there (not a delete marker, not a missing bucket). */
async function nothingStored(client: S3Client, host: FleetHost, signal: AbortSignal): Promise<boolean> {
  try {
    const listing = await backupSet(client, host.location).list({ newestComplete: {}, signal });
    return listing.snapshots.length === 0;
  } catch (error) {
    if (!isSealdropError(error) || isFatal(error)) throw error;
    return false;
  }
}
