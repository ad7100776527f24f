// gpg identities (--identity gpg:FINGERPRINT|EMAIL): the admin's key stays in gpg-agent or on a card.
// gpg does the public-key step alone: it is given an object's session key packets, never its data, and
// answers with the session key, with which OpenPGP.js decrypts the data as it does for a key file.
import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import * as openpgp from 'openpgp';
import { SealdropError } from '../../core/errors.js';
import { GPG_PREFIX, gpgQuery } from '../../core/gpg-spec.js';

export interface GpgIdentity {
  kind: 'gpg';
  /** As given: "gpg:alice@example.com". */
  source: string;
  /** The primary key's fingerprint. */
  fingerprint: string;
  /** Key ids (16 hex digits, upper case) of the keys gpg holds a secret for and may decrypt with. */
  keyIds: string[];
  /** The serial number of the card holding one of them, if one does. */
  card: string | null;
}

/**
 * gpg decrypts the session key before it looks at the data, and prints it then; it needs an encrypted
 * data packet to get there. This one (SEIPD v1, 18 zero bytes: one block and the check bytes) is the
 * smallest it starts on, and it decrypts to nothing at all.
 */
const DATA_STUB = Buffer.concat([Buffer.from([0xd2, 19, 1]), Buffer.alloc(18)]);
/** What is read of gpg's output: a key listing, an exported public key, status lines. */
const MAX_OUTPUT_BYTES = 4 * 1024 ** 2;
const MAX_STDERR_BYTES = 16 * 1024;

/** gpg's error codes (libgpg-error) that mean the session key packet itself is damaged or forged. */
const DAMAGE_CODES = new Set([10, 19, 30, 55, 82, 89, 139, 152]);
const CANCELED_CODES = new Set([99, 277]);
const CARD_CODES = new Set([91, 108, 109, 110, 111, 112, 119, 120, 123, 129, 131]);
const WRONG_SECRET_CODES = new Set([11, 31, 87, 130]);
const PINENTRY_CODES = new Set([85, 86, 62]);

/** The secret keys gpg holds for `spec` ("gpg:FINGERPRINT" or "gpg:EMAIL"): one identity per key. */
export async function loadGpgIdentities(spec: string): Promise<GpgIdentity[]> {
  const identities = await secretKeys(spec);
  const usable = identities.filter((identity) => identity.keyIds.length > 0);
  if (usable.length === 0)
    throw new SealdropError(
      'NO_MATCHING_KEY',
      `gpg holds ${spec} (${identities.map((identity) => identity.fingerprint).join(', ')}) without the secret of any encryption key`,
      {
        hint: 'Import its secret subkeys, or insert the card holding them and run gpg --card-status once.',
      },
    );
  return usable;
}

/** The public key of a gpg identity, for what the admin side encrypts to itself. */
export async function gpgPublicKey(identity: GpgIdentity): Promise<openpgp.PublicKey> {
  const exported = await runGpg([
    '--export-options',
    'export-minimal',
    '--export',
    '--',
    identity.fingerprint,
  ]);
  try {
    return await openpgp.readKey({ binaryKey: new Uint8Array(exported.stdout) });
  } catch (error) {
    throw new SealdropError('GPG_FAILED', `gpg did not export the public key of ${identity.source}`, {
      cause: error,
    });
  }
}

/**
 * The session key of a message from its session key packets addressed to `identity` (`packets`: all of
 * them, when recipients are hidden). gpg-agent asks for the passphrase or the card's PIN through pinentry.
 */
export async function gpgSessionKey(
  identity: GpgIdentity,
  packets: openpgp.PacketList<openpgp.AnyPacket>,
  label: string,
): Promise<openpgp.DecryptedSessionKey> {
  const input = Buffer.concat([packets.write(), DATA_STUB]);
  const result = await runGpg(
    [
      '--status-fd',
      '3',
      '--show-session-key',
      '--try-secret-key',
      identity.fingerprint,
      '--output',
      '-',
      '--decrypt',
    ],
    { input, statusFd: true },
  );
  const lines = result.statusLines;
  const shown = lines.find((line) => line.startsWith('SESSION_KEY '));
  const match = shown && /^SESSION_KEY (\d{1,3}):([0-9A-Fa-f]{2,128})$/.exec(shown);
  if (match) {
    const algorithm = symmetricName(Number(match[1]));
    if (algorithm) return { algorithm, data: new Uint8Array(Buffer.from(match[2]!, 'hex')) };
  }
  throw gpgFailure(identity, label, lines, result.stderr);
}

/**
 * `text` cleartext-signed by the key gpg holds for `spec` (a recipient change): gpg-agent asks for the
 * passphrase or the card's PIN through pinentry. OpenPGP.js verifies what it makes.
 */
export async function gpgClearsign(spec: string, text: string): Promise<string> {
  const fingerprint = await gpgSigningKey(spec);
  const result = await runGpg(['--local-user', fingerprint, '--armor', '--clearsign'], {
    input: Buffer.from(text, 'utf8'),
  });
  const signed = result.stdout.toString('utf8');
  if (result.status === 0 && signed.startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) return signed;
  // Only gpg's own reason is quoted: its stderr may hold other things.
  const reason = /gpg: (?:signing failed|skipped "[^"]{0,200}"): (.{1,200})/.exec(result.stderr)?.[1]?.trim();
  throw new SealdropError(
    'GPG_FAILED',
    `gpg could not sign with ${spec} (${fingerprint}): ${reason ?? `exit ${result.status}`}`,
    {
      hint: /cancel/i.test(reason ?? '')
        ? 'The PIN or passphrase prompt was cancelled: run again and answer it.'
        : /ioctl|pinentry/i.test(reason ?? '')
          ? 'gpg-agent could not ask for the passphrase or PIN (no pinentry could show): run from a terminal or a desktop session, or unlock the key in gpg-agent first.'
          : 'See what gpg holds: gpg --list-secret-keys (the key needs its signing secret); insert the card holding it (gpg --card-status).',
    },
  );
}

/** The one secret key gpg holds for `spec`: several (keys sharing an email) must be named by fingerprint. */
async function gpgSigningKey(spec: string): Promise<string> {
  const keys = await secretKeys(spec);
  if (keys.length > 1)
    throw new SealdropError(
      'USAGE',
      `${spec} names ${keys.length} secret keys in gpg (${keys
        .slice(0, 4)
        .map((key) => key.fingerprint)
        .join(', ')}${keys.length > 4 ? ', …' : ''}): which one signs is not for gpg to guess`,
      {
        hint: 'Name the key by its fingerprint: --sign-with gpg:FINGERPRINT (the old key, which every host holds).',
      },
    );
  return keys[0]!.fingerprint;
}

/** The secret keys gpg holds for `spec`; none is an error. */
async function secretKeys(spec: string): Promise<GpgIdentity[]> {
  const listed = await runGpg([
    '--with-colons',
    '--fixed-list-mode',
    '--list-secret-keys',
    '--',
    gpgQuery(spec),
  ]);
  const keys = listed.status === 0 ? parseSecretKeys(listed.stdout.toString('utf8'), spec) : [];
  if (keys.length === 0)
    throw new SealdropError('NO_MATCHING_KEY', `gpg holds no secret key for ${spec}`, {
      hint: 'See what it holds: gpg --list-secret-keys. Import the key (gpg --import admin.key.asc), or insert the card and run gpg --card-status once.',
    });
  return keys;
}

/** `gpg --with-colons --list-secret-keys`: sec/ssb records, each followed by its fpr record. */
function parseSecretKeys(listing: string, spec: string): GpgIdentity[] {
  const identities: GpgIdentity[] = [];
  let current: GpgIdentity | undefined;
  let primary = false;
  for (const line of listing.split('\n')) {
    const fields = line.split(':');
    const [type] = fields;
    if (type === 'sec') {
      current = { kind: 'gpg', source: spec, fingerprint: '', keyIds: [], card: null };
      identities.push(current);
      primary = true;
    } else if (type === 'ssb') primary = false;
    else if (type === 'fpr' && current && primary && !current.fingerprint)
      current.fingerprint = (fields[9] ?? '').toUpperCase();
    if ((type !== 'sec' && type !== 'ssb') || !current) continue;
    // Field 12: the key's own capabilities in lower case; 15: "+" secret here, "#" none, else a card's serial.
    const secret = fields[14] ?? '';
    if (!(fields[11] ?? '').includes('e') || secret === '#') continue;
    current.keyIds.push((fields[4] ?? '').toUpperCase());
    if (secret !== '+' && secret !== '') current.card ??= secret;
  }
  return identities.filter((identity) => identity.fingerprint !== '');
}

function symmetricName(algorithm: number): openpgp.enums.symmetricNames | null {
  try {
    return openpgp.enums.read(openpgp.enums.symmetric, algorithm as openpgp.enums.symmetric);
  } catch {
    return null;
  }
}

function gpgFailure(identity: GpgIdentity, label: string, lines: string[], stderr: string): SealdropError {
  const key = `${identity.source} (${identity.fingerprint})`;
  const failed = lines.find((line) => line.startsWith('ERROR pkdecrypt_failed '));
  // Only gpg's reason is quoted: its stderr may hold other things.
  const reason = /public key decryption failed: (.{1,200})/.exec(stderr)?.[1]?.trim();
  if (!failed) {
    const missing = lines.find((line) => line.startsWith('NO_SECKEY '));
    return new SealdropError(
      'NO_MATCHING_KEY',
      `${label}: gpg has no secret key for ${missing ? `key id ${missing.slice(10, 26)}` : key}, which it is encrypted to`,
      {
        hint: 'See what gpg holds: gpg --list-secret-keys; insert the card holding the key (gpg --card-status).',
      },
    );
  }
  const code = Number(failed.split(' ')[2]) & 0xffff;
  if (DAMAGE_CODES.has(code))
    return new SealdropError(
      'INTEGRITY',
      `${label}: it names ${key} as recipient, but gpg can't decrypt its session key with it (${reason ?? `gpg error ${code}`})`,
    );
  return new SealdropError(
    'GPG_FAILED',
    `gpg could not decrypt the session key of ${label} with ${key}: ${reason ?? `gpg error ${code}`}; nothing was written`,
    { hint: hintFor(code, identity) },
  );
}

function hintFor(code: number, identity: GpgIdentity): string {
  if (CANCELED_CODES.has(code)) return 'The PIN or passphrase prompt was cancelled: run again and answer it.';
  if (CARD_CODES.has(code))
    return `Insert the card holding the key${identity.card ? ` (serial ${identity.card})` : ''}, check it with gpg --card-status, and run again.`;
  if (WRONG_SECRET_CODES.has(code))
    return 'The passphrase or PIN was wrong (a card blocks after three wrong PINs: gpg --card-edit, then unblock).';
  if (PINENTRY_CODES.has(code) || code & 0x8000)
    return 'gpg-agent could not ask for the passphrase or PIN (no pinentry could show): run from a terminal or a desktop session, or unlock the key in gpg-agent first.';
  return 'Check gpg-agent (gpgconf --kill gpg-agent restarts it) and what gpg holds: gpg --list-secret-keys.';
}

interface GpgResult {
  status: number | null;
  stdout: Buffer;
  stderr: string;
  statusLines: string[];
}

/** Runs gpg (argv only: no passphrase ever passes here), its output bounded. */
function runGpg(args: string[], options: { input?: Buffer; statusFd?: boolean } = {}): Promise<GpgResult> {
  return new Promise<GpgResult>((resolve, reject) => {
    const child = spawn('gpg', ['--batch', '--no-auto-key-retrieve', ...args], {
      stdio: ['pipe', 'pipe', 'pipe', options.statusFd ? 'pipe' : 'ignore'],
      env: withTty(process.env),
    });
    const [input, output, errors, statusFd] = child.stdio as unknown as [
      Writable,
      Readable,
      Readable,
      Readable | null,
    ];
    const stdout = bounded(output, MAX_OUTPUT_BYTES, () => child.kill());
    const stderr = bounded(errors, MAX_STDERR_BYTES);
    const status = statusFd ? bounded(statusFd, MAX_OUTPUT_BYTES, () => child.kill()) : null;
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new SealdropError(
              'GPG_FAILED',
              `gpg is not installed (or not on PATH): ${GPG_PREFIX} identities need GnuPG`,
              {
                hint: 'Install GnuPG 2.2 or later (apt install gnupg), or pass the private key as a file.',
              },
            )
          : new SealdropError('GPG_FAILED', `can't run gpg: ${error.message}`),
      ),
    );
    child.on('close', (code) =>
      resolve({
        status: code,
        stdout: stdout(),
        stderr: stderr().toString('utf8'),
        statusLines: (status?.().toString('utf8') ?? '')
          .split('\n')
          .filter((line) => line.startsWith('[GNUPG:] '))
          .map((line) => line.slice(9).trimEnd()),
      }),
    );
    input.on('error', () => {}); // gpg may exit before reading its input
    input.end(options.input ?? Buffer.alloc(0));
  });
}

/** Collects a stream up to `max` bytes; past that, calls `over` (and keeps only the first `max`). */
function bounded(stream: NodeJS.ReadableStream, max: number, over?: () => void): () => Buffer {
  const chunks: Buffer[] = [];
  let size = 0;
  stream.on('data', (chunk: Buffer) => {
    if (size >= max) return;
    chunks.push(chunk);
    size += chunk.length;
    if (size >= max) over?.();
  });
  return () => Buffer.concat(chunks).subarray(0, max);
}

/**
 * gpg's stdin is a pipe here, so it can't tell gpg-agent which terminal a text pinentry should use:
 * GPG_TTY does, when the user runs sealdrop on one.
 */
function withTty(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (env.GPG_TTY || !process.stdin.isTTY) return env;
  try {
    return { ...env, GPG_TTY: readlinkSync('/proc/self/fd/0') };
  } catch {
    return env;
  }
}
