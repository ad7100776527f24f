// The admin's private keys (--identity): key files and keys in gpg (gpg:FINGERPRINT, gpg:EMAIL), which
// one opens a message (chosen by the key ids it names), unlocked only when it is needed.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as openpgp from 'openpgp';
import { SealdropError } from '../../core/errors.js';
import { readTextFile } from '../../core/files.js';
import { isGpgSpec } from '../../core/gpg-spec.js';
import { assertArmoredKeyText } from '../../core/openpgp-keys.js';
import { gpgPublicKey, gpgSessionKey, loadGpgIdentities, type GpgIdentity } from './gpg.js';

/** How many of the key ids an object is encrypted to a refusal names (an object may list thousands). */
const NAMED_KEY_IDS = 4;
/** Session key packets handed to gpg for one identity: a message names each recipient once. */
const MAX_GPG_PACKETS = 8;

export interface FileIdentity {
  kind: 'file';
  /** The file it came from, for messages. */
  source: string;
  key: openpgp.PrivateKey;
  fingerprint: string;
}

export type { GpgIdentity };
export type Identity = FileIdentity | GpgIdentity;

/** Asked at most once per run, and only if a passphrase-protected key file has to be unlocked. */
export type PassphraseSource = (identity: FileIdentity) => Promise<string>;

export interface OpenedSession {
  identity: Identity;
  sessionKeys: openpgp.DecryptedSessionKey[];
}

const PRIVATE_KEY_HINT =
  'Pass the PREFIX.key.asc file from `sealdrop key generate` (or `gpg --armor --export-secret-keys`).';

/**
 * Key files and gpg: identities, in the order given. `command` (restore, verify…) is named in the
 * refusals: it is what needs the private key.
 */
export async function loadIdentities(paths: readonly string[], command: string): Promise<Identity[]> {
  if (paths.length === 0)
    throw new SealdropError('USAGE', `no --identity given: ${command} needs the private key`, {
      hint: 'Pass --identity admin.key.asc (from `sealdrop key generate` or `gpg --armor --export-secret-keys`; or set SEALDROP_IDENTITY), or --identity gpg:EMAIL for a key in gpg-agent or on a card.',
    });
  const identities: Identity[] = [];
  for (const path of paths) {
    if (isGpgSpec(path)) {
      for (const identity of await loadGpgIdentities(path)) identities.push(identity);
      continue;
    }
    const text = await readTextFile(path, 'identity');
    assertArmoredKeyText(text, path, PRIVATE_KEY_HINT);
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
          `${path}: key ${key.getFingerprint().toUpperCase()} is a public key; ${command} needs the private key`,
          { hint: PRIVATE_KEY_HINT },
        );
      }
      identities.push({ kind: 'file', source: path, key, fingerprint: key.getFingerprint().toUpperCase() });
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
  readonly #unlocked = new Map<FileIdentity, Promise<openpgp.PrivateKey>>();
  #passphrase: Promise<string> | undefined;
  /** The session openAhead found, by its message's session key packets (base64), for the next open(). */
  #openedAhead: { packets: string; session: OpenedSession } | undefined;

  constructor(identities: readonly Identity[], askPassphrase: PassphraseSource) {
    this.#identities = identities;
    this.#askPassphrase = askPassphrase;
  }

  /** Each identity's primary key fingerprint (upper case) and where it was given. */
  get fingerprints(): { fingerprint: string; source: string }[] {
    return this.#identities.map(({ fingerprint, source }) => ({ fingerprint, source }));
  }

  /**
   * With one identity there is nothing to choose: unlock it now, before the download starts and while
   * the process is small, so the S2K's transient buffer (62 MiB for a GnuPG key) never adds to the
   * download's memory. With several, each is unlocked only once a message turns out to need it.
   */
  async unlockSoleIdentity(): Promise<void> {
    const sole = this.#soleFile();
    if (sole) await this.#unlock(sole);
  }

  /**
   * Whether opening a message may ask something (a gpg PIN, touch or passphrase, or the passphrase of
   * the one of several keys the message needs): then callers open it from its first bytes
   * (openAhead), before its download starts.
   */
  get asksPerMessage(): boolean {
    return this.#soleFile() === undefined;
  }

  #soleFile(): FileIdentity | undefined {
    const [sole] = this.#identities;
    return this.#identities.length === 1 && sole!.kind === 'file' ? sole : undefined;
  }

  /** Decrypts the session key with the first identity the message is encrypted to. `label` names the object. */
  async open(message: openpgp.Message<ReadableStream<Uint8Array>>, label: string): Promise<OpenedSession> {
    // A message opened ahead from its first bytes is not opened twice (gpg would ask twice).
    const ahead = this.#openedAhead;
    this.#openedAhead = undefined;
    if (ahead && ahead.packets === sessionKeyBytes(message)) return ahead.session;
    return this.#open(message, label);
  }

  /** Opens a message read from an object's first bytes, and keeps its session for the next open(). */
  async openAhead(message: openpgp.Message<ReadableStream<Uint8Array>>, label: string): Promise<void> {
    this.#openedAhead = { packets: sessionKeyBytes(message), session: await this.#open(message, label) };
  }

  async #open(message: openpgp.Message<ReadableStream<Uint8Array>>, label: string): Promise<OpenedSession> {
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
      (identity) => anonymous || recipients.some((keyID) => opens(identity, keyID)),
    );
    let failure: Error | undefined;
    for (const identity of candidates) {
      if (identity.kind === 'gpg') {
        try {
          return {
            identity,
            sessionKeys: [await gpgSessionKey(identity, packetsFor(message, identity), label)],
          };
        } catch (error) {
          // With hidden recipients a key gpg doesn't have, or one that doesn't fit, only means "not this one".
          if (anonymous && error instanceof SealdropError && error.code !== 'GPG_FAILED') continue;
          throw error;
        }
      }
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
      `${label} is encrypted to ${wanted.length ? `key id ${named(wanted)}` : 'hidden recipients'}; none of the identities given opens it (${this.#identities.map((identity) => `${identity.source}: key id ${named(keyIdsOf(identity))}`).join('; ')})`,
    );
  }

  /** A small armored message (a few bytes the admin side keeps in the bucket) decrypted whole. */
  async decryptSmall(armored: string, label: string): Promise<Uint8Array> {
    let message: openpgp.Message<Uint8Array>;
    try {
      message = await openpgp.readMessage({ armoredMessage: armored });
    } catch (error) {
      throw new SealdropError('OBJECT_FORMAT', `${label} is not an OpenPGP message`, { cause: error });
    }
    const { sessionKeys } = await this.open(
      message as unknown as openpgp.Message<ReadableStream<Uint8Array>>,
      label,
    );
    const { data } = await openpgp.decrypt({
      message,
      sessionKeys: sessionKeys as openpgp.SessionKey[],
      format: 'binary',
    });
    return data;
  }

  /** Whether a small armored message is encrypted to every identity given (each has a key it names). */
  async reachesAll(armored: string): Promise<boolean> {
    const message = await openpgp.readMessage({ armoredMessage: armored });
    const recipients = message.getEncryptionKeyIDs();
    return this.#identities.every((identity) => recipients.some((keyID) => opens(identity, keyID)));
  }

  /** Every identity's public key: what a secret the admin side keeps is encrypted to. */
  async publicKeys(): Promise<openpgp.PublicKey[]> {
    const keys: openpgp.PublicKey[] = [];
    for (const identity of this.#identities)
      keys.push(identity.kind === 'gpg' ? await gpgPublicKey(identity) : identity.key.toPublic());
    return keys;
  }

  #unlock(identity: FileIdentity): Promise<openpgp.PrivateKey> {
    let unlocked = this.#unlocked.get(identity);
    if (!unlocked) {
      unlocked = this.#decryptKey(identity);
      this.#unlocked.set(identity, unlocked);
    }
    return unlocked;
  }

  /**
   * Unlocks only the key packets that can decrypt, one at a time. OpenPGP.js's decryptKey unlocks every
   * packet at once, and its iterated S2K holds the whole iteration count in memory: GnuPG's keys use
   * 65011712 bytes (62 MiB) per packet, so a GnuPG ed25519 + cv25519 key cost 124 MiB at the peak of a
   * restore. The signing primary is never needed to read a backup.
   */
  async #decryptKey(identity: FileIdentity): Promise<openpgp.PrivateKey> {
    if (!isLocked(identity.key)) return identity.key;
    this.#passphrase ??= this.#askPassphrase(identity);
    try {
      const passphrase = await this.#passphrase;
      const { key } = identity;
      collectGarbage();
      for (const { keyPacket } of await key.getDecryptionKeys(undefined, null)) {
        if (!(keyPacket instanceof openpgp.SecretKeyPacket) || keyPacket.isDecrypted()) continue;
        await keyPacket.decrypt(passphrase);
        // What decryptKey's validate() does for the packets it unlocks: the secret matches the public key.
        await keyPacket.validate();
      }
      collectGarbage();
      return key;
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

/**
 * The S2K's buffer is garbage now, but V8 may keep it to the end of a restore (it seldom runs a full
 * collection then): 62 MiB for the whole download. One collection now, as rare as an unlock, frees it.
 */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
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

function opens(identity: Identity, keyID: openpgp.KeyID): boolean {
  return identity.kind === 'gpg'
    ? identity.keyIds.includes(keyID.toHex().toUpperCase())
    : identity.key.getKeys(keyID).length > 0;
}

/** The key ids an identity decrypts with (a key file's: all of its keys'). */
function keyIdsOf(identity: Identity): string[] {
  return identity.kind === 'gpg'
    ? identity.keyIds
    : identity.key.getKeys().map((key) => key.getKeyID().toHex().toUpperCase());
}

/** A few key ids, then how many more. */
function named(keyIds: readonly string[]): string {
  return keyIds.length > NAMED_KEY_IDS
    ? `${keyIds.slice(0, NAMED_KEY_IDS).join(', ')} and ${keyIds.length - NAMED_KEY_IDS} more`
    : keyIds.join(', ');
}

/** The message's session key packets addressed to a gpg identity (or to hidden recipients), a few at most. */
function packetsFor(
  message: openpgp.Message<ReadableStream<Uint8Array>>,
  identity: GpgIdentity,
): openpgp.PacketList<openpgp.AnyPacket> {
  const packets = new openpgp.PacketList<openpgp.AnyPacket>();
  for (const packet of message.packets.filterByTag(openpgp.enums.packet.publicKeyEncryptedSessionKey)) {
    const keyID = (packet as unknown as { publicKeyID: openpgp.KeyID }).publicKeyID;
    if (packets.length < MAX_GPG_PACKETS && (isWildcard(keyID) || opens(identity, keyID)))
      packets.push(packet);
  }
  return packets;
}

/** The message's session key packets, as written (a few KiB at most: framing.ts bounds them). */
function sessionKeyBytes(message: openpgp.Message<ReadableStream<Uint8Array>>): string {
  return Buffer.concat(
    message.packets
      .filterByTag(
        openpgp.enums.packet.publicKeyEncryptedSessionKey,
        openpgp.enums.packet.symEncryptedSessionKey,
      )
      .map((packet) => packet.write()),
  ).toString('base64');
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
