// The Debian package of the agent (npm run build:deb), checked with Debian's own tools, and its
// executable pushing to the real S3 server.
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { AGENT_MJS, debPath, serverEnv } from '../support/agent.js';
import { backupTarget, stockRestore } from '../support/backup-target.js';
import { run, tempDir } from '../support/cli.js';

const EXAMPLES = fileURLToPath(new URL('../../scripts/examples/', import.meta.url));
const UNITS = ['sealdrop-backup@.service', 'sealdrop-backup@.timer', 'sealdrop-backup-failed@.service'];

let deb: string;
/** The package's files, unpacked. */
let tree: string;
beforeAll(async () => {
  deb = await debPath();
  tree = await tempDir('sealdrop-deb-');
  const unpacked = await run('dpkg-deb', ['--extract', deb, tree]);
  expect(unpacked.status, unpacked.stderr).toBe(0);
});

describe('the Debian package', () => {
  it('says what it is in its control file', async () => {
    const info = await run('dpkg-deb', ['--info', deb]);
    expect(info.status, info.stderr).toBe(0);
    const { version } = JSON.parse(
      await readFile(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8'),
    );
    expect(info.stdout).toMatch(/^ Package: sealdrop-agent$/m);
    expect(info.stdout).toMatch(new RegExp(`^ Version: ${version.replaceAll('.', '\\.')}$`, 'm'));
    expect(info.stdout).toMatch(/^ Architecture: amd64$/m);
    expect(info.stdout).toMatch(/^ Depends: libc6 /m);
    expect(info.stdout).toMatch(/^ Installed-Size: \d+$/m);
    expect(info.stdout).toMatch(/^ +\d+ bytes, +\d+ lines +\* +postinst +#!\/bin\/sh$/m);
  });

  it('installs the executable, the units, the man page and root-only directories with the right modes', async () => {
    const listed = await run('dpkg-deb', ['--contents', deb]);
    expect(listed.status, listed.stderr).toBe(0);
    const entries = new Map(
      listed.stdout
        .trim()
        .split('\n')
        .map((line) => line.split(/\s+/))
        .map((fields) => [fields.at(-1)!, { mode: fields[0], owner: fields[1] }]),
    );
    const expected: Record<string, string> = {
      './usr/bin/sealdrop-agent': '-rwxr-xr-x',
      ...Object.fromEntries(UNITS.map((unit) => [`./lib/systemd/system/${unit}`, '-rw-r--r--'])),
      './etc/sealdrop/': 'drwx------',
      './var/spool/sealdrop/': 'drwx------',
      './usr/share/man/man1/sealdrop-agent.1.gz': '-rw-r--r--',
      './usr/share/doc/sealdrop-agent/copyright': '-rw-r--r--',
      './usr/share/doc/sealdrop-agent/changelog.gz': '-rw-r--r--',
      './usr/share/doc/sealdrop-agent/examples/metrics.conf': '-rw-r--r--',
    };
    for (const [path, mode] of Object.entries(expected)) expect(entries.get(path)?.mode, path).toBe(mode);
    for (const [path, { owner }] of entries) expect(owner, path).toBe('root/root');
  });

  it('passes lintian without an error', async () => {
    const lint = await run('lintian', ['--fail-on', 'error', deb]);
    expect(lint.stdout).not.toMatch(/^E: /m);
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
  });

  it('ships the example units and the metrics drop-in unchanged, and systemd-analyze verify finds nothing wrong with them', async () => {
    for (const unit of UNITS) {
      expect(await readFile(join(tree, 'lib/systemd/system', unit), 'utf8')).toBe(
        await readFile(join(EXAMPLES, unit), 'utf8'),
      );
    }
    const dropIn = await readFile(join(tree, 'usr/share/doc/sealdrop-agent/examples/metrics.conf'), 'utf8');
    expect(dropIn).toBe(await readFile(join(EXAMPLES, 'sealdrop-backup@.service.d/metrics.conf'), 'utf8'));
    // A system to check against: this package, with the drop-in installed as its comment says, on top
    // of systemd's own units and logger (bsdutils), and the collector's directory.
    const root = await tempDir('sealdrop-system-');
    await cp(tree, root, { recursive: true });
    await mkdir(join(root, 'etc/systemd/system/sealdrop-backup@.service.d'), { recursive: true });
    await writeFile(join(root, 'etc/systemd/system/sealdrop-backup@.service.d/metrics.conf'), dropIn);
    await mkdir(join(root, 'var/lib/prometheus/node-exporter'), { recursive: true });
    await cp('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true });
    await cp('/usr/bin/logger', join(root, 'usr/bin/logger'));
    const verified = await run(
      'systemd-analyze',
      ['verify', `--root=${root}`, ...UNITS.map((unit) => unit.replace('@.', '@db1.'))],
      { env: { ...process.env, MANPATH: join(root, 'usr/share/man'), SYSTEMD_LOG_COLOR: '0' } },
    );
    expect(verified.stdout + verified.stderr).toBe('');
    expect(verified.status).toBe(0);
  });

  it('runs one backup per instance, under a policy in /etc/sealdrop, niced, hardened and on a timer', async () => {
    const unit = await readFile(join(tree, 'lib/systemd/system/sealdrop-backup@.service'), 'utf8');
    expect(unit).toMatch(
      /^ExecStart=\/usr\/bin\/sealdrop-agent push --policy \/etc\/sealdrop\/%i\.policy\.json --spool-dir \/var\/spool\/sealdrop /m,
    );
    for (const setting of [
      /^OnFailure=sealdrop-backup-failed@%i\.service$/m,
      /^TimeoutStartSec=\S+$/m,
      /^Nice=\d+$/m,
      /^IOSchedulingClass=idle$/m,
      /^PrivateTmp=yes$/m,
      /^NoNewPrivileges=yes$/m,
      /^ProtectSystem=strict$/m,
      /^ReadWritePaths=\/var\/spool\/sealdrop$/m,
    ])
      expect(unit).toMatch(setting);
    expect(await readFile(join(tree, 'lib/systemd/system/sealdrop-backup@.timer'), 'utf8')).toMatch(
      /^Persistent=true$/m,
    );
  });

  it('names every bundled package in its copyright file', async () => {
    const copyright = await readFile(join(tree, 'usr/share/doc/sealdrop-agent/copyright'), 'utf8');
    const bundled = new Set(
      [
        ...(await readFile(AGENT_MJS, 'utf8')).matchAll(
          /^\/\/ (?:\S*\/)?node_modules\/((?:@[^/]+\/)?[^/]+)\//gm,
        ),
      ].map((m) => m[1]!),
    );
    expect(bundled.size).toBeGreaterThan(3);
    for (const name of bundled) expect(copyright, name).toMatch(new RegExp(`\\b${name}\\b`, 'i'));
  });

  it("holds an executable that runs the unit's ExecStart (and the metrics drop-in's): the dump pushed, restored by stock gpg and gunzip", async () => {
    const target = await backupTarget('deb-agent');
    const bin = join(tree, 'usr/bin');
    expect(await readdir(bin)).toEqual(['sealdrop-agent']);
    // The unit's command line, with this test's files for the instance's policy, dump and spool.
    const work = await tempDir('sealdrop-instance-');
    const dump = join(work, 'db1.dump');
    await writeFile(dump, "#!/bin/sh\nprintf 'hello\\n'\n", { mode: 0o700 });
    const spool = join(work, 'spool');
    await mkdir(spool, { mode: 0o700 });
    const unit = await readFile(join(tree, 'lib/systemd/system/sealdrop-backup@.service'), 'utf8');
    const [command, ...args] = /^ExecStart=(.*)$/m
      .exec(unit)![1]!
      .replaceAll('/etc/sealdrop/%i.policy.json', target.policyPath)
      .replaceAll('/etc/sealdrop/%i.dump', dump)
      .replaceAll('/var/spool/sealdrop', spool)
      .split(' ');
    expect(command).toBe('/usr/bin/sealdrop-agent');
    const dropIn = await readFile(join(tree, 'usr/share/doc/sealdrop-agent/examples/metrics.conf'), 'utf8');
    const metrics = /^Environment=SEALDROP_METRICS_FILE=(.*)$/m
      .exec(dropIn)![1]!
      .replace('/var/lib/prometheus/node-exporter', work)
      .replace('%i', 'db1');
    const pushed = await run(join(tree, command!), args, {
      env: { ...serverEnv(target.agentEnv, bin), SEALDROP_METRICS_FILE: metrics },
    });
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(pushed.stderr).toBe(''); // --quiet: nothing for the journal when all is well
    expect((await stockRestore(target)).toString()).toBe('hello\n');
    expect(await readdir(spool)).toEqual([]);
    expect(await readFile(metrics, 'utf8')).toMatch(/^sealdrop_push_exit_status\{target="s3:\/\/.*"\} 0$/m);
  });
});
