#!/usr/bin/env node
// Builds the agent as one file, from the agent's entries in src/cli (push, wal push and policy show only):
//   dist/agent/sealdrop-agent.mjs   one ES module with every dependency inside, for servers with Node >= 20
//   dist/agent/sealdrop-agent       a single executable application (Node's SEA): the Node.js pinned in
//                                   package.json's config.agentNode (a supported LTS, with zstd: see
//                                   agent-node.mjs), whatever Node runs this script, with a CommonJS
//                                   bundle injected, for servers without Node
// esbuild bundles (a SEA runs one self-contained CommonJS script); postject injects the blob that the
// pinned node's `--experimental-sea-config` prepares (a blob is read only by the Node that made it).
// Usage: npm run build:agent
import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { inject } from 'postject';
import { agentNode } from './agent-node.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'dist/agent');
// Node's documented fuse: the bytes postject flips so the binary knows it carries a blob.
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));

/** version.ts reads package.json at run time; the bundle carries the version instead (and no package.json). */
const inlineVersion = {
  name: 'inline-version',
  setup(builder) {
    builder.onLoad({ filter: /[\\/]src[\\/]cli[\\/]version\.ts$/ }, () => ({
      contents: `export const version = ${JSON.stringify(version)};`,
      loader: 'ts',
    }));
  },
};

/**
 * The admin side is not the agent's: what the agent's commands import of it only on demand (policy show's
 * signature check) stays out of the bundle, and fails to load on a server, where it says it can't check.
 */
const withoutAdmin = {
  name: 'without-admin',
  setup(builder) {
    builder.onResolve({ filter: /[\\/]admin[\\/]/ }, (args) => ({ path: args.path, external: true }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  plugins: [inlineVersion, withoutAdmin],
  legalComments: 'eof',
  logLevel: 'warning',
};

await mkdir(out, { recursive: true });
const agent = await agentNode(root).catch((error) => {
  process.stderr.write(`build-agent: ${error.message}\n`);
  process.exit(1);
});
const work = await mkdtemp(join(tmpdir(), 'sealdrop-agent-build-'));
// Built beside the target and renamed over it: a running agent is never overwritten in place.
const binary = join(out, '.sealdrop-agent.tmp');
try {
  await build({
    ...common,
    entryPoints: [join(root, 'src/cli/agent-module.ts')],
    outfile: join(out, 'sealdrop-agent.mjs'),
    format: 'esm',
    target: 'node20',
    // The bundled CommonJS dependencies (undici, form-data) require Node's built-in modules.
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as __sealdropRequire } from 'node:module';\nconst require = __sealdropRequire(import.meta.url);",
    },
  });
  await chmod(join(out, 'sealdrop-agent.mjs'), 0o755);

  const main = join(work, 'sealdrop-agent.cjs');
  await build({
    ...common,
    entryPoints: [join(root, 'src/cli/agent-bin.cts')],
    outfile: main,
    format: 'cjs',
    target: `node${agent.version.split('.')[0]}`,
    // OpenPGP.js's ES module makes its require from import.meta.url, which CommonJS has no value for.
    define: { 'import.meta.url': '__sealdropModuleUrl' },
    banner: { js: "const __sealdropModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
  const blob = join(work, 'sea.blob');
  const seaConfig = join(work, 'sea-config.json');
  // The code cache (V8's compiled bundle, 0.2 MiB) spares every start compiling it: 20-30 ms of CPU
  // per call, which PostgreSQL's archive_command makes once per WAL segment.
  const sea = { main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true };
  await writeFile(seaConfig, JSON.stringify(sea));
  execFileSync(agent.node, ['--experimental-sea-config', seaConfig], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });

  await copyFile(agent.node, binary);
  await chmod(binary, 0o755);
  // Node's releases carry their symbols (12 MiB); Debian ships binaries stripped.
  execFileSync(join(root, 'scripts/need'), ['strip:binutils'], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('strip', ['--strip-all', binary]);
  const resource = await readFile(blob);
  await withoutNoteWarnings(() => inject(binary, 'NODE_SEA_BLOB', resource, { sentinelFuse: SEA_FUSE }));
  await rename(binary, join(out, 'sealdrop-agent'));
  process.stderr.write(
    `built dist/agent/sealdrop-agent (${version}, Node.js v${agent.version}${agent.fetched ? ', just fetched' : ''}) and sealdrop-agent.mjs\n`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
  await rm(binary, { force: true });
}

/** postject's ELF library warns once per unnamed note section of Node's binary: noise on every build. */
async function withoutNoteWarnings(run) {
  const { warn } = console;
  console.warn = (...args) => {
    if (!/^warning: Can't find string offset for section name '\.note/.test(String(args[0]))) warn(...args);
  };
  try {
    return await run();
  } finally {
    console.warn = warn;
  }
}
