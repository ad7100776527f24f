// The admin's keypair: v4 keys GnuPG 2.2 reads (ed25519 + cv25519 by default, or RSA).
import { access, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as openpgp from 'openpgp';
import { SealdropError } from '../../core/errors.js';
import { writeNewFile } from '../../core/files.js';
import { inspectKey, type KeyInfo } from '../../core/openpgp-keys.js';

export interface KeygenOptions {
  userId: string;
  outPrefix: string;
  /** null: leave the private key unprotected (--no-passphrase). */
  passphrase: string | null;
  rsaBits?: number;
}

export interface KeygenResult {
  publicKeyPath: string;
  privateKeyPath: string;
  info: KeyInfo;
}

export async function generateKeyPair(options: KeygenOptions): Promise<KeygenResult> {
  const userID = parseUserId(options.userId);
  if (options.rsaBits !== undefined && !(options.rsaBits >= 2048 && options.rsaBits <= 8192)) {
    throw new SealdropError('USAGE', `--rsa ${options.rsaBits}: RSA keys must have 2048 to 8192 bits`);
  }
  const publicKeyPath = `${options.outPrefix}.pub.asc`;
  const privateKeyPath = `${options.outPrefix}.key.asc`;
  for (const path of [publicKeyPath, privateKeyPath]) {
    if (await exists(path))
      throw new SealdropError('FILE_EXISTS', `${path} already exists; not overwriting a key`);
  }
  if (options.passphrase === '')
    throw new SealdropError('USAGE', 'the passphrase is empty', {
      hint: 'Use --no-passphrase for an unprotected key.',
    });

  // The default (v4, ed25519 "legacy" + cv25519) and RSA are what GnuPG 2.2 understands.
  let generated: { privateKey: string; publicKey: string };
  try {
    generated = await openpgp.generateKey({
      userIDs: [userID],
      ...(options.rsaBits ? { type: 'rsa' as const, rsaBits: options.rsaBits } : { type: 'ecc' as const }),
      ...(options.passphrase === null ? {} : { passphrase: options.passphrase }),
      format: 'armored',
    });
  } catch (error) {
    // OpenPGP.js checks the address itself (it refuses "p@x", for one).
    if (!/user ?id/i.test((error as Error).message)) throw error;
    throw new SealdropError('USAGE', `--uid "${options.userId}" is not a user id OpenPGP.js accepts`, {
      hint: 'Write a name and a full e-mail address: --uid "Backup Admin <ops@example.com>".',
    });
  }
  const { privateKey, publicKey } = generated;
  // ~/.sealdrop/admin: the folder is made if need be, private like the key.
  await mkdir(dirname(privateKeyPath), { recursive: true, mode: 0o700 });
  await writeNewFile(privateKeyPath, privateKey);
  await writeNewFile(publicKeyPath, publicKey, { mode: 0o644 });
  return {
    publicKeyPath,
    privateKeyPath,
    info: await inspectKey(await openpgp.readKey({ armoredKey: publicKey })),
  };
}

function parseUserId(text: string): openpgp.UserID {
  const match = /^\s*([^<]*?)\s*(?:<([^>]+)>)?\s*$/.exec(text);
  const name = match?.[1] ?? '';
  const email = match?.[2];
  if (!match || (name === '' && !email)) {
    throw new SealdropError('USAGE', `--uid "${text}" is not a user id`, {
      hint: 'Write --uid "Backup Admin <ops@example.com>".',
    });
  }
  return { ...(name ? { name } : {}), ...(email ? { email } : {}) };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
