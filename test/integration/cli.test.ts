// The command line as a user meets it: help with examples everywhere, usage errors with hints.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const COMMANDS = [
  [],
  ['key'],
  ['key', 'generate'],
  ['key', 'show'],
  ['setup'],
  ['policy'],
  ['policy', 'mint'],
  ['policy', 'show'],
  ['policy', 'curl'],
  ['policy', 'renew'],
  ['fleet'],
  ['fleet', 'check'],
  ['fleet', 'mint'],
  ['fleet', 'publish'],
  ['fleet', 'status'],
  ['fleet', 'prune'],
  ['fleet', 'verify'],
  ['push'],
  ['ls'],
  ['versions'],
  ['restore'],
  ['verify'],
  ['status'],
  ['prune'],
];

describe('the command line', () => {
  it.each(COMMANDS.map((c) => [c.join(' ') || '(top)', c]))(
    '`%s --help` shows an example and exits 0',
    async (_, command) => {
      const result = await runCli([...command, '--help']);
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/Examples?:\n(?: {2}.*\n)*? {2}.*sealdrop /);
    },
  );

  it.each([
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['push'], /required option '--policy <FILE>' not specified/],
    [
      ['policy', 'mint', 's3://acme-backups/key', '--out', 'x', '--max-size', 'huge'],
      /size "huge" is not a size/,
    ],
    [
      ['push', '--policy', '/nonexistent/policy.json'],
      /policy file \/nonexistent\/policy.json does not exist/,
    ],
    [['fleet', 'check', '/nonexistent/fleet.yaml'], /fleet file \/nonexistent\/fleet.yaml does not exist/],
    [
      ['restore', 's3://acme-backups/k', '--policy', 'p.json'],
      /either as s3:\/\/BUCKET\/KEY or with --policy FILE/,
    ],
  ])('refuses bad usage %j with exit 2, a hint and no stack trace', async (args, message) => {
    const result = await runCli(args);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/hint: /);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
  });

  it('points prune --fleet to fleet prune, which takes --host', async () => {
    const result = await runCli(['prune', '--fleet', 'fleet.yaml', '--host', 'db1']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /unknown option '--fleet'\n {2}hint: .*sealdrop fleet prune fleet\.yaml --host db1/,
    );
  });
});

describe('an interrupted command', () => {
  it("exits 130 only after its output has reached a slow reader (a prune's --json plan into a pipe)", async () => {
    // What prune does when interrupted: reports what it did, on stdout, and ends with exit 130.
    const signals = new URL('../../dist/cli/signals.js', import.meta.url).href;
    const script = `
      const { interruptible, exitIfInterrupted } = await import(${JSON.stringify(signals)});
      const busy = setInterval(() => {}, 1000);
      await interruptible(async (signal) => {
        process.kill(process.pid, 'SIGINT');
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
      });
      clearInterval(busy);
      process.stdout.write('x'.repeat(5_000_000));
      await exitIfInterrupted(130);
      process.exitCode = 0;`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const closed = new Promise<[number | null, string | null]>((resolve) =>
      child.on('close', (c, s) => resolve([c, s])),
    );
    // The reader comes after half a second: by then the pipe's buffer (64 KiB) is long full.
    child.stdout.pause();
    await new Promise((resolve) => setTimeout(resolve, 500));
    let bytes = 0;
    child.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length)).resume();
    const [code, signal] = await closed;
    expect({ code, signal, bytes }).toEqual({ code: 130, signal: null, bytes: 5_000_000 });
  });
});
