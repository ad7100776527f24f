#!/usr/bin/env node
// The executable. CommonJS on purpose: it runs before anything has used libuv's threadpool (the ES
// module loader reads files through it), so it can still size the pool for push's compression: one
// thread per core plus one, and one for file I/O (see defaultWorkers). A UV_THREADPOOL_SIZE of the
// caller's wins.
import { availableParallelism } from 'node:os';

process.env.UV_THREADPOOL_SIZE ??= String(availableParallelism() + 2);
void import('./main.js');
