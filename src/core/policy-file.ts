// The policy file: the one thing an agent holds. Its summary is read from the signed policy document,
// so the file cannot claim one thing while the signature allows another.
import { COMPRESSIONS, type Compression } from './compression.js';
import { SealdropError } from './errors.js';
import type { Key } from 'openpgp';
import { readTextFile } from './files.js';
import { isRecord } from './json.js';
import { renewalObjectIn } from './layout.js';
import { readRecipient } from './openpgp-keys.js';
import { MAX_RECIPIENT_CHANGE_CHARS } from './recipient-change.js';
import type { S3Location } from './s3-url.js';

export const POLICY_FILE_VERSION = 1;

/**
 * The form field that binds the recipients to the signature: their fingerprints, comma-separated, fixed by
 * an `eq` condition. S3 refuses an upload whose field differs, and the file can't swap a key unnoticed.
 * Files minted before it existed have no such field and bind no recipients.
 */
export const RECIPIENTS_FIELD = 'x-amz-meta-sealdrop-recipients';
/**
 * The form field carrying the file's MD5 (base64), which push fills in: S3 refuses the upload when the
 * bytes that arrive differ (AWS; Ceph RGW 16 only checks that the policy covers the field).
 */
const CONTENT_MD5_FIELD = 'content-md5';
/**
 * The form field carrying the SHA-256 of the encrypted bytes, which push fills in: stored as the object's
 * metadata, so the admin can match a push to its version (`versions --json`) where S3 returns no version
 * id (Ceph RGW). What the host says: it names the bytes, it proves nothing (verify does).
 */
export const SHA256_FIELD = 'x-amz-meta-sealdrop-sha256';
/** Their fingerprints travel in one metadata field, and S3 allows 2 KB of user metadata per object. */
export const MAX_RECIPIENTS = 16;

export interface PolicyFile {
  sealdrop: typeof POLICY_FILE_VERSION;
  /** A label for humans (host or database name); not signed. */
  name?: string;
  /** Where the multipart POST goes. */
  url: string;
  /** Form fields in sending order: everything before `file`. */
  fields: Record<string, string>;
  /** Armored OpenPGP public keys every backup is encrypted to. */
  recipients: string[];
  mintedAt: string;
  /** Where the agent fetches this policy's successor (fleet policies); not signed. */
  renew?: PolicyRenewal;
  /** Prefix policies: the part size push uses unless told otherwise; not signed. */
  partSize?: number;
  /** What push compresses with unless told otherwise (default gzip); not signed, like the name. */
  compression?: Compression;
  /** Where push reports each run (healthchecks.io's convention: URL/start, URL, URL/fail); not signed. */
  ping?: string;
  /**
   * The admin's OpenPGP-signed word for these recipients (core/recipient-change.ts): what lets a host
   * renew onto other recipients. Not signed by S3; a host checks it with the keys it holds.
   */
  recipientChange?: string;
}

export interface PolicyRenewal {
  /** A presigned GET URL for one object under .sealdrop/renew/ (it holds a signature: never print it). */
  url: string;
  /** From this time on, every push fetches the successor. */
  from: string;
}

/** What the signed policy document allows, plus where it goes. */
export interface PolicySummary {
  name?: string;
  url: string;
  location: S3Location;
  expiresAt: Date;
  minSize: number;
  maxSize: number;
  acl: string;
  region: string;
  accessKeyId: string;
  signedAt: Date;
  hasSessionToken: boolean;
  /** Fingerprints the signature binds (RECIPIENTS_FIELD); null for files minted before sealdrop bound them. */
  boundRecipients: string[] | null;
  /** The policy allows any Content-MD5 field, so push sends the file's (files minted before don't). */
  contentMd5: boolean;
  /** The policy allows any SHA256_FIELD, so push records the file's SHA-256 (files minted before don't). */
  sha256Field: boolean;
  /** When pushes start fetching a successor; absent when the file has no renewal location. */
  renewFrom?: Date;
}

/** What SigV4 signed: enough to sign it again with the same secret and compare. */
export interface SignedParts {
  accessKeyId: string;
  /** The credential scope: YYYYMMDD, region, service. */
  day: string;
  region: string;
  service: string;
  /** The base64 policy document exactly as sent. */
  encodedPolicy: string;
  /** Hex. */
  signature: string;
}

export interface LoadedPolicy {
  file: PolicyFile;
  summary: PolicySummary;
}

type Condition = Record<string, string> | [string, ...(string | number)[]];

interface PolicyDocument {
  expiration: string;
  conditions: Condition[];
}

/** Fields S3 checks by other means than conditions (or never). */
const UNCONDITIONED = new Set(['policy', 'x-amz-signature', 'file']);

/** Parses and cross-checks a policy file; `source` names it in error messages. */
export function parsePolicyFile(text: string, source: string): LoadedPolicy {
  const invalid = (problem: string) => new SealdropError('POLICY_FILE_INVALID', `${source}: ${problem}`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw invalid(`not valid JSON, truncated or damaged (${(error as Error).message})`);
  }
  if (!isRecord(raw)) throw invalid('not a sealdrop policy file (expected a JSON object)');
  if (raw.sealdrop === undefined) throw invalid('not a sealdrop policy file (no "sealdrop" version field)');
  if (raw.sealdrop !== POLICY_FILE_VERSION) {
    throw new SealdropError(
      'POLICY_FILE_INVALID',
      `${source}: policy file version ${JSON.stringify(raw.sealdrop)} is not supported (this sealdrop reads version ${POLICY_FILE_VERSION})`,
      {
        hint: 'Upgrade sealdrop, or mint the policy again with this version.',
      },
    );
  }
  const { url, fields, recipients, name, mintedAt, renew, partSize, compression, ping, recipientChange } =
    raw;
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) throw invalid('"url" must be an http(s) URL');
  if (!isRecord(fields) || !Object.values(fields).every((v) => typeof v === 'string')) {
    throw invalid('"fields" must be an object of strings');
  }
  if (
    !Array.isArray(recipients) ||
    recipients.length === 0 ||
    !recipients.every((r) => typeof r === 'string')
  ) {
    throw invalid('"recipients" must list at least one armored public key');
  }
  if (name !== undefined && typeof name !== 'string') throw invalid('"name" must be a string');
  if (typeof mintedAt !== 'string') throw invalid('"mintedAt" is missing');
  if (
    renew !== undefined &&
    !(
      isRecord(renew) &&
      typeof renew.url === 'string' &&
      /^https?:\/\//.test(renew.url) &&
      typeof renew.from === 'string' &&
      !Number.isNaN(Date.parse(renew.from))
    )
  )
    throw invalid('"renew" must hold an http(s) "url" and a "from" time');
  if (partSize !== undefined && !(Number.isSafeInteger(partSize) && (partSize as number) > 0))
    throw invalid('"partSize" must be a whole number of bytes');
  if (compression !== undefined && !(COMPRESSIONS as readonly unknown[]).includes(compression))
    throw invalid(`"compression" must be one of ${COMPRESSIONS.join(', ')}`);
  const pingProblem = ping === undefined ? null : pingUrlProblem(ping);
  if (pingProblem !== null) throw invalid(`"ping" ${pingProblem}`);
  if (
    recipientChange !== undefined &&
    !(typeof recipientChange === 'string' && recipientChange.length <= MAX_RECIPIENT_CHANGE_CHARS)
  )
    throw invalid(
      `"recipientChange" must be a signed message of at most ${MAX_RECIPIENT_CHANGE_CHARS} characters`,
    );

  const file: PolicyFile = {
    sealdrop: POLICY_FILE_VERSION,
    ...(name === undefined ? {} : { name }),
    url,
    fields: fields as Record<string, string>,
    recipients: recipients as string[],
    mintedAt,
    ...(isRecord(renew) ? { renew: { url: renew.url as string, from: renew.from as string } } : {}),
    ...(partSize === undefined ? {} : { partSize: partSize as number }),
    ...(compression === undefined ? {} : { compression: compression as Compression }),
    ...(ping === undefined ? {} : { ping: ping as string }),
    ...(recipientChange === undefined ? {} : { recipientChange: recipientChange as string }),
  };
  return { file, summary: summarize(file, invalid) };
}

/** Ping URLs longer than this are not ones a monitoring service hands out. */
const MAX_PING_URL = 1000;

/** Why `value` can't be a ping URL ("must be …"), or null when it can. */
export function pingUrlProblem(value: unknown): string | null {
  const problem = `must be an http(s) URL of at most ${MAX_PING_URL} characters, such as https://hc-ping.com/UUID`;
  if (typeof value !== 'string' || value.length > MAX_PING_URL || !URL.canParse(value)) return problem;
  return /^https?:$/.test(new URL(value).protocol) ? null : problem;
}

function summarize(file: PolicyFile, invalid: (problem: string) => SealdropError): PolicySummary {
  const field = (name: string): string => {
    const entry = Object.entries(file.fields).find(([k]) => k.toLowerCase() === name);
    if (entry === undefined) throw invalid(`the "${name}" field is missing`);
    return entry[1];
  };
  for (const required of ['key', 'x-amz-algorithm', 'x-amz-signature']) field(required);
  const document = decodePolicyDocument(field('policy'), invalid);
  const expiresAt = new Date(document.expiration);
  if (Number.isNaN(expiresAt.getTime())) throw invalid('the signed policy has no valid expiration');

  let bucket: string | undefined;
  let keyRule: { exact: string } | { prefix: string } | undefined;
  let acl = '';
  let minSize = 0;
  let maxSize = Number.POSITIVE_INFINITY;
  let contentMd5 = false;
  let sha256Field = false;
  const covered = new Map<string, (value: string) => boolean>();
  for (const condition of document.conditions) {
    if (Array.isArray(condition)) {
      const [op, a, b] = condition;
      if (op === 'content-length-range') {
        minSize = Number(a);
        maxSize = Number(b);
      } else if ((op === 'eq' || op === 'starts-with') && typeof a === 'string' && typeof b === 'string') {
        const fieldName = a.replace(/^\$/, '').toLowerCase();
        covered.set(fieldName, op === 'eq' ? (v) => v === b : (v) => v.startsWith(b));
        if (fieldName === 'key') keyRule = op === 'eq' ? { exact: b } : { prefix: b };
        if (fieldName === 'acl' && op === 'eq') acl = b;
        if (fieldName === 'bucket' && op === 'eq') bucket = b;
        if (fieldName === CONTENT_MD5_FIELD && op === 'starts-with' && b === '') contentMd5 = true;
        if (fieldName === SHA256_FIELD && op === 'starts-with' && b === '') sha256Field = true;
      }
    } else {
      for (const [k, v] of Object.entries(condition)) {
        const fieldName = k.toLowerCase();
        covered.set(fieldName, (value) => value === v);
        if (fieldName === 'key') keyRule = { exact: v };
        if (fieldName === 'acl') acl = v;
        if (fieldName === 'bucket') bucket = v;
      }
    }
  }
  if (bucket === undefined || keyRule === undefined)
    throw invalid('the signed policy names no bucket or no key');

  // A field the policy does not cover (or covers with another value) is an edit after signing:
  // S3 would refuse it, so say so before any data is read.
  for (const [k, v] of Object.entries(file.fields)) {
    const name = k.toLowerCase();
    if (UNCONDITIONED.has(name)) continue;
    const check = covered.get(name);
    if (name === 'key' && 'prefix' in keyRule) continue; // the agent fills in the key under the prefix
    if (!check || !check(v))
      throw invalid(`the "${k}" field does not match the signed policy (was the file edited?)`);
  }

  let boundRecipients: string[] | null = null;
  if (covered.has(RECIPIENTS_FIELD)) {
    const bound = Object.entries(file.fields).find(([k]) => k.toLowerCase() === RECIPIENTS_FIELD)?.[1];
    if (bound === undefined) throw invalid(`the "${RECIPIENTS_FIELD}" field is missing`);
    boundRecipients = bound.split(',');
  }

  const credential = field('x-amz-credential').split('/');
  const [accessKeyId, day, region] = credential;
  if (credential.length !== 5 || !accessKeyId || !day || !region)
    throw invalid('the x-amz-credential field is malformed');
  const amzDate = field('x-amz-date');
  const signedAt = new Date(
    amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'),
  );
  return {
    ...(file.name === undefined ? {} : { name: file.name }),
    url: file.url,
    location:
      'exact' in keyRule
        ? { bucket, key: keyRule.exact, isPrefix: false }
        : { bucket, key: keyRule.prefix, isPrefix: true },
    expiresAt,
    minSize,
    maxSize,
    acl,
    region,
    accessKeyId,
    signedAt,
    hasSessionToken: Object.keys(file.fields).some((k) => k.toLowerCase() === 'x-amz-security-token'),
    boundRecipients,
    contentMd5,
    sha256Field,
    ...(file.renew ? { renewFrom: new Date(file.renew.from) } : {}),
  };
}

/** The parts of a (parsed) policy file that its signature covers. */
export function signedParts(file: PolicyFile): SignedParts {
  const field = (name: string) =>
    Object.entries(file.fields).find(([k]) => k.toLowerCase() === name)?.[1] ?? '';
  const [accessKeyId = '', day = '', region = '', service = ''] = field('x-amz-credential').split('/');
  return {
    accessKeyId,
    day,
    region,
    service,
    encodedPolicy: field('policy'),
    signature: field('x-amz-signature'),
  };
}

/** The recipients' keys and fingerprints (upper-case hex), refused unless usable and bound by the signature. */
export async function recipientKeys(
  loaded: LoadedPolicy,
  source: string,
): Promise<{ keys: Key[]; fingerprints: string[] }> {
  const keys = await Promise.all(
    loaded.file.recipients.map((armored, i) => readRecipient(armored, `${source}: recipient ${i + 1}`)),
  );
  const fingerprints = keys.map((key) => key.getFingerprint().toUpperCase());
  assertRecipientsBound(loaded.summary, fingerprints, source);
  return { keys, fingerprints };
}

/** The bucket key of a policy's renewal location (from its URL's path), or null. */
export function renewalKey(file: PolicyFile): string | null {
  if (!file.renew) return null;
  try {
    return renewalObjectIn(decodeURIComponent(new URL(file.renew.url).pathname));
  } catch {
    return null;
  }
}

/**
 * Refuses recipients that are not the ones the signature binds (same fingerprints, same order).
 * `fingerprints` are the file's recipients' (upper-case hex); a file that binds none passes.
 */
export function assertRecipientsBound(
  summary: PolicySummary,
  fingerprints: readonly string[],
  source: string,
): void {
  const bound = summary.boundRecipients;
  if (bound === null || bound.join(',') === fingerprints.join(',')) return;
  const stranger = fingerprints.find((fingerprint) => !bound.includes(fingerprint));
  throw new SealdropError(
    'POLICY_FILE_INVALID',
    `${source}: ${
      stranger
        ? `recipient ${stranger} is not one the policy was signed for`
        : 'the recipients are not the ones the policy was signed for'
    } (signed for ${bound.join(', ')}): was the file edited?`,
  );
}

function decodePolicyDocument(encoded: string, invalid: (problem: string) => SealdropError): PolicyDocument {
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
  } catch {
    throw invalid('the signed policy document is not base64-encoded JSON (damaged?)');
  }
  if (!isRecord(document) || typeof document.expiration !== 'string' || !Array.isArray(document.conditions)) {
    throw invalid('the signed policy document has no expiration or conditions');
  }
  return document as unknown as PolicyDocument;
}

/** Throws POLICY_EXPIRED when the policy can no longer be used. */
export function assertNotExpired(summary: PolicySummary, source: string, now = new Date()): void {
  if (summary.expiresAt.getTime() <= now.getTime()) {
    throw new SealdropError(
      'POLICY_EXPIRED',
      `${source}: the upload policy expired at ${summary.expiresAt.toISOString()}`,
    );
  }
}

export async function loadPolicyFile(path: string): Promise<LoadedPolicy> {
  return parsePolicyFile(await readTextFile(path, 'policy file'), path);
}

/**
 * The S3 endpoint a policy was minted for, when its URL is path-style (`ENDPOINT/BUCKET`, as minted with
 * --endpoint); undefined for AWS's own virtual-hosted URLs.
 */
export function policyEndpoint(summary: PolicySummary): string | undefined {
  const suffix = `/${summary.location.bucket}`;
  return summary.url.endsWith(suffix) ? summary.url.slice(0, -suffix.length) : undefined;
}
