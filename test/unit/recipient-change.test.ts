// Key rotation on self-renewing hosts: a successor with other recipients is accepted only with a
// recipient change signed by one of the host's current recipients, for its place and those recipients.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/admin/openpgp/keygen.js';
import { loadChangeSigner } from '../../src/admin/openpgp/signer.js';
import { createPolicyFile } from '../../src/admin/policies/mint.js';
import { recipientChangeFor } from '../../src/admin/policies/recipient-change.js';
import { createS3Client } from '../../src/admin/s3/client.js';
import { judgeSuccessor, type JudgedPolicy } from '../../src/agent/renew.js';
import { recipientKeys } from '../../src/core/policy-file.js';
import { changeStatement, MAX_RECIPIENT_CHANGE_CHARS } from '../../src/core/recipient-change.js';
import { parseS3Url } from '../../src/core/s3-url.js';
import { tempDir } from '../support/cli.js';
import { useOfflineAws } from '../support/offline-aws.js';

const keys: Record<'old' | 'fresh' | 'mallory', { pub: string; key: string; fingerprint: string }> =
  {} as never;

beforeAll(async () => {
  const dir = await tempDir();
  for (const name of ['old', 'fresh', 'mallory'] as const) {
    const made = await generateKeyPair({
      userId: `${name} <${name}@example.com>`,
      outPrefix: join(dir, name),
      passphrase: name === 'old' ? 'old secret' : null,
    });
    keys[name] = { pub: made.publicKeyPath, key: made.privateKeyPath, fingerprint: made.info.fingerprint };
  }
});

useOfflineAws();

const TARGET = 's3://acme/db1/a.gz.gpg';
let minted = 0;

/** A policy for `target` encrypting to `who`, carrying `change`, expiring in `hours`. */
async function policy(
  who: (keyof typeof keys)[],
  { target = TARGET, change, hours = 1 }: { target?: string; change?: string; hours?: number } = {},
): Promise<JudgedPolicy> {
  const recipients = await Promise.all(
    who.map(async (name) => ({ armored: await readFile(keys[name].pub, 'utf8'), source: name })),
  );
  const created = await createPolicyFile(
    createS3Client(),
    {
      location: parseS3Url(target),
      expiresInMs: hours * 3_600_000,
      ...(change === undefined ? {} : { recipientChange: change }),
    },
    recipients,
    `p${++minted}`,
  );
  return { loaded: created, ...(await recipientKeys(created, `p${minted}`)) };
}

/** A recipient change signed with `signer`'s private key (the old key asks its passphrase). */
async function signed(
  signer: keyof typeof keys,
  who: (keyof typeof keys)[],
  { target = TARGET, signedAt = new Date() }: { target?: string; signedAt?: Date } = {},
): Promise<string> {
  const sign = await loadChangeSigner(keys[signer].key, async () => 'old secret');
  const text = changeStatement({
    location: parseS3Url(target),
    fingerprints: who.map((name) => keys[name].fingerprint),
    signedAt,
  });
  return sign.sign(text);
}

async function reason(current: JudgedPolicy, next: JudgedPolicy): Promise<string> {
  const verdict = await judgeSuccessor(current, next);
  expect(verdict).toMatchObject({ accept: false, unchanged: false });
  return (verdict as { reason: string }).reason;
}

describe('a successor with other recipients', () => {
  it('is accepted with a change signed by a current recipient: adding a key, then dropping the old one', async () => {
    const current = await policy(['old']);
    const both = await policy(['old', 'fresh'], { change: await signed('old', ['old', 'fresh']), hours: 2 });
    expect(await judgeSuccessor(current, both)).toEqual({ accept: true });
    // Dropping the old key: signed by the new one, a current recipient now.
    const fresh = await policy(['fresh'], { change: await signed('fresh', ['fresh']), hours: 3 });
    expect(await judgeSuccessor(both, fresh)).toEqual({ accept: true });
    // The change stays in every later policy (what fleet publish carries): accepted as it is.
    const later = await policy(['fresh'], { change: fresh.loaded.file.recipientChange!, hours: 4 });
    expect(await judgeSuccessor(fresh, later)).toEqual({ accept: true });
  });

  it('is refused without a signed change, naming both recipient lists', async () => {
    const current = await policy(['old']);
    const next = await policy(['old', 'mallory'], { hours: 2 });
    expect(await reason(current, next)).toMatch(
      new RegExp(
        `^it encrypts to ${keys.old.fingerprint}, ${keys.mallory.fingerprint}, not to ${keys.old.fingerprint}, and carries no recipient change signed by one of them`,
      ),
    );
  });

  it('is refused when the attacker signs the change with their own key, or the new key alone signs it', async () => {
    const current = await policy(['old']);
    const byMallory = await policy(['old', 'mallory'], {
      change: await signed('mallory', ['old', 'mallory']),
      hours: 2,
    });
    expect(await reason(current, byMallory)).toMatch(
      /its recipient change is not signed by a current recipient \(.*\): signed by key id [0-9A-F]{16}/,
    );
    const byFresh = await policy(['old', 'fresh'], {
      change: await signed('fresh', ['old', 'fresh']),
      hours: 2,
    });
    expect(await reason(current, byFresh)).toMatch(
      /its recipient change is not signed by a current recipient/,
    );
  });

  it('is refused when the change is for another key or bucket, or names other recipients', async () => {
    const current = await policy(['old']);
    const elsewhere = await policy(['old', 'mallory'], {
      change: await signed('old', ['old', 'mallory'], { target: 's3://acme/db2/a.gz.gpg' }),
      hours: 2,
    });
    expect(await reason(current, elsewhere)).toMatch(
      /its recipient change is for s3:\/\/acme\/db2\/a\.gz\.gpg, not s3:\/\/acme\/db1\/a\.gz\.gpg/,
    );
    const otherBucket = await policy(['old', 'fresh'], {
      change: await signed('old', ['old', 'fresh'], { target: 's3://other/db1/a.gz.gpg' }),
      hours: 2,
    });
    expect(await reason(current, otherBucket)).toMatch(/its recipient change is for s3:\/\/other\//);
    // A genuine change to [old, fresh] reused for a successor that adds mallory too.
    const reused = await policy(['old', 'fresh', 'mallory'], {
      change: await signed('old', ['old', 'fresh']),
      hours: 2,
    });
    expect(await reason(current, reused)).toMatch(
      /its recipient change names .*, not the recipients it encrypts to/,
    );
  });

  it('is refused when the change is older than the one in place (a replay), or the successor drops it', async () => {
    const current = await policy(['old']);
    const hourAgo = new Date(Date.now() - 3_600_000);
    const first = await signed('old', ['old', 'mallory'], { signedAt: hourAgo });
    const both = await policy(['old', 'fresh'], { change: await signed('old', ['old', 'fresh']), hours: 2 });
    expect(await judgeSuccessor(current, both)).toEqual({ accept: true });
    // An older change, genuinely signed by a current recipient, replayed once the newer one is in place.
    const replayed = await policy(['old', 'mallory'], { change: first, hours: 3 });
    expect(await reason(both, replayed)).toMatch(
      /its recipient change was signed at .*, not after the one in place/,
    );
    // The same recipients without the change in place: stripping it would reopen the replay.
    const stripped = await policy(['old', 'fresh'], { hours: 3 });
    expect(await reason(both, stripped)).toMatch(/it drops the recipient change in place/);
  });

  it('is refused when the change is damaged or too large, never crashing', async () => {
    const current = await policy(['old']);
    const genuine = await signed('old', ['old', 'fresh']);
    const tampered = await policy(['old', 'fresh'], {
      change: genuine.replace(`${keys.fresh.fingerprint}`, `${keys.mallory.fingerprint}`),
      hours: 2,
    });
    expect(await reason(current, tampered)).toMatch(
      /its recipient change is not signed by a current recipient/,
    );
    await expect(
      policy(['old', 'fresh'], { change: genuine + ' '.repeat(MAX_RECIPIENT_CHANGE_CHARS), hours: 2 }),
    ).rejects.toMatchObject({ code: 'POLICY_FILE_INVALID', message: /"recipientChange" must be/ });
  });
});

describe("the admin side's recipient change", () => {
  const location = parseS3Url(TARGET);

  it('carries the change in place while the recipients stay; a first policy needs none', async () => {
    const copy = await policy(['old', 'fresh'], { change: await signed('old', ['old', 'fresh']) });
    const fps = [keys.old.fingerprint, keys.fresh.fingerprint];
    expect(await recipientChangeFor('db1', location, fps, copy.loaded)).toBe(
      copy.loaded.file.recipientChange,
    );
    expect(await recipientChangeFor('db1', location, fps, null)).toBeUndefined();
  });

  it('signs a change, checked as the host will check it; refuses without a signer or with a stranger', async () => {
    const copy = await policy(['old']);
    const next = [keys.old.fingerprint, keys.fresh.fingerprint];
    await expect(recipientChangeFor('db1', location, next, copy.loaded)).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/db1: its recipients change/),
      hint: expect.stringMatching(/--sign-with/),
    });
    const mallory = await loadChangeSigner(keys.mallory.key, async () => '');
    await expect(recipientChangeFor('db1', location, next, copy.loaded, mallory)).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/is not one of its current recipients/),
    });
    const old = await loadChangeSigner(keys.old.key, async () => 'old secret');
    const change = await recipientChangeFor('db1', location, next, copy.loaded, old);
    const successor = await policy(['old', 'fresh'], { change, hours: 2 });
    expect(await judgeSuccessor(copy, successor)).toEqual({ accept: true });
  });

  it('asks for the passphrase only when it signs', async () => {
    let asked = 0;
    const old = await loadChangeSigner(keys.old.key, async () => {
      asked++;
      return 'old secret';
    });
    const copy = await policy(['old']);
    await recipientChangeFor('db1', location, [keys.old.fingerprint], copy.loaded, old);
    expect(asked).toBe(0);
    await recipientChangeFor(
      'db1',
      location,
      [keys.old.fingerprint, keys.fresh.fingerprint],
      copy.loaded,
      old,
    );
    expect(asked).toBe(1);
  });
});
