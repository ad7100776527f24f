// Runs the built CLI as a user would: a child process, exit status, stdout and stderr.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built executable; SEALDROP_TEST_CLI points the tests at another build (to see a test fail before a fix). */
export const CLI =
  process.env.SEALDROP_TEST_CLI ?? fileURLToPath(new URL('../../dist/cli/bin.cjs', import.meta.url));

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** stdout as bytes, for byte-exact comparisons. */
  stdoutBytes: Buffer;
  stderr: string;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  /** stdin redirected from this file (`< FILE`) instead of a pipe carrying `input`. */
  stdinFile?: string;
  cwd?: string;
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return run(process.execPath, [CLI, ...args], options);
}

/** The CLI running in the background, for tests that signal it or watch its stderr as it goes. */
export interface RunningCli {
  child: ChildProcess;
  /** What it wrote to stderr so far. */
  readonly stderr: string;
  /** Its exit status, once it has exited (null: killed by a signal). */
  exited: Promise<number | null>;
}

export function startCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: options.env ?? process.env,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'],
  });
  if (options.input !== undefined) child.stdin!.end(options.input);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    get stderr() {
      return stderr;
    },
    exited,
  };
}

export function run(command: string, args: string[], options: CliOptions = {}): Promise<CliResult> {
  const stdinFd = options.stdinFile === undefined ? undefined : openSync(options.stdinFile, 'r');
  return new Promise<CliResult>((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: [stdinFd ?? 'pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (status, signal) => {
      const stdoutBytes = Buffer.concat(stdout);
      resolve({
        status,
        signal,
        stdout: stdoutBytes.toString('utf8'),
        stdoutBytes,
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
    if (!child.stdin) return;
    child.stdin.on('error', () => {}); // the command may exit before reading its input
    child.stdin.end(options.input ?? '');
  }).finally(() => {
    if (stdinFd !== undefined) closeSync(stdinFd);
  });
}

export async function tempDir(prefix = 'sealdrop-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}
