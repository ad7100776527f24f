// A fleet's policies: fleet mint keeps the admin's copy of every host's policy current (idempotent);
// fleet publish mints each host's successor and uploads it to the host's renewal location.
// The copies in the policy directory are the fleet's state: they name each host's renewal location.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { fleetInvalid, POLICY_SUFFIX, type FleetHost } from '../../core/fleet.js';
import type { LoadedFleet } from '../../core/fleet-load.js';
import { renewalObjectKey } from '../../core/layout.js';
import { replaceFile } from '../../core/files.js';
import { loadPolicyFile, renewalKey, type LoadedPolicy } from '../../core/policy-file.js';
import { formatDuration } from '../../core/units.js';
import { isSealdropError, SealdropError } from '../../core/errors.js';
import { plural } from '../../core/words.js';
import type { ChangeSigner } from '../../core/recipient-change.js';
import { recipientChangeFor } from './recipient-change.js';
import { createPolicyFile, type CreatedPolicy } from './mint.js';
import { checkRenewalUrl, renewalUrlError } from './renewal-check.js';
import { checkPolicySignature } from './trust.js';
import { s3Error } from '../s3/client.js';
import { readBucketPolicy } from '../s3/bucket-policy.js';
import { findRevocation } from '../../core/revocation.js';
import { removeRenewal } from './revoke.js';

/** Clock and rounding slack when comparing a copy's lifetime or window with the fleet's settings. */
const SLACK_MS = 60_000;

export interface FleetPolicyOptions {
  /** The policy directory: HOST.policy.json for every host. */
  outDir: string;
  /** Signs the recipient change of hosts whose recipients change (--sign-with). */
  signer?: ChangeSigner;
  now?: Date;
}

export interface MintedHost {
  host: string;
  path: string;
  /** written: there was no copy; rewritten: it changed or was due; kept: current and not due. */
  action: 'written' | 'rewritten' | 'kept';
  /** Why it was rewritten (or, when kept, nothing). */
  reasons: string[];
  expiresAt: string;
}

export interface FleetMintResult {
  hosts: MintedHost[];
  warnings: string[];
}

export interface PublishedHost {
  host: string;
  path: string;
  renewalKey: string;
  expiresAt: string;
  /** The host had no policy copy yet: its file must be installed on it once, by hand. */
  firstPolicy: boolean;
}

export interface FleetPublishResult {
  hosts: PublishedHost[];
  /** Hosts revoked in the bucket policy: nothing published, their successor removed. */
  skipped: { host: string; reason: string }[];
  /** Hosts not published, and what to do about it. */
  failures: { host: string; message: string; hint: string }[];
  warnings: string[];
}

/**
 * Rewrites a host's copy only when it is missing, differs from what the fleet file says (key, endpoint,
 * recipients, ACL, sizes, compression, expiry, renewal window, signer) or is due (in its renewal window);
 * else keeps it. Every host is minted before any file is written: a host that can't be leaves all as
 * they were. Signs offline with `client`'s credentials, which also presign the renewal URLs.
 */
export async function mintFleet(
  client: S3Client,
  fleet: LoadedFleet,
  options: FleetPolicyOptions,
): Promise<FleetMintResult> {
  const now = options.now ?? new Date();
  const planned: {
    host: FleetHost;
    path: string;
    existing: Copy;
    candidate: CreatedPolicy;
    reasons: string[];
  }[] = [];
  const problems: string[] = [];
  const changes = await recipientChanges(fleet, options);
  for (const host of fleet.hosts) {
    const path = join(options.outDir, `${host.name}${POLICY_SUFFIX}`);
    const plan = changes.get(host.name)!;
    const { existing } = plan;
    let candidate: CreatedPolicy;
    try {
      candidate = await mintFor(client, fleet, host, path, plan);
    } catch (error) {
      // What the fleet file can fix is one host's problem; anything else (credentials) is everyone's.
      if (!(isSealdropError(error) && error.code === 'USAGE')) throw error;
      problems.push(`${fleet.source}: host ${host.name}: ${error.message}`);
      continue;
    }
    const reasons =
      existing.state === 'loaded'
        ? await differences(client, existing.loaded, candidate, host, now)
        : existing.state === 'invalid'
          ? [existing.problem]
          : [];
    planned.push({ host, path, existing, candidate, reasons });
  }
  if (problems.length > 0)
    throw fleetInvalid(
      fleet.source,
      problems,
      'Nothing was written. Fix these hosts in the fleet file (sealdrop fleet check shows every problem), then mint again.',
    );
  await mkdir(options.outDir, { recursive: true, mode: 0o700 });
  const hosts: MintedHost[] = [];
  const warnings = new Set<string>();
  for (const { host, path, existing, candidate, reasons } of planned) {
    candidate.warnings.forEach((warning) => warnings.add(warning));
    if (existing.state === 'loaded' && reasons.length === 0) {
      hosts.push({ host: host.name, path, action: 'kept', reasons, expiresAt: iso(existing.loaded) });
      continue;
    }
    await replaceFile(path, candidate.text, { mode: 0o600 });
    hosts.push({
      host: host.name,
      path,
      action: existing.state === 'missing' ? 'written' : 'rewritten',
      reasons,
      expiresAt: iso(candidate),
    });
  }
  return { hosts, warnings: [...warnings] };
}

/**
 * Mints every host's next policy, uploads it to the host's renewal location, fetches it back through the
 * renewal URL it hands out (as the host will: no credentials), then drops the superseded versions there
 * and updates the copy. A host that fails (its URL too) is reported and the others go on; a host
 * revoked in the bucket policy is skipped.
 */
export async function publishFleet(
  client: S3Client,
  fleet: LoadedFleet,
  options: FleetPolicyOptions,
): Promise<FleetPublishResult> {
  await mkdir(options.outDir, { recursive: true, mode: 0o700 });
  const result: FleetPublishResult = { hosts: [], skipped: [], failures: [], warnings: [] };
  const warnings = new Set<string>();
  // Which hosts are cut off lives in the bucket policy: unreadable, publishing could revive one.
  const bucketPolicy = await readBucketPolicy(client, fleet.bucket);
  const changes = await recipientChanges(fleet, options);
  for (const host of fleet.hosts) {
    const path = join(options.outDir, `${host.name}${POLICY_SUFFIX}`);
    try {
      const plan = changes.get(host.name)!;
      const { existing } = plan;
      const revocation = findRevocation(bucketPolicy, host.location);
      if (revocation) {
        const reason = `revoked since ${revocation.since?.toISOString() ?? '(unknown)'}`;
        result.skipped.push({ host: host.name, reason });
        // A successor left by a revoke that failed half-way goes now.
        const key = existing.state === 'loaded' ? renewalKey(existing.loaded.file) : null;
        if (key !== null)
          await removeRenewal(client, fleet.bucket, key, true).catch((error: unknown) =>
            warnings.add(`${host.name}: ${s3Error(error, `removing s3://${fleet.bucket}/${key}`).message}`),
          );
        continue;
      }
      const candidate = await mintFor(client, fleet, host, path, plan);
      candidate.warnings.forEach((warning) => warnings.add(warning));
      const key = renewalKey(candidate.file)!;
      let versionId: string | undefined;
      try {
        ({ VersionId: versionId } = await client.send(
          new PutObjectCommand({
            Bucket: fleet.bucket,
            Key: key,
            Body: candidate.text,
            ContentType: 'application/json',
          }),
        ));
      } catch (error) {
        throw s3Error(error, `uploading the policy of ${host.name} to s3://${fleet.bucket}/${key}`);
      }
      // The URL handed out must work for the host, without credentials: else it fails silently there.
      const problem = await checkRenewalUrl(candidate.file.renew!.url, candidate.text);
      if (problem) {
        const left = await undoUpload(client, fleet.bucket, key, versionId);
        if (left) warnings.add(`${host.name}: ${left}`);
        throw renewalUrlError(problem, candidate.summary.accessKeyId);
      }
      await replaceFile(path, candidate.text, { mode: 0o600 });
      const dropped = await dropSuperseded(client, fleet.bucket, key, versionId);
      if (dropped) warnings.add(dropped);
      result.hosts.push({
        host: host.name,
        path,
        renewalKey: key,
        expiresAt: iso(candidate),
        firstPolicy: existing.state !== 'loaded' || renewalKey(existing.loaded.file) !== key,
      });
    } catch (error) {
      if (!isSealdropError(error)) throw error;
      result.failures.push({ host: host.name, message: error.message, hint: error.hint });
    }
  }
  result.warnings = [...warnings];
  return result;
}

type Copy =
  { state: 'missing' } | { state: 'invalid'; problem: string } | { state: 'loaded'; loaded: LoadedPolicy };

async function readCopy(path: string): Promise<Copy> {
  try {
    return { state: 'loaded', loaded: await loadPolicyFile(path) };
  } catch (error) {
    if (isSealdropError(error) && error.code === 'FILE_NOT_FOUND') return { state: 'missing' };
    if (isSealdropError(error))
      return { state: 'invalid', problem: `the copy was not usable (${error.message})` };
    throw error;
  }
}

/**
 * Every host's copy as it is now, and the recipient change its next policy carries. Hosts whose
 * recipients change need `options.signer`: without one, nothing is minted (exit 2, naming them).
 */
async function recipientChanges(
  fleet: LoadedFleet,
  options: FleetPolicyOptions,
): Promise<Map<string, Planned>> {
  const planned = new Map<string, Planned>();
  const unsigned: SealdropError[] = [];
  for (const host of fleet.hosts) {
    const existing = await readCopy(join(options.outDir, `${host.name}${POLICY_SUFFIX}`));
    const copy = existing.state === 'loaded' ? existing.loaded : null;
    const next = host.recipients.map((file) => fleet.keys.get(file)!.fingerprint);
    try {
      const change = await recipientChangeFor(
        host.name,
        host.location,
        next,
        copy,
        options.signer,
        options.now,
      );
      planned.set(host.name, { existing, change });
    } catch (error) {
      if (!(isSealdropError(error) && error.code === 'USAGE' && options.signer === undefined)) throw error;
      unsigned.push(error as SealdropError);
    }
  }
  const [first] = unsigned;
  if (first)
    throw new SealdropError(
      'USAGE',
      `${fleet.source}: host ${first.message}${unsigned.length > 1 ? ` (and ${plural(unsigned.length - 1, 'other host')} whose recipients change); nothing was written` : '; nothing was written'}`,
      { hint: first.hint },
    );
  return planned;
}

interface Planned {
  existing: Copy;
  change: string | undefined;
}

/** The host's policy as the fleet file says, at its renewal location (the copy's, else a new one). */
function mintFor(
  client: S3Client,
  fleet: LoadedFleet,
  host: FleetHost,
  path: string,
  { existing, change }: Planned,
): Promise<CreatedPolicy> {
  const known = existing.state === 'loaded' ? renewalKey(existing.loaded.file) : null;
  const { settings } = host;
  return createPolicyFile(
    client,
    {
      location: host.location,
      expiresInMs: settings.expires,
      maxSize: settings.maxSize,
      acl: settings.acl,
      name: host.name,
      renewal: {
        key: known ?? renewalObjectKey(host.name, randomBytes(16).toString('hex')),
        windowMs: settings.renewWindow,
      },
      ...(settings.partSize === null ? {} : { partSize: settings.partSize }),
      ...(settings.compress === null ? {} : { compression: settings.compress }),
      ...(settings.ping === null ? {} : { ping: settings.ping }),
      ...(change === undefined ? {} : { recipientChange: change }),
    },
    host.recipients.map((file) => ({ armored: fleet.keys.get(file)!.armored, source: file })),
    path,
  );
}

/** Why a copy no longer matches the candidate minted from the fleet file (empty: it is current). */
async function differences(
  client: S3Client,
  copy: LoadedPolicy,
  candidate: CreatedPolicy,
  host: FleetHost,
  now: Date,
): Promise<string[]> {
  const was = copy.summary;
  const next = candidate.summary;
  const reasons: string[] = [];
  const differ = (what: string, a: unknown, b: unknown) => {
    if (a !== b) reasons.push(`${what} changed`);
  };
  differ('bucket', was.location.bucket, next.location.bucket);
  differ(
    next.location.isPrefix ? 'prefix' : 'key',
    `${was.location.isPrefix}${was.location.key}`,
    `${next.location.isPrefix}${next.location.key}`,
  );
  differ('URL', was.url, next.url);
  differ('region', was.region, next.region);
  differ('ACL', was.acl, next.acl);
  differ('max size', was.maxSize, next.maxSize);
  differ('part size', copy.file.partSize, candidate.file.partSize);
  differ('ping URL', copy.file.ping, candidate.file.ping);
  differ('compression', copy.file.compression ?? 'gzip', candidate.file.compression ?? 'gzip');
  differ('name', copy.file.name, candidate.file.name);
  if (was.boundRecipients === null) reasons.push('recipients not bound to the signature (an older file)');
  else differ('recipients', was.boundRecipients.join(','), next.boundRecipients?.join(','));
  if (was.accessKeyId !== next.accessKeyId) reasons.push(`signer changed (was ${was.accessKeyId})`);
  else if ((await checkPolicySignature(client, copy.file)).state === 'failed')
    reasons.push('its signature does not match (was it edited?)');
  const lifetime = was.expiresAt.getTime() - was.signedAt.getTime();
  if (Math.abs(lifetime - host.settings.expires) > SLACK_MS) reasons.push('expiry setting changed');
  if (!was.renewFrom) reasons.push('no renewal location');
  else {
    if (Math.abs(was.expiresAt.getTime() - was.renewFrom.getTime() - host.settings.renewWindow) > SLACK_MS)
      reasons.push('renewal window changed');
    const left = was.expiresAt.getTime() - now.getTime();
    if (left <= 0) reasons.push('expired');
    else if (now.getTime() >= was.renewFrom.getTime())
      reasons.push(`due: expires in ${formatDuration(left)}`);
  }
  return reasons;
}

/**
 * Deletes the versions of a renewal object older than `current`: each publish adds one and removes the
 * ones before, so there is one to delete, a page at most. Returns a warning on failure.
 */
async function dropSuperseded(
  client: S3Client,
  bucket: string,
  key: string,
  current: string | undefined,
): Promise<string | null> {
  if (current === undefined) return null; // an unversioned bucket keeps no old versions
  try {
    const page = await client.send(
      new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key, MaxKeys: 1000 }),
    );
    for (const version of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])])
      if (version.Key === key && version.VersionId && version.VersionId !== current)
        await client.send(
          new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: version.VersionId }),
        );
    return null;
  } catch (error) {
    return `could not remove the superseded policies at s3://${bucket}/${key}: ${s3Error(error, 'cleaning up').message}`;
  }
}

/**
 * Removes a successor whose renewal URL hosts can't use, so that none installs it (its version: the one
 * before is current again). Returns a warning when it stays.
 */
async function undoUpload(
  client: S3Client,
  bucket: string,
  key: string,
  versionId: string | undefined,
): Promise<string | null> {
  try {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
    return null;
  } catch (error) {
    return `the policy with the unusable renewal URL stays at s3://${bucket}/${key} (${s3Error(error, 'removing it').message}): a host that renews from it can't renew again; publish again with the right signer`;
  }
}

function iso(policy: LoadedPolicy): string {
  return policy.summary.expiresAt.toISOString();
}
