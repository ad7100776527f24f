// Policy files the admin can trust: the signature is checked where its credentials are, the recipients
// are bound into it (S3 enforces that), and `policy curl` puts nothing secret on a command line.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPolicyFile } from '../../src/admin/policies/mint.js';
import { parseS3Url } from '../../src/core/s3-url.js';
import { backupTarget, mint, oldPolicyFile, type BackupTarget } from '../support/backup-target.js';
import { run, runCli, tempDir } from '../support/cli.js';
import { listVersions, s3Env, withEnv } from '../support/s3.js';

let target: BackupTarget;
let otherKey: string;
/** The uploader's environment: the credentials that signed target's policy. */
let signerEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  target = await backupTarget('trust');
  const { uploader } = s3Env();
  signerEnv = withEnv({
    AWS_ACCESS_KEY_ID: uploader.accessKeyId,
    AWS_SECRET_ACCESS_KEY: uploader.secretAccessKey,
  });
  const generated = await runCli(
    ['key', 'generate', '--uid', 'Mallory <mallory@example.com>', '--out', join(target.dir, 'mallory')],
    { env: withEnv({ SEALDROP_PASSPHRASE: 'x' }) },
  );
  expect(generated.status, generated.stderr).toBe(0);
  otherKey = join(target.dir, 'mallory.pub.asc');
});

interface PolicyJson {
  url: string;
  fields: Record<string, string>;
  recipients: string[];
}

async function edited(path: string, change: (policy: PolicyJson) => void | Promise<void>): Promise<string> {
  const policy = JSON.parse(await readFile(path, 'utf8')) as PolicyJson;
  await change(policy);
  const out = join(target.dir, `edited-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(out, JSON.stringify(policy), { mode: 0o600 });
  return out;
}

/** The policy document and the key field rewritten together, as an attacker holding the file can. */
function moveKey(policy: PolicyJson, from: string, to: string): void {
  const document = Buffer.from(policy.fields.Policy!, 'base64').toString('utf8');
  policy.fields.Policy = Buffer.from(document.replaceAll(from, to)).toString('base64');
  policy.fields.key = policy.fields.key!.replace(from, to);
}

const curlPost = (fields: Record<string, string>, url: string, body: string) =>
  run(
    'curl',
    [
      '--silent',
      '--write-out',
      '\n%{http_code}',
      ...Object.entries(fields).flatMap(([k, v]) => ['--form-string', `${k}=${v}`]),
      '-F',
      'file=@-',
      url,
    ],
    { input: body },
  );

describe('recipients bound into the signed policy', () => {
  it('S3 refuses an upload that names other recipients than the policy was signed for', async () => {
    const policy = JSON.parse(await readFile(target.policyPath, 'utf8')) as PolicyJson;
    const field = 'x-amz-meta-sealdrop-recipients';
    expect(policy.fields[field]).toMatch(/^[0-9A-F]{40}$/);
    const before = (await listVersions(target.bucket, target.key)).length;
    const swapped = await curlPost({ ...policy.fields, [field]: '0'.repeat(40) }, policy.url, 'junk');
    expect(swapped.stdout.trim().split('\n').at(-1)).toBe('403');
    expect(swapped.stdout).toMatch(/AccessDenied/);
    const asSigned = await curlPost(policy.fields, policy.url, 'as signed');
    expect(asSigned.stdout.trim().split('\n').at(-1)).toBe('201');
    expect((await listVersions(target.bucket, target.key)).length).toBe(before + 1);
  });

  it('a swapped recipient is refused by push before any data is read, and by policy show', async () => {
    const mallory = await readFile(otherKey, 'utf8');
    const swapped = await edited(target.policyPath, (p) => void (p.recipients = [mallory]));
    const before = (await listVersions(target.bucket, target.key)).length;
    const pushed = await runCli(
      ['push', '--policy', swapped, '--', 'sh', '-c', 'echo never >&2; echo data'],
      {
        env: target.agentEnv,
      },
    );
    expect(pushed.status).toBe(2);
    expect(pushed.stderr).toMatch(/recipient [0-9A-F]{40} is not one the policy was signed for/);
    expect(pushed.stderr).not.toMatch(/never/);
    const added = await edited(target.policyPath, (p) => void p.recipients.push(mallory));
    const shown = await runCli(['policy', 'show', added], { env: target.agentEnv });
    expect(shown.status).toBe(2);
    expect(shown.stderr).toMatch(/recipient [0-9A-F]{40} is not one the policy was signed for/);
    expect((await listVersions(target.bucket, target.key)).length).toBe(before);
  });

  it('a policy file minted before the binding still loads and pushes; show says what it lacks', async () => {
    // What `policy mint` wrote before recipients were bound: no recipients field, no condition on it.
    const old = await oldPolicyFile(target, join(target.dir, 'old.policy.json'));
    const shown = await runCli(['policy', 'show', old], { env: signerEnv });
    expect(shown.status, shown.stderr).toBe(0);
    expect(shown.stdout + shown.stderr).toMatch(/signature: +verified/);
    expect(shown.stdout + shown.stderr).toMatch(/not bound to the signature: minted by an earlier sealdrop/);
    const pushed = await runCli(['push', '--policy', old], { input: 'old file', env: target.agentEnv });
    expect(pushed.status, pushed.stderr).toBe(0);
  });
});

describe('the signature, checked where its credentials are', () => {
  it('policy show says "verified" with the signer\'s credentials, and why not elsewhere', async () => {
    const verified = await runCli(['policy', 'show', target.policyPath, '--json'], { env: signerEnv });
    expect(verified.status, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ signature: 'verified', recipientsBound: true });
    const human = await runCli(['policy', 'show', target.policyPath], { env: signerEnv });
    expect(human.stdout + human.stderr).toMatch(/signature: +verified/);
    const admin = await runCli(['policy', 'show', target.policyPath], { env: target.adminEnv });
    expect(admin.status).toBe(0);
    expect(admin.stdout + admin.stderr).toMatch(
      new RegExp(
        `signature: +not checked: it was signed by ${s3Env().uploader.accessKeyId}, and the credentials here are ${s3Env().admin.accessKeyId}`,
      ),
    );
    const agent = await runCli(['policy', 'show', target.policyPath], {
      env: {
        ...target.agentEnv,
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
        AWS_CONFIG_FILE: '/nonexistent',
      },
    });
    expect(agent.status).toBe(0);
    expect(agent.stdout + agent.stderr).toMatch(/signature: +not checked: no AWS credentials here/);
  });

  it('refuses a policy whose document and fields were rewritten together (db1/ → db3/)', async () => {
    const tampered = await edited(target.policyPath, (p) => moveKey(p, 'db1/', 'db3/'));
    const shown = await runCli(['policy', 'show', tampered], { env: signerEnv });
    expect(shown.status).toBe(2);
    expect(shown.stderr).toMatch(/its signature does not match the policy it carries/);
    expect(shown.stdout + shown.stderr).not.toMatch(/db3\//);
    const versions = await runCli(['versions', '--policy', tampered], { env: signerEnv });
    expect(versions.status).toBe(2);
    expect(versions.stderr).toMatch(/signature does not match/);
  });

  it("refuses a policy re-signed with another secret under the signer's access key id", async () => {
    const { uploader, endpoint, region } = s3Env();
    const forger = new S3Client({
      endpoint,
      region,
      credentials: { accessKeyId: uploader.accessKeyId, secretAccessKey: 'not the secret' },
      forcePathStyle: true,
    });
    const forged = join(target.dir, 'forged.json');
    const created = await createPolicyFile(
      forger,
      { location: parseS3Url(`s3://${target.bucket}/db3/mysql.sql.gz.gpg`) },
      [{ armored: await readFile(target.publicKey, 'utf8'), source: target.publicKey }],
      forged,
    );
    await writeFile(forged, created.text, { mode: 0o600 });
    const shown = await runCli(['policy', 'show', forged], { env: signerEnv });
    expect(shown.status).toBe(2);
    expect(shown.stderr).toMatch(/signature does not match/);
    const restore = await runCli(
      ['restore', '--policy', forged, '--identity', target.privateKey, '--out', join(target.dir, 'x.sql')],
      { env: { ...signerEnv, SEALDROP_PASSPHRASE: target.passphrase } },
    );
    expect(restore.status).toBe(2);
    expect(restore.stderr).toMatch(/signature does not match/);
  });

  it('admin commands given --policy files they cannot check say so once (not with -q), then go on', async () => {
    const second = join(target.dir, 'second.json');
    await mint(`s3://${target.bucket}/db2/mysql.sql.gz.gpg`, [target.publicKey], second);
    const status = await runCli(['status', '--policy', target.policyPath, '--policy', second], {
      env: target.adminEnv,
    });
    expect(status.stderr.match(/note: can't check the signature/g)).toHaveLength(1);
    expect(status.stderr).toContain(target.policyPath);
    expect(status.stderr).toContain(second);
    expect(status.stdout).toMatch(/^SEALDROP /);
    // In cron (-q) the same check mails nothing: policy show and fleet check are where signatures are checked.
    const quiet = await runCli(['status', '--policy', target.policyPath, '-q'], { env: target.adminEnv });
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toMatch(/^SEALDROP /);
    // Signed with the admin's own credentials (as `fleet mint` does), the same command checks it silently.
    const own = join(target.dir, 'admin-signed.json');
    const minted = await runCli(
      [
        'policy',
        'mint',
        `s3://${target.bucket}/${target.key}`,
        '--recipient',
        target.publicKey,
        '--out',
        own,
      ],
      { env: target.adminEnv },
    );
    expect(minted.status, minted.stderr).toBe(0);
    const checked = await runCli(['versions', '--policy', own], { env: target.adminEnv });
    expect(checked.status, checked.stderr).toBe(0);
    expect(checked.stderr).not.toMatch(/signature/);
  });

  it("checks the signature through the command's own --endpoint, not the environment's", async () => {
    const own = join(target.dir, 'admin-signed-endpoint.json');
    const mintArgs = [
      'policy',
      'mint',
      `s3://${target.bucket}/${target.key}`,
      '--recipient',
      target.publicKey,
    ];
    const minted = await runCli([...mintArgs, '--out', own], { env: target.adminEnv });
    expect(minted.status, minted.stderr).toBe(0);
    const env = { ...target.adminEnv, AWS_ENDPOINT_URL: 'not-an-endpoint' };
    const versions = await runCli(['versions', '--policy', own, '--endpoint', s3Env().endpoint], { env });
    expect(versions.status, versions.stderr).toBe(0);
    expect(versions.stderr).not.toMatch(/not-an-endpoint|warning/);
  });

  it('policy show works where the AWS SDK is missing (an agent), saying it could not check', async () => {
    const dir = await tempDir();
    const hook = join(dir, 'no-sdk.mjs');
    const resolver = `export async function resolve(s, c, next) { if (/^@(aws-sdk|smithy)\\//.test(s)) throw new Error('not installed: ' + s); return next(s, c); }`;
    await writeFile(
      hook,
      `import { register } from 'node:module';\nregister(${JSON.stringify(`data:text/javascript,${encodeURIComponent(resolver)}`)});\n`,
    );
    const { CLI } = await import('../support/cli.js');
    const shown = await run(process.execPath, ['--import', hook, CLI, 'policy', 'show', target.policyPath], {
      env: signerEnv,
    });
    expect(shown.status, shown.stderr).toBe(0);
    expect(shown.stdout + shown.stderr).toMatch(/signature: +not checked: the AWS SDK is not installed here/);
  });
});

describe('policy renew', () => {
  it('re-mints a file in place with a later expiry; the renewed file uploads', async () => {
    const copy = join(target.dir, 'renewed.json');
    await writeFile(copy, await readFile(target.policyPath), { mode: 0o640 });
    const before = JSON.parse(await readFile(copy, 'utf8')) as PolicyJson;
    const renewed = await runCli(['policy', 'renew', copy, '--expires', '2h', '--json'], { env: signerEnv });
    expect(renewed.status, renewed.stderr).toBe(0);
    const [result] = JSON.parse(renewed.stdout);
    expect(Date.parse(result.expiresAt) - Date.now()).toBeGreaterThan(3_600_000);
    expect(renewed.stderr).toMatch(/Renewed .*renewed\.json: expires /);
    expect((await stat(copy)).mode & 0o777).toBe(0o640);
    const after = JSON.parse(await readFile(copy, 'utf8')) as PolicyJson;
    expect(after.fields.key).toBe(before.fields.key);
    expect(after.recipients).toEqual(before.recipients);
    expect(after.fields['X-Amz-Signature']).not.toBe(before.fields['X-Amz-Signature']);
    expect(renewed.stderr).not.toMatch(/signed by/); // the signer's own credentials
    // The signer (the uploader) reads the bucket policy, where revocations live: renew knows.
    expect(renewed.stderr).not.toMatch(/could not tell whether it is revoked/);
    const pushed = await runCli(['push', '--policy', copy], { input: 'renewed', env: target.agentEnv });
    expect(pushed.status, pushed.stderr).toBe(0);
  });

  it('says so when other credentials renew a file: the signer changes', async () => {
    const copy = join(target.dir, 'renewed-by-admin.json');
    await writeFile(copy, await readFile(target.policyPath), { mode: 0o600 });
    const renewed = await runCli(['policy', 'renew', copy], { env: target.adminEnv });
    expect(renewed.status, renewed.stderr).toBe(0);
    expect(renewed.stderr).toMatch(
      /warning: .*: it was signed by \S+; renewed, it is signed by \S+ \(these credentials\)/,
    );
  });
});

describe('policy curl', () => {
  it('writes a 0600 curl config; `curl --config` uploads stdin with nothing secret in argv', async () => {
    const config = join(target.dir, 'db1.curl');
    const written = await runCli(['policy', 'curl', target.policyPath, '--out', config], {
      env: target.agentEnv,
    });
    expect(written.status, written.stderr).toBe(0);
    expect((await stat(config)).mode & 0o777).toBe(0o600);
    const { fields } = JSON.parse(await readFile(target.policyPath, 'utf8')) as PolicyJson;
    const text = await readFile(config, 'utf8');
    expect(text).toContain(fields['X-Amz-Signature']);
    for (const output of [written.stdout, written.stderr]) {
      expect(output).not.toContain(fields['X-Amz-Signature']);
      expect(output).not.toContain(fields.Policy!.slice(0, 40));
    }
    const before = (await listVersions(target.bucket, target.key)).length;
    // The whole command line: curl and the config's name.
    const uploaded = await run('curl', ['--config', config], { input: 'via curl' });
    expect(uploaded.status, uploaded.stdout + uploaded.stderr).toBe(0);
    expect((await listVersions(target.bucket, target.key)).length).toBe(before + 1);
    const again = await runCli(['policy', 'curl', target.policyPath, '--out', config], {
      env: target.agentEnv,
    });
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
  });

  it('refuses a prefix policy with the reason', async () => {
    const prefix = join(target.dir, 'prefix.json');
    await mint(`s3://${target.bucket}/runs/`, [target.publicKey], prefix);
    const refused = await runCli(['policy', 'curl', prefix], { env: target.agentEnv });
    expect(refused.status).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      /is a prefix policy: a curl upload would store one object that is not a run/,
    );
  });
});
