// zstd where Node's zlib has it (22.15+): push, stock `gpg -d | zstd -d`, restore and verify; a clear
// refusal naming the version everywhere else. Both Node versions CI runs assert something here.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { zstdBinding } from '../../src/core/compression.js';
import { backupTarget, stockRestore, type BackupTarget } from '../support/backup-target.js';
import { run, runCli } from '../support/cli.js';
import { gpgHome } from '../support/gpg.js';
import { adminClient, listVersions } from '../support/s3.js';

const GEN_DUMP = fileURLToPath(new URL('../../scripts/gen-dump.mjs', import.meta.url));
const hasZstd = zstdBinding() !== null;

let target: BackupTarget;
let input: Buffer;
beforeAll(async () => {
  // Minted for zstd: the servers need no flag.
  target = await backupTarget('zstd', { key: 'db1/pg.sql.zst.gpg', mintArgs: ['--compress', 'zstd'] });
  input = (await run(process.execPath, [GEN_DUMP, '3.5MiB', '7'])).stdoutBytes;
});

describe('zstd', () => {
  if (hasZstd) {
    it(`${process.version}: a zstd policy pushes zstd without a flag, and stock gpg -d | zstd -d restores it`, async () => {
      // -q: the note about piped stdin is not what this looks for.
      const pushed = await runCli(['push', '--policy', target.policyPath, '--json', '-q'], {
        input,
        env: target.agentEnv,
      });
      expect(pushed.status, pushed.stderr).toBe(0);
      expect(pushed.stderr).toBe(''); // no experimental-feature warning, nothing
      const result = JSON.parse(pushed.stdout);
      expect(result.bytesOut).toBeLessThan(input.length / 2);
      const [version] = await listVersions(target.bucket, target.key);
      expect((await stockRestore(target, version!.VersionId!)).equals(input)).toBe(true);
    });

    it(`${process.version}: restore and verify detect zstd and check it`, async () => {
      const args = [`s3://${target.bucket}/${target.key}`, '--identity', target.privateKey];
      const restored = await runCli(['restore', ...args], { env: target.adminEnv });
      expect(restored.status, restored.stderr).toBe(0);
      expect(restored.stdoutBytes.equals(input)).toBe(true);
      expect(restored.stderr).toMatch(/zstd checksums ok/);
      const kept = await runCli(['restore', ...args, '--no-decompress', '-q'], { env: target.adminEnv });
      expect(kept.stdoutBytes.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))).toBe(true);
      const verified = await runCli(['verify', ...args], { env: target.adminEnv });
      expect(verified.status, verified.stderr).toBe(0);
      expect(verified.stdout).toMatch(/OK .* zstd-decompressed/);
    });

    it(`${process.version}: restores the stock tool's object, one frame for everything, as it restores push's many`, async () => {
      // push writes a frame per 1 MiB, decoded two at a time; `zstd -T0` writes one frame, too large to
      // hold (24 MiB of content), which restore decodes as a stream.
      const stock = await backupTarget('zstd-stock', { key: 'db1/stock.sql.gpg' });
      const large = (await run(process.execPath, [GEN_DUMP, '24MiB', '8'])).stdoutBytes;
      const zst = (await run('zstd', ['-3', '-T0', '--check', '-c'], { input: large })).stdoutBytes;
      expect(zst.length).toBeGreaterThan(4 << 20);
      const pushed = await runCli(['push', '--policy', stock.policyPath, '--compress', 'none', '-q'], {
        input: zst,
        env: stock.agentEnv,
      });
      expect(pushed.status, pushed.stderr).toBe(0);
      const args = [`s3://${stock.bucket}/${stock.key}`, '--identity', stock.privateKey];
      const restored = await runCli(['restore', ...args], { env: stock.adminEnv });
      expect(restored.status, restored.stderr).toBe(0);
      expect(restored.stdoutBytes.equals(large)).toBe(true);
      expect(restored.stderr).toMatch(/zstd checksums ok/);
    });

    it(`${process.version}: --level goes up to zstd's 19, and --compress gzip under .zst.gpg is refused`, async () => {
      const small = await runCli(['push', '--policy', target.policyPath, '--level', '19', '--json'], {
        input,
        env: target.agentEnv,
      });
      expect(small.status, small.stderr).toBe(0);
      const refused = await runCli(['push', '--policy', target.policyPath, '--compress', 'gzip'], {
        input,
        env: target.agentEnv,
      });
      expect(refused.status).toBe(2);
      expect(refused.stderr).toMatch(
        /ends in \.zst\.gpg \(zstd\) but the compression is gzip; nothing was uploaded/,
      );
      const tooHigh = await runCli(['push', '--policy', target.policyPath, '--level', '20'], {
        input,
        env: target.agentEnv,
      });
      expect(tooHigh.status).toBe(2);
      expect(tooHigh.stderr).toMatch(/--level 20: zstd takes 1 \(fast\) to 19/);
    });
  } else {
    it(`${process.version}: push refuses zstd (flag or policy) before reading any data, naming the Node.js it needs`, async () => {
      const before = (await listVersions(target.bucket, target.key)).length;
      const byPolicy = await runCli(['push', '--policy', target.policyPath], { input, env: target.agentEnv });
      expect(byPolicy.status).toBe(2);
      expect(byPolicy.stderr).toMatch(/compression zstd\) needs Node\.js 22\.15 or 23\.8 or later/);
      expect(byPolicy.stderr).toMatch(/hint: /);
      const byFlag = await runCli(['push', '--policy', target.policyPath, '--compress', 'zstd'], {
        input,
        env: target.agentEnv,
      });
      expect(byFlag.status).toBe(2);
      expect(byFlag.stderr).toMatch(/--compress zstd needs Node\.js 22\.15/);
      // The key says zstd, so gzip is no way out: the hint names the executable, not gzip.
      for (const refused of [byPolicy, byFlag]) {
        expect(refused.stderr).toMatch(/hint: Push with sealdrop-agent/);
        expect(refused.stderr).not.toMatch(/gzip/);
      }
      expect((await listVersions(target.bucket, target.key)).length).toBe(before);
    });

    it(`${process.version}: verify can't check a zstd backup here: exit 1, and nothing is recorded against it`, async () => {
      // Made by the stock pipeline (zstd | gpg), as a Node.js without zstd can't push one.
      const compressed = await run('zstd', ['-q', '-c'], { input });
      const gpg = await gpgHome();
      const sealed = await gpg(
        ['--trust-model', 'always', '--encrypt', '--recipient-file', target.publicKey, '--output', '-'],
        compressed.stdoutBytes,
      );
      expect(sealed.status, sealed.stderr).toBe(0);
      await adminClient().send(
        new PutObjectCommand({ Bucket: target.bucket, Key: target.key, Body: sealed.stdoutBytes }),
      );
      const url = `s3://${target.bucket}/${target.key}`;
      const verified = await runCli(['verify', url, '--identity', target.privateKey, '--allow-unbound'], {
        env: target.adminEnv,
      });
      expect(verified.status, verified.stderr).toBe(1);
      expect(verified.stdout).toMatch(
        /^FAILED .* decrypts to zstd data, and this Node\.js \(v20\.\S+\) has no zstd/m,
      );
      const versions = await runCli(['versions', url, '--json'], { env: target.adminEnv });
      expect(versions.status, versions.stderr).toBe(0);
      expect(JSON.parse(versions.stdout).snapshots[0].rejectedAt ?? null).toBeNull();
      expect((await runCli(['status', url], { env: target.adminEnv })).stdout).not.toMatch(/REJECTED/);
    });
  }

  it('push refuses zstd under a .gz.gpg key: the suffix says what is inside', async () => {
    const gz = await backupTarget('zstd-gz');
    const result = await runCli(['push', '--policy', gz.policyPath, '--compress', 'zstd'], {
      input: 'x',
      env: gz.agentEnv,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/ends in \.gz\.gpg \(gzip\) but the compression is zstd/);
    expect(await listVersions(gz.bucket, gz.key)).toEqual([]);
  });
});
