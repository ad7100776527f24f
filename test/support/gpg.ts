// Stock GnuPG in a throwaway home directory, for interoperability tests.
import { mkdtemp } from 'node:fs/promises';
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
