// Where the dump comes from: our stdin, or a command we spawn (its stdout is the data, its stderr passes through).
import { spawn } from 'node:child_process';
import { createReadStream, fstatSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { SealdropError } from '../core/errors.js';
import { DEFAULT_BLOCK_BYTES } from './parallel-compress.js';

export interface DumpSource {
  stream: Readable;
  /** Settles when the producer is done; rejects with DUMP_FAILED when it failed. */
  finished: Promise<void>;
  /** Stops the producer (on interrupt or a failure downstream). */
  stop(): void;
}

export function stdinSource(): DumpSource {
  // stdin redirected from a file is read in whole compression blocks: one threadpool trip per block
  // instead of 16 (process.stdin reads 64 KiB), and parallel gzip compresses each in place.
  const stream = isRegularFile(0)
    ? createReadStream('', { fd: 0, autoClose: false, highWaterMark: DEFAULT_BLOCK_BYTES })
    : process.stdin;
  return { stream, finished: Promise.resolve(), stop: () => stream.destroy() };
}

export function commandSource(command: string, args: readonly string[]): DumpSource {
  // Its own process group: stopping the push stops all of it, `sh -c` pipelines and their children too.
  const child = spawn(command, args, { stdio: ['inherit', 'pipe', 'inherit'], detached: true });
  const shown = [command, ...args].join(' ');
  const finished = new Promise<void>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new SealdropError(
          'DUMP_FAILED',
          `can't run "${command}": ${error.code === 'ENOENT' ? 'command not found' : error.message}`,
          {
            hint: 'Check the command after -- (is it installed and on PATH?); nothing was uploaded.',
          },
        ),
      );
    });
    child.once('close', (code, signal) => {
      if (code === 0) return resolve();
      const how = signal ? `was killed by signal ${signal}` : `exited with status ${code}`;
      reject(new SealdropError('DUMP_FAILED', `the dump command "${shown}" ${how}; nothing was uploaded`));
    });
  });
  finished.catch(() => {}); // awaited later, after the pipeline: don't let it count as unhandled meanwhile
  return {
    stream: child.stdout,
    finished,
    stop: () => {
      // While the leader runs, the group id is certainly ours (a finished one could be reused).
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // the group is gone already
      }
    },
  };
}

function isRegularFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false; // a closed stdin: let process.stdin say what it is
  }
}
