// The admin's private keys (--identity): which one opens a message, unlocked only when it is needed.
import * as openpgp from 'openpgp';
import { SealdropError } from '../core/errors.js';
import { readTextFile } from '../core/files.js';

export interface Identity {
  /** The file it came from, for messages. */
  source: string;
  key: openpgp.PrivateKey;
  fingerprint: string;
}

/** Asked at most once per run, and only if a passphrase-protected key has to be unlocked. */
export type PassphraseSource = (identity: Identity) => Promise<string>;

export interface OpenedSession {
  identity: Identity;
  sessionKeys: openpgp.DecryptedSessionKey[];
}

export async function loadIdentities(paths: readonly string[]): Promise<Identity[]> {
  if (paths.length === 0)
    throw new SealdropError('USAGE', 'no --identity given: restoring needs the private key', {
      hint: 'Pass --identity admin.key.asc (from `sealdrop key generate` or `gpg --armor --export-secret-keys`).',
    });
  const identities: Identity[] = [];
  for (const path of paths) {
    const text = await readTextFile(path, 'identity');
    let keys: openpgp.Key[];
    try {
      keys = await openpgp.readKeys({ armoredKeys: text });
    } catch (error) {
      throw new SealdropError(
        'KEY_INVALID',
        `${path}: not an armored OpenPGP key (${(error as Error).message})`,
      );
    }
    for (const key of keys) {
      if (!key.isPrivate()) {
        throw new SealdropError(
          'KEY_INVALID',
          `${path}: key ${key.getFingerprint().toUpperCase()} is a public key; restoring needs the private key`,
          {
            hint: 'Pass the PREFIX.key.asc file from `sealdrop key generate` (or `gpg --armor --export-secret-keys`).',
          },
        );
      }
      identities.push({ source: path, key, fingerprint: key.getFingerprint().toUpperCase() });
    }
  }
  return identities;
}

/**
 * Unlocks keys on demand and finds the session key of messages. Keeps unlocked keys (and the one
 * passphrase) for the run, so `verify --all` asks once.
 */
export class Keyring {
  readonly #identities: readonly Identity[];
  readonly #askPassphrase: PassphraseSource;
  readonly #unlocked = new Map<Identity, Promise<openpgp.PrivateKey>>();
  #passphrase: Promise<string> | undefined;

  constructor(identities: readonly Identity[], askPassphrase: PassphraseSource) {
    this.#identities = identities;
    this.#askPassphrase = askPassphrase;
  }

  /** Decrypts the session key with the first identity the message is encrypted to. `label` names the object. */
  async open(message: openpgp.Message<ReadableStream<Uint8Array>>, label: string): Promise<OpenedSession> {
    const recipients = message.getEncryptionKeyIDs();
    if (recipients.length === 0) {
      throw new SealdropError(
        'OBJECT_FORMAT',
        `${label} is not encrypted to a public key (no PKESK packet; perhaps gpg --symmetric)`,
        {
          hint: 'Decrypt it by hand: aws s3api get-object --bucket B --key K --version-id V /dev/stdout | gpg -d',
        },
      );
    }
    // gpg --throw-keyids hides the recipients: then every identity is a candidate.
    const anonymous = recipients.some((keyID) => isWildcard(keyID));
    const candidates = this.#identities.filter(
      (identity) => anonymous || recipients.some((keyID) => identity.key.getKeys(keyID).length > 0),
    );
    let failure: Error | undefined;
    for (const identity of candidates) {
      const key = await this.#unlock(identity);
      try {
        return {
          identity,
          sessionKeys: await openpgp.decryptSessionKeys({
            message: sessionKeyPackets(message),
            decryptionKeys: key,
          }),
        };
      } catch (error) {
        // With hidden recipients a failure only means "not this one".
        if (!anonymous) failure ??= error as Error;
      }
    }
    if (failure) {
      throw new SealdropError(
        'INTEGRITY',
        `${label}: it names a key given as recipient, but the session key won't decrypt with it (${failure.message})`,
        { cause: failure },
      );
    }
    const wanted = recipients
      .filter((keyID) => !isWildcard(keyID))
      .map((keyID) => keyID.toHex().toUpperCase());
    throw new SealdropError(
      'NO_MATCHING_KEY',
      `${label} is encrypted to ${wanted.length ? `key id ${wanted.join(', ')}` : 'hidden recipients'}; none of the identities given opens it (${this.#identities.map((identity) => `${identity.source}: ${identity.fingerprint}`).join('; ')})`,
    );
  }

  #unlock(identity: Identity): Promise<openpgp.PrivateKey> {
    let unlocked = this.#unlocked.get(identity);
    if (!unlocked) {
      unlocked = this.#decryptKey(identity);
      this.#unlocked.set(identity, unlocked);
    }
    return unlocked;
  }

  async #decryptKey(identity: Identity): Promise<openpgp.PrivateKey> {
    if (!isLocked(identity.key)) return identity.key;
    this.#passphrase ??= this.#askPassphrase(identity);
    try {
      return await openpgp.decryptKey({ privateKey: identity.key, passphrase: await this.#passphrase });
    } catch (error) {
      if (error instanceof SealdropError) throw error;
      throw new SealdropError(
        'WRONG_PASSPHRASE',
        `the passphrase does not unlock ${identity.source} (key ${identity.fingerprint})`,
        { cause: error },
      );
    }
  }
}

/** Secret material still under its passphrase (gpg's secret-less "dummy" primaries don't count). */
function isLocked(key: openpgp.PrivateKey): boolean {
  return key
    .getKeys()
    .some(
      ({ keyPacket }) =>
        keyPacket instanceof openpgp.SecretKeyPacket && !keyPacket.isDummy() && !keyPacket.isDecrypted(),
    );
}

function isWildcard(keyID: openpgp.KeyID): boolean {
  return /^0+$/.test(keyID.toHex());
}

/** Copies of the message's session-key packets: decryptSessionKeys uses up the ones it tries. */
function sessionKeyPackets(
  message: openpgp.Message<ReadableStream<Uint8Array>>,
): openpgp.Message<Uint8Array> {
  const copies = new openpgp.PacketList<openpgp.AnyPacket>();
  for (const packet of message.packets.filterByTag(openpgp.enums.packet.publicKeyEncryptedSessionKey)) {
    const copy = new openpgp.PublicKeyEncryptedSessionKeyPacket();
    copy.read(packet.write());
    copies.push(copy);
  }
  return new openpgp.Message(copies);
}
