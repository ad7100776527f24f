import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadIdentities } from '../../src/admin/openpgp/identities.js';
import { loadChangeSigner } from '../../src/admin/openpgp/signer.js';
import { generateKeyPair } from '../../src/admin/openpgp/keygen.js';
import { inspectKey, readArmoredKey, readRecipient } from '../../src/core/openpgp-keys.js';
import { tempDir } from '../support/cli.js';

let dir: string;
beforeAll(async () => {
  dir = await tempDir();
});

describe('key generate', () => {
  it('writes a passphrase-protected v4 ed25519/cv25519 pair, the private half 0600', async () => {
    const result = await generateKeyPair({
      userId: 'Backup Admin <ops@example.com>',
      outPrefix: join(dir, 'admin'),
      passphrase: 'correct horse',
    });
    expect((await stat(result.privateKeyPath)).mode & 0o777).toBe(0o600);
    expect(result.info.userIds).toEqual(['Backup Admin <ops@example.com>']);
    expect(result.info.problems).toEqual([]);
    const privateKey = await openpgp.readPrivateKey({
      armoredKey: await readFile(result.privateKeyPath, 'utf8'),
    });
    expect(privateKey.isDecrypted()).toBe(false);
    expect(privateKey.keyPacket.version).toBe(4);
    await expect(openpgp.decryptKey({ privateKey, passphrase: 'wrong' })).rejects.toThrow();
    await expect(openpgp.decryptKey({ privateKey, passphrase: 'correct horse' })).resolves.toBeTruthy();
  });

  it('makes RSA keys on request', async () => {
    const result = await generateKeyPair({
      userId: 'r <r@example.com>',
      outPrefix: join(dir, 'rsa2048'),
      passphrase: null,
      rsaBits: 2048,
    });
    expect(result.info.algorithm).toBe('RSA-2048');
    expect(result.info.problems).toEqual([]);
  });

  it('never overwrites an existing key file', async () => {
    const outPrefix = join(dir, 'existing');
    await writeFile(`${outPrefix}.key.asc`, 'precious');
    await expect(
      generateKeyPair({ userId: 'x <x@example.com>', outPrefix, passphrase: null }),
    ).rejects.toMatchObject({ code: 'FILE_EXISTS' });
    expect(await readFile(`${outPrefix}.key.asc`, 'utf8')).toBe('precious');
  });

  it('refuses RSA below 2048 bits and a malformed user id', async () => {
    await expect(
      generateKeyPair({
        userId: 'x <x@example.com>',
        outPrefix: join(dir, 'rsa'),
        passphrase: null,
        rsaBits: 1024,
      }),
    ).rejects.toMatchObject({ code: 'USAGE' });
    await expect(
      generateKeyPair({ userId: '<>', outPrefix: join(dir, 'bad'), passphrase: null }),
    ).rejects.toMatchObject({ code: 'USAGE' });
  });
});

describe('recipients are checked at the door', () => {
  type KeyOptions = Omit<Parameters<typeof openpgp.generateKey>[0], 'userIDs' | 'format'>;
  const make = (options: KeyOptions) =>
    openpgp.generateKey({ userIDs: [{ email: 'k@example.com' }], ...options, format: 'armored' });

  it('accepts a current key and reports what it is', async () => {
    const { publicKey } = await make({});
    const key = await readRecipient(publicKey, 'good.asc');
    const info = await inspectKey(key);
    expect(info.encryptionAlgorithm).toMatch(/ecdh/);
    expect(info.fingerprint).toMatch(/^[0-9A-F]{40}$/);
  });

  it('refuses an expired key, saying so', async () => {
    const { publicKey } = await make({
      date: new Date(Date.now() - 3 * 86_400_000),
      keyExpirationTime: 86_400,
    });
    await expect(readRecipient(publicKey, 'old.asc')).rejects.toThrowError(/old\.asc: .* expired on/);
  });

  it('refuses a revoked key', async () => {
    const { privateKey } = await make({});
    const { publicKey } = await openpgp.revokeKey({
      key: await openpgp.readPrivateKey({ armoredKey: privateKey }),
      format: 'armored',
    });
    await expect(readRecipient(publicKey, 'revoked.asc')).rejects.toThrowError(/revoked/);
  });

  it('refuses RSA-1024', async () => {
    const { publicKey } = await make({ type: 'rsa', rsaBits: 1024, config: { minRSABits: 1024 } });
    await expect(readRecipient(publicKey, 'weak.asc')).rejects.toThrowError(/RSA-1024 is too short/);
  });

  it('refuses a signing-only key', async () => {
    const { publicKey } = await make({ subkeys: [] });
    await expect(readRecipient(publicKey, 'sign-only.asc')).rejects.toThrowError(
      /no valid encryption-capable key/,
    );
  });

  it('refuses text that is not a key', async () => {
    await expect(readRecipient('hello', 'junk.asc')).rejects.toMatchObject({
      code: 'KEY_INVALID',
      exitStatus: 2,
    });
  });
});

describe('a key file', () => {
  it('that is empty says so, not what OpenPGP.js says of an empty argument', async () => {
    await expect(readArmoredKey(' \n', 'old.pub.asc')).rejects.toMatchObject({
      code: 'KEY_INVALID',
      message: 'old.pub.asc holds no armored OpenPGP key: it is empty',
    });
  });
});

describe('--identity', () => {
  it.each([
    ['/dev/null', /^\/dev\/null holds no armored OpenPGP key: it is empty$/],
    ['an empty file', /^\S+empty\.asc holds no armored OpenPGP key: it is empty$/],
    [
      'a text file',
      /^\S+notes\.txt holds no armored OpenPGP key: it has no -----BEGIN PGP … KEY BLOCK----- line$/,
    ],
  ])('that is %s is refused naming the file (exit 2), not in OpenPGP.js words', async (what, message) => {
    const path =
      what === '/dev/null' ? what : join(dir, what === 'an empty file' ? 'empty.asc' : 'notes.txt');
    if (path !== '/dev/null') await writeFile(path, what === 'an empty file' ? '' : 'hello\n');
    await expect(loadIdentities([path], 'verify')).rejects.toMatchObject({
      code: 'KEY_INVALID',
      exitStatus: 2,
      message: expect.stringMatching(message),
      hint: expect.stringMatching(/key generate/),
    });
  });

  it('and --sign-with refuse /dev/null the same way', async () => {
    await expect(loadChangeSigner('/dev/null', async () => '')).rejects.toMatchObject({
      code: 'KEY_INVALID',
      message: '/dev/null holds no armored OpenPGP key: it is empty',
    });
  });

  it('missing, or a public key, is refused naming the command that needs the private key', async () => {
    await expect(loadIdentities([], 'verify')).rejects.toMatchObject({
      code: 'USAGE',
      message: 'no --identity given: verify needs the private key',
    });
    const { publicKey } = await openpgp.generateKey({ userIDs: [{ name: 'a' }], format: 'armored' });
    const path = join(dir, 'public.asc');
    await writeFile(path, publicKey);
    await expect(loadIdentities([path], 'fleet verify')).rejects.toMatchObject({
      message: expect.stringMatching(/is a public key; fleet verify needs the private key$/),
    });
  });
});
