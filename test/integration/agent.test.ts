// The agent as one file (npm run build:agent): the single executable and the bundled ES module, as a
// server without Node.js or node_modules runs them, against the real S3 server.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { agentHelp } from '../../src/cli/agent-program.js';
import { buildProgram } from '../../src/cli/program.js';
import { zstdBinding } from '../../src/core/compression.js';
import { AGENT, AGENT_MJS, agentNodePin, aloneInEmptyDir, serverEnv } from '../support/agent.js';
import { backupTarget, stockRestore } from '../support/backup-target.js';
import { run, runCli, type CliResult } from '../support/cli.js';

const SIX_BYTES = 'hello\n';
const GEN_DUMP = fileURLToPath(new URL('../../scripts/gen-dump.mjs', import.meta.url));
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** Every command path of sealdrop's tree, e.g. ['policy', 'mint']. */
function commandPaths(command: Command, path: string[] = []): string[][] {
  return command.commands
    .filter((child) => child.name() !== 'help')
    .flatMap((child) => {
      const own = [...path, child.name()];
      return child.commands.length ? commandPaths(child, own) : [own];
    });
}

const AGENT_COMMANDS = [['push'], ['policy', 'show'], ['wal', 'push']];

describe('the single executable', () => {
  let sea: string;
  beforeAll(async () => {
    sea = await aloneInEmptyDir(AGENT);
  });

  it('runs alone in an empty directory with no node on PATH and pushes a dump that stock gpg and gunzip restore', async () => {
    const target = await backupTarget('agent-sea');
    const env = serverEnv(target.agentEnv, dirname(sea));
    expect(existsSync(join(dirname(sea), 'node'))).toBe(false);
    expect((await run('/bin/sh', ['-c', 'command -v node || echo none'], { env })).stdout.trim()).toBe(
      'none',
    );
    const pushed = await run(sea, ['push', '--policy', target.policyPath, '--json'], {
      input: SIX_BYTES,
      env,
    });
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(JSON.parse(pushed.stdout)).toMatchObject({ bucket: target.bucket, key: target.key, bytesIn: 6 });
    expect((await stockRestore(target)).toString()).toBe(SIX_BYTES);
  });

  it('reports its version and the Node.js inside: the one package.json pins, a supported LTS (22 or later)', async () => {
    const sealdrop = (await runCli(['--version'])).stdout.trim();
    const said = await run(sea, ['--version']);
    expect(said.status, said.stderr).toBe(0);
    expect(said.stdout).toBe(`${sealdrop} (Node.js v${(await agentNodePin()).version})\n`);
    expect(Number(/\(Node\.js v(\d+)\./.exec(said.stdout)![1])).toBeGreaterThanOrEqual(22);
  });

  it(`pushes zstd under a zstd policy, which stock gpg -d | zstd -d and the admin's restore read back (admin on ${process.version})`, async () => {
    const target = await backupTarget('agent-zstd', {
      key: 'db1/pg.sql.zst.gpg',
      mintArgs: ['--compress', 'zstd'],
    });
    const input = (await run(process.execPath, [GEN_DUMP, '2MiB', '5'])).stdoutBytes;
    const pushed = await run(sea, ['push', '--policy', target.policyPath, '--json', '-q'], {
      input,
      env: serverEnv(target.agentEnv, dirname(sea)),
    });
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(pushed.stderr).toBe('');
    expect(JSON.parse(pushed.stdout)).toMatchObject({ key: target.key, bytesIn: input.length });
    expect((await stockRestore(target)).equals(input)).toBe(true);

    const args = ['restore', `s3://${target.bucket}/${target.key}`, '--identity', target.privateKey, '-q'];
    const stored = await runCli([...args, '--no-decompress'], { env: target.adminEnv });
    expect(stored.status, stored.stderr).toBe(0);
    expect(stored.stdoutBytes.subarray(0, 4).equals(ZSTD_MAGIC)).toBe(true);
    const restored = await runCli(args, { env: target.adminEnv });
    if (zstdBinding()) {
      expect(restored.status, restored.stderr).toBe(0);
      expect(restored.stdoutBytes.equals(input)).toBe(true);
    } else {
      // An admin on Node 20 is told what needs Node 22, and how to restore meanwhile.
      expect(restored.status).toBe(1);
      expect(restored.stderr).toMatch(
        /has no zstd: decompressing it needs Node\.js 22\.15 or 23\.8 or later/,
      );
      expect(restored.stderr).toMatch(/hint: .*--no-decompress and pipe the output through `zstd -d`/);
      const unzstd = await run('zstd', ['-d', '-c'], { input: stored.stdoutBytes });
      expect(unzstd.stdoutBytes.equals(input)).toBe(true);
    }
  });

  it('sizes the threadpool for a compression thread per core plus one, as sealdrop does', async () => {
    const target = await backupTarget('agent-pool');
    const env = { ...serverEnv(target.agentEnv, dirname(sea)), UV_THREADPOOL_SIZE: undefined };
    const showPool = ['--', '/bin/sh', '-c', 'echo "pool=$UV_THREADPOOL_SIZE" >&2; echo data'];
    const pushed = await run(sea, ['push', '--policy', target.policyPath, '--quiet', ...showPool], { env });
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(pushed.stderr).toContain(`pool=${availableParallelism() + 2}`);
  });

  it('holds no AWS SDK and no admin module, only the agent path', async () => {
    const bundles = [await readFile(AGENT_MJS, 'utf8'), (await readFile(AGENT)).toString('latin1')];
    for (const bundle of bundles) {
      expect(bundle).not.toMatch(/@aws-sdk|@smithy|src\/admin\//);
      // Nor the admin's --at parser (chrono-node): a server never reads a time.
      expect(bundle).not.toContain('node_modules/chrono-node/');
      // The bundles name the modules they hold, so the check above sees what is inside.
      expect(bundle).toContain('node_modules/undici/');
      expect(bundle).toContain('src/agent/push.ts');
    }
  });

  it("shows sealdrop's --help for push and policy show, naming itself in the examples", async () => {
    for (const command of [[], ...AGENT_COMMANDS]) {
      const ours = await run(sea, [...command, '--help']);
      expect(ours.status).toBe(0);
      expect(ours.stdout).toMatch(/Examples?:\n(?: {2}.*\n)*? {2}.*sealdrop-agent /);
      if (!command.length) continue;
      const sealdrop = await runCli([...command, '--help']);
      // The same words; the longer name may wrap a line elsewhere.
      expect(words(ours.stdout)).toBe(words(agentHelp(sealdrop.stdout)));
    }
  });

  it.each([
    [['push']],
    [['push', '--policy', '/nonexistent/policy.json']],
    [['push', '--policy', '/nonexistent/policy.json', '--level', 'fast']],
    [['policy', 'show', '/nonexistent/policy.json']],
    [['policy', 'show']],
    [['wal', 'push', '--policy', '/nonexistent/policy.json', 'pg_wal/000000010000000000000001']],
    [['wal', 'push', '--policy', '/nonexistent/policy.json']],
  ])('answers %j with the same message and exit status as sealdrop', async (args) => {
    const [ours, sealdrop] = await Promise.all([run(sea, args), runCli(args)]);
    expect(sealdrop.status).toBe(2);
    expect(comparable(ours)).toEqual(comparable(sealdrop));
  });

  it.each(
    commandPaths(buildProgram())
      .filter((path) => !AGENT_COMMANDS.some((command) => command.join() === path.join()))
      .map((path) => [path.join(' '), path] as const),
  )('answers `%s …` that it is a command of the admin CLI (exit 2, with a hint)', async (_, path) => {
    const result = await run(sea, [...path, 'some-argument', '--some-option']);
    expect(result.status).toBe(2);
    // The agent has policy and wal groups of its own; other groups (key) are refused as a whole.
    const refused = ['policy', 'wal'].includes(path[0]!) ? path.join(' ') : path[0];
    expect(result.stderr).toContain(`\`${refused}\` is a command of sealdrop, the admin CLI`);
    expect(result.stderr).toMatch(/\n {2}hint: Run `sealdrop /);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
  });
});

describe('the bundled ES module', () => {
  it('runs alone in an empty directory with node and nothing else, and pushes a dump that stock tools restore', async () => {
    const target = await backupTarget('agent-mjs');
    const mjs = await aloneInEmptyDir(AGENT_MJS);
    const env = serverEnv(target.agentEnv, dirname(mjs));
    const pushed = await run(process.execPath, [mjs, 'push', '--policy', target.policyPath, '--json'], {
      input: SIX_BYTES,
      env,
      cwd: dirname(mjs),
    });
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(JSON.parse(pushed.stdout)).toMatchObject({ key: target.key, bytesIn: 6 });
    expect((await stockRestore(target)).toString()).toBe(SIX_BYTES);
    // The Node.js it names is the server's, the one running it.
    const version = await run(process.execPath, [mjs, '--version'], { env });
    expect(version.stdout.trim()).toBe(
      `${(await runCli(['--version'])).stdout.trim()} (Node.js ${process.version})`,
    );
  });
});

/** What a user sees, with the program's name taken out. */
function comparable(result: CliResult) {
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr.replaceAll('sealdrop-agent', 'sealdrop'),
  };
}

/** Text as words, whatever its line breaks. */
function words(text: string): string {
  return text.split(/\s+/).join(' ');
}
