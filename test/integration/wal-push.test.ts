// wal push's head start (issue 22): one call also uploads the files PostgreSQL marks ready while it
// runs, up to --ahead, so a busy server's calls each carry several files and PostgreSQL's calls for
// those are answered without Node.js.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../support/cli.js';
import { junkSegment, walArchive, type WalArchive } from '../support/pitr.js';
import { until } from '../support/until.js';

// A is asked for, C ready beside it; B, after both in PostgreSQL's order, is marked ready during the call.
const [A, C, B] = ['000000010000000000000001', '000000010000000000000002', '000000010000000000000003'];

describe('wal push, ahead of PostgreSQL', () => {
  let archive: WalArchive;
  beforeAll(async () => {
    archive = await walArchive('wal-ahead');
  });

  /** A data directory where A and C are ready; B is marked ready once A is stored. */
  async function pushWhileBecomesReady(ahead: string[]) {
    const dataDir = await tempDir('sealdrop-ahead-');
    const wal = join(dataDir, 'pg_wal');
    await mkdir(join(wal, 'archive_status'), { recursive: true });
    // B is written beforehand, as PostgreSQL does, and marked ready later.
    for (const name of [A, B, C]) await writeFile(join(wal, name), junkSegment());
    for (const name of [A, C]) await writeFile(join(wal, 'archive_status', `${name}.ready`), '');
    const args = ['wal', 'push', '--policy', archive.walPolicy, '--jobs', '1', ...ahead, '--json'];
    const call = runCli([...args, `pg_wal/${A}`], { env: archive.agentEnv, cwd: dataDir });
    await until(() => existsSync(join(wal, 'sealdrop', A)), `${A} stored`, { timeoutMs: 60_000, everyMs: 5 });
    await writeFile(join(wal, 'archive_status', `${B}.ready`), '');
    const pushed = await call;
    expect(pushed.status, pushed.stderr).toBe(0);
    return JSON.parse(pushed.stdout) as { name: string; ahead: string[] };
  }

  it('takes the files marked ready while it runs', async () => {
    expect(await pushWhileBecomesReady([])).toMatchObject({ name: A, ahead: [C, B] });
  });

  it('stops at --ahead', async () => {
    expect(await pushWhileBecomesReady(['--ahead', '1'])).toMatchObject({ name: A, ahead: [C] });
  });
});
