// Stock GnuPG in a throwaway home directory, for interoperability tests.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type CliResult } from './cli.js';

export type Gpg = ((args: string[], input?: string | Buffer) => Promise<CliResult>) & { home: string };

export async function gpgHome(): Promise<Gpg> {
  const home = await mkdtemp(join(tmpdir(), 'sealdrop-gnupg-'));
  const gpg = (args: string[], input?: string | Buffer) =>
    run('gpg', ['--homedir', home, '--batch', '--yes', '--no-tty', '--pinentry-mode', 'loopback', ...args], {
      input,
    });
  return Object.assign(gpg, { home });
}

export interface GpgAgent {
  gpg: Gpg;
  /** GNUPGHOME for the commands that should use this agent. */
  env: NodeJS.ProcessEnv;
  /** Drops the cached passphrases: the next decryption asks pinentry (which cancels, see below). */
  forget(): Promise<void>;
  /** Caches `passphrase` for every key the agent holds, as gpg-preset-passphrase does. */
  preset(passphrase: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A GnuPG home with its own gpg-agent, holding the secret keys of `keyFiles` (each protected by its
 * passphrase). The agent's pinentry is a stub that answers every PIN or passphrase prompt with "cancel",
 * as a person pressing Cancel would: passphrases reach the agent only through gpg-preset-passphrase.
 */
export async function gpgAgentHome(keyFiles: { path: string; passphrase: string }[]): Promise<GpgAgent> {
  const gpg = await gpgHome();
  const pinentry = join(gpg.home, 'cancelling-pinentry');
  await writeFile(
    pinentry,
    '#!/bin/sh\necho "OK ready"\nwhile read -r line; do case "$line" in GETPIN*|CONFIRM*) echo "ERR 83886179 Operation cancelled <Pinentry>";; BYE*) echo OK; exit 0;; *) echo OK;; esac; done\n',
    { mode: 0o755 },
  );
  await writeFile(
    join(gpg.home, 'gpg-agent.conf'),
    `allow-preset-passphrase\npinentry-program ${pinentry}\n`,
  );
  for (const { path, passphrase } of keyFiles) {
    const imported = await gpg(['--passphrase', passphrase, '--import', path]);
    if (imported.status !== 0) throw new Error(`gpg --import ${path}: ${imported.stderr}`);
  }
  const env = { ...process.env, GNUPGHOME: gpg.home };
  const listing = await gpg(['--with-colons', '--with-keygrip', '--list-secret-keys']);
  const keygrips = listing.stdout
    .split('\n')
    .filter((line) => line.startsWith('grp:'))
    .map((line) => line.split(':')[9]!);
  const libexec = (await run('gpgconf', ['--list-dirs', 'libexecdir'], { env })).stdout.trim();
  const agent = (command: string) => run('gpg-connect-agent', [command, '/bye'], { env });
  return {
    gpg,
    env,
    async forget() {
      for (const keygrip of keygrips) await agent(`clear_passphrase --mode=normal ${keygrip}`);
    },
    async preset(passphrase: string) {
      for (const keygrip of keygrips) {
        const preset = await run(join(libexec, 'gpg-preset-passphrase'), ['--preset', keygrip], {
          env,
          input: passphrase,
        });
        if (preset.status !== 0) throw new Error(`gpg-preset-passphrase: ${preset.stderr}`);
      }
    },
    async stop() {
      await run('gpgconf', ['--kill', 'gpg-agent'], { env });
    },
  };
}
