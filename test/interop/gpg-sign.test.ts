// --sign-with gpg:ID: a real gpg-agent signs a recipient change with a passphrase-protected key it
// holds, and OpenPGP.js verifies it as a host does; a cancelled prompt is a clear error.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/admin/openpgp/keygen.js';
import { loadChangeSigner } from '../../src/admin/openpgp/signer.js';
import { changeStatement, verifyRecipientChange } from '../../src/core/recipient-change.js';
import { tempDir } from '../support/cli.js';
import { gpgAgentHome, type GpgAgent } from '../support/gpg.js';

const PASSPHRASE = 'gpg sign test';
let agent: GpgAgent;
let fingerprint: string;
let publicKey: openpgp.Key;
const savedHome = process.env.GNUPGHOME;

beforeAll(async () => {
  const dir = await tempDir();
  const made = await generateKeyPair({
    userId: 'Ops <ops@example.com>',
    outPrefix: join(dir, 'ops'),
    passphrase: PASSPHRASE,
  });
  fingerprint = made.info.fingerprint;
  publicKey = await openpgp.readKey({ armoredKey: await readFile(made.publicKeyPath, 'utf8') });
  agent = await gpgAgentHome([{ path: made.privateKeyPath, passphrase: PASSPHRASE }]);
  process.env.GNUPGHOME = agent.env.GNUPGHOME;
});

afterAll(async () => {
  await agent?.stop();
  if (savedHome === undefined) delete process.env.GNUPGHOME;
  else process.env.GNUPGHOME = savedHome;
});

const statement = () =>
  changeStatement({
    location: { bucket: 'acme', key: 'db1/a.gz.gpg', isPrefix: false },
    fingerprints: [fingerprint],
    signedAt: new Date(),
  });

describe('--sign-with gpg:', () => {
  it('signs with the key in gpg-agent (by email or fingerprint); OpenPGP.js verifies it as a host does', async () => {
    await agent.preset(PASSPHRASE);
    for (const spec of ['gpg:ops@example.com', `gpg:${fingerprint}`]) {
      const signer = await loadChangeSigner(spec, async () => {
        throw new Error('gpg-agent asks, not sealdrop');
      });
      const signed = await signer.sign(statement());
      const checked = await verifyRecipientChange(signed, [publicKey]);
      expect(checked, spec).toMatchObject({ ok: true, change: { fingerprints: [fingerprint] } });
    }
  });

  it('a cancelled passphrase prompt, or a key gpg does not hold: a clear error with a hint', async () => {
    await agent.forget();
    const signer = await loadChangeSigner('gpg:ops@example.com', async () => '');
    await expect(signer.sign(statement())).rejects.toMatchObject({
      code: 'GPG_FAILED',
      message: expect.stringMatching(/^gpg could not sign with gpg:ops@example\.com \([0-9A-F]{40}\): /),
      hint: expect.stringMatching(/cancelled|gpg --list-secret-keys/),
    });
    const stranger = await loadChangeSigner('gpg:nobody@example.com', async () => '');
    await expect(stranger.sign(statement())).rejects.toMatchObject({ code: 'NO_MATCHING_KEY' });
  });

  it('an email that names several secret keys (old and new admin keys alike) is refused, naming them', async () => {
    const dir = await tempDir();
    const second = await generateKeyPair({
      userId: 'Ops 2027 <ops@example.com>',
      outPrefix: join(dir, 'ops2027'),
      passphrase: null,
    });
    const imported = await agent.gpg(['--import', second.privateKeyPath]);
    expect(imported.status, imported.stderr).toBe(0);
    const signer = await loadChangeSigner('gpg:ops@example.com', async () => '');
    const refused = signer.sign(statement());
    await expect(refused).rejects.toMatchObject({
      code: 'USAGE',
      hint: expect.stringMatching(/gpg:FINGERPRINT/),
    });
    await expect(refused).rejects.toThrow(fingerprint);
    await expect(refused).rejects.toThrow(second.info.fingerprint);
  });
});
