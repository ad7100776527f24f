// --recipients and --key-file, for the listings that show whom each backup is encrypted to (versions, ls).
import type { Command } from 'commander';
import { readTextFile } from '../core/files.js';
import { knownKey, readArmoredKey } from '../core/openpgp-keys.js';
import type { KnownKey } from '../core/recipients.js';
import { collect, integerArg } from './args.js';

export interface RecipientsCliOptions {
  recipients?: boolean;
  recipientsLimit: number;
  keyFile?: string[];
}

/** The backups whose recipients are read at most, unless --recipients-limit says otherwise. */
const DEFAULT_RECIPIENT_READS = 1000;

export function withRecipientsOptions(command: Command, what = 'backup'): Command {
  return command
    .option(
      '--recipients',
      `show the key ids each ${what} is encrypted to, read from its first 8 KiB (one ranged GET each)`,
    )
    .option(
      '--recipients-limit <N>',
      'with --recipients: read at most N (the newest, or the first sets listed)',
      integerArg,
      DEFAULT_RECIPIENT_READS,
    )
    .option(
      '--key-file <FILE>',
      "with --recipients: show this armored key's fingerprint where a backup names one of its key ids (repeatable)",
      collect,
    );
}

/** How many backups' recipients to read; null: --recipients not given. */
export function recipientReads(options: RecipientsCliOptions): number | null {
  return options.recipients ? Math.max(0, options.recipientsLimit) : null;
}

/**
 * The keys --key-file names, and with a fleet every recipient key file its hosts name (the primary's
 * fingerprint, every key id): a listing then names the fleet's own keys by fingerprint.
 */
export async function knownKeys(
  options: RecipientsCliOptions,
  fleetRecipients: readonly string[] = [],
): Promise<KnownKey[]> {
  const keys: KnownKey[] = [];
  for (const path of new Set([...(options.keyFile ?? []), ...fleetRecipients]))
    keys.push(knownKey(await readArmoredKey(await readTextFile(path, 'key file'), path)));
  return keys;
}
