// Cutting a host off now: fleet revoke / policy revoke add a Deny to the bucket policy, which the real
// S3 server applies to the host's POST uploads at once; the host's successor is removed and publish skips
// it; unrevoke takes exactly that statement out again. Other statements of the bucket policy survive.
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DeleteBucketPolicyCommand,
  GetBucketPolicyCommand,
  ListObjectVersionsCommand,
  PutBucketPolicyCommand,
} from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { revocationStatement } from '../../src/core/revocation.js';
import { segmentFileName } from '../../src/core/wal.js';
import { agentEnv } from '../support/backup-target.js';
import { runCli, tempDir, type CliResult } from '../support/cli.js';
import { junkSegment } from '../support/pitr.js';
import { parsePluginOutput } from '../support/plugin-output.js';
import { adminClient, freshBucket, s3Env, userArn, withEnv } from '../support/s3.js';
import { until } from '../support/until.js';

interface Host {
  name: string;
  /** Its own policy file, as installed on it. */
  policy: string;
}

let dir: string;
let bucket: string;
let fleetFile: string;
let policyDir: string;
const hosts: Record<'alpha' | 'beta', Host> = {
  alpha: { name: 'alpha', policy: '' },
  beta: { name: 'beta', policy: '' },
};
const admin = () => withEnv({ SEALDROP_PASSPHRASE: 'revoke test' });

/** Somebody else's rule in the same bucket policy: revoke and unrevoke must leave it as it is. */
const UNRELATED = {
  Sid: 'AuditorMayReadReports',
  Effect: 'Allow',
  Principal: { AWS: [userArn('sealdrop-admin')] },
  Action: ['s3:GetObject'],
  Resource: ['arn:aws:s3:::BUCKET/reports/*'],
};

interface PolicyDocument {
  Version?: string;
  Statement: { Sid?: string; Effect: string; Resource: unknown }[];
}

async function bucketPolicy(name = bucket): Promise<PolicyDocument | null> {
  try {
    const { Policy } = await adminClient().send(new GetBucketPolicyCommand({ Bucket: name }));
    return JSON.parse(Policy!) as PolicyDocument;
  } catch (error) {
    if ((error as Error).name === 'NoSuchBucketPolicy') return null;
    throw error;
  }
}

function push(host: Host, policy = host.policy): Promise<CliResult> {
  return runCli(['push', '--policy', policy, '--json', '--level', '1', '--spool-dir', dir], {
    input: `-- dump of ${host.name} at ${new Date().toISOString()}\n`,
    env: agentEnv(),
  });
}

/** Polls pushes until one is refused (`refused`) or lands; returns the last result. */
async function pushUntil(host: Host, refused: boolean, policy = host.policy): Promise<CliResult> {
  let last: CliResult | undefined;
  await until(
    async () => {
      last = await push(host, policy);
      return refused ? last.status !== 0 : last.status === 0;
    },
    `a push of ${host.name} to be ${refused ? 'refused' : 'accepted'}`,
    { timeoutMs: 30_000, everyMs: 200 },
  );
  return last!;
}

/** A fleet file's first lines: this file's bucket and admin key, the copies in `policyDir`. */
function fleetHead(policies: string): string {
  return `fleet: 1
bucket: ${bucket}
endpoint: ${s3Env().endpoint}
region: ${s3Env().region}
recipients: [keys/admin.pub.asc]
policyDir: ${policies}`;
}

async function renewalObjects(host: string): Promise<string[]> {
  const page = await adminClient().send(
    new ListObjectVersionsCommand({ Bucket: bucket, Prefix: `.sealdrop/renew/${host}-` }),
  );
  return [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => v.Key!);
}

beforeAll(async () => {
  dir = await tempDir('sealdrop-revoke-');
  bucket = await freshBucket('revoke');
  const setup = await runCli(
    ['setup', `s3://${bucket}`, '--uploader', userArn('sealdrop-uploader'), '--apply-bucket-policy'],
    { env: admin() },
  );
  expect(setup.status, setup.stderr).toBe(0);
  const existing = (await bucketPolicy())!;
  existing.Statement.push({
    ...UNRELATED,
    Resource: UNRELATED.Resource.map((r) => r.replace('BUCKET', bucket)),
  });
  await adminClient().send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(existing) }));
  await mkdir(join(dir, 'keys'));
  const made = await runCli(
    ['key', 'generate', '--uid', 'admin <admin@example.com>', '--out', join(dir, 'keys', 'admin')],
    { env: admin() },
  );
  expect(made.status, made.stderr).toBe(0);
  fleetFile = join(dir, 'fleet.yaml');
  policyDir = join(dir, 'policies');
  await writeFile(
    fleetFile,
    `${fleetHead('policies')}
defaults:
  expires: 1h
  renewWindow: 1h
  maxSize: 1MiB
  maxAge: 26h
  policyWarn: 5min      # the policies last an hour
  anomaly: {floodFactor: off}
hosts:
  alpha: {key: alpha/db.sql.gz.gpg}
  beta: {prefix: beta/runs/}
`,
  );
  const minted = await runCli(['fleet', 'mint', fleetFile], { env: admin() });
  expect(minted.status, minted.stderr).toBe(0);
  for (const host of Object.values(hosts)) {
    host.policy = join(dir, 'hosts', host.name, 'policy.json');
    await mkdir(join(dir, 'hosts', host.name), { recursive: true });
    await copyFile(join(policyDir, `${host.name}.policy.json`), host.policy);
    await chmod(host.policy, 0o600);
    const pushed = await push(host);
    expect(pushed.status, pushed.stderr).toBe(0);
  }
  const published = await runCli(['fleet', 'publish', fleetFile], { env: admin() });
  expect(published.status, published.stderr).toBe(0);
  expect(await renewalObjects('alpha')).toHaveLength(1);
}, 300_000);

describe('the local S3 server', () => {
  it('applies a bucket-policy Deny of s3:PutObject (Principal *) to POST uploads', async () => {
    const other = await freshBucket('revoke-probe');
    const policy = join(dir, 'probe.policy.json');
    const minted = await runCli(
      [
        'policy',
        'mint',
        `s3://${other}/probe/db.sql.gz.gpg`,
        '--recipient',
        join(dir, 'keys', 'admin.pub.asc'),
        '--out',
        policy,
      ],
      { env: admin() },
    );
    expect(minted.status, minted.stderr).toBe(0);
    const probe = { name: 'probe', policy };
    expect((await push(probe)).status).toBe(0);
    await adminClient().send(
      new PutBucketPolicyCommand({
        Bucket: other,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'ProbeDeny',
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:PutObject',
              Resource: `arn:aws:s3:::${other}/probe/db.sql.gz.gpg`,
            },
          ],
        }),
      }),
    );
    const refused = await pushUntil(probe, true);
    expect(refused.stderr).toMatch(/403|AccessDenied/);
    await adminClient().send(new DeleteBucketPolicyCommand({ Bucket: other }));
    await pushUntil(probe, false);
  });
});

describe('fleet revoke', () => {
  let before: PolicyDocument;

  it('without --yes prints the statement and the resulting policy, and changes nothing', async () => {
    before = (await bucketPolicy())!;
    const planned = await runCli(['fleet', 'revoke', fleetFile, 'alpha'], { env: admin() });
    expect(planned.status, planned.stderr).toBe(0);
    expect(planned.stdout).toMatch(/"Effect": "Deny"/);
    expect(planned.stdout).toContain(`"Resource": "arn:aws:s3:::${bucket}/alpha/db.sql.gz.gpg"`);
    expect(planned.stdout).toContain('AuditorMayReadReports'); // the resulting policy, whole
    expect(planned.stderr).toMatch(/dry run/i);
    expect(await bucketPolicy()).toEqual(before);
    expect(await renewalObjects('alpha')).toHaveLength(1);
    expect((await push(hosts.alpha)).status).toBe(0);
  });

  it('--yes denies the host its next push within seconds; the other host goes on', async () => {
    const revoked = await runCli(['fleet', 'revoke', fleetFile, 'alpha', '--yes', '--json'], {
      env: admin(),
    });
    expect(revoked.status, revoked.stderr).toBe(0);
    const result = JSON.parse(revoked.stdout);
    expect(result).toMatchObject({
      dryRun: false,
      host: 'alpha',
      target: `s3://${bucket}/alpha/db.sql.gz.gpg`,
      already: false,
      added: [
        {
          Sid: expect.stringMatching(/^SealdropRevoke/),
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:PutObject',
          Resource: `arn:aws:s3:::${bucket}/alpha/db.sql.gz.gpg`,
        },
      ],
    });
    const refused = await pushUntil(hosts.alpha, true);
    expect(refused.stderr).toMatch(/403|AccessDenied/);
    expect((await push(hosts.beta)).status).toBe(0);
    // Every earlier statement is still there, unchanged.
    const after = (await bucketPolicy())!;
    expect(after.Statement.slice(0, before.Statement.length)).toEqual(before.Statement);
    expect(after.Statement).toHaveLength(before.Statement.length + 1);
  });

  it("removes the host's published successor, and says so when run again", async () => {
    expect(await renewalObjects('alpha')).toEqual([]);
    expect(await renewalObjects('beta')).toHaveLength(1);
    const again = await runCli(['fleet', 'revoke', fleetFile, 'alpha', '--yes'], { env: admin() });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/alpha is already revoked \(since \d{4}-/);
    expect((await bucketPolicy())!.Statement).toHaveLength(before.Statement.length + 1);
  });

  it('fleet publish skips the revoked host and publishes the others', async () => {
    const published = await runCli(['fleet', 'publish', fleetFile, '--json'], { env: admin() });
    expect(published.status, published.stderr).toBe(0);
    expect(published.stderr).toMatch(/skipped alpha: revoked since \d{4}-/);
    const result = JSON.parse(published.stdout);
    expect(result.hosts.map((h: { host: string }) => h.host)).toEqual(['beta']);
    expect(result.skipped).toEqual([{ host: 'alpha', reason: expect.stringMatching(/^revoked since/) }]);
    expect(await renewalObjects('alpha')).toEqual([]);
  });

  it('fleet status shows the host REVOKED, without paging for it', async () => {
    const checked = await runCli(['fleet', 'status', fleetFile], { env: admin() });
    expect(checked.status, checked.stdout + checked.stderr).toBe(0);
    const output = parsePluginOutput(checked.stdout);
    expect(output.longText.find((l) => l.startsWith('OK alpha '))).toMatch(/REVOKED since \d{4}-/);
    expect(output.longText.find((l) => l.startsWith('OK beta '))).not.toMatch(/REVOKED/);
    const json = JSON.parse(
      (await runCli(['fleet', 'status', fleetFile, '--json'], { env: admin() })).stdout,
    );
    const alpha = json.targets.find((t: { host: string }) => t.host === 'alpha');
    expect(alpha).toMatchObject({ state: 'OK', revokedAt: expect.stringMatching(/^\d{4}-/) });
    expect(json.targets.find((t: { host: string }) => t.host === 'beta').revokedAt).toBeNull();
  });

  it('ls --fleet marks the revoked host REVOKED on its row, as fleet status dates it, and only it', async () => {
    const listed = await runCli(['ls', '--fleet', fleetFile], { env: admin() });
    expect(listed.status, listed.stderr).toBe(0);
    const row = (host: string) => listed.stdout.split('\n').find((line) => line.includes(`  ${host}  `));
    const status = JSON.parse(
      (await runCli(['fleet', 'status', fleetFile, '--json'], { env: admin() })).stdout,
    );
    const since = status.targets.find((t: { host: string }) => t.host === 'alpha').revokedAt as string;
    expect(row('alpha')).toMatch(
      new RegExp(`^key .* alpha +s3://${bucket}/alpha/db\\.sql\\.gz\\.gpg +\\(REVOKED since ${since}\\)$`),
    );
    expect(row('beta')).toMatch(/ beta +s3:/);
    expect(row('beta')).not.toMatch(/REVOKED/);
    const json = JSON.parse((await runCli(['ls', '--fleet', fleetFile, '--json'], { env: admin() })).stdout);
    const set = (host: string) => json.sets.find((s: { host?: string }) => s.host === host);
    expect(set('alpha')).toMatchObject({ revokedAt: since, notes: [`REVOKED since ${since}`] });
    expect(set('beta')).toMatchObject({ revokedAt: null });
  });

  it('refuses a host not in the fleet, and credentials that may not change the bucket policy', async () => {
    const unknown = await runCli(['fleet', 'revoke', fleetFile, 'gamma', '--yes'], { env: admin() });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/error: gamma is not a host of .*fleet\.yaml/);
    expect(unknown.stderr).toMatch(/hint: .*alpha, beta/);
    const { uploader } = s3Env();
    const denied = await runCli(['fleet', 'revoke', fleetFile, 'beta', '--yes'], {
      env: withEnv({
        AWS_ACCESS_KEY_ID: uploader.accessKeyId,
        AWS_SECRET_ACCESS_KEY: uploader.secretAccessKey,
      }),
    });
    expect(denied.status).toBe(1);
    expect(denied.stderr).toMatch(/error: .*bucket policy.*403/);
    expect(denied.stderr).toMatch(/hint: .*s3:(Get|Put)BucketPolicy/);
    for (const failed of [unknown, denied]) expect(failed.stderr).not.toMatch(/\n\s+at /);
    expect((await push(hosts.beta)).status).toBe(0);
  });

  it('fleet unrevoke removes exactly its statement; pushes land again', async () => {
    const undone = await runCli(['fleet', 'unrevoke', fleetFile, 'alpha', '--yes', '--json'], {
      env: admin(),
    });
    expect(undone.status, undone.stderr).toBe(0);
    expect(JSON.parse(undone.stdout)).toMatchObject({
      dryRun: false,
      host: 'alpha',
      removed: [expect.objectContaining({ Sid: expect.stringMatching(/^SealdropRevoke/) })],
    });
    expect(await bucketPolicy()).toEqual(before);
    await pushUntil(hosts.alpha, false);
    const listed = await runCli(['ls', '--fleet', fleetFile], { env: admin() });
    expect(listed.stdout).toMatch(/ alpha +s3:/);
    expect(listed.stdout).not.toMatch(/REVOKED/);
    const again = await runCli(['fleet', 'unrevoke', fleetFile, 'alpha', '--yes'], { env: admin() });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/alpha is not revoked/);
    const published = await runCli(['fleet', 'publish', fleetFile], { env: admin() });
    expect(published.status, published.stderr).toBe(0);
    expect(await renewalObjects('alpha')).toHaveLength(1);
  });
});

describe('policy revoke', () => {
  it("cuts off a prefix policy's host by its file; unrevoke restores the bucket policy", async () => {
    const before = await bucketPolicy();
    const copy = join(policyDir, 'beta.policy.json');
    const revoked = await runCli(['policy', 'revoke', copy, '--yes', '--json'], { env: admin() });
    expect(revoked.status, revoked.stderr).toBe(0);
    expect(JSON.parse(revoked.stdout).added[0].Resource).toBe(`arn:aws:s3:::${bucket}/beta/runs/*`);
    await pushUntil(hosts.beta, true);
    expect((await push(hosts.alpha)).status).toBe(0);
    expect(await renewalObjects('beta')).toEqual([]);
    const undone = await runCli(['policy', 'unrevoke', copy, '--yes'], { env: admin() });
    expect(undone.status, undone.stderr).toBe(0);
    expect(await bucketPolicy()).toEqual(before);
    await pushUntil(hosts.beta, false);
  });

  it('makes a bucket policy where there was none, and deletes it when its statement was the last', async () => {
    const other = await freshBucket('revoke-bare');
    const policy = join(dir, 'bare.policy.json');
    const minted = await runCli(
      [
        'policy',
        'mint',
        `s3://${other}/bare/db.sql.gz.gpg`,
        '--recipient',
        join(dir, 'keys', 'admin.pub.asc'),
        '--out',
        policy,
      ],
      { env: admin() },
    );
    expect(minted.status, minted.stderr).toBe(0);
    const bare = { name: 'bare', policy };
    const planned = await runCli(['policy', 'revoke', policy], { env: admin() });
    expect(planned.status, planned.stderr).toBe(0);
    expect(planned.stderr).toMatch(/no bucket policy yet/);
    expect(await bucketPolicy(other)).toBeNull();
    const revoked = await runCli(['policy', 'revoke', policy, '--yes'], { env: admin() });
    expect(revoked.status, revoked.stderr).toBe(0);
    expect((await bucketPolicy(other))!.Statement).toHaveLength(1);
    await pushUntil(bare, true);
    const undone = await runCli(['policy', 'unrevoke', policy, '--yes'], { env: admin() });
    expect(undone.status, undone.stderr).toBe(0);
    expect(undone.stderr).toMatch(/deleted the bucket policy/);
    expect(await bucketPolicy(other)).toBeNull();
    await pushUntil(bare, false);
  });
});

// A PostgreSQL host uploads to two places: its base backups (its policy from fleet mint) and its WAL
// archive (a prefix policy minted by hand). Cutting it off must cut off both, or `pg restore --to latest`
// replays whatever it archives afterwards.
describe('fleet revoke of a host with a WAL archive', () => {
  const pg: Host = { name: 'pg', policy: '' };
  let pgFleet: string;
  let walPolicy: string;
  let before: PolicyDocument;
  let segno = 1;

  /** The host's `wal push` of its next segment, with the WAL policy it holds. */
  async function walPush(): Promise<CliResult> {
    const dataDir = await tempDir('sealdrop-revoke-wal-');
    const name = segmentFileName(1, segno++);
    await mkdir(join(dataDir, 'pg_wal', 'archive_status'), { recursive: true });
    await writeFile(join(dataDir, 'pg_wal', name), junkSegment());
    return runCli(['wal', 'push', '--policy', walPolicy, `pg_wal/${name}`], {
      env: agentEnv(),
      cwd: dataDir,
    });
  }

  async function walPushUntil(refused: boolean): Promise<CliResult> {
    let last: CliResult | undefined;
    await until(
      async () => {
        last = await walPush();
        return refused ? last.status !== 0 : last.status === 0;
      },
      `a WAL push of pg to be ${refused ? 'refused' : 'accepted'}`,
      { timeoutMs: 30_000, everyMs: 200 },
    );
    return last!;
  }

  async function fleetStatusJson() {
    const checked = await runCli(['fleet', 'status', pgFleet, '--json'], { env: admin() });
    const json = JSON.parse(checked.stdout) as {
      targets: { target: string; state: string; reasons: string[]; revokedAt: string | null }[];
    };
    const line = (suffix: string) => json.targets.find((t) => t.target.endsWith(suffix))!;
    return { status: checked.status, base: line('/pg/base/'), wal: line('/pg/wal/') };
  }

  beforeAll(async () => {
    pgFleet = join(dir, 'pg-fleet.yaml');
    await writeFile(
      pgFleet,
      `${fleetHead('pg-policies')}
defaults: {expires: 1h, renewWindow: 1h, policyWarn: 5min, anomaly: {floodFactor: off}}
hosts:
  pg: {prefix: pg/base/, wal: pg/wal/, maxAge: 8d}
`,
    );
    const minted = await runCli(['fleet', 'mint', pgFleet], { env: admin() });
    expect(minted.status, minted.stderr).toBe(0);
    pg.policy = join(dir, 'hosts', 'pg', 'policy.json');
    await mkdir(join(dir, 'hosts', 'pg'), { recursive: true });
    await copyFile(join(dir, 'pg-policies', 'pg.policy.json'), pg.policy);
    await chmod(pg.policy, 0o600);
    walPolicy = join(dir, 'pg-wal.policy.json');
    const walMinted = await runCli(
      [
        'policy',
        'mint',
        `s3://${bucket}/pg/wal/`,
        '--recipient',
        join(dir, 'keys', 'admin.pub.asc'),
        '--name',
        'pg',
        '--out',
        walPolicy,
      ],
      { env: admin() },
    );
    expect(walMinted.status, walMinted.stderr).toBe(0);
    expect((await push(pg)).status).toBe(0);
    const archived = await walPush();
    expect(archived.status, archived.stderr).toBe(0);
    before = (await bucketPolicy())!;
  }, 120_000);

  it('--yes denies its WAL archive as well as its backups, in one change of the bucket policy', async () => {
    const revoked = await runCli(['fleet', 'revoke', pgFleet, 'pg', '--yes', '--json'], { env: admin() });
    expect(revoked.status, revoked.stderr).toBe(0);
    const refused = await walPushUntil(true);
    expect(refused.stderr).toMatch(/403|AccessDenied/);
    expect((await push(pg)).status).not.toBe(0);
    const result = JSON.parse(revoked.stdout);
    expect(result.targets).toEqual([`s3://${bucket}/pg/base/`, `s3://${bucket}/pg/wal/`]);
    expect(result.added.map((s: { Resource: string }) => s.Resource)).toEqual([
      `arn:aws:s3:::${bucket}/pg/base/*`,
      `arn:aws:s3:::${bucket}/pg/wal/*`,
    ]);
    expect(revoked.stderr).toContain(`s3://${bucket}/pg/wal/`);
    const after = (await bucketPolicy())!;
    expect(after.Statement).toHaveLength(before.Statement.length + 2);
  });

  it('fleet status shows the WAL archive REVOKED beside its backups', async () => {
    const { base, wal } = await fleetStatusJson();
    expect(base.revokedAt).toMatch(/^\d{4}-/);
    expect(wal).toMatchObject({ state: 'OK', revokedAt: base.revokedAt });
    expect(wal.reasons[0]).toMatch(/^REVOKED since \d{4}-/);
  });

  it('ls --fleet marks its WAL archive REVOKED beside its backups', async () => {
    const { base } = await fleetStatusJson();
    const listed = await runCli(['ls', '--fleet', pgFleet, '--json'], { env: admin() });
    expect(listed.status, listed.stderr).toBe(0);
    const rows = JSON.parse(listed.stdout).sets.filter((s: { host?: string }) => s.host === 'pg');
    expect(rows.map((r: { kind: string; revokedAt: string }) => [r.kind, r.revokedAt])).toEqual([
      ['run', base.revokedAt],
      ['wal', base.revokedAt],
    ]);
    const text = await runCli(['ls', '--fleet', pgFleet], { env: admin() });
    expect(text.stdout).toMatch(
      new RegExp(`^wal .* pg +s3://${bucket}/pg/wal/ +\\(REVOKED since ${base.revokedAt}`, 'm'),
    );
  });

  it('fleet status pages for a WAL upload after the revocation, as for a backup', async () => {
    // The Deny taken out by someone, a segment archived, the Deny put back dated an hour earlier: what
    // the admin sees when the host archived long after it was cut off.
    await adminClient().send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(before) }));
    await walPushUntil(false);
    const anHourAgo = new Date(Date.now() - 3600_000);
    const backdated = ['pg/base/', 'pg/wal/'].map((key) =>
      revocationStatement({ bucket, key, isPrefix: true }, anHourAgo),
    );
    await adminClient().send(
      new PutBucketPolicyCommand({
        Bucket: bucket,
        Policy: JSON.stringify({ ...before, Statement: [...before.Statement, ...backdated] }),
      }),
    );
    const { status, wal } = await fleetStatusJson();
    expect(status).toBe(2);
    expect(wal.state).toBe('CRITICAL');
    expect(wal.reasons.join('\n')).toMatch(/arrived \S+.* after the revocation/);
  });

  it('a host revoked in its backups alone pages for its open WAL archive, in fleet status and the report; revoking again closes it', async () => {
    // Its archive cut off alone (policy revoke of the WAL policy file) is a choice: nothing pages for it.
    await adminClient().send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(before) }));
    const walOnly = await runCli(['policy', 'revoke', walPolicy, '--yes'], { env: admin() });
    expect(walOnly.status, walOnly.stderr).toBe(0);
    const chosen = await fleetStatusJson();
    expect(chosen.wal.revokedAt).toMatch(/^\d{4}-/);
    expect(chosen.base).toMatchObject({ revokedAt: null });
    expect(chosen.base.reasons.join('\n')).not.toMatch(/not denied/);
    // As revoke left a PostgreSQL host before it covered WAL archives.
    const baseOnly = revocationStatement({ bucket, key: 'pg/base/', isPrefix: true }, new Date());
    await adminClient().send(
      new PutBucketPolicyCommand({
        Bucket: bucket,
        Policy: JSON.stringify({ ...before, Statement: [...before.Statement, baseOnly] }),
      }),
    );
    const { status, base, wal } = await fleetStatusJson();
    expect(status).toBe(2);
    expect(base.state).toBe('OK');
    expect(wal).toMatchObject({ state: 'CRITICAL', revokedAt: null });
    expect(wal.reasons.join('\n')).toMatch(
      /pg is revoked \(since .*\) but uploads here are not denied: run sealdrop fleet revoke .*pg-fleet\.yaml pg --yes again/,
    );
    // The report judges it as fleet status does, in the same words, where the admin looks.
    const out = join(dir, 'pg-report.html');
    const made = await runCli(['report', '--fleet', pgFleet, '--out', out, '--force'], { env: admin() });
    expect(made.status, made.stderr).toBe(0);
    expect(made.stderr).toMatch(/: 2 backup sets, 1 CRITICAL, 1 OK\n$/);
    const html = await readFile(out, 'utf8');
    const open = wal.reasons.find((reason) => reason.includes('not denied'))!;
    const section = new RegExp(
      `<section class="set (\\w+)"[^>]*data-target="s3://${bucket}/pg/wal/"[^]*?</section>`,
    ).exec(html);
    expect(section?.[1]).toBe('CRITICAL');
    expect(section?.[0]).toContain(`<li>${open}</li>`);
    const again = await runCli(['fleet', 'revoke', pgFleet, 'pg', '--yes', '--json'], { env: admin() });
    expect(again.status, again.stderr).toBe(0);
    const result = JSON.parse(again.stdout);
    expect(result).toMatchObject({ already: false });
    expect(result.added.map((s: { Resource: string }) => s.Resource)).toEqual([
      `arn:aws:s3:::${bucket}/pg/wal/*`,
    ]);
    await walPushUntil(true);
    expect((await fleetStatusJson()).wal.revokedAt).toMatch(/^\d{4}-/);
  });

  it('fleet unrevoke lets it archive again: both statements go', async () => {
    const undone = await runCli(['fleet', 'unrevoke', pgFleet, 'pg', '--yes', '--json'], { env: admin() });
    expect(undone.status, undone.stderr).toBe(0);
    expect(JSON.parse(undone.stdout).removed).toHaveLength(2);
    expect(await bucketPolicy()).toEqual(before);
    await walPushUntil(false);
    await pushUntil(pg, false);
  });
});
