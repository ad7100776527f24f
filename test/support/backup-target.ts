// A backup target prepared the way the README tells an admin to: `setup` (versioning + the printed
// bucket policy applied), `key generate`, and `policy mint` signed by the write-only uploader.
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { expect } from 'vitest';
import { run, runCli, tempDir } from './cli.js';
import { gpgHome } from './gpg.js';
import { adminClient, bucketName, freshBucket, s3Env, userArn, withEnv } from './s3.js';

export interface BackupTarget {
  bucket: string;
  key: string;
  dir: string;
  policyPath: string;
  publicKey: string;
  privateKey: string;
  passphrase: string;
  /** Admin credentials and endpoint, for admin commands. */
  adminEnv: NodeJS.ProcessEnv;
  /** No AWS credentials at all: what a server has. */
  agentEnv: NodeJS.ProcessEnv;
}

export interface TargetOptions {
  key?: string;
  mintArgs?: string[];
  /** Let `setup --create` make the bucket, with these options too (['--object-lock', '1d']). */
  createArgs?: string[];
}

export const PASSPHRASE = 'test passphrase, not secret';

export async function backupTarget(name: string, options: TargetOptions = {}): Promise<BackupTarget> {
  const dir = await tempDir(`sealdrop-${name}-`);
  const bucket = options.createArgs ? bucketName(name) : await freshBucket(name);
  const key = options.key ?? 'db1/mysql.sql.gz.gpg';
  const adminEnv = withEnv({ SEALDROP_PASSPHRASE: PASSPHRASE });
  const setup = await runCli(
    [
      'setup',
      `s3://${bucket}`,
      ...(options.createArgs ? ['--create', ...options.createArgs] : []),
      '--uploader',
      userArn('sealdrop-uploader'),
      '--apply-bucket-policy',
      '--json',
    ],
    { env: adminEnv },
  );
  expect(setup.status, setup.stderr).toBe(0);

  const prefix = join(dir, 'admin');
  const keygen = await runCli(
    ['key', 'generate', '--uid', `Admin ${name} <admin@example.com>`, '--out', prefix],
    { env: adminEnv },
  );
  expect(keygen.status, keygen.stderr).toBe(0);

  const policyPath = join(dir, 'policy.json');
  await mint(`s3://${bucket}/${key}`, [`${prefix}.pub.asc`], policyPath, options.mintArgs);
  return {
    bucket,
    key,
    dir,
    policyPath,
    publicKey: `${prefix}.pub.asc`,
    privateKey: `${prefix}.key.asc`,
    passphrase: PASSPHRASE,
    adminEnv,
    agentEnv: agentEnv(),
  };
}

/** Mints with the write-only uploader's credentials, as an admin would (AWS_PROFILE=uploader). */
export async function mint(
  target: string,
  recipients: string[],
  out: string,
  extra: string[] = [],
): Promise<void> {
  const { uploader } = s3Env();
  const env = withEnv({
    AWS_ACCESS_KEY_ID: uploader.accessKeyId,
    AWS_SECRET_ACCESS_KEY: uploader.secretAccessKey,
  });
  const args = [
    'policy',
    'mint',
    target,
    ...recipients.flatMap((r) => ['--recipient', r]),
    '--out',
    out,
    '--force',
    ...extra,
  ];
  const minted = await runCli(args, { env });
  expect(minted.status, minted.stderr).toBe(0);
}

/**
 * A policy file for the target's key as `policy mint` wrote it before recipients were bound and before
 * the Content-MD5 condition: neither field, nor a condition on it. Signed by the uploader.
 */
export async function oldPolicyFile(target: BackupTarget, path: string): Promise<string> {
  const { uploader, endpoint, region } = s3Env();
  const client = new S3Client({ endpoint, region, credentials: uploader, forcePathStyle: true });
  const post = await createPresignedPost(client, {
    Bucket: target.bucket,
    Key: target.key,
    Fields: {
      acl: 'bucket-owner-full-control',
      'Content-Type': 'application/pgp-encrypted',
      success_action_status: '201',
    },
    Conditions: [['content-length-range', 1, 1024 ** 3]],
    Expires: 3600,
  });
  const file = {
    sealdrop: 1,
    url: post.url,
    fields: { ...post.fields, key: target.key },
    recipients: [await readFile(target.publicKey, 'utf8')],
    mintedAt: new Date().toISOString(),
  };
  await writeFile(path, JSON.stringify(file, null, 2), { mode: 0o600 });
  return path;
}

/** A server's environment: no AWS variable of any kind. */
/** A keypair no backup is encrypted to (no passphrase), as DIR/NAME.pub.asc and .key.asc; returns DIR/NAME. */
export async function otherKey(dir: string, name = 'other'): Promise<string> {
  const prefix = join(dir, name);
  const made = await runCli([
    'key',
    'generate',
    '--uid',
    `Other <${name}@example.com>`,
    '--out',
    prefix,
    '--no-passphrase',
  ]);
  expect(made.status, made.stderr).toBe(0);
  return prefix;
}

export function agentEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
}

/**
 * Fetches one stored version with admin credentials and restores it with stock tools only: gpg, then
 * gunzip, or zstd -d for a key ending in .zst.gpg.
 */
export async function stockRestore(target: BackupTarget, versionId?: string): Promise<Buffer> {
  const object = await adminClient().send(
    new GetObjectCommand({ Bucket: target.bucket, Key: target.key, VersionId: versionId }),
  );
  const ciphertext = Buffer.from(await object.Body!.transformToByteArray());
  const gpg = await gpgHome();
  expect((await gpg(['--passphrase', target.passphrase, '--import', target.privateKey])).status).toBe(0);
  const decrypted = await gpg(['--passphrase', target.passphrase, '--decrypt'], ciphertext);
  expect(decrypted.status, decrypted.stderr).toBe(0);
  const [command, ...args] = target.key.endsWith('.zst.gpg') ? ['zstd', '-d', '-c'] : ['gunzip', '-c'];
  const plain = await run(command!, args, { input: decrypted.stdoutBytes });
  expect(plain.status, plain.stderr).toBe(0);
  return plain.stdoutBytes;
}
