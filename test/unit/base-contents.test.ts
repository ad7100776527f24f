// What pg restore refuses in an extracted base backup, on a directory made here: shared libraries at
// any depth (a few named, the rest counted), tablespace links; a data directory's own files pass.
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkBaseContents } from '../../src/admin/wal/base-contents.js';

const LIBRARY = '/usr/lib/x86_64-linux-gnu/libz.so.1';

describe('the contents of an extracted base backup', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealdrop-base-contents-'));
    await mkdir(join(dir, 'base', '1'), { recursive: true });
    await mkdir(join(dir, 'pg_tblspc'));
    // More relation files than one directory read returns, one starting as an ELF header but for its class.
    for (let i = 0; i < 40; i++)
      await writeFile(join(dir, 'base', '1', String(16384 + i)), Buffer.alloc(8192));
    await writeFile(join(dir, 'base', '1', '16500'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 9, 1, 1, 0]));
    await writeFile(join(dir, 'PG_VERSION'), '15\n');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("passes a data directory's own files", async () => {
    await expect(checkBaseContents(dir)).resolves.toBeUndefined();
  });

  it('refuses shared libraries at any depth, naming three and counting the rest', async () => {
    for (const name of ['a.so', 'b.so', 'c.so', 'd.so'])
      await copyFile(LIBRARY, join(dir, 'base', '1', name));
    await expect(checkBaseContents(dir)).rejects.toThrow(
      /^the base backup holds shared libraries \(base\/1\/\w\.so, base\/1\/\w\.so, base\/1\/\w\.so, and 1 more\): PostgreSQL keeps none in its data directory$/,
    );
  });

  it('refuses tablespace links', async () => {
    await symlink(tmpdir(), join(dir, 'pg_tblspc', '16384'));
    await expect(checkBaseContents(dir)).rejects.toThrow(
      /^the base backup holds tablespace links \(pg_tblspc\/16384\): one pushed through sealdrop has none$/,
    );
  });
});
