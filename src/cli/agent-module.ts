// The agent as an ES module: the entry of dist/agent/sealdrop-agent.mjs (scripts/build-agent.mjs) for
// servers that have Node. Node 20's module loader has read this file through libuv's threadpool before
// it runs, so the pool keeps its size (libuv's default 4, or UV_THREADPOOL_SIZE given by the caller).
import { prepareProcess } from './start.cjs';

prepareProcess({ sizeThreadpool: false });
await import('./agent-main.js');
