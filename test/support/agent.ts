// The agent's single-file builds (npm run build:deb makes them, as `npm test` does first).
import { copyFile, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './cli.js';

const dist = (path: string) => fileURLToPath(new URL(`../../dist/${path}`, import.meta.url));

export const AGENT = dist('agent/sealdrop-agent');
export const AGENT_MJS = dist('agent/sealdrop-agent.mjs');

/** package.json's config.agentNode: the Node.js the executable is made from (scripts/agent-node.mjs). */
export interface AgentNodePin {
  package: string;
  version: string;
  integrity: string;
}

async function packageJson(): Promise<{ version: string; config: { agentNode: AgentNodePin } }> {
  return JSON.parse(await readFile(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8'));
}

export async function debPath(): Promise<string> {
  return dist(`sealdrop-agent_${(await packageJson()).version}_amd64.deb`);
}

export async function agentNodePin(): Promise<AgentNodePin> {
  return (await packageJson()).config.agentNode;
}

/** A copy of FILE alone in a new empty directory, as it would land on a server. */
export async function aloneInEmptyDir(file: string): Promise<string> {
  const copy = join(await tempDir('sealdrop-server-'), basename(file));
  await copyFile(file, copy);
  return copy;
}

/** A server's environment (no AWS variable) whose PATH is one directory without node in it. */
export function serverEnv(agentEnv: NodeJS.ProcessEnv, pathDir: string): NodeJS.ProcessEnv {
  return { ...agentEnv, PATH: pathDir, NODE_PATH: undefined, NODE_OPTIONS: undefined };
}
