import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mintPolicy, type MintOptions } from '../../src/admin/policies/mint.js';
import { createS3Client } from '../../src/admin/s3/client.js';
import { generateKeyPair } from '../../src/admin/openpgp/keygen.js';
import { assertNotExpired, parsePolicyFile } from '../../src/core/policy-file.js';
import { parseS3Url } from '../../src/core/s3-url.js';
import { tempDir } from '../support/cli.js';
import { useOfflineAws } from '../support/offline-aws.js';

let dir: string;
let recipient: string;

beforeAll(async () => {
  dir = await tempDir();
  recipient = (
    await generateKeyPair({
      userId: 'Test Admin <admin@example.com>',
      outPrefix: join(dir, 'admin'),
      passphrase: null,
    })
  ).publicKeyPath;
});

useOfflineAws();

let counter = 0;
async function mint(target: string, extra: Partial<MintOptions> = {}) {
  const out = join(dir, `policy-${++counter}.json`);
  const result = await mintPolicy(createS3Client(), {
    location: parseS3Url(target),
    recipientFiles: [recipient],
    out,
    ...extra,
  });
  return { out, result, text: await readFile(out, 'utf8') };
}

describe('policy mint (offline)', () => {
  it('writes a 0600 policy file whose summary comes from the signed document', async () => {
    const { out, result, text } = await mint('s3://acme-backups/db1/mysql.sql.gz.gpg', {
      maxSize: 2 * 1024 ** 3,
      expiresInMs: 36 * 3600_000,
    });
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const { file, summary } = parsePolicyFile(text, out);
    expect(file.sealdrop).toBe(1);
    expect(Object.keys(file.fields).at(-1)).toBe('X-Amz-Signature');
    expect(summary.location).toEqual({
      bucket: 'acme-backups',
      key: 'db1/mysql.sql.gz.gpg',
      isPrefix: false,
    });
    expect(summary.maxSize).toBe(2 * 1024 ** 3);
    expect(summary.acl).toBe('bucket-owner-full-control');
    expect(summary.region).toBe('eu-west-1');
    expect(summary.url).toBe('http://127.0.0.1:9/acme-backups');
    expect(Math.abs(summary.expiresAt.getTime() - Date.now() - 36 * 3600_000)).toBeLessThan(5000);
    expect(result.warnings).toEqual([]);
    expect(file.recipients[0]).toContain('BEGIN PGP PUBLIC KEY BLOCK');
  });

  it('mints prefix policies with a starts-with condition on the key', async () => {
    const { out, text } = await mint('s3://acme-backups/db1/');
    const { summary } = parsePolicyFile(text, out);
    expect(summary.location).toEqual({ bucket: 'acme-backups', key: 'db1/', isPrefix: true });
  });

  it('lets push send any Content-MD5 and record its SHA-256: starts-with "" conditions, read back', async () => {
    const { out, text } = await mint('s3://acme-backups/db1/mysql.sql.gz.gpg');
    const { file, summary } = parsePolicyFile(text, out);
    const document = JSON.parse(Buffer.from(file.fields.Policy!, 'base64').toString('utf8'));
    expect(document.conditions).toContainEqual(['starts-with', '$Content-MD5', '']);
    expect(document.conditions).toContainEqual(['starts-with', '$x-amz-meta-sealdrop-sha256', '']);
    expect(summary.contentMd5).toBe(true);
    expect(summary.sha256Field).toBe(true);
    // The fields themselves are push's to fill in: they are not among the file's fixed fields.
    const fields = Object.keys(file.fields).map((name) => name.toLowerCase());
    expect(fields).not.toContain('content-md5');
    expect(fields).not.toContain('x-amz-meta-sealdrop-sha256');
  });

  it('warns about session tokens and expiries beyond 7 days', async () => {
    process.env.AWS_SESSION_TOKEN = 'session-token';
    const { result } = await mint('s3://acme-backups/k', { expiresInMs: 8 * 86_400_000 });
    expect(result.warnings.join('\n')).toMatch(/temporary credentials/);
    expect(result.warnings.join('\n')).toMatch(/over 7 days/);
    expect(result.summary.hasSessionToken).toBe(true);
  });

  it('carries a ping URL for push, refused unless it is an http(s) URL, and refused when edited into junk', async () => {
    const ping = 'https://hc-ping.com/0f3c6e2a-5d0b-4b9e-9d7e-2b1c8a7e4f10';
    const { out, text } = await mint('s3://acme-backups/pinged', { ping });
    expect(parsePolicyFile(text, out).file.ping).toBe(ping);
    for (const bad of ['hc-ping.com/abc', 'ftp://example.com/x', `https://example.com/${'x'.repeat(1000)}`])
      await expect(mint('s3://acme-backups/pinged', { ping: bad })).rejects.toMatchObject({
        code: 'USAGE',
        message: expect.stringMatching(/^--ping must be an http\(s\) URL/),
      });
    const edited = JSON.stringify({ ...JSON.parse(text), ping: 42 });
    expect(() => parsePolicyFile(edited, out)).toThrow(/"ping" must be an http\(s\) URL/);
  });

  it('refuses to overwrite a file without force, and sizes above 5GiB', async () => {
    const { out } = await mint('s3://acme-backups/k');
    await expect(
      mintPolicy(createS3Client(), {
        location: parseS3Url('s3://acme-backups/k'),
        recipientFiles: [recipient],
        out,
      }),
    ).rejects.toMatchObject({ code: 'FILE_EXISTS' });
    await expect(
      mintPolicy(createS3Client(), {
        location: parseS3Url('s3://acme-backups/k'),
        recipientFiles: [recipient],
        out,
        force: true,
      }),
    ).resolves.toBeTruthy();
    await expect(mint('s3://acme-backups/k', { maxSize: 6 * 1024 ** 3 })).rejects.toMatchObject({
      code: 'USAGE',
    });
  });

  it("refuses a key or prefix in sealdrop's own .sealdrop/ area", async () => {
    for (const target of ['s3://acme-backups/.sealdrop/renew/x.json', 's3://acme-backups/.sealdrop/'])
      await expect(mint(target)).rejects.toThrow(/covers \.sealdrop\/, sealdrop's own area/);
  });

  it('records the compression servers use, and refuses a key suffix that says otherwise', async () => {
    const zstd = await mint('s3://acme-backups/db1/pg.sql.zst.gpg', { compression: 'zstd' });
    expect(parsePolicyFile(zstd.text, zstd.out).file.compression).toBe('zstd');
    // The suffix is enough: .zst.gpg means zstd, .gz.gpg gzip.
    const implied = await mint('s3://acme-backups/db1/x.sql.zst.gpg');
    expect(parsePolicyFile(implied.text, implied.out).file.compression).toBe('zstd');
    const plain = await mint('s3://acme-backups/db1/mysql.sql.gz.gpg');
    expect(parsePolicyFile(plain.text, plain.out).file.compression).toBe('gzip');
    await expect(mint('s3://acme-backups/db1/x.sql.gz.gpg', { compression: 'zstd' })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/ends in \.gz\.gpg \(gzip\) but the compression is zstd/),
    });
    // A prefix names no suffix; none is compatible with any.
    await expect(mint('s3://acme-backups/db1/', { compression: 'zstd' })).resolves.toBeTruthy();
    await expect(mint('s3://acme-backups/db1/x.gz.gpg', { compression: 'none' })).resolves.toBeTruthy();
  });

  it('refuses a private key file as nothing but its public part', async () => {
    const { text, out } = await mint('s3://acme-backups/k', {
      recipientFiles: [recipient.replace('.pub.asc', '.key.asc')],
    });
    expect(parsePolicyFile(text, out).file.recipients[0]).not.toContain('PRIVATE');
  });
});

describe('policy file parsing', () => {
  let good: string;
  beforeAll(async () => {
    good = (await mint('s3://acme-backups/db1/mysql.sql.gz.gpg')).text;
  });
  const edit = (
    change: (json: { sealdrop: unknown; recipients: unknown; fields: Record<string, string> }) => void,
  ) => {
    const json = JSON.parse(good);
    change(json);
    return JSON.stringify(json);
  };

  it.each([
    ['truncated', () => good.slice(0, good.length / 2), /db1\.json: not valid JSON/],
    ['not an object', () => '[1,2]', /not a sealdrop policy file/],
    ['an unknown version', () => edit((j) => (j.sealdrop = 2)), /version 2 is not supported/],
    ['no recipients', () => edit((j) => (j.recipients = [])), /recipients/],
    [
      'an edited key field',
      () => edit((j) => (j.fields.key = 'other/key')),
      /"key" field does not match the signed policy/,
    ],
    ['an edited acl field', () => edit((j) => (j.fields.acl = 'public-read')), /"acl" field does not match/],
    [
      'an added field',
      () => edit((j) => (j.fields['x-amz-meta-evil'] = '1')),
      /"x-amz-meta-evil" field does not match/,
    ],
    [
      'a damaged policy document',
      () => edit((j) => (j.fields.Policy = 'bm90IGpzb24=')),
      /not base64-encoded JSON/,
    ],
    [
      'an unknown compression',
      () => edit((j) => Object.assign(j, { compression: 'lz4' })),
      /"compression" must be/,
    ],
    [
      'no signature field',
      () => edit((j) => delete j.fields['X-Amz-Signature']),
      /"x-amz-signature" field is missing/,
    ],
  ])('names the file and the problem for %s', (_, make, message) => {
    expect(() => parsePolicyFile(make(), 'db1.json')).toThrow(
      expect.objectContaining({
        code: 'POLICY_FILE_INVALID',
        exitStatus: 2,
        message: expect.stringMatching(message),
      }),
    );
  });

  it('tells an expired policy apart', async () => {
    const { summary } = parsePolicyFile(good, 'db1.json');
    expect(() => assertNotExpired(summary, 'db1.json')).not.toThrow();
    expect(() => assertNotExpired(summary, 'db1.json', new Date(Date.now() + 8 * 86_400_000))).toThrowError(
      /expired at/,
    );
  });

  it('survives a round trip through a file untouched', async () => {
    const path = join(dir, 'copy.json');
    await writeFile(path, good);
    expect(parsePolicyFile(await readFile(path, 'utf8'), path).summary.location.key).toBe(
      'db1/mysql.sql.gz.gpg',
    );
  });
});
