// Shell completions and man pages, both made from the command tree, loaded by the real shells and man.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { CLI, run, runCli, tempDir } from '../support/cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAN = (page: string) => join(ROOT, 'dist/man', page);

/** The visible subcommands of a command, by name. */
const names = (command: Command) =>
  command.commands.filter((child) => !child.name().startsWith('help')).map((child) => child.name());

/** Every command path, groups included: ['key'], ['key', 'generate'], … */
function paths(command: Command, path: string[] = []): string[][] {
  return command.commands
    .filter((child) => child.name() !== 'help')
    .flatMap((child) => [[...path, child.name()], ...paths(child, [...path, child.name()])]);
}

/** Runs the bash completion function as bash would for the words typed so far (the last one is being typed). */
async function bashCompletes(words: string[]): Promise<string[]> {
  const script = [
    `sealdrop() { ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"; }`,
    'source <(sealdrop completion bash)',
    `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}`,
    '_sealdrop; printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const result = await run('bash', ['-c', script]);
  expect(result.status, result.stderr).toBe(0);
  return result.stdout.split('\n').filter(Boolean);
}

describe('sealdrop completion', () => {
  const program = buildProgram();

  it('bash loads the script and completes `sealdrop` with it', async () => {
    const script = `source <(${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} completion bash); complete -p sealdrop`;
    const result = await run('bash', ['-c', script]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('complete -o default -F _sealdrop sealdrop');
  });

  it('bash offers the real commands, subcommands and options', async () => {
    expect(await bashCompletes(['sealdrop', ''])).toEqual(names(program));
    const policy = program.commands.find((c) => c.name() === 'policy')!;
    expect(await bashCompletes(['sealdrop', 'policy', ''])).toEqual(names(policy));
    expect(await bashCompletes(['sealdrop', 'pr'])).toEqual(['prune']);
    expect(await bashCompletes(['sealdrop', 'push', '--re'])).toEqual([
      '--retries',
      '--retry-for',
      '--retry-delay',
    ]);
    expect(await bashCompletes(['sealdrop', 'key', 'generate', '--o'])).toEqual(['--out']);
    // After `--` comes the dump command: nothing of sealdrop's is offered.
    expect(await bashCompletes(['sealdrop', 'push', '--', '--re'])).toEqual([]);
  });

  it('zsh loads the script, registers it and offers the commands with their descriptions', async () => {
    const script = [
      'autoload -U compinit && compinit -u -D',
      `source <(${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} completion zsh)`,
      'print "registered=${_comps[sealdrop]}"',
      // What the completion system would offer, with its offering functions standing in.
      '_describe() { print -l -- "${(@P)${@[-1]}}" }',
      "words=(sealdrop policy ''); CURRENT=3; PREFIX=''; _sealdrop",
      "words=(sealdrop push --re); CURRENT=3; PREFIX='--re'; _sealdrop",
    ].join('\n');
    const result = await run('zsh', ['-c', script]);
    expect(result.status, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('registered=_sealdrop');
    expect(lines).toContain(
      'mint:sign (offline) an upload policy for one key or prefix and bundle it with the recipients',
    );
    expect(lines).toContain('--retries:retries on network errors and 5xx (0 to 100)');
  });

  it('fish loads the script and completes the real commands with descriptions', async () => {
    const script = [
      `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} completion fish | source`,
      'complete -C "sealdrop "',
      'complete -C "sealdrop policy "',
    ].join('\n');
    const result = await run('fish', ['--no-config', '-c', script]);
    expect(result.status, result.stderr).toBe(0);
    const offered = result.stdout.split('\n').map((line) => line.split('\t')[0]);
    for (const name of [...names(program), 'mint', 'show', 'curl']) expect(offered).toContain(name);
    expect(result.stdout).toContain('push\tencrypt a dump');
  });

  it('refuses a shell it does not know with exit 2 and a hint', async () => {
    const result = await runCli(['completion', 'tcsh']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/completion tcsh: use bash, zsh or fish\n {2}hint: /);
  });
});

describe('the man pages', () => {
  it.each([
    ['sealdrop.1', 'sealdrop', paths(buildProgram())],
    ['sealdrop-agent.1', 'sealdrop-agent', [['push'], ['policy'], ['policy', 'show']]],
  ])('%s renders without a warning and names every command', async (page, name, commands) => {
    const rendered = await run('man', ['--warnings', '-l', MAN(page)], {
      env: { ...process.env, MANWIDTH: '200', LC_ALL: 'C.UTF-8' },
    });
    expect(rendered.status, rendered.stderr).toBe(0);
    expect(rendered.stderr).toBe('');
    for (const path of commands) expect(rendered.stdout).toContain(`   ${name} ${path.join(' ')} [`);
    expect(rendered.stdout).toContain('Examples:');
  });

  it('`man sealdrop` works after installing the packed npm package, which holds nothing a test left', async () => {
    const dir = await tempDir('sealdrop-npm-');
    // What the report test leaves in dist/ (its screenshots) must not ship.
    const probe = join(ROOT, 'dist/screenshots/pack-probe.png');
    await mkdir(join(probe, '..'), { recursive: true });
    await writeFile(probe, '');
    const packed = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir, '--json'], {
      cwd: ROOT,
    }).finally(() => rm(probe, { force: true }));
    expect(packed.status, packed.stderr).toBe(0);
    const [{ filename, files }] = JSON.parse(packed.stdout);
    const paths: string[] = files.map((file: { path: string }) => file.path);
    expect(paths).toEqual(
      expect.arrayContaining(['README.md', 'CHANGELOG.md', 'bin/sealdrop', 'dist/cli/bin.cjs']),
    );
    expect(paths.filter((path) => /^dist\/(screenshots|agent\/sealdrop-agent)|\.deb$/.test(path))).toEqual(
      [],
    );
    const tarball = join(dir, filename);
    const prefix = join(dir, 'prefix');
    const installed = await run(
      'npm',
      ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball],
      { cwd: dir },
    );
    expect(installed.status, installed.stderr).toBe(0);
    // The installed command: bin/sealdrop, through npm's symlink, on the Node.js in PATH.
    const version = await run(join(prefix, 'bin/sealdrop'), ['--version']);
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(
      JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).version,
    );
    const man = await run('man', ['sealdrop'], {
      env: { ...process.env, MANPATH: join(prefix, 'share/man'), MANPAGER: 'cat', MANWIDTH: '100' },
    });
    expect(man.status, man.stderr).toBe(0);
    expect(man.stdout).toContain('sealdrop policy mint');
    expect(await readFile(join(prefix, 'share/man/man1/sealdrop.1'), 'utf8')).toBe(
      await readFile(MAN('sealdrop.1'), 'utf8'),
    );
  });
});
