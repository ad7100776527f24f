// --identity gpg:…: the admin's key held by a real gpg-agent (GnuPG 2.2), its passphrase preset there, never
// given to sealdrop. What gpg: restores and verifies is byte for byte what the key file does.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zstdBinding } from '../../src/core/compression.js';
import { backupTarget, mint, PASSPHRASE, type BackupTarget } from '../support/backup-target.js';
import { run, runCli, type CliResult } from '../support/cli.js';
import { gpgAgentHome, type GpgAgent } from '../support/gpg.js';
import { countingProxy } from '../support/proxy.js';

const GEN_DUMP = fileURLToPath(new URL('../../scripts/gen-dump.mjs', import.meta.url));
const hasZstd = zstdBinding() !== null;

let target: BackupTarget;
let agent: GpgAgent;
let other: { privateKey: string; keyId: string };
let gpgEnv: NodeJS.ProcessEnv;
let fileEnv: NodeJS.ProcessEnv;
let adminKeyId: string;

async function dump(size: string, seed: number): Promise<Buffer> {
  return (await run(process.execPath, [GEN_DUMP, size, String(seed)])).stdoutBytes;
}

async function push(policy: string, input: Buffer, args: string[] = []): Promise<void> {
  const pushed = await runCli(['push', '--policy', policy, '-q', ...args], { input, env: target.agentEnv });
  expect(pushed.status, pushed.stderr).toBe(0);
}

/** The encryption subkey's key id, as gpg lists it. */
async function encryptionKeyId(email: string): Promise<string> {
  const listed = await agent.gpg(['--with-colons', '--list-secret-keys', `<${email}>`]);
  const subkey = listed.stdout.split('\n').find((line) => line.startsWith('ssb:'));
  return subkey!.split(':')[4]!;
}

/** The same command with the key file (passphrase given to sealdrop) and with gpg: (no passphrase at all). */
async function bothWays(args: string[]): Promise<{ file: CliResult; gpg: CliResult }> {
  const file = await runCli([...args, '--identity', target.privateKey], { env: fileEnv });
  const gpg = await runCli([...args, '--identity', 'gpg:admin@example.com'], { env: gpgEnv });
  return { file, gpg };
}

beforeAll(async () => {
  target = await backupTarget('gpg-identity');
  const keygen = await runCli(
    ['key', 'generate', '--uid', 'Other <other@example.com>', '--out', join(target.dir, 'other')],
    { env: target.adminEnv },
  );
  expect(keygen.status, keygen.stderr).toBe(0);
  agent = await gpgAgentHome([
    { path: target.privateKey, passphrase: PASSPHRASE },
    { path: join(target.dir, 'other.key.asc'), passphrase: PASSPHRASE },
  ]);
  await agent.preset(PASSPHRASE);
  adminKeyId = await encryptionKeyId('admin@example.com');
  other = {
    privateKey: join(target.dir, 'other.key.asc'),
    keyId: await encryptionKeyId('other@example.com'),
  };
  // sealdrop never learns the passphrase on the gpg: side: the agent has it.
  gpgEnv = { ...target.adminEnv, ...agent.env, SEALDROP_PASSPHRASE: undefined };
  fileEnv = { ...target.adminEnv, ...agent.env };
}, 300_000);

afterAll(async () => {
  await agent?.stop();
});

describe('--identity gpg:', () => {
  it('restores and verifies a key backup byte for byte as the key file does, with the passphrase only in gpg-agent', async () => {
    const input = await dump('2MiB', 1);
    await push(target.policyPath, input);
    const url = `s3://${target.bucket}/${target.key}`;
    const restored = await bothWays(['restore', url]);
    expect(restored.gpg.status, restored.gpg.stderr).toBe(0);
    expect(restored.file.status, restored.file.stderr).toBe(0);
    expect(restored.gpg.stdoutBytes.equals(input)).toBe(true);
    expect(restored.gpg.stdoutBytes.equals(restored.file.stdoutBytes)).toBe(true);
    expect(restored.gpg.stderr).toMatch(/identity: +[0-9A-F]{40} \(gpg:admin@example\.com\)/);
    // The first verify makes the bucket's sketch key, encrypted to the gpg key's public key (exported by
    // gpg); the key file then opens it, and the other way round.
    const gpgFirst = await runCli(['verify', url, '--identity', 'gpg:admin@example.com'], { env: gpgEnv });
    expect(gpgFirst.status, gpgFirst.stderr).toBe(0);
    const verified = await bothWays(['verify', url]);
    expect(verified.gpg.status, verified.gpg.stderr).toBe(0);
    expect(verified.file.status, verified.file.stderr).toBe(0);
    expect(verified.gpg.stdout).toMatch(/OK/);
    // The same report but for the time taken.
    const report = (out: string) => out.replace(/\d+\.\d s/g, 'T s');
    expect(report(verified.gpg.stdout)).toBe(report(verified.file.stdout));
  });

  it('restores a run of several parts as the key file does', async () => {
    const policy = join(target.dir, 'runs.policy.json');
    await mint(`s3://${target.bucket}/runs/`, [target.publicKey], policy);
    const input = await dump('3MiB', 2);
    await push(policy, input, ['--part-size', '1MiB', '--compress', 'none']);
    const url = `s3://${target.bucket}/runs/`;
    const versions = await runCli(['versions', url, '--json'], { env: target.adminEnv });
    expect(JSON.parse(versions.stdout).snapshots[0].parts).toBeGreaterThanOrEqual(3);
    const restored = await bothWays(['restore', url]);
    expect(restored.gpg.status, restored.gpg.stderr).toBe(0);
    expect(restored.gpg.stdoutBytes.equals(input)).toBe(true);
    expect(restored.gpg.stdoutBytes.equals(restored.file.stdoutBytes)).toBe(true);
    const verified = await runCli(['verify', url, '--identity', 'gpg:admin@example.com'], { env: gpgEnv });
    expect(verified.status, verified.stderr).toBe(0);
  });

  it('restores a zstd object as the key file does', async () => {
    const policy = join(target.dir, 'zstd.policy.json');
    const key = 'db1/pg.sql.gpg'; // no suffix: the compression is found inside
    await mint(`s3://${target.bucket}/${key}`, [target.publicKey], policy);
    const input = await dump('2MiB', 3);
    // Compressed by the stock tool and pushed as it is: the same object push --compress zstd makes on a
    // Node.js with zstd, on any Node.js.
    const zst = (await run('zstd', ['-3', '--check', '-c'], { input })).stdoutBytes;
    await push(policy, zst, ['--compress', 'none']);
    const url = `s3://${target.bucket}/${key}`;
    const kept = await bothWays(['restore', url, '--no-decompress']);
    expect(kept.gpg.status, kept.gpg.stderr).toBe(0);
    expect(kept.gpg.stdoutBytes.equals(zst)).toBe(true);
    expect(kept.gpg.stdoutBytes.equals(kept.file.stdoutBytes)).toBe(true);
    const restored = await bothWays(['restore', url]);
    const verified = await bothWays(['verify', url]);
    if (hasZstd) {
      expect(restored.gpg.status, restored.gpg.stderr).toBe(0);
      expect(restored.gpg.stdoutBytes.equals(input)).toBe(true);
      expect(verified.gpg.status, verified.gpg.stderr).toBe(0);
    } else {
      // This Node.js has no zstd: both refuse alike, after decrypting (the refusal names zstd).
      expect(restored.gpg.stderr).toMatch(/decrypts to zstd data/);
    }
    expect(restored.gpg.status).toBe(restored.file.status);
    expect(restored.gpg.stdoutBytes.equals(restored.file.stdoutBytes)).toBe(true);
    expect(verified.gpg.status).toBe(verified.file.status);
  });

  it('takes several identities, files and gpg: mixed, and uses the one the object names', async () => {
    const input = await dump('256KiB', 4);
    await push(target.policyPath, input);
    const url = `s3://${target.bucket}/${target.key}`;
    // The other key file is never unlocked (no passphrase here would unlock it): the key ids chose gpg.
    const viaGpg = await runCli(
      ['restore', url, '--identity', other.privateKey, '--identity', 'gpg:admin@example.com'],
      { env: gpgEnv },
    );
    expect(viaGpg.status, viaGpg.stderr).toBe(0);
    expect(viaGpg.stdoutBytes.equals(input)).toBe(true);
    expect(viaGpg.stderr).toMatch(/\(gpg:admin@example\.com\)/);
    const viaFile = await runCli(
      ['restore', url, '--identity', 'gpg:other@example.com', '--identity', target.privateKey],
      { env: fileEnv },
    );
    expect(viaFile.status, viaFile.stderr).toBe(0);
    expect(viaFile.stdoutBytes.equals(input)).toBe(true);
    expect(viaFile.stderr).toContain(`(${target.privateKey})`);
    // SEALDROP_IDENTITY takes a gpg: identity too.
    const fromEnv = await runCli(['restore', url], {
      env: { ...gpgEnv, SEALDROP_IDENTITY: 'gpg:admin@example.com' },
    });
    expect(fromEnv.status, fromEnv.stderr).toBe(0);
    expect(fromEnv.stdoutBytes.equals(input)).toBe(true);
  });

  it('a key gpg holds but the object is not encrypted to: exit 2, naming both key ids, nothing written', async () => {
    const out = join(target.dir, 'not-mine.sql');
    const url = `s3://${target.bucket}/${target.key}`;
    const refused = await runCli(['restore', url, '--identity', 'gpg:other@example.com', '--out', out], {
      env: gpgEnv,
    });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(`is encrypted to key id ${adminKeyId}`);
    expect(refused.stderr).toContain(`gpg:other@example.com: key id ${other.keyId}`);
    expect(refused.stderr).toMatch(/hint: /);
    expect(refused.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(out)).toBe(false);
  });

  it('a key gpg does not hold, a gpg that is missing, a malformed gpg: name: exit 2 with a clear message', async () => {
    const url = `s3://${target.bucket}/${target.key}`;
    const unknown = await runCli(['restore', url, '--identity', 'gpg:nobody@example.com'], { env: gpgEnv });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/gpg holds no secret key for gpg:nobody@example\.com/);
    expect(unknown.stdout).toBe('');
    const noGpg = await runCli(['restore', url, '--identity', 'gpg:admin@example.com'], {
      env: { ...gpgEnv, PATH: '/nonexistent' },
    });
    expect(noGpg.status).toBe(2);
    expect(noGpg.stderr).toMatch(/gpg is not installed \(or not on PATH\)/);
    expect(noGpg.stderr).toMatch(/hint: Install GnuPG/);
    const malformed = await runCli(['restore', url, '--identity', 'gpg:not a key'], { env: gpgEnv });
    expect(malformed.status).toBe(2);
    expect(malformed.stderr).toMatch(/fingerprint \(40 hex digits\) or its email address/);
  });

  it('a cancelled passphrase prompt comes before the download: exit 2, says so, leaves no file, read 8 KiB', async () => {
    const out = join(target.dir, 'cancelled.sql');
    await push(target.policyPath, await dump('4MiB', 7), ['--level', '1']);
    const proxy = await countingProxy();
    await agent.forget();
    try {
      const cancelled = await runCli(
        [
          'restore',
          `s3://${target.bucket}/${target.key}`,
          '--identity',
          'gpg:admin@example.com',
          '--out',
          out,
          '--endpoint',
          proxy.url,
        ],
        { env: gpgEnv },
      );
      expect(cancelled.status).toBe(2);
      expect(cancelled.stderr).toMatch(/gpg could not decrypt the session key of .* Operation cancelled/);
      expect(cancelled.stderr).toMatch(/hint: The PIN or passphrase prompt was cancelled/);
      expect(existsSync(out)).toBe(false);
      // Only the key packets were read (one ranged GET), not the object of about 1.5 MiB.
      const reads = proxy.seen.filter((s) => s.method === 'GET' && s.url.includes(`/${target.key}?`));
      expect(reads.map((s) => s.range)).toEqual(['bytes=0-8191']);
      expect(reads[0]!.bytes).toBeLessThanOrEqual(8192);
    } finally {
      await agent.preset(PASSPHRASE);
      proxy.server.close();
      proxy.server.closeAllConnections();
    }
  });

  it('the fingerprint names the key as well as the email', async () => {
    const fingerprint = await agentFingerprint();
    const restored = await runCli(
      ['restore', `s3://${target.bucket}/${target.key}`, '--identity', `gpg:${fingerprint}`],
      { env: gpgEnv },
    );
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stderr).toContain(`${fingerprint} (gpg:${fingerprint})`);
  });
});

async function agentFingerprint(): Promise<string> {
  const listed = await agent.gpg(['--with-colons', '--list-secret-keys', '<admin@example.com>']);
  return listed.stdout
    .split('\n')
    .find((line) => line.startsWith('fpr:'))!
    .split(':')[9]!;
}
