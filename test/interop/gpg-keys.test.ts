// Keys cross the border both ways: sealdrop's keys work in GnuPG 2.2, GnuPG's keys work in sealdrop.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, tempDir } from '../support/cli.js';
import { gpgHome } from '../support/gpg.js';

// Minting is offline: fake static credentials suffice for these tests.
const offlineEnv = {
  ...process.env,
  AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE00',
  AWS_SECRET_ACCESS_KEY: 'example-secret-not-real',
  AWS_REGION: 'eu-west-1',
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  SEALDROP_PASSPHRASE: 'interop passphrase',
};

let dir: string;
beforeAll(async () => {
  dir = await tempDir();
});

describe('GnuPG interoperability of keys', () => {
  it('GnuPG 2.2 imports a key from `key generate`, encrypts to it and decrypts with it', async () => {
    const prefix = join(dir, 'admin');
    const generated = await runCli(
      ['key', 'generate', '--uid', 'Interop Admin <interop@example.com>', '--out', prefix],
      { env: offlineEnv },
    );
    expect(generated.status, generated.stderr).toBe(0);
    const gpg = await gpgHome();
    expect((await gpg(['--import', `${prefix}.pub.asc`])).status).toBe(0);
    const encrypted = await gpg(
      ['--trust-model', 'always', '--encrypt', '--armor', '--recipient', 'interop@example.com'],
      'secret dump',
    );
    expect(encrypted.status, encrypted.stderr).toBe(0);
    await writeFile(join(dir, 'msg.asc'), encrypted.stdout);
    expect((await gpg(['--passphrase', 'interop passphrase', '--import', `${prefix}.key.asc`])).status).toBe(
      0,
    );
    const decrypted = await gpg(['--passphrase', 'interop passphrase', '--decrypt', join(dir, 'msg.asc')]);
    expect(decrypted.status, decrypted.stderr).toBe(0);
    expect(decrypted.stdout).toBe('secret dump');
  });

  it('asks for the passphrase twice on a terminal, naming the key, never echoes it, and GnuPG accepts it', async () => {
    const prefix = join(dir, 'typed');
    const env: NodeJS.ProcessEnv = { ...offlineEnv, SEALDROP_PASSPHRASE: undefined };
    // `script` runs the command on a pseudo-terminal; we type when each prompt appears.
    const child = spawn(
      'script',
      [
        '-qec',
        `${process.execPath} ${CLI} key generate --uid 'Typed <typed@example.com>' --out ${prefix}`,
        '/dev/null',
      ],
      { env },
    );
    let screen = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdout.on('data', (chunk: Buffer) => {
      const before = screen;
      screen += chunk.toString();
      if (!before.includes('typed.key.asc: ') && screen.includes('typed.key.asc: '))
        child.stdin.write('typed secret\r');
      if (!before.includes('Passphrase again: ') && screen.includes('Passphrase again: '))
        child.stdin.write('typed secret\r');
    });
    expect(await exited, screen).toBe(0);
    // The prompt names the key it is for.
    expect(screen).toMatch(/Passphrase for \S*typed\.key\.asc: [\s\S]*Passphrase again: /);
    expect(screen).not.toContain('typed secret');
    const gpg = await gpgHome();
    expect((await gpg(['--passphrase', 'typed secret', '--import', `${prefix}.key.asc`])).stderr).toMatch(
      /secret keys imported: 1/,
    );
  });

  it('`policy mint` accepts a key made by `gpg --quick-gen-key` as a recipient', async () => {
    const gpg = await gpgHome();
    expect(
      (
        await gpg([
          '--passphrase',
          '',
          '--quick-gen-key',
          'Ops <ops@example.com>',
          'default',
          'default',
          '1y',
        ])
      ).status,
    ).toBe(0);
    const exported = await gpg(['--armor', '--export', 'ops@example.com']);
    await writeFile(join(dir, 'ops.asc'), exported.stdout);
    const minted = await runCli(
      [
        'policy',
        'mint',
        's3://acme-backups/db1.sql.gz.gpg',
        '--recipient',
        join(dir, 'ops.asc'),
        '--out',
        join(dir, 'ops.policy.json'),
      ],
      { env: offlineEnv },
    );
    expect(minted.status, minted.stderr).toBe(0);
    const fingerprint = (await gpg(['--with-colons', '--fingerprint', 'ops@example.com'])).stdout.match(
      /^fpr:+([0-9A-F]{40}):/m,
    )?.[1];
    expect(minted.stderr).toContain(fingerprint);
    expect(JSON.parse(await readFile(join(dir, 'ops.policy.json'), 'utf8')).recipients).toHaveLength(1);
  });

  it('`policy mint` given the private key file as a recipient warns, and the policy carries the public part only', async () => {
    const prefix = join(dir, 'mixed-up');
    const generated = await runCli(
      ['key', 'generate', '--uid', 'Mixed <mixed@example.com>', '--out', prefix],
      {
        env: offlineEnv,
      },
    );
    expect(generated.status, generated.stderr).toBe(0);
    const out = join(dir, 'mixed-up.policy.json');
    const minted = await runCli(
      [
        'policy',
        'mint',
        's3://acme-backups/db1.sql.gz.gpg',
        '--recipient',
        `${prefix}.key.asc`,
        '--out',
        out,
      ],
      { env: offlineEnv },
    );
    expect(minted.status, minted.stderr).toBe(0);
    expect(minted.stderr).toContain(
      `warning: ${prefix}.key.asc is a private key: only its public part goes into the policy`,
    );
    const policy = await readFile(out, 'utf8');
    expect(policy).not.toMatch(/PRIVATE KEY/);
    const [recipient] = await Promise.all(
      JSON.parse(policy).recipients.map((armoredKey: string) => openpgp.readKey({ armoredKey })),
    );
    const pub = await openpgp.readKey({ armoredKey: await readFile(`${prefix}.pub.asc`, 'utf8') });
    expect(recipient.isPrivate()).toBe(false);
    expect(recipient.getFingerprint()).toBe(pub.getFingerprint());
  });

  it('refuses a DSA/ElGamal key from GnuPG at the door, saying why', async () => {
    const gpg = await gpgHome();
    expect(
      (await gpg(['--passphrase', '', '--quick-gen-key', 'Old <old@example.com>', 'dsa2048', 'sign', '1y']))
        .status,
    ).toBe(0);
    const fpr =
      (await gpg(['--with-colons', '--fingerprint', 'old@example.com'])).stdout.match(
        /^fpr:+([0-9A-F]{40}):/m,
      )?.[1] ?? '';
    expect((await gpg(['--passphrase', '', '--quick-add-key', fpr, 'elg2048', 'encr', '1y'])).status).toBe(0);
    await writeFile(join(dir, 'old.asc'), (await gpg(['--armor', '--export', 'old@example.com'])).stdout);
    const minted = await runCli(
      [
        'policy',
        'mint',
        's3://acme-backups/k',
        '--recipient',
        join(dir, 'old.asc'),
        '--out',
        join(dir, 'old.policy.json'),
      ],
      { env: offlineEnv },
    );
    expect(minted.status).toBe(2);
    expect(minted.stderr).toMatch(/old\.asc: key [0-9A-F]{40} can't be a recipient: DSA keys are obsolete/);
    expect(minted.stderr).toContain('hint:');
    expect(minted.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
