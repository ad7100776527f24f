// What an executable does before anything else (bin.cts, agent-bin.cts, agent-module.ts). CommonJS on
// purpose: a CommonJS entry runs before anything has used libuv's threadpool (the ES module loader reads
// files through it), so it can still size the pool for push's compression: one thread per core plus
// one, and one for file I/O (see defaultWorkers). A UV_THREADPOOL_SIZE of the caller's wins.
//
// It also keeps WebAssembly on V8's baseline compiler: undici parses responses with llhttp compiled to
// wasm, and once that is warm V8 recompiles it with TurboFan in the background, a transient ~30 MiB (as
// much as a whole 1 GiB push needs for its data). One small response per upload needs no more than
// Liftoff. V8 reads the flag when undici compiles the parser, lazily, on its first connection.
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';

export interface StartOptions {
  /**
   * false where the pool may already run: an ES module entry on Node 20, whose loader read the file
   * through it. Setting the variable then would only make push queue more compression jobs than the
   * pool has threads, starving the spool's writes.
   */
  sizeThreadpool?: boolean;
}

export function prepareProcess({ sizeThreadpool = true }: StartOptions = {}): void {
  if (sizeThreadpool) process.env.UV_THREADPOOL_SIZE ??= String(availableParallelism() + 2);
  setFlagsFromString('--liftoff-only');
}
