// Regrouping OpenPGP partial body lengths: GnuPG's 8 KiB chunks become 256 KiB ones, the message stays
// the same message (stock gpg and restore read it).
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { regroupPartialBodies } from '../../src/admin/openpgp/framing.js';
import { run, tempDir } from '../support/cli.js';
import { gpgHome, type Gpg } from '../support/gpg.js';

let gpg: Gpg;
let publicKey: openpgp.Key;
const data = Buffer.concat([randomBytes(600_000), Buffer.alloc(900_000, 'x')]);

beforeAll(async () => {
  const { privateKey, publicKey: armored } = await openpgp.generateKey({
    userIDs: [{ name: 'Framing', email: 'framing@example.com' }],
    format: 'armored',
  });
  publicKey = await openpgp.readKey({ armoredKey: armored });
  gpg = await gpgHome();
  const path = join(await tempDir(), 'framing.key.asc');
  await writeFile(path, privateKey);
  expect((await gpg(['--import', path])).status).toBe(0);
}, 60_000);

async function regroup(message: Buffer, chunk: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let at = 0; at < message.length; at += chunk) chunks.push(message.subarray(at, at + chunk));
  const out: Buffer[] = [];
  for await (const piece of regroupPartialBodies(Readable.from(chunks), 'obj')) out.push(piece);
  return Buffer.concat(out);
}

/** The new-format partial body length octets of the outer packets (224-254), in order. */
function partialOctets(message: Buffer): number[] {
  const octets: number[] = [];
  let at = 0;
  while (at < message.length) {
    at++; // tag
    for (;;) {
      const o = message[at]!;
      if (o < 192) {
        at += 1 + o;
        break;
      }
      if (o < 224) {
        at += 2 + ((o - 192) << 8) + message[at + 1]! + 192;
        break;
      }
      if (o === 255) {
        at += 5 + message.readUInt32BE(at + 1);
        break;
      }
      octets.push(o);
      at += 1 + 2 ** (o & 0x1f);
    }
  }
  return octets;
}

describe('regroupPartialBodies', () => {
  it("turns GnuPG's 8 KiB partial chunks into 256 KiB ones that gpg still decrypts byte for byte", async () => {
    const sealed = await gpg(
      [
        '--trust-model',
        'always',
        '--compress-algo',
        'none',
        '--recipient',
        'framing@example.com',
        '--encrypt',
      ],
      data,
    );
    expect(sealed.status, sealed.stderr).toBe(0);
    const original = sealed.stdoutBytes;
    const before = partialOctets(original);
    expect(before.length).toBeGreaterThan(100);
    expect(Math.max(...before)).toBe(0xed); // 2^13 (a smaller one may end the body)
    for (const chunk of [1000, 65_536, original.length]) {
      const regrouped = await regroup(original, chunk);
      expect(new Set(partialOctets(regrouped))).toEqual(new Set([0xf2])); // 2^18
      const decrypted = await gpg(['--decrypt'], regrouped);
      expect(decrypted.status, decrypted.stderr).toBe(0);
      expect(decrypted.stdoutBytes.equals(data)).toBe(true);
    }
  }, 60_000);

  it("regroups the smaller pieces of OpenPGP.js's own messages too, and gpg still decrypts them", async () => {
    const pieces = Array.from({ length: 6 }, (_, i) => data.subarray(i * 262_144, (i + 1) * 262_144));
    const message = await openpgp.createMessage({
      binary: Readable.toWeb(Readable.from(pieces)) as ReadableStream<Uint8Array>,
    });
    const encrypted = await openpgp.encrypt({
      message,
      encryptionKeys: publicKey,
      format: 'binary',
      config: { aeadProtect: false, preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed },
    });
    const out: Uint8Array[] = [];
    for await (const piece of encrypted as unknown as AsyncIterable<Uint8Array>) out.push(piece);
    const sealed = Buffer.concat(out);
    // OpenPGP.js writes each chunk as 256 KiB pieces and then smaller powers of two.
    expect(partialOctets(sealed)).toContain(0xf2);
    expect(Math.min(...partialOctets(sealed))).toBeLessThan(0xf2);
    const regrouped = await regroup(sealed, 262_144);
    expect(new Set(partialOctets(regrouped))).toEqual(new Set([0xf2]));
    const decrypted = await gpg(['--decrypt'], regrouped);
    expect(decrypted.status, decrypted.stderr).toBe(0);
    expect(decrypted.stdoutBytes.equals(data)).toBe(true);
  }, 60_000);

  it('holds no more than a chunk of a large piece that follows small ones (made by hand: 8 KiB, then 64 MiB)', async () => {
    const MiB = 1024 ** 2;
    const header = Buffer.from([0xc0 | 18, 0xe0 | 13]); // SEIPD, a partial piece of 8 KiB
    const last = Buffer.from([0xff, 0, 0, 0, 0]);
    last.writeUInt32BE(64 * MiB, 1);
    let pulled = 0;
    async function* object() {
      const first = Buffer.concat([header, Buffer.alloc(8192), last]);
      pulled += first.length;
      yield first;
      for (let i = 0; i < 64; i++) {
        pulled += MiB;
        yield Buffer.alloc(MiB);
      }
    }
    let [largest, out, lead] = [0, 0, 0];
    for await (const piece of regroupPartialBodies(object(), 'obj')) {
      largest = Math.max(largest, piece.length);
      out += piece.length;
      lead = Math.max(lead, pulled - out);
    }
    expect(out).toBeGreaterThan(64 * MiB + 8192); // every byte of the body, in new frames
    expect(largest).toBeLessThanOrEqual(256 * 1024 + 6);
    expect(lead).toBeLessThan(2 * MiB); // read ahead of what it gave out: a chunk, not the piece
  }, 60_000);

  it('fails a message cut inside a partial body, and leaves what is not new-format framing alone', async () => {
    const sealed = await gpg(
      ['--trust-model', 'always', '--recipient', 'framing@example.com', '--encrypt'],
      data,
    );
    await expect(regroup(sealed.stdoutBytes.subarray(0, 100_000), 4096)).rejects.toThrow(/truncated/);
    const plain = Buffer.from('not OpenPGP at all');
    expect((await regroup(plain, 5)).equals(plain)).toBe(true);
    const armored = (await run('gpg', ['--enarmor'], { input: data.subarray(0, 1000) })).stdoutBytes;
    expect((await regroup(armored, 64)).equals(armored)).toBe(true);
  }, 60_000);
});
