// --identity gpg:FINGERPRINT|EMAIL: a key held by gpg-agent or a card, named the way gpg finds it.
import { SealdropError } from './errors.js';

export const GPG_PREFIX = 'gpg:';

/** Whether an --identity names a key in gpg rather than a key file. */
export function isGpgSpec(spec: string): boolean {
  return spec.startsWith(GPG_PREFIX);
}

/**
 * What gpg should search for: a fingerprint or long key id (spaces and 0x dropped), or an exact email
 * address (`<alice@example.com>`: gpg would match a bare one anywhere in a user id).
 */
export function gpgQuery(spec: string): string {
  const name = spec.slice(GPG_PREFIX.length).trim();
  const hex = name.replace(/^0x/i, '').replace(/\s+/g, '');
  if (/^([0-9A-Fa-f]{40}|[0-9A-Fa-f]{16})$/.test(hex)) return hex.toUpperCase();
  const email = /^<?([^\s<>@]+@[^\s<>@]+)>?$/.exec(name);
  if (email) return `<${email[1]}>`;
  throw new SealdropError(
    'USAGE',
    `--identity ${spec}: name the gpg key by its fingerprint (40 hex digits) or its email address`,
    { hint: 'gpg --list-secret-keys shows both: --identity gpg:alice@example.com' },
  );
}
