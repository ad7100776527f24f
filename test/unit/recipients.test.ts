// Reading whom a message is encrypted to from its first bytes: OpenPGP.js's messages (new-format
// packets) and stock gpg's (old-format), cut short, hidden recipients, and what is no message at all.
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { sessionKeyRecipients } from '../../src/admin/openpgp/framing.js';
import { knownKey } from '../../src/core/openpgp-keys.js';
import {
  HIDDEN_KEY_ID,
  recipientsJson,
  recipientsText,
  retireClass,
  type Recipients,
} from '../../src/core/recipients.js';
import { tempDir } from '../support/cli.js';
import { gpgHome, type Gpg } from '../support/gpg.js';

let gpg: Gpg;
let a: openpgp.PrivateKey;
let b: openpgp.PrivateKey;
/** The encryption subkeys' key ids: what a PKESK names. */
let aId: string;
let bId: string;
const data = Buffer.alloc(100_000, 'backup ');

async function key(name: string, type: 'ecc' | 'rsa' = 'ecc'): Promise<openpgp.PrivateKey> {
  const { privateKey } = await openpgp.generateKey({
    userIDs: [{ name, email: `${name}@example.com` }],
    type,
    ...(type === 'rsa' ? { rsaBits: 2048 } : {}),
    format: 'object',
  });
  return privateKey;
}

const subkeyId = (k: openpgp.Key) => k.getSubkeys()[0]!.getKeyID().toHex().toUpperCase();

async function encrypt(keys: openpgp.Key[]): Promise<Buffer> {
  const message = await openpgp.createMessage({ binary: data });
  return Buffer.from(
    await openpgp.encrypt({ message, encryptionKeys: keys.map((k) => k.toPublic()), format: 'binary' }),
  );
}

const read = (message: Buffer, bytes = 8192) =>
  sessionKeyRecipients(message.subarray(0, bytes), message.length <= bytes);

beforeAll(async () => {
  [a, b] = await Promise.all([key('a'), key('b')]);
  aId = subkeyId(a);
  bId = subkeyId(b);
  gpg = await gpgHome();
  const dir = await tempDir();
  for (const [name, k] of [
    ['a', a],
    ['b', b],
  ] as const) {
    const path = join(dir, `${name}.pub.asc`);
    await writeFile(path, k.toPublic().armor());
    expect((await gpg(['--import', path])).status).toBe(0);
  }
}, 60_000);

describe('sessionKeyRecipients', () => {
  it("names the key ids of OpenPGP.js's message (new-format packets), in order", async () => {
    expect(await read(await encrypt([a, b]))).toEqual({
      kind: 'read',
      keyIds: [aId, bId],
      passphrases: 0,
      more: false,
    });
  });

  it("names the key ids of stock gpg's message (gpg -e -r A -r B: old-format packets)", async () => {
    const out = await gpg(
      ['--trust-model', 'always', '-e', '-r', a.getFingerprint(), '-r', b.getFingerprint()],
      data,
    );
    expect(out.status, out.stderr).toBe(0);
    const got = await read(out.stdoutBytes);
    expect(got.kind).toBe('read');
    expect(new Set((got as { keyIds: string[] }).keyIds)).toEqual(new Set([aId, bId]));
  });

  it('gives hidden recipients (gpg --throw-keyids) as sixteen zeros', async () => {
    const out = await gpg(
      ['--trust-model', 'always', '--throw-keyids', '-e', '-r', a.getFingerprint()],
      data,
    );
    expect(out.status, out.stderr).toBe(0);
    expect(await read(out.stdoutBytes)).toMatchObject({ kind: 'read', keyIds: [HIDDEN_KEY_ID] });
  });

  it('counts a passphrase packet (gpg --symmetric) apart from keys', async () => {
    const out = await gpg(['--symmetric', '--passphrase', 'x'], data);
    expect(out.status, out.stderr).toBe(0);
    expect(await read(out.stdoutBytes)).toEqual({ kind: 'read', keyIds: [], passphrases: 1, more: false });
  });

  it('says "more" when the key packets go on past the bytes read, and names the ones it saw', async () => {
    const rsa = await key('big', 'rsa');
    const message = await encrypt([a, rsa, b]);
    // a's packet is under 100 bytes, the RSA-2048 one 270: 200 bytes hold the first only.
    expect(await read(message, 200)).toEqual({ kind: 'read', keyIds: [aId], passphrases: 0, more: true });
    // The whole object ending there is no message.
    expect(await sessionKeyRecipients(message.subarray(0, 200), true)).toMatchObject({ kind: 'none' });
    expect(await read(message)).toMatchObject({ keyIds: [aId, subkeyId(rsa), bId], more: false });
  }, 60_000);

  it('refuses more than 64 session key packets, as restore does, without reading on', async () => {
    const one = (await encrypt([a])).subarray(0, 200);
    // The first packet of a's message, repeated 65 times.
    const header = one[0]!;
    expect(header).toBe(0xc1); // new format, tag 1, then a one-octet length
    const packet = one.subarray(0, 2 + one[1]!);
    const flood = Buffer.concat(Array.from({ length: 65 }, () => packet));
    expect(await sessionKeyRecipients(flood, false)).toEqual({
      kind: 'none',
      why: 'more than 64 session key packets',
    });
  });

  it('gives a reason, never an error, for what is no encrypted message', async () => {
    const cases: [Buffer, RegExp][] = [
      [Buffer.alloc(0), /empty/],
      [Buffer.from('not a backup at all\n'), /not OpenPGP/],
      [Buffer.from('-----BEGIN PGP MESSAGE-----\n\nhQ'), /armored/],
      [Buffer.from([0xc1]), /too short/],
      [Buffer.from([0xcb, 0x05, 0x62, 0, 0, 0, 0]), /type 11 first/],
      [Buffer.from([0xd2, 0x02, 0x01, 0x00]), /no session key packet/],
    ];
    for (const [bytes, why] of cases) {
      const got = await sessionKeyRecipients(bytes, true);
      expect(got.kind, bytes.toString('hex')).toBe('none');
      expect((got as { why: string }).why).toMatch(why);
    }
  });
});

describe('retireClass', () => {
  const old = new Set(['AAAAAAAAAAAAAAAA', 'AAAAAAAAAAAAAAAB']);
  const got = (keyIds: string[], extra: Partial<{ more: boolean; passphrases: number }> = {}) =>
    retireClass({ kind: 'read', keyIds, passphrases: 0, more: false, ...extra }, old);

  it('only-old when every key id is one of the old key', () => {
    expect(got(['AAAAAAAAAAAAAAAA'])).toBe('only-old');
    expect(got(['AAAAAAAAAAAAAAAA', 'AAAAAAAAAAAAAAAB'])).toBe('only-old');
    expect(got(['AAAAAAAAAAAAAAAA'], { passphrases: 1 })).toBe('only-old');
  });

  it('other when any other key id is there, seen or not the rest', () => {
    expect(got(['AAAAAAAAAAAAAAAA', 'BBBBBBBBBBBBBBBB'])).toBe('other');
    expect(got(['BBBBBBBBBBBBBBBB'])).toBe('other');
    expect(got(['AAAAAAAAAAAAAAAA', 'BBBBBBBBBBBBBBBB'], { more: true })).toBe('other');
    expect(got([HIDDEN_KEY_ID, 'BBBBBBBBBBBBBBBB'])).toBe('other');
  });

  it("unknown when it can't be told: hidden recipients, or packets past the bytes read", () => {
    expect(got([HIDDEN_KEY_ID])).toBe('unknown');
    expect(got(['AAAAAAAAAAAAAAAA'], { more: true })).toBe('unknown');
  });

  it('not-old for passphrase only; unreadable for what is no message', () => {
    expect(got([], { passphrases: 1 })).toBe('not-old');
    expect(retireClass({ kind: 'none', why: 'not OpenPGP' }, old)).toBe('unreadable');
  });
});

describe('recipients as a listing shows them', () => {
  it('names a known key by its fingerprint, the others by key id, and says why nothing was read', () => {
    const known = [knownKey(a)];
    const recipients: Recipients = { kind: 'read', keyIds: [aId, bId], passphrases: 0, more: false };
    expect(recipientsText(recipients, known)).toBe(`${a.getFingerprint().toUpperCase()},${bId}`);
    expect(recipientsJson(recipients, known)).toEqual({
      recipients: [aId, bId],
      recipientFingerprints: { [aId]: a.getFingerprint().toUpperCase() },
      passphrases: 0,
      recipientsNote: null,
    });
    expect(recipientsText({ kind: 'none', why: 'delete marker' }, known)).toBe('(delete marker)');
    expect(recipientsJson({ kind: 'none', why: 'not OpenPGP' }, known)).toEqual({
      recipients: null,
      recipientsNote: 'not OpenPGP',
    });
  });
});
