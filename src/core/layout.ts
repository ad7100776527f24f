// How sealdrop names objects in a bucket: what a fixed key's suffix says, a run's parts and manifest
// under its prefix, and sealdrop's own .sealdrop/ area with the hosts' renewal objects. Pure.
import type { Compression } from './compression.js';
import type { S3Location } from './s3-url.js';

/** sealdrop's own area of the bucket (renewals, proofs, the sketch key): no host may write there; listed as such. */
export const SEALDROP_AREA = '.sealdrop/';
const RENEW_PREFIX = `${SEALDROP_AREA}renew/`;

/** Whether uploads allowed at `location` could land in sealdrop's own .sealdrop/ area. */
export function coversSealdropArea({ key, isPrefix }: S3Location): boolean {
  return key.startsWith(SEALDROP_AREA) || (isPrefix && SEALDROP_AREA.startsWith(key));
}

/** The renewal object of a host: unguessable (the token), one per host, in sealdrop's own area. */
export function renewalObjectKey(host: string, token: string): string {
  return `${RENEW_PREFIX}${host}-${token}.json`;
}

/** The renewal object a URL's path names (…/.sealdrop/renew/NAME, NAME without a slash), or null. */
export function renewalObjectIn(path: string): string | null {
  const at = path.lastIndexOf(`/${RENEW_PREFIX}`);
  const key = at === -1 ? '' : path.slice(at + 1);
  return key.length > RENEW_PREFIX.length && !key.slice(RENEW_PREFIX.length).includes('/') ? key : null;
}

/** A host's policy file in a fleet's policy directory: HOST.policy.json. */
export const POLICY_SUFFIX = '.policy.json';

/** What a fixed key ends in, per compression: the suffix says what is inside. */
const KEY_SUFFIXES = { gzip: '.gz.gpg', zstd: '.zst.gpg' } as const;

/** The compression a fixed key's suffix names (.gz.gpg gzip, .zst.gpg zstd), or null: it names none. */
export function compressionOfKey(key: string): keyof typeof KEY_SUFFIXES | null {
  for (const [compression, suffix] of Object.entries(KEY_SUFFIXES))
    if (key.endsWith(suffix)) return compression as keyof typeof KEY_SUFFIXES;
  return null;
}

/**
 * Why a fixed key's suffix and the compression disagree (zstd stored under .gz.gpg, or gzip under
 * .zst.gpg), or null when they don't. Keys with neither suffix, and `none`, name nothing to disagree with.
 */
export function suffixMismatch(key: string, compression: Compression): string | null {
  const named = compressionOfKey(key);
  if (compression === 'none' || named === null || named === compression) return null;
  return `the key ${key} ends in ${KEY_SUFFIXES[named]} (${named}) but the compression is ${compression}`;
}

// A run under a prefix: PREFIX<run-id>/part-000001 … then PREFIX<run-id>/manifest.json.

export const MANIFEST_NAME = 'manifest.json';
/** part-000001 … part-100000: fixed width, so the keys sort in part order (and `cat part-*` works). */
export const MAX_PARTS = 100_000;

const RUN_ID = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z-([0-9a-f]{6})$/;
const PART_NAME = /^part-(\d{6})$/;

/** "20261126T105300Z-3fa9c1": UTC time (sorts by time) and a random suffix (two runs in one second). */
export function newRunId(now: Date, randomHex: string): string {
  if (!/^[0-9a-f]{6}$/.test(randomHex)) throw new Error('randomHex must be 6 lowercase hex digits');
  const stamp = now
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replaceAll('-', '')
    .replaceAll(':', '');
  return `${stamp}-${randomHex}`;
}

/** The time encoded in a run id (the agent's clock), or null when `id` is not a run id. */
export function runIdTime(id: string): Date | null {
  const match = RUN_ID.exec(id);
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match;
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function partName(number: number): string {
  if (!(Number.isInteger(number) && number >= 1 && number <= MAX_PARTS))
    throw new RangeError(`part number ${number} out of range`);
  return `part-${String(number).padStart(6, '0')}`;
}

export function runKey(prefix: string, runId: string, name: string): string {
  return `${prefix}${runId}/${name}`;
}

/** What a key under the prefix is: an object of a run (its part number, null for the manifest), or a stray. */
export function runObjectOf(prefix: string, key: string): { runId: string; part: number | null } | null {
  if (!key.startsWith(prefix)) return null;
  const rest = key.slice(prefix.length);
  const slash = rest.indexOf('/');
  const runId = rest.slice(0, slash);
  const name = rest.slice(slash + 1);
  if (slash < 0 || runIdTime(runId) === null) return null;
  if (name === MANIFEST_NAME) return { runId, part: null };
  const match = PART_NAME.exec(name);
  const number = match ? Number(match[1]) : 0;
  return number >= 1 && number <= MAX_PARTS ? { runId, part: number } : null;
}
