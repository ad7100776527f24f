#!/usr/bin/env node
// The Node.js the single executable is made from, whatever Node runs the build: an npm package of Node's
// linux-x64 release, pinned by exact version and integrity in package.json's config.agentNode, fetched
// with npm from the registry once, checked, and kept in ~/.cache/sealdrop (XDG_CACHE_HOME) after that.
// scripts/build-agent.mjs uses it; run alone, it prints the executable's path (a Node.js with zstd, for
// SEALDROP_BENCH_NODE): scripts/agent-node.mjs
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The pinned Node's executable, from the cache or fetched into it.
 * @param {string} root the project: its package.json pins the Node.js; npm runs there (its .npmrc applies)
 * @returns {Promise<{ node: string, version: string, fetched: boolean }>}
 */
export async function agentNode(root) {
  const pin = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')).config.agentNode;
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error(
      `the agent is built for linux-x64, on linux-x64 (this is ${process.platform}-${process.arch})`,
    );
  const digest = Buffer.from(pin.integrity.replace(/^sha512-/, ''), 'base64').toString('hex');
  const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sealdrop');
  // Named by the integrity too: a changed pin never finds the old build.
  const dir = join(cache, `${pin.package}-${pin.version}-${digest.slice(0, 16)}`);
  const node = join(dir, 'package/bin/node');
  if (existsSync(node)) return { node: checked(node, pin), version: pin.version, fetched: false };

  await mkdir(cache, { recursive: true });
  const work = await mkdtemp(join(cache, '.fetching-'));
  try {
    const spec = `${pin.package}@${pin.version}`;
    process.stderr.write(`agent-node: fetching ${spec} from the npm registry (once; then ${dir})\n`);
    const [{ filename }] = JSON.parse(
      execFileSync('npm', ['pack', spec, '--json', '--pack-destination', work], {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    const tarball = join(work, filename);
    const actual = `sha512-${createHash('sha512')
      .update(await readFile(tarball))
      .digest('base64')}`;
    if (actual !== pin.integrity)
      throw new Error(`${spec} from the registry has integrity ${actual}, not the ${pin.integrity} pinned`);
    execFileSync('tar', ['-xzf', tarball, '-C', work, 'package/bin/node']);
    await rm(tarball);
    checked(join(work, 'package/bin/node'), pin);
    await rename(work, dir).catch((error) => {
      // Another build put it there first: theirs is as good.
      if (!existsSync(node)) throw error;
    });
    return { node, version: pin.version, fetched: true };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** NODE, once it says it is the version pinned. */
function checked(node, pin) {
  const said = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  if (said !== `v${pin.version}`)
    throw new Error(`${node} says it is ${said}, not the v${pin.version} pinned`);
  return node;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  await agentNode(fileURLToPath(new URL('..', import.meta.url))).then(
    ({ node }) => process.stdout.write(`${node}\n`),
    (error) => {
      process.stderr.write(`agent-node: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
