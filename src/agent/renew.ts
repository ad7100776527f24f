// Self-renewal: in its renewal window a push fetches the policy's successor from the admin's renewal
// location and, if it is the same upload with a later expiry (and the same recipients, or a change of them
// signed by one of them), replaces the policy file atomically.
// A renewal that fails is a warning, never a failed push: the current policy still works.
import { realpath, stat } from 'node:fs/promises';
import type { Key } from 'openpgp';
import { Agent, request } from 'undici';
import { replaceFile } from '../core/files.js';
import { parsePolicyFile, recipientKeys, type LoadedPolicy } from '../core/policy-file.js';
import { heldRecipientChange, verifyRecipientChange } from '../core/recipient-change.js';
import { formatS3Url, type S3Location } from '../core/s3-url.js';
import { formatDuration } from '../core/units.js';

/** A policy file is a few KiB per recipient: anything far larger is not one. */
const MAX_SUCCESSOR_BYTES = 1 << 20;

const dispatcher = new Agent({ connect: { timeout: 15_000 }, headersTimeout: 30_000, bodyTimeout: 30_000 });

export interface RenewalResult {
  /**
   * not-due: before the renewal window, nothing fetched; renewed: the policy file was replaced;
   * unchanged: the location holds no newer policy yet; refused: it holds one that breaks the rules;
   * failed: it could not be fetched.
   */
  state: 'not-due' | 'renewed' | 'unchanged' | 'refused' | 'failed';
  /** The expiry of the policy file in place afterwards. */
  policyExpiresAt: string;
  /** Why a due renewal did not happen; never holds the renewal URL. */
  warning?: string;
}

/** A policy as the agent judges it: what it allows and whom it encrypts to. */
export interface JudgedPolicy {
  loaded: LoadedPolicy;
  /** The recipients' keys: the only ones that may sign a change of recipients. */
  keys: readonly Key[];
  /** The recipients' fingerprints (upper-case hex), already checked against the signed binding. */
  fingerprints: readonly string[];
}

export type Verdict = { accept: true } | { accept: false; unchanged: boolean; reason: string };

/**
 * The acceptance rules: a successor must be for the same bucket and the same key or prefix, encrypt
 * to the same recipients (by fingerprint) or carry a recipient change one of them signed, and expire
 * later than the current policy.
 */
export async function judgeSuccessor(current: JudgedPolicy, successor: JudgedPolicy): Promise<Verdict> {
  const was = current.loaded.summary;
  const next = successor.loaded.summary;
  const refuse = (reason: string): Verdict => ({ accept: false, unchanged: false, reason });
  if (!sameLocation(next.location, was.location))
    return refuse(`it is for ${formatS3Url(next.location)}, not ${formatS3Url(was.location)}`);
  const problem = await judgeRecipients(current, successor);
  if (problem !== null) return refuse(problem);
  if (next.expiresAt.getTime() === was.expiresAt.getTime())
    return { accept: false, unchanged: true, reason: 'it is the policy in place' };
  if (next.expiresAt.getTime() < was.expiresAt.getTime())
    return refuse(
      `it expires at ${next.expiresAt.toISOString()}, before the policy in place (${was.expiresAt.toISOString()})`,
    );
  return { accept: true };
}

/**
 * Why the successor's recipients can't be taken, or null. Other recipients need a recipient change
 * signed by a current one (checked with the current keys only), for this place, naming them, and
 * newer than the change in place; the same recipients keep the change in place (dropping it would let
 * an older one be replayed later).
 */
async function judgeRecipients(current: JudgedPolicy, successor: JudgedPolicy): Promise<string | null> {
  const same =
    current.fingerprints.length === successor.fingerprints.length &&
    current.fingerprints.every((fingerprint) => successor.fingerprints.includes(fingerprint));
  const held = current.loaded.file.recipientChange;
  const offered = successor.loaded.file.recipientChange;
  if (same && offered === held) return null;
  const other = same
    ? ''
    : `it encrypts to ${successor.fingerprints.join(', ')}, not to ${current.fingerprints.join(', ')}, and `;
  if (offered === undefined)
    return same
      ? 'it drops the recipient change in place'
      : `${other}carries no recipient change signed by one of them (the admin mints it with --sign-with)`;
  const checked = await verifyRecipientChange(offered, current.keys);
  if (!checked.ok) return `${other}its recipient change ${checked.problem}`;
  const { change } = checked;
  if (!sameLocation(change.location, current.loaded.summary.location))
    return `${other}its recipient change is for ${formatS3Url(change.location)}, not ${formatS3Url(current.loaded.summary.location)}`;
  if (change.fingerprints.join(',') !== successor.fingerprints.join(','))
    return `${other}its recipient change names ${change.fingerprints.join(', ')}, not the recipients it encrypts to`;
  const before = held === undefined ? null : await heldRecipientChange(held);
  if (before && change.signedAt.getTime() <= before.signedAt.getTime())
    return `${other}its recipient change was signed at ${change.signedAt.toISOString()}, not after the one in place (${before.signedAt.toISOString()}): a replay?`;
  return null;
}

function sameLocation(a: S3Location, b: S3Location): boolean {
  return a.bucket === b.bucket && a.key === b.key && a.isPrefix === b.isPrefix;
}

/** Renews `policyPath` when it is due; null when the policy has no renewal location. Never throws. */
export async function renewWhenDue(
  policyPath: string,
  current: JudgedPolicy,
  { now = new Date(), signal }: { now?: Date; signal?: AbortSignal } = {},
): Promise<RenewalResult | null> {
  const { file, summary } = current.loaded;
  if (!file.renew || !summary.renewFrom) return null;
  const policyExpiresAt = summary.expiresAt.toISOString();
  if (now.getTime() < summary.renewFrom.getTime()) return { state: 'not-due', policyExpiresAt };
  const left = formatDuration(summary.expiresAt.getTime() - now.getTime());
  const outcome = (state: RenewalResult['state'], why: string): RenewalResult => ({
    state,
    policyExpiresAt,
    warning: `the policy was not renewed (${why}); it expires at ${policyExpiresAt}, in ${left}`,
  });
  let text: string;
  try {
    text = await fetchSuccessor(file.renew.url, signal);
  } catch (error) {
    return outcome('failed', (error as Error).message);
  }
  const source = 'the policy at the renewal location';
  let successor: JudgedPolicy;
  try {
    const loaded = parsePolicyFile(text, source);
    successor = { loaded, ...(await recipientKeys(loaded, source)) };
  } catch (error) {
    return outcome('refused', (error as Error).message);
  }
  const verdict = await judgeSuccessor(current, successor);
  if (!verdict.accept) {
    if (verdict.unchanged)
      return outcome(
        'unchanged',
        'no newer policy is published yet: is the admin running `sealdrop fleet publish`?',
      );
    return outcome('refused', `refused the policy at the renewal location: ${verdict.reason}`);
  }
  try {
    // Replace the file itself, not a symlink to it; keep its owner, and 0600 whatever it was.
    const target = await realpath(policyPath);
    const { uid, gid } = await stat(target);
    await replaceFile(target, text, { mode: 0o600, owner: { uid, gid } });
  } catch (error) {
    return outcome('failed', (error as Error).message);
  }
  return { state: 'renewed', policyExpiresAt: successor.loaded.summary.expiresAt.toISOString() };
}

/** GETs the successor with a bounded size; errors never name the URL (it carries a signature). */
async function fetchSuccessor(url: string, signal?: AbortSignal): Promise<string> {
  let response;
  try {
    response = await request(url, { method: 'GET', dispatcher, signal });
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    throw new Error(`the renewal location could not be reached: ${code ?? message ?? String(error)}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_SUCCESSOR_BYTES) {
      response.body.destroy();
      throw new Error('the renewal location holds more than 1 MiB: not a policy file');
    }
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks).toString('utf8');
  if (response.statusCode === 200) return body;
  const code = /<Code>([^<]{1,100})<\/Code>/.exec(body)?.[1];
  if (response.statusCode === 404) throw new Error('nothing is published at the renewal location yet');
  const answered = `the renewal location answered ${response.statusCode}${code ? ` ${code}` : ''}`;
  throw new Error(response.statusCode === 403 ? `${answered}: ${forbiddenMeaning(code)}` : answered);
}

/** What a 403 means for the admin: the host can do nothing about it but tell them. */
function forbiddenMeaning(code: string | undefined): string {
  if (code === 'SignatureDoesNotMatch')
    return 'the renewal URL in this policy file was altered, or the admin signed it for another endpoint; ask the admin for a fresh policy file';
  return (
    'the renewal URL in this policy file is signed by an identity that may not read .sealdrop/renew/ (the uploader, say): ' +
    "ask the admin to run `sealdrop fleet publish` with credentials allowed s3:GetObject on .sealdrop/renew/* (the admin's) " +
    "and to install the new policy file here once by hand, as this one's URL stays refused"
  );
}
