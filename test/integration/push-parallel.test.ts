// push compresses pigz-style (one gzip member per 1 MiB block, on every core): what it stores must still
// be an ordinary `.gz.gpg` that stock `gpg -d | gunzip` restores byte for byte.
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { backupTarget, stockRestore, type BackupTarget } from '../support/backup-target.js';
import { run, runCli } from '../support/cli.js';
import { listVersions } from '../support/s3.js';

const GEN_DUMP = fileURLToPath(new URL('../../scripts/gen-dump.mjs', import.meta.url));
const BLOCK = 1 << 20;

async function dump(size: string, seed = 1): Promise<Buffer> {
  return (await run(process.execPath, [GEN_DUMP, size, String(seed)])).stdoutBytes;
}

/** gzip member headers as Node writes them at the default level (no name, no mtime). */
function countMembers(gz: Buffer): number {
  const header = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]);
  let count = 0;
  for (let at = gz.indexOf(header); at !== -1; at = gz.indexOf(header, at + 1)) count++;
  return count;
}

let target: BackupTarget;
beforeAll(async () => {
  target = await backupTarget('push-parallel');
});

describe('push with parallel gzip', () => {
  it('stores many gzip members that stock gpg -d | gunzip and sealdrop restore turn back into the dump', async () => {
    const input = await dump('7.5MiB', 3);
    const pushed = await runCli(['push', '--policy', target.policyPath, '--json'], {
      input,
      env: target.agentEnv,
    });
    expect(pushed.status, pushed.stderr).toBe(0);
    const result = JSON.parse(pushed.stdout);
    expect(result.bytesIn).toBe(input.length);
    expect(result.bytesOut).toBeLessThan(input.length / 2);
    const [latest] = await listVersions(target.bucket, target.key);
    expect(latest?.Size).toBe(result.bytesOut);

    expect((await stockRestore(target, latest!.VersionId)).equals(input)).toBe(true);

    const url = `s3://${target.bucket}/${target.key}`;
    const raw = await runCli(['restore', url, '--identity', target.privateKey, '--no-decompress', '-q'], {
      env: target.adminEnv,
    });
    expect(raw.status, raw.stderr).toBe(0);
    expect(countMembers(raw.stdoutBytes)).toBe(Math.ceil(input.length / BLOCK));
    expect(gunzipSync(raw.stdoutBytes).equals(input)).toBe(true);

    const restored = await runCli(['restore', url, '--identity', target.privateKey, '-q'], {
      env: target.adminEnv,
    });
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdoutBytes.equals(input)).toBe(true);
  });

  it('keeps --level, and a dump command as the source, stock-compatible', async () => {
    const input = await dump('2.25MiB', 4);
    const sizes: number[] = [];
    for (const level of ['1', '9']) {
      const pushed = await runCli(
        [
          'push',
          '--policy',
          target.policyPath,
          '--level',
          level,
          '--json',
          '--',
          process.execPath,
          GEN_DUMP,
          '2.25MiB',
          '4',
        ],
        { env: target.agentEnv },
      );
      expect(pushed.status, pushed.stderr).toBe(0);
      sizes.push(JSON.parse(pushed.stdout).bytesOut);
      const [latest] = await listVersions(target.bucket, target.key);
      expect((await stockRestore(target, latest!.VersionId)).equals(input)).toBe(true);
    }
    expect(sizes[1]).toBeLessThan(sizes[0]!);
  });

  it('stores an empty dump (--allow-empty) as a valid, empty gzip stream', async () => {
    const pushed = await runCli(['push', '--policy', target.policyPath, '--allow-empty'], {
      input: Buffer.alloc(0),
      env: target.agentEnv,
    });
    expect(pushed.status, pushed.stderr).toBe(0);
    const [latest] = await listVersions(target.bucket, target.key);
    expect((await stockRestore(target, latest!.VersionId)).length).toBe(0);
  });
});
