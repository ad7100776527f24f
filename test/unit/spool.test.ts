import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeOrphans } from '../../src/agent/spool.js';

describe('spool files left by a killed push', () => {
  it('are reported once by pushes clearing the same directory at the same time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdrop-spool-unit-'));
    // A pid that runs no process: the kernel's pid_max is below 2^22.
    writeFileSync(join(dir, 'sealdrop-4194304-0a1b2c.gpg.spool'), 'ciphertext');
    const [first, second] = await Promise.all([removeOrphans(dir), removeOrphans(dir)]);
    expect([...first, ...second]).toEqual(['sealdrop-4194304-0a1b2c.gpg.spool']);
  });
});
