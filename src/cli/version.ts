// The package's version, from package.json (the agent's bundle gets it inlined: scripts/build-agent.mjs).
import { createRequire } from 'node:module';

export const version = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
