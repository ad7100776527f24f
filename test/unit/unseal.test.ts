// Decrypt + decompress without S3: the integrity and key-choice rules of restore and verify.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { Keyring, loadIdentities, type FileIdentity } from '../../src/admin/openpgp/identities.js';
import { unseal, type UnsealOptions } from '../../src/admin/openpgp/unseal.js';
import { zstdBinding } from '../../src/core/compression.js';
import { run, tempDir } from '../support/cli.js';

interface KeyFiles {
  publicKey: openpgp.Key;
  privatePath: string;
}

let dir: string;
let admin: KeyFiles;
let other: KeyFiles;
let locked: KeyFiles;
const dump = Buffer.from(
  Array.from({ length: 40_000 }, (_, i) => `INSERT INTO t VALUES (${i}, 'row ${i}');\n`).join(''),
);

async function makeKey(name: string, passphrase?: string): Promise<KeyFiles> {
  const { privateKey, publicKey } = await openpgp.generateKey({
    userIDs: [{ name, email: `${name}@example.com` }],
    passphrase,
    format: 'armored',
  });
  const privatePath = join(dir, `${name}.key.asc`);
  await writeFile(privatePath, privateKey);
  return { publicKey: await openpgp.readKey({ armoredKey: publicKey }), privatePath };
}

/** What push makes: SEIPDv1, AES-256, no OpenPGP compression. */
async function seal(
  data: Buffer,
  recipients: openpgp.Key[],
  config: openpgp.PartialConfig = {},
): Promise<Buffer> {
  const message = await openpgp.createMessage({ binary: data });
  const sealed = await openpgp.encrypt({
    message,
    encryptionKeys: recipients,
    format: 'binary',
    sessionKey: { data: randomBytes(32), algorithm: 'aes256' },
    config: {
      aeadProtect: false,
      preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed,
      ...config,
    },
  });
  return Buffer.from(sealed);
}

function chunked(data: Buffer | string, size = 64 * 1024): Readable {
  const buffer = Buffer.from(data);
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < buffer.length; offset += size)
    chunks.push(buffer.subarray(offset, offset + size));
  return Readable.from(chunks, { objectMode: false });
}

function flip(data: Buffer, at = Math.floor(data.length / 2)): Buffer {
  const copy = Buffer.from(data);
  copy[at]! ^= 0x01;
  return copy;
}

/** Unseals into memory; `asked` counts passphrase prompts. */
async function open(
  object: Buffer | string | Readable,
  identityPaths: string[],
  options: Partial<UnsealOptions> & { passphrase?: string } = {},
) {
  let asked = 0;
  const keyring = new Keyring(await loadIdentities(identityPaths, 'restore'), async () => {
    asked++;
    return options.passphrase ?? 'secret';
  });
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      parts.push(chunk);
      callback();
    },
  });
  const result = await unseal(object instanceof Readable ? object : chunked(object), sink, {
    keyring,
    label: 'obj',
    ...options,
  });
  return { result, asked, output: Buffer.concat(parts) };
}

beforeAll(async () => {
  dir = await tempDir();
  [admin, other, locked] = await Promise.all([
    makeKey('admin'),
    makeKey('other'),
    makeKey('locked', 'correct horse'),
  ]);
});

describe('unseal', () => {
  it('decrypts and gunzips what push makes, byte-identical', async () => {
    const { output, result } = await open(await seal(gzipSync(dump), [admin.publicKey]), [admin.privatePath]);
    expect(output.equals(dump)).toBe(true);
    expect(result).toMatchObject({ compression: 'gzip', decompressed: true, outputBytes: dump.length });
  });

  it('passes raw data (push --compress none) through as it is', async () => {
    const { output, result } = await open(await seal(dump, [admin.publicKey]), [admin.privatePath]);
    expect(output.equals(dump)).toBe(true);
    expect(result.compression).toBe('none');
  });

  it('reads every member of concatenated gzip (pigz-style)', async () => {
    const half = dump.length >> 1;
    const { output } = await open(
      await seal(Buffer.concat([gzipSync(dump.subarray(0, half)), gzipSync(dump.subarray(half))]), [
        admin.publicKey,
      ]),
      [admin.privatePath],
    );
    expect(output.equals(dump)).toBe(true);
  });

  it('keeps gzip compressed with decompress: false', async () => {
    const gz = gzipSync(dump);
    const { output, result } = await open(await seal(gz, [admin.publicKey]), [admin.privatePath], {
      decompress: false,
    });
    expect(output.equals(gz)).toBe(true);
    expect(result).toMatchObject({ compression: 'gzip', decompressed: false });
  });

  it('reads messages with an OpenPGP compression packet (GnuPG default) and armored ones', async () => {
    const zipped = await seal(gzipSync(dump), [admin.publicKey], {
      preferredCompressionAlgorithm: openpgp.enums.compression.zlib,
    });
    expect((await open(zipped, [admin.privatePath])).output.equals(dump)).toBe(true);
    const armored = openpgp.armor(openpgp.enums.armor.message, await seal(gzipSync(dump), [admin.publicKey]));
    expect((await open(armored, [admin.privatePath])).output.equals(dump)).toBe(true);
  });

  it('fails a flipped byte as INTEGRITY, gzip inside', async () => {
    await expect(
      open(flip(await seal(gzipSync(dump), [admin.publicKey])), [admin.privatePath]),
    ).rejects.toMatchObject({ code: 'INTEGRITY', exitStatus: 3 });
  });

  it('fails a flipped byte in raw data at the MDC, after the data streamed', async () => {
    const sealed = await seal(dump, [admin.publicKey]);
    await expect(open(flip(sealed), [admin.privatePath])).rejects.toMatchObject({
      code: 'INTEGRITY',
      message: expect.stringMatching(/integrity check \(MDC\)/),
    });
  });

  it('diagnoses tampering as MDC failure even when gzip breaks first', async () => {
    const sealed = flip(await seal(gzipSync(dump), [admin.publicKey]));
    await expect(open(sealed, [admin.privatePath], { diagnose: true })).rejects.toMatchObject({
      code: 'INTEGRITY',
      message: expect.stringMatching(/MDC/),
    });
  });

  it('tells a backup that was bad when made (authentic, broken gzip) from tampering', async () => {
    const gz = gzipSync(dump);
    gz[gz.length - 6]! ^= 0xff; // the CRC
    const sealed = await seal(gz, [admin.publicKey]);
    await expect(open(sealed, [admin.privatePath], { diagnose: true })).rejects.toMatchObject({
      code: 'INTEGRITY',
      message: expect.stringMatching(
        /passed the OpenPGP integrity check: the backup was bad when it was made/,
      ),
    });
    await expect(open(sealed, [admin.privatePath])).rejects.toMatchObject({
      code: 'INTEGRITY',
      message: expect.stringMatching(/gzip data is damaged/),
    });
  });

  it('fails truncated gzip (length check) as INTEGRITY', async () => {
    const gz = gzipSync(dump);
    await expect(
      open(await seal(gz.subarray(0, gz.length - 100), [admin.publicKey]), [admin.privatePath]),
    ).rejects.toMatchObject({ code: 'INTEGRITY' });
  });

  it('uses the first identity the object is encrypted to, asking no passphrase it does not need', async () => {
    const sealed = await seal(gzipSync(dump), [admin.publicKey]);
    const { output, result, asked } = await open(sealed, [
      locked.privatePath,
      other.privatePath,
      admin.privatePath,
    ]);
    expect(output.equals(dump)).toBe(true);
    expect(result.identity.source).toBe(admin.privatePath);
    expect(asked).toBe(0);
  });

  it('asks the passphrase of a protected identity once, and refuses a wrong one as WRONG_PASSPHRASE', async () => {
    const sealed = await seal(gzipSync(dump), [locked.publicKey]);
    const identities = await loadIdentities([locked.privatePath], 'restore');
    const keyring = new Keyring(identities, async () => 'correct horse');
    for (let i = 0; i < 2; i++) {
      const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
      await expect(unseal(chunked(sealed), sink, { keyring, label: 'obj' })).resolves.toMatchObject({
        outputBytes: dump.length,
      });
    }
    await expect(open(sealed, [locked.privatePath], { passphrase: 'wrong' })).rejects.toMatchObject({
      code: 'WRONG_PASSPHRASE',
      exitStatus: 2,
    });
  });

  it('unlocks a sole identity up front, and only its decryption subkey (the signing primary stays locked)', async () => {
    const [identity] = (await loadIdentities([locked.privatePath], 'restore')) as FileIdentity[];
    let asked = 0;
    const keyring = new Keyring([identity!], async () => {
      asked++;
      return 'correct horse';
    });
    await keyring.unlockSoleIdentity();
    expect(asked).toBe(1);
    expect(identity!.key.keyPacket.isDecrypted()).toBe(false);
    expect(identity!.key.getSubkeys()[0]!.keyPacket.isDecrypted()).toBe(true);
    const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    const sealed = await seal(gzipSync(dump), [locked.publicKey]);
    await expect(unseal(chunked(sealed), sink, { keyring, label: 'obj' })).resolves.toMatchObject({
      outputBytes: dump.length,
    });
    expect(asked).toBe(1);
  });

  it('refuses an object for someone else as NO_MATCHING_KEY, naming the key ids', async () => {
    const sealed = await seal(gzipSync(dump), [other.publicKey]);
    const keyId = other.publicKey.getSubkeys()[0]!.getKeyID().toHex().toUpperCase();
    await expect(open(sealed, [admin.privatePath])).rejects.toMatchObject({
      code: 'NO_MATCHING_KEY',
      exitStatus: 2,
      message: expect.stringContaining(keyId),
    });
  });

  it('finds the key for hidden recipients (gpg --throw-keyids) by trying each identity', async () => {
    const message = await openpgp.createMessage({ binary: gzipSync(dump) });
    const sealed = Buffer.from(
      await openpgp.encrypt({
        message,
        encryptionKeys: [admin.publicKey],
        format: 'binary',
        wildcard: true,
        config: { aeadProtect: false },
      }),
    );
    const { output, result } = await open(sealed, [other.privatePath, admin.privatePath]);
    expect(output.equals(dump)).toBe(true);
    expect(result.identity.source).toBe(admin.privatePath);
    await expect(open(sealed, [other.privatePath])).rejects.toMatchObject({
      code: 'NO_MATCHING_KEY',
      message: expect.stringMatching(/hidden recipients/),
    });
  });

  it('refuses a public key as identity', async () => {
    const path = join(dir, 'admin.pub.asc');
    await writeFile(path, admin.publicKey.armor());
    await expect(loadIdentities([path], 'restore')).rejects.toMatchObject({
      code: 'KEY_INVALID',
      message: expect.stringMatching(/public key/),
    });
  });

  it('says what is not OpenPGP at all', async () => {
    await expect(open(gzipSync(dump), [admin.privatePath])).rejects.toMatchObject({
      code: 'OBJECT_FORMAT',
      message: expect.stringMatching(/not an OpenPGP message/),
    });
  });

  /** Two zstd frames, as push makes them (one per block), by the stock zstd tool. */
  async function zstdFrames(data: Buffer): Promise<Buffer> {
    const half = data.length >> 1;
    const frames = await Promise.all(
      [data.subarray(0, half), data.subarray(half)].map((piece) =>
        run('zstd', ['-3', '--check', '-c'], { input: piece }).then((r) => r.stdoutBytes),
      ),
    );
    return Buffer.concat(frames);
  }

  if (zstdBinding()) {
    it('decrypts and decompresses zstd (every frame), and keeps it with decompress: false', async () => {
      const zst = await zstdFrames(dump);
      const sealed = await seal(zst, [admin.publicKey]);
      const { output, result } = await open(sealed, [admin.privatePath]);
      expect(output.equals(dump)).toBe(true);
      expect(result).toMatchObject({ compression: 'zstd', decompressed: true, outputBytes: dump.length });
      const kept = await open(sealed, [admin.privatePath], { decompress: false });
      expect(kept.output.equals(zst)).toBe(true);
      expect(kept.result).toMatchObject({ compression: 'zstd', decompressed: false });
    });

    it('tells an authentic object with damaged zstd inside (a frame checksum) from tampering', async () => {
      const zst = await zstdFrames(dump);
      zst[zst.length - 2]! ^= 0xff; // the last frame's checksum
      const sealed = await seal(zst, [admin.publicKey]);
      await expect(open(sealed, [admin.privatePath], { diagnose: true })).rejects.toMatchObject({
        code: 'INTEGRITY',
        message: expect.stringMatching(/zstd data is damaged .* passed the OpenPGP integrity check/),
      });
      await expect(open(flip(sealed), [admin.privatePath], { diagnose: true })).rejects.toMatchObject({
        code: 'INTEGRITY',
        message: expect.stringMatching(/MDC/),
      });
    });
  } else {
    it(`refuses to decompress zstd on Node.js ${process.version}, naming the version it needs; decompress: false passes it`, async () => {
      const zst = await zstdFrames(dump);
      const sealed = await seal(zst, [admin.publicKey]);
      await expect(open(sealed, [admin.privatePath])).rejects.toMatchObject({
        // This Node.js's limit, not the backup's (verify records nothing against it).
        code: 'NEEDS_NEWER_NODE',
        message: expect.stringMatching(/decrypts to zstd data.*needs Node\.js 22\.15/),
        hint: expect.stringMatching(/--no-decompress .*zstd -d/),
      });
      const kept = await open(sealed, [admin.privatePath], { decompress: false });
      expect(kept.output.equals(zst)).toBe(true);
      expect(kept.result.compression).toBe('zstd');
    });
  }

  it('reports a download that breaks off as such, not as damage', async () => {
    const sealed = await seal(gzipSync(dump), [admin.publicKey]);
    // Half the object, then the connection drops when the reader asks for more (a reader is attached by
    // then: a timer could fire before one is and make the error uncaught).
    let served = false;
    const body = new Readable({
      read() {
        if (served) return this.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
        served = true;
        this.push(sealed.subarray(0, sealed.length >> 1));
      },
    });
    await expect(open(body, [admin.privatePath])).rejects.toMatchObject({
      code: 'S3_UNREACHABLE',
      message: expect.stringMatching(/broke off.*socket hang up/),
    });
  });
});

/** A lazy object: `head`, then `fill` repeated up to `total` bytes; `pulled()` says how much was read. */
function endless(head: Buffer, fill: Buffer, total: number) {
  let pulled = 0;
  const stream = Readable.from(
    (function* () {
      pulled += head.length;
      yield head;
      while (pulled < total) {
        pulled += fill.length;
        yield fill;
      }
    })(),
    { objectMode: false },
  );
  return { stream, pulled: () => pulled };
}

/** A new-format packet header: tag, then a five-octet length. */
function packetHeader(tag: number, length: number): Buffer {
  const header = Buffer.from([0xc0 | tag, 0xff, 0, 0, 0, 0]);
  header.writeUInt32BE(length, 2);
  return header;
}

describe('unseal, on objects an attacker made to exhaust it', () => {
  const MiB = 1024 ** 2;

  it('refuses an armored message past 16 MiB, having read little more (OpenPGP.js holds armor whole)', async () => {
    const object = endless(
      Buffer.from('-----BEGIN PGP MESSAGE-----\n\n='),
      Buffer.alloc(MiB, 'QUFB'),
      400 * MiB,
    );
    await expect(open(object.stream, [admin.privatePath])).rejects.toMatchObject({
      code: 'OBJECT_FORMAT',
      message: expect.stringMatching(/armored.*over 16\.0 MiB/),
    });
    expect(object.pulled()).toBeLessThan(20 * MiB);
  });

  it('refuses a flood of session key packets with a short message, before OpenPGP.js holds them', async () => {
    // A real session key packet (OpenPGP.js's framing: tag octet, one length octet), repeated.
    const sealed = await seal(Buffer.from('x'), [other.publicKey]);
    expect(sealed[0]).toBe(0xc1);
    const pkesk = sealed.subarray(0, 2 + sealed[1]!);
    const object = endless(pkesk, Buffer.concat(Array.from({ length: 4096 }, () => pkesk)), 150 * MiB);
    await expect(open(object.stream, [admin.privatePath])).rejects.toMatchObject({
      code: 'OBJECT_FORMAT',
      message: expect.toSatisfy(
        (message: string) => /more than 64 session key/.test(message) && message.length < 300,
        'under 300 characters, saying "more than 64 session key"',
      ),
    });
    expect(object.pulled()).toBeLessThan(MiB);
  });

  it('refuses a session key packet of 200 MiB, before reading it', async () => {
    const object = endless(packetHeader(1, 200 * MiB), Buffer.alloc(MiB), 200 * MiB);
    await expect(open(object.stream, [admin.privatePath])).rejects.toMatchObject({
      code: 'OBJECT_FORMAT',
      message: expect.stringMatching(/session key packet of 200\.0 MiB/),
    });
    expect(object.pulled()).toBeLessThan(2 * MiB);
  });

  it('names a few of the key ids an object is encrypted to, then how many more', async () => {
    const keys = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        openpgp
          .generateKey({ userIDs: [{ name: `r${i}` }], format: 'armored' })
          .then(({ publicKey }) => openpgp.readKey({ armoredKey: publicKey })),
      ),
    );
    const sealed = await seal(Buffer.from('x'), keys);
    await expect(open(sealed, [admin.privatePath])).rejects.toMatchObject({
      code: 'NO_MATCHING_KEY',
      message: expect.stringMatching(/ and 8 more;/),
    });
  });
});
