// Whom a backup is encrypted to, as its first bytes say (its key packets), and what that means for a
// key about to be retired: which backups only that key opens.

/**
 * - read: the key ids of its public-key session key packets (upper-case hex, 16 digits; sixteen zeros
 *   for a hidden recipient, gpg --throw-keyids), how many passphrase (symmetric) ones, and `more`: the
 *   key packets went on past the bytes read, so more recipients may follow.
 * - none: nothing could be read, and why (not OpenPGP, too short, a delete marker, not read).
 */
export type Recipients =
  { kind: 'read'; keyIds: string[]; passphrases: number; more: boolean } | { kind: 'none'; why: string };

/** The key id gpg --throw-keyids writes in place of the recipient's. */
export const HIDDEN_KEY_ID = '0000000000000000';

/**
 * What a backup means for retiring a key (OLD: its key ids, primary and subkeys):
 * - only-old: encrypted to OLD's key ids and to no other key id: once OLD is gone, nobody reads it;
 * - other: encrypted to some key id that is not OLD's (whether or not OLD is one of them);
 * - not-old: encrypted to no key at all that is OLD's, nor any other (passphrase only);
 * - unknown: it can't be told: a hidden recipient, or key packets past the bytes read;
 * - unreadable: its first bytes are not an encrypted OpenPGP message (nobody reads it with a key).
 * A passphrase (symmetric) packet is not a key: "other keys" means key ids, nothing else.
 */
export type RetireClass = 'only-old' | 'other' | 'not-old' | 'unknown' | 'unreadable';

export function retireClass(recipients: Recipients, oldKeyIds: ReadonlySet<string>): RetireClass {
  if (recipients.kind === 'none') return 'unreadable';
  const { keyIds, more } = recipients;
  if (keyIds.some((id) => id !== HIDDEN_KEY_ID && !oldKeyIds.has(id))) return 'other';
  if (more || keyIds.includes(HIDDEN_KEY_ID)) return 'unknown';
  return keyIds.length > 0 ? 'only-old' : 'not-old';
}

/** A key whose key ids a listing names by fingerprint (--key-file). */
export interface KnownKey {
  fingerprint: string;
  /** The primary key's and every subkey's, upper-case hex. */
  keyIds: readonly string[];
}

/** One recipient as a listing shows it: the fingerprint of a known key it belongs to, else its key id. */
export function recipientName(keyId: string, known: readonly KnownKey[]): string {
  return known.find((key) => key.keyIds.includes(keyId))?.fingerprint ?? keyId;
}

/** The recipients as one cell of a table: names joined, or the reason in brackets. */
export function recipientsText(recipients: Recipients | undefined, known: readonly KnownKey[]): string {
  if (recipients === undefined) return '-';
  if (recipients.kind === 'none') return `(${recipients.why})`;
  const names = recipients.keyIds.map((id) => (id === HIDDEN_KEY_ID ? 'hidden' : recipientName(id, known)));
  if (recipients.passphrases > 0) names.push(`${recipients.passphrases} passphrase`);
  if (recipients.more) names.push('more past the bytes read');
  return names.join(',') || '(no key packet)';
}

/** The JSON members a snapshot gets with --recipients. */
export function recipientsJson(recipients: Recipients | undefined, known: readonly KnownKey[]) {
  if (recipients === undefined || recipients.kind === 'none')
    return { recipients: null, recipientsNote: recipients?.why ?? 'not read' };
  return {
    recipients: recipients.keyIds,
    recipientFingerprints: Object.fromEntries(
      recipients.keyIds.flatMap((id) => {
        const name = recipientName(id, known);
        return name === id ? [] : [[id, name]];
      }),
    ),
    passphrases: recipients.passphrases,
    recipientsNote: recipients.more ? 'more key packets past the bytes read' : null,
  };
}
