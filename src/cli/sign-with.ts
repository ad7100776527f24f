// --sign-with: the admin's private key signing a change of a host's recipients (fleet mint, fleet publish).
import { Option, type Command } from 'commander';
import type { ChangeSigner } from '../core/recipient-change.js';
import { readPassphrase } from './passphrase.js';

export interface SigningOptions {
  signWith?: string;
  passphraseFile?: string;
}

/** mint and publish: the key that signs a change of a host's recipients (key rotation). */
export function withSigning(command: Command): Command {
  return command
    .option(
      '--sign-with <KEY.asc|gpg:ID>',
      'private key of a current recipient, signing the recipient change of hosts whose recipients change (a key file, or gpg:FINGERPRINT / gpg:EMAIL)',
    )
    .addOption(
      new Option(
        '--passphrase-file <FILE>',
        'passphrase of the --sign-with key file (else SEALDROP_PASSPHRASE, else a prompt)',
      ).env('SEALDROP_PASSPHRASE_FILE'),
    );
}

export const SIGNING_HELP = `Rotating keys: hosts renew onto other recipients only with a recipient change
signed by one of their current recipients (the old admin key, when adding a new one). When a host's
recipients in the fleet file differ from its copy's, pass --sign-with OLD.key.asc (or gpg:FINGERPRINT:
gpg signs, pinentry asks); without it nothing is written (exit 2, naming the hosts). The change then
rides along in every later policy of that host: the daily publish needs no key. The passphrase is
asked only to sign.`;

/** The --sign-with key, read now; its passphrase (--passphrase-file, SEALDROP_PASSPHRASE, a prompt) asked when it signs. */
export async function changeSigner(spec: string, options: SigningOptions): Promise<ChangeSigner> {
  const { loadChangeSigner } = await import('../admin/openpgp/signer.js');
  return loadChangeSigner(spec, (source, fingerprint) =>
    readPassphrase(options, { prompt: `Passphrase for ${source} (${fingerprint}): ` }),
  );
}
