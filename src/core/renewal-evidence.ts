// Which policy a host pushed a backup with: a renewing policy binds its own expiry and renewal window
// into every object it uploads (metadata fixed by the POST policy's conditions, so a host can't name
// another). From the latest backup's, fleet status tells a host still on a policy it should have left,
// where the admin's own copy (always the newest published) can't. Pure.
import { formatDuration } from './units.js';

export const POLICY_EXPIRES_FIELD = 'x-amz-meta-sealdrop-policy-expires';
export const RENEW_FROM_FIELD = 'x-amz-meta-sealdrop-renew-from';

const META_PREFIX = 'x-amz-meta-';
/** Times to the second, as S3's policy documents write them: 20 characters, nothing else accepted. */
const WHOLE_SECOND = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

/** The policy a backup was pushed with: when it expires, and when its hosts start fetching its successor. */
export interface PushedWith {
  expiresAt: Date;
  renewFrom: Date;
}

/** The form fields a renewing policy binds (each object it uploads keeps them as metadata). */
export function renewalFields({ expiresAt, renewFrom }: PushedWith): Record<string, string> {
  const second = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return { [POLICY_EXPIRES_FIELD]: second(expiresAt), [RENEW_FROM_FIELD]: second(renewFrom) };
}

/**
 * The policy a stored object names (HeadObject's metadata: names without x-amz-meta-, any case), or
 * null: pushed with a policy minted before this, one that doesn't renew, or by other means.
 */
export function pushedWith(metadata: Readonly<Record<string, string | undefined>>): PushedWith | null {
  const value = (field: string) => {
    const name = field.slice(META_PREFIX.length);
    const found = Object.entries(metadata).find(([key]) => key.toLowerCase() === name)?.[1];
    return typeof found === 'string' && WHOLE_SECOND.test(found) ? new Date(found) : null;
  };
  const expiresAt = value(POLICY_EXPIRES_FIELD);
  const renewFrom = value(RENEW_FROM_FIELD);
  if (!expiresAt || !renewFrom || Number.isNaN(expiresAt.getTime() + renewFrom.getTime())) return null;
  return renewFrom.getTime() <= expiresAt.getTime() ? { expiresAt, renewFrom } : null;
}

export interface RenewalInput {
  /** The host's latest backup: when S3 stored it, and the policy it was pushed with. */
  latest: { time: Date; policy: PushedWith };
  /** The host's other backups: when S3 stored them and the policy each names (null: none), any order. */
  earlier: readonly { time: Date; policy: PushedWith | null }[];
  /** WARNING once the policy expires within this (the host's policyWarn). */
  warnMs: number;
  /** The expiry of the admin's copy (the newest published), when known. */
  publishedExpiry: Date | null;
  now: Date;
}

/**
 * Why a host is still on a policy it should have left, or null when nothing says so. It says so when
 * the latest backup was pushed with a policy that expires within `warnMs`, and an earlier backup was
 * pushed with the same policy in its renewal window: that push fetched no successor, or the latest
 * would name a newer one. A single push in the window says nothing yet (its successor is used from
 * the next push on), nor does one made there with the policy before (it is the push that renewed).
 */
export function stalledRenewal(input: RenewalInput): string | null {
  const { latest, now } = input;
  const { expiresAt, renewFrom } = latest.policy;
  const left = expiresAt.getTime() - now.getTime();
  if (left >= input.warnMs) return null;
  let missed: Date | null = null;
  for (const { time, policy } of input.earlier)
    if (
      policy?.expiresAt.getTime() === expiresAt.getTime() &&
      time >= renewFrom &&
      time < latest.time &&
      (missed === null || time < missed)
    )
      missed = time;
  if (missed === null) return null;
  const published = input.publishedExpiry;
  const why =
    published !== null && published.getTime() > expiresAt.getTime()
      ? `a newer policy is published (expires ${published.toISOString()}): the host's push warnings say why it can't fetch it (a 403: install its policy file from the policy directory once)`
      : 'nothing newer is published: run sealdrop fleet publish';
  return `still on the policy that ${left > 0 ? `expires in ${formatDuration(left)}` : 'has expired'} (${expiresAt.toISOString()}): it pushed with it at ${missed.toISOString()}, in its renewal window, and again at ${latest.time.toISOString()}, so it did not renew; ${why}`;
}
