// The admin's read side against the real S3 server: versions, restore, verify, status.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { after, nextSecond, until } from '../support/until.js';
import { backupTarget, mint, otherKey, type BackupTarget } from '../support/backup-target.js';
import { CLI, run, runCli, tempDir, type CliResult } from '../support/cli.js';
import { gpgHome } from '../support/gpg.js';
import { adminClient, freshBucket, listVersions } from '../support/s3.js';

const DELETED_KEY = 'deleted/mysql.sql.gz.gpg';
const GEN_DUMP = fileURLToPath(new URL('../../scripts/gen-dump.mjs', import.meta.url));

async function dump(size: string, seed: number): Promise<Buffer> {
  return (await run(process.execPath, [GEN_DUMP, size, String(seed)])).stdoutBytes;
}

interface ListedVersion {
  versionId: string;
  time: string;
  size: number;
  state: string;
}

let target: BackupTarget;
let url: string;
let dir: string;
const dumps: Buffer[] = [];
/** v1, v2 as pushed, oldest first. */
let pushed: ListedVersion[];

/**
 * This bucket holds objects made the stock way (gpg, curl) beside sealdrop's: restore and verify take
 * them (--allow-unbound), and verify records no proofs (--no-mark), so status judges arrival alone.
 */
function admin(args: string[], extra: Record<string, string | undefined> = {}): Promise<CliResult> {
  const [command] = args;
  const reading =
    command === 'restore'
      ? ['--allow-unbound']
      : command === 'verify'
        ? ['--allow-unbound', '--no-mark']
        : [];
  return runCli([...args, ...reading], { env: { ...target.adminEnv, ...extra } });
}

async function versionsOf(location: string): Promise<ListedVersion[]> {
  const listed = await admin(['versions', location, '--json']);
  expect(listed.status, listed.stderr).toBe(0);
  return JSON.parse(listed.stdout).snapshots;
}

async function getObject(key: string, versionId?: string): Promise<Buffer> {
  const object = await adminClient().send(
    new GetObjectCommand({ Bucket: target.bucket, Key: key, VersionId: versionId }),
  );
  return Buffer.from(await object.Body!.transformToByteArray());
}

async function putObject(key: string, body: Buffer): Promise<string> {
  const put = await adminClient().send(new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: body }));
  return put.VersionId!;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function flipOneByte(data: Buffer): Buffer {
  const copy = Buffer.from(data);
  copy[copy.length >> 1]! ^= 0x01;
  return copy;
}

beforeAll(async () => {
  target = await backupTarget('read-side');
  url = `s3://${target.bucket}/${target.key}`;
  dir = await tempDir('sealdrop-read-side-');
  for (const seed of [1, 2]) {
    const input = await dump('2MiB', seed);
    const result = await runCli(['push', '--policy', target.policyPath], { input, env: target.agentEnv });
    expect(result.status, result.stderr).toBe(0);
    dumps.push(input);
    // Distinct timestamps even on stores with one-second resolution: the local server keeps this clock.
    await nextSecond();
  }
  pushed = (await versionsOf(url)).reverse();
  // A key with one backup, then deleted: the latest is a delete marker.
  await putObject(DELETED_KEY, await getObject(target.key, pushed[0]!.versionId));
  await adminClient().send(new DeleteObjectCommand({ Bucket: target.bucket, Key: DELETED_KEY }));
});

describe('versions', () => {
  it('lists every version newest first on stdout, with sizes as stored', async () => {
    const listed = await admin(['versions', url]);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stderr).toBe('');
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`${url}: 2 complete versions`);
    expect(lines[1]).toMatch(/^VERSION ID +TIME +AGE +SIZE +STATE$/);
    expect(pushed).toHaveLength(2);
    const [v1, v2] = pushed as [ListedVersion, ListedVersion];
    expect(v2.state).toBe('complete');
    expect(Date.parse(v2.time)).toBeGreaterThan(Date.parse(v1.time));
    expect(lines[2]).toMatch(new RegExp(`^${escape(v2.versionId)} .* complete$`));
    expect(lines[3]).toMatch(new RegExp(`^${escape(v1.versionId)} .* complete$`));
    expect(v1.size).toBe((await getObject(target.key, v1.versionId)).length);
  });

  it('fails (exit 1, NOT_FOUND) where nothing is stored, as restore does: a typo is no empty history', async () => {
    const typo = `s3://${target.bucket}/nothing/here.sql.gz.gpg`;
    const empty = await admin(['versions', typo]);
    expect(empty.status).toBe(1);
    expect(empty.stdout).toBe('');
    expect(empty.stderr).toBe(
      `sealdrop: error: ${typo} does not exist (no backups at all)\n  hint: Check the bucket and the key or prefix: sealdrop ls s3://${target.bucket}/ lists every backup set there.\n`,
    );
    // --json: the error document, and the same exit status; restore says the same of it.
    const json = await admin(['versions', typo, '--json']);
    expect(json.status).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      error: {
        code: 'NOT_FOUND',
        message: `${typo} does not exist (no backups at all)`,
        hint: expect.stringContaining(`sealdrop ls s3://${target.bucket}/`),
        exitStatus: 1,
      },
    });
    const restored = await admin(['restore', typo, '--identity', target.privateKey]);
    expect(restored.status).toBe(1);
    expect(restored.stderr).toContain(`error: ${typo} does not exist (no backups at all)`);
    // A prefix that holds no run, only other objects: no backups either, and what is there is named.
    await putObject('loose/notes.txt', Buffer.from('not a backup'));
    const prefix = `s3://${target.bucket}/loose/`;
    const loose = await admin(['versions', prefix]);
    expect(loose.status).toBe(1);
    expect(loose.stdout).toBe('');
    expect(loose.stderr).toContain(
      `error: ${prefix} holds no backups, only 1 other object(s) that belong to no run\n  hint: sealdrop ls ${prefix} shows what is there.\n`,
    );
  });

  it('takes the key from a policy file too', async () => {
    const listed = await admin(['versions', '--policy', target.policyPath, '--json']);
    expect(listed.status, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).snapshots.map((v: ListedVersion) => v.versionId)).toEqual(
      pushed.map((v) => v.versionId).reverse(),
    );
  });

  it('follows pages past 1000 versions, and counts only the exact key', async () => {
    const bucket = await freshBucket('read-side-pages');
    const s3 = adminClient();
    const put = (key: string) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
    // Keys sharing the prefix, sorted after it, must not leak in.
    await Promise.all(['k.old', 'k.old', 'k/x', 'kz'].map(put));
    let started = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (started < 1001) {
          started++;
          await put('k');
        }
      }),
    );
    const all = await admin(['versions', `s3://${bucket}/k`, '--json']);
    expect(all.status, all.stderr).toBe(0);
    const versions: ListedVersion[] = JSON.parse(all.stdout).snapshots;
    expect(versions).toHaveLength(1001);
    expect(new Set(versions.map((v) => v.versionId)).size).toBe(1001);
    // S3's order (which concurrent uploads can make disagree with the timestamps by a few ms): the latest first.
    const latest = (await listVersions(bucket, 'k')).find((v) => v.IsLatest);
    expect(versions[0]!.versionId).toBe(latest!.VersionId);
    // Small pages: boundaries inside the key's versions, at their end, and neighbours on the same page.
    for (const key of ['j', 'j', 'j', 'j', 'j', 'j.old', 'j.old', 'j/x']) await put(key);
    for (const pageSize of ['1', '2', '5', '6']) {
      const paged = await admin(['versions', `s3://${bucket}/j`, '--json', '--page-size', pageSize]);
      expect(paged.status, paged.stderr).toBe(0);
      expect(JSON.parse(paged.stdout).snapshots, `page size ${pageSize}`).toHaveLength(5);
    }
  }, 180_000);

  it('marks delete markers', async () => {
    const location = `s3://${target.bucket}/${DELETED_KEY}`;
    const listed = await admin(['versions', location]);
    expect(listed.stdout).toMatch(/1 complete version, 1 delete marker/);
    expect(listed.stdout.split('\n')[2]).toMatch(/ - +DELETE MARKER$/);
    const [marker, real] = await versionsOf(location);
    expect(marker).toMatchObject({ state: 'deleted', size: 0 });
    expect(real).toMatchObject({ state: 'complete' });
  });
});

describe('restore', () => {
  it('round-trips version 1 and version 2 byte for byte, to a 0600 file and to stdout', async () => {
    const out = join(dir, 'v1.sql');
    const first = await admin([
      'restore',
      url,
      '--identity',
      target.privateKey,
      '--version-id',
      pushed[0]!.versionId,
      '--out',
      out,
    ]);
    expect(first.status, first.stderr).toBe(0);
    expect((await readFile(out)).equals(dumps[0]!)).toBe(true);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect(first.stderr).toMatch(/OpenPGP MDC ok, gzip CRC ok/);
    const latest = await admin(['restore', url, '--identity', target.privateKey]);
    expect(latest.status, latest.stderr).toBe(0);
    expect(latest.stdoutBytes.equals(dumps[1]!)).toBe(true);
    expect(latest.stderr).toContain(`version ${pushed[1]!.versionId}`);
  });

  it('fails cleanly, without a crash, when the reader of stdout goes away early', async () => {
    const script = `set -o pipefail; "${process.execPath}" "${CLI}" restore "${url}" --identity "${target.privateKey}" | head -c 100 >/dev/null`;
    const result = await run('bash', ['-c', script], { env: target.adminEnv });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/sealdrop: error: the output was closed before the restore finished/);
    expect(result.stderr).not.toMatch(/Unhandled|internal error|\n\s+at /);
  });

  it('--at picks the newest version at or before the time', async () => {
    const [v1, v2] = pushed as [ListedVersion, ListedVersion];
    const between = new Date((Date.parse(v1.time) + Date.parse(v2.time)) / 2).toISOString();
    const cases: [string, ListedVersion, Buffer][] = [
      [between, v1, dumps[0]!],
      [v1.time, v1, dumps[0]!],
      [v2.time, v2, dumps[1]!],
      ['0s ago', v2, dumps[1]!],
    ];
    for (const [at, version, data] of cases) {
      const result = await admin([
        'restore',
        '--policy',
        target.policyPath,
        '--identity',
        target.privateKey,
        '--at',
        at,
      ]);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).toContain(`version ${version.versionId}`);
      expect(result.stdoutBytes.equals(data)).toBe(true);
    }
    const tooEarly = await admin([
      'restore',
      url,
      '--identity',
      target.privateKey,
      '--at',
      '2001-01-01T00:00:00Z',
    ]);
    expect(tooEarly.status).toBe(1);
    expect(tooEarly.stderr).toMatch(/no version at or before 2001-01-01T00:00:00.000Z; the oldest is from/);
  });

  it('with a tampered object, exits 3 and leaves neither the file nor a temp file', async () => {
    // Pushed there (so its envelope names that key), then a byte flipped in a later version.
    const key = 'tampered/mysql.sql.gz.gpg';
    const location = `s3://${target.bucket}/${key}`;
    const policy = join(dir, 'tampered.policy.json');
    await mint(location, [target.publicKey], policy);
    const pushedThere = await runCli(['push', '--policy', policy, '-q'], {
      input: dumps[1],
      env: target.agentEnv,
    });
    expect(pushedThere.status, pushedThere.stderr).toBe(0);
    await putObject(key, flipOneByte(await getObject(key)));
    const outDir = await tempDir('sealdrop-tampered-');
    const restored = await admin([
      'restore',
      location,
      '--identity',
      target.privateKey,
      '--out',
      join(outDir, 'db.sql'),
    ]);
    expect(restored.status).toBe(3);
    expect(restored.stderr).toMatch(/sealdrop: error: .*damaged|integrity/);
    expect(await readdir(outDir)).toEqual([]);

    const streamed = await admin(['restore', location, '--identity', target.privateKey]);
    expect(streamed.status).toBe(3);
    expect(streamed.stderr).toMatch(/DO NOT USE IT/);
    expect(streamed.stderr).toMatch(/set -o pipefail/);

    const checked = await admin(['verify', location, '--identity', target.privateKey, '--all']);
    expect(checked.status).toBe(3);
    expect(checked.stdout).toMatch(/^FAILED {2}\S+ .*FAILED the OpenPGP integrity check \(MDC\)/m);
    expect(checked.stdout).toMatch(/^OK {6}\S+ /m);
    expect(checked.stderr).toMatch(/1 of 2 verified, 1 FAILED/);
  });

  it('streams a large raw object to stdout and only then fails it loudly; --out never shows it', async () => {
    // push --compress none, made here so the flipped byte can sit near the end, past most of the data.
    const data = await dump('8MiB', 3);
    const recipient = await openpgp.readKey({ armoredKey: await readFile(target.publicKey, 'utf8') });
    const sealed = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: data }),
      encryptionKeys: recipient,
      format: 'binary',
      config: { aeadProtect: false, preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed },
    });
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 100]! ^= 0x01;
    const key = 'tampered-raw/pg.dump.gpg';
    await putObject(key, tampered);
    const location = `s3://${target.bucket}/${key}`;
    const streamed = await admin(['restore', location, '--identity', target.privateKey]);
    expect(streamed.status).toBe(3);
    expect(streamed.stdoutBytes.length).toBeGreaterThan(4 * 1024 * 1024); // it streamed: no buffering of the whole
    expect(streamed.stderr).toMatch(/FAILED the OpenPGP integrity check \(MDC\).*DO NOT USE IT/);
    const outDir = await tempDir('sealdrop-tampered-raw-');
    const saved = await admin([
      'restore',
      location,
      '--identity',
      target.privateKey,
      '--out',
      join(outDir, 'pg.dump'),
    ]);
    expect(saved.status).toBe(3);
    expect(await readdir(outDir)).toEqual([]);
  });

  it('restores an object made the stock way: gzip | gpg --encrypt (compression packet, armor, signed, plain)', async () => {
    const gpg = await gpgHome();
    // The private key too: to sign, and to look inside the encrypted packet.
    expect((await gpg(['--passphrase', target.passphrase, '--import', target.privateKey])).status).toBe(0);
    const gz = (await run('gzip', ['-c'], { input: dumps[0] })).stdoutBytes;
    const variants: [string, string[]][] = [
      ['gpg-default', []],
      ['gpg-zlib', ['--compress-algo', 'zlib']],
      ['gpg-none', ['--compress-algo', 'none']],
      ['gpg-armor', ['--armor']],
      ['gpg-signed', ['--passphrase', target.passphrase, '--sign']],
    ];
    for (const [name, flags] of variants) {
      const sealed = await gpg(
        ['--trust-model', 'always', ...flags, '--recipient', 'admin@example.com', '--encrypt'],
        gz,
      );
      expect(sealed.status, sealed.stderr).toBe(0);
      const packets = (await gpg(['--passphrase', target.passphrase, '--list-packets'], sealed.stdoutBytes))
        .stdout;
      if (name === 'gpg-zlib') expect(packets).toMatch(/:compressed packet: algo=2/);
      if (name === 'gpg-signed') expect(packets).toMatch(/:onepass_sig packet:/);
      const key = `stock/${name}.sql.gz.gpg`;
      await putObject(key, sealed.stdoutBytes);
      const restored = await admin([
        'restore',
        `s3://${target.bucket}/${key}`,
        '--identity',
        target.privateKey,
      ]);
      expect(restored.status, `${name}: ${restored.stderr}`).toBe(0);
      expect(restored.stdoutBytes.equals(dumps[0]!), name).toBe(true);
    }
  });

  it('decrypts with a passphrase-protected key exported from GnuPG', async () => {
    const gpg = await gpgHome();
    expect(
      (
        await gpg([
          '--passphrase',
          'gpg pass',
          '--quick-gen-key',
          'Ops <ops@example.com>',
          'default',
          'default',
          '1y',
        ])
      ).status,
    ).toBe(0);
    const exported = await gpg([
      '--passphrase',
      'gpg pass',
      '--armor',
      '--export-secret-keys',
      'ops@example.com',
    ]);
    const identity = join(dir, 'ops.key.asc');
    await writeFile(identity, exported.stdoutBytes);
    const sealed = await gpg(
      ['--trust-model', 'always', '--recipient', 'ops@example.com', '--encrypt'],
      await run('gzip', ['-c'], { input: dumps[1] }).then((r) => r.stdoutBytes),
    );
    const key = 'stock/gpg-key.sql.gz.gpg';
    await putObject(key, sealed.stdoutBytes);
    const passphraseFile = join(dir, 'ops.pass');
    await writeFile(passphraseFile, 'gpg pass\n');
    // The first identity doesn't match and is not asked about; the second is unlocked with the file.
    const restored = await admin(
      [
        'restore',
        `s3://${target.bucket}/${key}`,
        '--identity',
        target.privateKey,
        '--identity',
        identity,
        '--passphrase-file',
        passphraseFile,
      ],
      {
        SEALDROP_PASSPHRASE: undefined,
      },
    );
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdoutBytes.equals(dumps[1]!)).toBe(true);
  });

  it('refuses with clear errors and documented exit codes', async () => {
    const other = await otherKey(dir);
    const cases: [string[], Record<string, string>, number, RegExp][] = [
      [
        ['--identity', `${other}.key.asc`],
        {},
        2,
        /is encrypted to key id [0-9A-F]{16}; none of the identities given opens it/,
      ],
      [
        ['--identity', target.privateKey],
        { SEALDROP_PASSPHRASE: 'wrong' },
        2,
        /the passphrase does not unlock/,
      ],
      [['--identity', target.publicKey], {}, 2, /is a public key; restore needs the private key/],
      [
        ['--identity', target.privateKey, '--version-id', 'no-such-version'],
        {},
        1,
        /has no version no-such-version/,
      ],
      [
        ['--identity', target.privateKey, '--version-id', 'x', '--at', '1h'],
        {},
        2,
        /--version-id or --at, not both/,
      ],
      [
        ['--identity', target.privateKey, '--at', 'sometime last week'],
        {},
        2,
        /"sometime last week" is not a point in time/,
      ],
      [[], {}, 2, /no --identity given/],
    ];
    for (const [args, env, status, message] of cases) {
      const result = await admin(['restore', url, ...args, '--out', join(dir, 'never.sql')], env);
      expect(result.status, `${args.join(' ')}: ${result.stderr}`).toBe(status);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toContain('hint: ');
      expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
    }
    expect((await readdir(dir)).filter((name) => name.includes('never'))).toEqual([]);

    const missing = await admin([
      'restore',
      `s3://${target.bucket}/no/such/key`,
      '--identity',
      target.privateKey,
    ]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/does not exist/);
    const deleted = await admin([
      'restore',
      `s3://${target.bucket}/${DELETED_KEY}`,
      '--identity',
      target.privateKey,
    ]);
    expect(deleted.status).toBe(1);
    expect(deleted.stderr).toMatch(/is a delete marker/);
    expect(deleted.stderr).toMatch(/hint: Restore the version before it: --version-id \S+/);
    const existing = join(dir, 'precious.sql');
    await writeFile(existing, 'precious');
    const clobber = await admin(['restore', url, '--identity', target.privateKey, '--out', existing]);
    expect(clobber.status).toBe(2);
    expect(clobber.stderr).toMatch(/already exists; not overwriting it/);
    expect(await readFile(existing, 'utf8')).toBe('precious');
    const forced = await admin([
      'restore',
      url,
      '--identity',
      target.privateKey,
      '--out',
      existing,
      '--force',
    ]);
    expect(forced.status, forced.stderr).toBe(0);
    expect((await readFile(existing)).equals(dumps[1]!)).toBe(true);
  });
});

describe('verify', () => {
  it('verifies every version with sizes and durations; --json for scripts', async () => {
    const checked = await admin(['verify', url, '--identity', target.privateKey, '--all', '--json']);
    expect(checked.status, checked.stderr).toBe(0);
    const result = JSON.parse(checked.stdout);
    expect(result.failed).toBe(0);
    expect(result.checks.map((c: { snapshot: { versionId: string } }) => c.snapshot.versionId)).toEqual(
      pushed.map((v) => v.versionId), // oldest first: each is compared with the good one before it
    );
    expect(result.checks[1]).toMatchObject({
      ok: true,
      compression: 'gzip',
      plainBytes: dumps[1]!.length,
      encryptedBytes: pushed[1]!.size,
    });
    expect(result.checks[1].seconds).toBeGreaterThan(0);
  });

  it('refuses to run without --identity, or with /dev/null for one, saying why in its own words (exit 2)', async () => {
    const none = await admin(['verify', url]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/error: no --identity given: verify needs the private key\n {2}hint: /);
    const empty = await admin(['verify', url, '--identity', '/dev/null']);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/error: \/dev\/null holds no armored OpenPGP key: it is empty\n {2}hint: /);
    expect(empty.stderr).not.toMatch(/readKeys|armoredKeys/);
    expect(none.stdout + empty.stdout).toBe('');
  });
});

describe('status', () => {
  it('is OK (0) for a fresh backup, CRITICAL (2) past --max-age, WARNING (1) past --warn-age', async () => {
    const fresh = await admin(['status', url]);
    expect(fresh.status, fresh.stderr).toBe(0);
    expect(fresh.stdout).toMatch(
      new RegExp(
        `^SEALDROP OK - ${url}: latest .* ago, 2 backups \\| 'age'=\\d+s;;93600;0 'size'=\\d+B;;;0 'backups'=2;;;0\\nOK bucket \\S+: versioning Enabled; Object Lock off\\n$`,
      ),
    );
    await until(after(Date.parse(pushed[1]!.time) + 1500), 'the latest backup to be older than 1s');
    const stale = await admin(['status', url, '--max-age', '1s']);
    expect(stale.status).toBe(2);
    expect(stale.stdout).toMatch(/^SEALDROP CRITICAL - .*latest is [\dhmins ]+ old \(max 1s\)/);
    const warned = await admin(['status', url, '--warn-age', '1s']);
    expect(warned.status).toBe(1);
    expect(warned.stdout).toMatch(/^SEALDROP WARNING/);
    // The monitoring plugins' own flags: -w and -c are the warning and critical ages.
    const plugin = await admin(['status', url, '-w', '1s', '-c', '30d']);
    expect(plugin.status, plugin.stdout).toBe(1);
    expect((await admin(['status', url, '-w', '1s', '-c', '2s'])).status).toBe(2);
  });

  it('is UNKNOWN (3) for a missing key or an unreachable S3, CRITICAL when deleted', async () => {
    const missing = await admin(['status', `s3://${target.bucket}/no/such/key`]);
    expect(missing.status).toBe(3);
    expect(missing.stdout).toMatch(/^SEALDROP UNKNOWN - .*no such key/);
    const unreachable = await admin(['status', url, '--endpoint', 'http://127.0.0.1:9']);
    expect(unreachable.status).toBe(3);
    expect(unreachable.stdout).toMatch(/^SEALDROP UNKNOWN - .*can't tell/);
    const deleted = await admin(['status', `s3://${target.bucket}/${DELETED_KEY}`]);
    expect(deleted.status).toBe(2);
    expect(deleted.stdout).toMatch(/delete marker/);
    const badArgs = await admin(['status', url, '--max-age', 'forever']);
    expect(badArgs.status).toBe(3);
  });

  it('checks several targets (URLs and policy files), worst state wins; --json', async () => {
    const result = await admin([
      'status',
      url,
      `s3://${target.bucket}/no/such/key`,
      '--policy',
      target.policyPath,
      '--json',
    ]);
    expect(result.status).toBe(3);
    const json = JSON.parse(result.stdout);
    expect(json.state).toBe('UNKNOWN');
    expect(json.targets.map((t: { state: string }) => t.state)).toEqual(['OK', 'UNKNOWN', 'OK']);
    expect(json.targets[2]).toMatchObject({
      target: url,
      counts: { backups: 2 },
      latest: { versionId: pushed[1]!.versionId, size: pushed[1]!.size },
    });
    expect(json.targets[2].policyExpiresAt).toMatch(/^\d{4}-/);
    const human = await admin(['status', url, '--policy', target.policyPath]);
    expect(human.status).toBe(0);
    // The same backup named twice (its URL, its policy) counts once in the headline.
    expect(human.stdout.split('\n')[0]).toMatch(/^SEALDROP OK - 1 backup OK \| '/);
  });
});
