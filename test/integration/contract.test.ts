// The output contract, as a script sees it: listings on stdout, one JSON document with --json whether
// the command succeeds or fails, one duration grammar, no stack trace for anything a user can cause, and
// hints that point the right way.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { backupTarget, type BackupTarget } from '../support/backup-target.js';
import { CLI, run, runCli, tempDir, type CliResult } from '../support/cli.js';
import { s3Env, withEnv } from '../support/s3.js';

let target: BackupTarget;
let url: string;
let dir: string;

const admin = (args: string[], env: Record<string, string | undefined> = {}) =>
  runCli(args, { env: { ...target.adminEnv, ...env } });

function expectOneJsonDocument(result: CliResult): Record<string, unknown> {
  const document = JSON.parse(result.stdout) as Record<string, unknown>;
  expect(typeof document).toBe('object');
  return document;
}

function expectNoTrace(result: CliResult): void {
  expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
}

beforeAll(async () => {
  target = await backupTarget('contract');
  url = `s3://${target.bucket}/${target.key}`;
  dir = await tempDir('sealdrop-contract-');
  for (const night of ['one', 'two']) {
    const pushed = await runCli(['push', '--policy', target.policyPath, '-q'], {
      input: `-- dump ${night}\n`.repeat(500),
      env: target.agentEnv,
    });
    expect(pushed.status, pushed.stderr).toBe(0);
  }
});

describe('stdout carries what a command produces', () => {
  it.each([
    ['versions', () => ['versions', url]],
    ['prune (dry run)', () => ['prune', url, '--keep-daily', '7']],
    ['verify', () => ['verify', url, '--identity', target.privateKey]],
    ['policy show', () => ['policy', 'show', target.policyPath]],
    ['key show', () => ['key', 'show', target.publicKey]],
    ['status', () => ['status', url]],
    ['ls', () => ['ls', `s3://${target.bucket}`]],
  ])('%s: its listing survives 2>/dev/null', async (_name, args) => {
    const result = await admin(args());
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n').length).toBeGreaterThan(0);
    expect(result.stdout.trim()).not.toBe('');
  });

  it('`versions | grep complete` counts the backups', async () => {
    const result = await run(
      'bash',
      ['-c', `"${process.execPath}" "${CLI}" versions "${url}" | grep -c complete`],
      {
        env: target.adminEnv,
      },
    );
    expect(result.stdout.trim()).toBe('3'); // the summary line and two rows
  });

  it('push prints its summary on stderr, and nothing on stdout', async () => {
    const pushed = await runCli(['push', '--policy', target.policyPath], {
      input: 'x\n',
      env: target.agentEnv,
    });
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(pushed.stdout).toBe('');
    expect(pushed.stderr).toMatch(/^Stored s3:\/\//m);
  });
});

describe('--json: one document on stdout, success or failure', () => {
  const missing = () => `s3://${target.bucket}/no/such/key`;
  const cases: [string, () => string[], () => string[]][] = [
    [
      'key generate',
      () => [
        'key',
        'generate',
        '--uid',
        'J <j@example.com>',
        '--out',
        join(dir, `k-${Date.now()}`),
        '--no-passphrase',
        '--json',
      ],
      () => [
        'key',
        'generate',
        '--uid',
        'J <j@example.com>',
        '--out',
        target.publicKey.replace(/\.pub\.asc$/, ''),
        '--no-passphrase',
        '--json',
      ],
    ],
    [
      'key show',
      () => ['key', 'show', target.publicKey, '--json'],
      () => ['key', 'show', join(dir, 'nope.asc'), '--json'],
    ],
    [
      'policy show',
      () => ['policy', 'show', target.policyPath, '--json'],
      () => ['policy', 'show', join(dir, 'nope.json'), '--json'],
    ],
    [
      'setup',
      () => ['setup', `s3://${target.bucket}`, '--json'],
      () => ['setup', `s3://no-such-bucket-${Date.now()}`, '--json'],
    ],
    [
      'versions',
      () => ['versions', url, '--json'],
      () => ['versions', url, '--endpoint', 'http://127.0.0.1:9', '--json'],
    ],
    [
      'restore',
      () => [
        'restore',
        url,
        '--identity',
        target.privateKey,
        '--out',
        join(dir, `r-${Date.now()}.sql`),
        '--json',
      ],
      () => [
        'restore',
        missing(),
        '--identity',
        target.privateKey,
        '--out',
        join(dir, 'never.sql'),
        '--json',
      ],
    ],
    [
      'verify',
      () => ['verify', url, '--identity', target.privateKey, '--json'],
      () => ['verify', missing(), '--identity', target.privateKey, '--json'],
    ],
    ['prune', () => ['prune', url, '--keep-daily', '7', '--json'], () => ['prune', url, '--json']],
    ['status', () => ['status', url, '--json'], () => ['status', url, '--max-age', 'soon', '--json']],
    [
      'ls',
      () => ['ls', `s3://${target.bucket}`, '--json'],
      () => ['ls', `s3://no-such-bucket-${Date.now()}`, '--json'],
    ],
  ];

  it.each(cases)('%s', async (_name, good, bad) => {
    const ok = await admin(good());
    expect(ok.status, ok.stderr).toBe(0);
    expect(expectOneJsonDocument(ok)).not.toHaveProperty('error');
    const failed = await admin(bad());
    expect(failed.status).not.toBe(0);
    const document = expectOneJsonDocument(failed);
    expect(document.error).toEqual({
      code: expect.any(String),
      message: expect.any(String),
      hint: expect.any(String),
      exitStatus: failed.status,
    });
    expectNoTrace(failed);
  });

  it('push, success and failure (a dump command that fails)', async () => {
    const ok = await runCli(['push', '--policy', target.policyPath, '--json'], {
      input: 'x\n',
      env: target.agentEnv,
    });
    expect(ok.status, ok.stderr).toBe(0);
    expect(expectOneJsonDocument(ok)).toMatchObject({ bucket: target.bucket });
    const failed = await runCli(['push', '--policy', target.policyPath, '--json', '--', 'false'], {
      env: target.agentEnv,
    });
    expect(failed.status).toBe(1);
    expect(expectOneJsonDocument(failed)).toMatchObject({ error: { code: 'DUMP_FAILED', exitStatus: 1 } });
  });

  it('a usage error commander finds is a document too', async () => {
    const failed = await admin(['versions', url, '--json', '--no-such-option']);
    expect(failed.status).toBe(2);
    expect(expectOneJsonDocument(failed)).toMatchObject({ error: { code: 'USAGE', exitStatus: 2 } });
  });
});

describe('one duration grammar', () => {
  it.each([
    // A calendar span takes months: the hint names both.
    [['prune', 'URL', '--keep-within', '30m'], 2, /hint: Write 30min for minutes or 30mo for months/],
    // A length of time refuses months: the hint names min alone.
    [
      ['policy', 'mint', 'URL', '--recipient', 'PUB', '--out', 'OUT', '--expires', '30m'],
      2,
      /hint: Write 30min for minutes\.$/m,
    ],
    // A monitoring check that can't start is UNKNOWN.
    [['status', 'URL', '--max-age', '30m'], 3, /hint: Write 30min for minutes\.$/m],
  ])('refuses a bare m in %j with a hint naming what the option takes', async (args, status, hint) => {
    const filled = args.map(
      (a) => ({ URL: url, PUB: target.publicKey, OUT: join(dir, 'never.json') })[a] ?? a,
    );
    const result = await admin(filled);
    expect(result.status).toBe(status);
    expect(result.stderr).toMatch(hint);
  });

  it('takes 30min where a length is meant and 30mo where a calendar span is', async () => {
    expect((await admin(['status', url, '--max-age', '30min'])).status).toBe(0);
    expect((await admin(['prune', url, '--keep-within', '30mo'])).status).toBe(0);
    const minted = await admin([
      'policy',
      'mint',
      url,
      '--recipient',
      target.publicKey,
      '--out',
      join(dir, 'p30.json'),
      '--expires',
      '30min',
    ]);
    expect(minted.status, minted.stderr).toBe(0);
  });
});

describe('no stack trace for anything a user can cause', () => {
  it('an address OpenPGP.js refuses in key generate: exit 2 and a hint', async () => {
    const result = await admin([
      'key',
      'generate',
      '--uid',
      'Probe <p@x>',
      '--out',
      join(dir, 'probe'),
      '--no-passphrase',
    ]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /--uid "Probe <p@x>" is not a user id[\s\S]*hint: Write a name and a full e-mail address/,
    );
    expectNoTrace(result);
  });

  it('`sealdrop --help | head -1`: exits quietly', async () => {
    const result = await run('bash', [
      '-c',
      `set -o pipefail; "${process.execPath}" "${CLI}" --help | head -1`,
    ]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: sealdrop/);
    expect(result.stderr).toBe('');
  });

  it('restore --out DIR --force: exit 2, the directory untouched', async () => {
    const out = join(dir, 'a-directory');
    await mkdir(out);
    const result = await admin(['restore', url, '--identity', target.privateKey, '--out', out, '--force']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--out .*a-directory is a directory; restore writes regular files only/);
    expect((await stat(out)).isDirectory()).toBe(true);
    expectNoTrace(result);
  });

  it('restore --out in a directory that does not exist: exit 2 before the download, naming it', async () => {
    const out = join(dir, 'no-such-dir', 'db1.sql');
    const result = await admin(['restore', url, '--identity', target.privateKey, '--out', out]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`--out ${out}: the directory ${join(dir, 'no-such-dir')} does not exist`);
    expect(result.stderr).not.toMatch(/sealdrop-partial/);
    expectNoTrace(result);
  });

  it('restore --out - streams to stdout, as - means in every stock tool', async () => {
    const result = await admin(['restore', url, '--identity', target.privateKey, '--out', '-', '-q']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.length).toBeGreaterThan(0);
    await expect(stat(join(process.cwd(), '-'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('an endpoint without a scheme: exit 2, and the hint writes it with one', async () => {
    const result = await admin(['versions', url, '--endpoint', '127.0.0.1:17480']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /not an http\(s\) URL[\s\S]*hint: Write the scheme too: --endpoint http:\/\/127\.0\.0\.1:17480/,
    );
    expectNoTrace(result);
  });
});

describe('hints that point the right way', () => {
  it('a wrong secret key: SignatureDoesNotMatch says the secret is wrong', async () => {
    const result = await admin(['versions', url], { AWS_SECRET_ACCESS_KEY: 'not-the-secret' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /SignatureDoesNotMatch[\s\S]*hint: The secret access key does not belong to this access key id/,
    );
  });

  it('a missing bucket is named, and the hint is not the command just run', async () => {
    const result = await admin(['versions', `s3://no-such-bucket-${process.pid}/k`]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`the bucket no-such-bucket-${process.pid} does not exist`));
    expect(result.stderr).not.toMatch(/hint: .*sealdrop versions/);
  });

  it('a missing AWS profile is named', async () => {
    const home = await tempDir('sealdrop-home-');
    const env = withEnv({
      HOME: home,
      AWS_PROFILE: 'backup-admin',
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
    });
    const result = await runCli(['versions', url], { env });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /the AWS profile "backup-admin" was not found[\s\S]*hint: .*\[backup-admin\]/,
    );
  });

  it('push --single-transaction without --: put -- before the dump command', async () => {
    const result = await runCli(
      ['push', '--policy', target.policyPath, 'mysqldump', '--single-transaction'],
      {
        env: target.agentEnv,
      },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /unknown option '--single-transaction'[\s\S]*hint: Put -- before the dump command/,
    );
  });
});

describe('conveniences', () => {
  it('key generate makes the folder of --out, private', async () => {
    const folder = join(dir, 'home', '.sealdrop');
    const result = await admin([
      'key',
      'generate',
      '--uid',
      'F <f@example.com>',
      '--out',
      join(folder, 'admin'),
      '--no-passphrase',
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect((await stat(folder)).mode & 0o777).toBe(0o700);
    expect((await stat(join(folder, 'admin.key.asc'))).mode & 0o777).toBe(0o600);
  });

  it('-v says what S3 requests were made, and no secret', async () => {
    const result = await admin(['versions', url, '-v']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      new RegExp(`^sealdrop: S3 ListObjectVersions ${target.bucket}/\\S+ -> 200 \\(\\d+ ms\\)$`, 'm'),
    );
    expect(result.stderr).not.toContain(s3Env().admin.secretAccessKey);
  });

  it('-q leaves only what the command produces', async () => {
    const result = await admin(['restore', url, '--identity', target.privateKey, '-q']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('SEALDROP_POLICY, SEALDROP_IDENTITY and SEALDROP_PASSPHRASE_FILE stand in for the options', async () => {
    const pushed = await runCli(['push', '-q'], {
      input: 'from env\n',
      env: { ...target.agentEnv, SEALDROP_POLICY: target.policyPath },
    });
    expect(pushed.status, pushed.stderr).toBe(0);
    const passphraseFile = join(dir, 'pass');
    await writeFile(passphraseFile, `${target.passphrase}\n`);
    const restored = await admin(['restore', '-q'], {
      SEALDROP_POLICY: target.policyPath,
      SEALDROP_IDENTITY: target.privateKey,
      SEALDROP_PASSPHRASE_FILE: passphraseFile,
      SEALDROP_PASSPHRASE: undefined,
    });
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toBe('from env\n');
    expect(await readFile(passphraseFile, 'utf8')).toBe(`${target.passphrase}\n`);
  });

  it('status takes its target from SEALDROP_POLICY when none is named, and stays a monitoring plugin', async () => {
    const fromEnv = await admin(['status'], { SEALDROP_POLICY: target.policyPath });
    expect(fromEnv.status, fromEnv.stdout + fromEnv.stderr).not.toBe(3);
    expect(fromEnv.stdout).toMatch(new RegExp(`^SEALDROP (OK|WARNING) - ${url}: latest `));
    // A target named on the command line wins: the variable is only the default.
    const named = await admin(['status', url], { SEALDROP_POLICY: join(dir, 'no-such.policy.json') });
    expect(named.stdout).toMatch(new RegExp(`^SEALDROP (OK|WARNING) - ${url}: latest `));
    // A file that can't be read is UNKNOWN (3), as for --policy: the check could not check.
    const missing = await admin(['status'], { SEALDROP_POLICY: join(dir, 'no-such.policy.json') });
    expect(missing.status).toBe(3);
    expect(missing.stdout).toMatch(/^SEALDROP UNKNOWN - .*no-such\.policy\.json/);
  });

  it('report takes its target from SEALDROP_POLICY when none is named, as status does', async () => {
    const out = join(dir, 'env-report.html');
    const fromEnv = await admin(['report', '--out', out], { SEALDROP_POLICY: target.policyPath });
    expect(fromEnv.status, fromEnv.stderr).toBe(0);
    expect(fromEnv.stderr).toMatch(/^Wrote .*env-report\.html \(.*\): 1 backup set, 1 (OK|WARNING)$/m);
    // The set is the policy's, with the policy's expiry: the file was read as --policy reads it.
    const html = await readFile(out, 'utf8');
    expect(html).toContain(`data-target="${url}"`);
    expect(html).toMatch(/policy <span class="">expires in 6d 23h/);
    // A target named on the command line, or a fleet, wins: the variable is only the default.
    const unreadable = { SEALDROP_POLICY: join(dir, 'no-such.policy.json') };
    const named = await admin(['report', url, '--out', out, '--force'], unreadable);
    expect(named.status, named.stderr).toBe(0);
    const fleet = join(dir, 'env-fleet.yaml');
    await writeFile(
      fleet,
      `fleet: 1\nbucket: ${target.bucket}\nendpoint: ${s3Env().endpoint}\nregion: ${s3Env().region}\nrecipients: [${target.publicKey}]\nhosts:\n  db: {key: ${target.key}}\n`,
    );
    const fleetReport = await admin(['report', '--fleet', fleet, '--out', out, '--force'], unreadable);
    expect(fleetReport.status, fleetReport.stderr).toBe(0);
    expect(await readFile(out, 'utf8')).toContain('data-host="db"');
    // A file that can't be read fails as --policy does (exit 2), and leaves no page.
    const missing = await admin(['report', '--out', join(dir, 'none.html')], unreadable);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/error: .*no-such\.policy\.json does not exist/);
    await expect(stat(join(dir, 'none.html'))).rejects.toThrow();
  });
});
