// --sign-with KEY.asc | gpg:ID: the admin's private key signing a recipient change (a cleartext-signed
// statement). OpenPGP.js signs with a key file; gpg signs with a key it holds (gpg-agent, a card).
import * as openpgp from 'openpgp';
import { SealdropError } from '../../core/errors.js';
import { readTextFile } from '../../core/files.js';
import { isGpgSpec } from '../../core/gpg-spec.js';
import { assertArmoredKeyText } from '../../core/openpgp-keys.js';
import type { ChangeSigner } from '../../core/recipient-change.js';
import { gpgClearsign } from './gpg.js';

/**
 * Reads the key now (a wrong file fails before anything is minted); unlocks it, asking its passphrase,
 * only when it first signs.
 */
export async function loadChangeSigner(
  spec: string,
  askPassphrase: (source: string, fingerprint: string) => Promise<string>,
): Promise<ChangeSigner> {
  if (isGpgSpec(spec)) return { source: spec, sign: (text) => gpgClearsign(spec, text) };
  const armored = await readTextFile(spec, '--sign-with key');
  const hint =
    'Pass the PREFIX.key.asc file from `sealdrop key generate`, or gpg:FINGERPRINT for a key in gpg.';
  assertArmoredKeyText(armored, spec, hint);
  let key: openpgp.PrivateKey;
  try {
    key = await openpgp.readPrivateKey({ armoredKey: armored });
  } catch (error) {
    throw new SealdropError(
      'KEY_INVALID',
      `${spec}: not an armored OpenPGP private key (${(error as Error).message})`,
      { hint },
    );
  }
  const fingerprint = key.getFingerprint().toUpperCase();
  let unlocked: Promise<openpgp.PrivateKey> | undefined;
  const unlock = async (): Promise<openpgp.PrivateKey> => {
    if (key.isDecrypted()) return key;
    const passphrase = await askPassphrase(spec, fingerprint);
    try {
      return await openpgp.decryptKey({ privateKey: key, passphrase });
    } catch (error) {
      throw new SealdropError(
        'WRONG_PASSPHRASE',
        `the passphrase does not unlock ${spec} (key ${fingerprint})`,
        {
          cause: error,
        },
      );
    }
  };
  return {
    source: spec,
    async sign(text) {
      unlocked ??= unlock();
      const message = await openpgp.createCleartextMessage({ text });
      return openpgp.sign({ message, signingKeys: await unlocked });
    },
  };
}
