// The read commands on a fleet host (--fleet FILE --host NAME), --at as people type it against a pinned
// clock (SEALDROP_NOW), and a push matched to its stored version by ETag and SHA-256: real S3 server.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { backupTarget, mint, type BackupTarget } from '../support/backup-target.js';
import { runCli, tempDir, type CliResult } from '../support/cli.js';
import { parsePluginOutput } from '../support/plugin-output.js';
import { s3Env } from '../support/s3.js';
import { nextSecond } from '../support/until.js';

interface Pushed {
  dump: string;
  etag: string | null;
  sha256: string;
  summary: string;
}

interface ListedVersion {
  versionId: string;
  time: string;
  etag?: string | null;
  sha256?: string | null;
}

const DAY = 86_400_000;

let target: BackupTarget;
let dir: string;
let fleetFile: string;
/** db1's two pushes (a key), oldest first, and db2's run (a prefix). */
const db1: Pushed[] = [];
let db2: Pushed & { runId: string };

/**
 * The admin's environment without the endpoint and region: what the read commands reach, they reach
 * through the fleet file's.
 */
function admin(args: string[], extra: Record<string, string> = {}): Promise<CliResult> {
  const env = { ...target.adminEnv, ...extra };
  delete env.AWS_ENDPOINT_URL;
  delete env.AWS_ENDPOINT_URL_S3;
  delete env.AWS_REGION;
  return runCli(args, { env });
}

const host = (name: string) => ['--fleet', fleetFile, '--host', name];
const identity = () => ['--identity', target.privateKey];

async function push(policy: string, dump: string): Promise<Pushed> {
  const result = await runCli(['push', '--policy', policy], { input: dump, env: target.agentEnv });
  expect(result.status, result.stderr).toBe(0);
  const field = (name: string) => new RegExp(`^\\s*${name}:?\\s+(\\S+)$`, 'm').exec(result.stderr)?.[1];
  const sha256 = field('sha256');
  expect(sha256, result.stderr).toMatch(/^[0-9a-f]{64}$/);
  // Distinct timestamps even on stores with one-second resolution.
  await nextSecond();
  return { dump, etag: field('etag') ?? null, sha256: sha256!, summary: result.stderr };
}

/** A Thursday noon UTC about `days` away from now, further away rather than nearer (the CLI runs in UTC). */
function thursdayAround(days: number): Date {
  const day = new Date(Date.now() + days * DAY);
  const date = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), 12));
  const step = days >= 0 ? 1 : -1;
  while (date.getUTCDay() !== 4) date.setTime(date.getTime() + step * DAY);
  return date;
}

beforeAll(async () => {
  target = await backupTarget('read-fleet');
  dir = await tempDir('sealdrop-read-fleet-');
  const policies = join(dir, 'policies');
  await mkdir(policies);
  await copyFile(target.policyPath, join(policies, 'db1.policy.json'));
  await mint(`s3://${target.bucket}/db2/`, [target.publicKey], join(policies, 'db2.policy.json'));
  for (const n of [1, 2]) db1.push(await push(target.policyPath, `-- db1 dump ${n}\n`));
  const run = await push(join(policies, 'db2.policy.json'), '-- db2 dump\n');
  db2 = { ...run, runId: /run s3:\/\/\S+\/db2\/(\S+)\//.exec(run.summary)![1]! };
  // A fleet file may be JSON as well as YAML.
  fleetFile = join(dir, 'fleet.json');
  const fleet = {
    fleet: 1,
    bucket: target.bucket,
    endpoint: s3Env().endpoint,
    region: s3Env().region,
    recipients: [target.publicKey],
    policyDir: 'policies',
    // Pushes here come seconds apart, not nightly.
    defaults: { anomaly: { floodFactor: 'off' } },
    hosts: { db1: { key: target.key }, db2: { prefix: 'db2/' } },
  };
  await writeFile(fleetFile, JSON.stringify(fleet, null, 2));
});

async function versions(args: string[]): Promise<{ snapshots: ListedVersion[]; at?: unknown }> {
  const listed = await admin(['versions', ...args, '--json']);
  expect(listed.status, listed.stderr).toBe(0);
  return JSON.parse(listed.stdout);
}

describe('--fleet FILE --host NAME', () => {
  it('versions lists the host’s backups through the fleet file’s endpoint', async () => {
    const listed = await admin(['versions', ...host('db1')]);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout.split('\n')[0]).toBe(`s3://${target.bucket}/${target.key}: 2 complete versions`);
    const runs = await versions(host('db2'));
    expect(runs.snapshots.map((s) => (s as unknown as { runId: string }).runId)).toEqual([db2.runId]);
  });

  it('restore restores the host’s latest backup', async () => {
    const out = join(dir, 'db1.sql');
    const restored = await admin(['restore', ...host('db1'), ...identity(), '--out', out]);
    expect(restored.status, restored.stderr).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(db1[1]!.dump);
    const run = await admin(['restore', ...host('db2'), ...identity()]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(db2.dump);
  });

  it('verify checks the host’s backups', async () => {
    const verified = await admin(['verify', ...host('db1'), ...identity(), '--all']);
    expect(verified.status, verified.stderr).toBe(0);
    expect(verified.stdout.match(/^OK /gm)).toHaveLength(2);
  });

  it('status judges the hosts as fleet status does, by their thresholds in the fleet file', async () => {
    const checked = await admin(['status', ...host('db1'), '--host', 'db2']);
    expect(checked.status, checked.stdout + checked.stderr).toBe(0);
    const plugin = parsePluginOutput(checked.stdout);
    expect(plugin.state).toBe('OK');
    expect(plugin.text).toMatch(/^all 2 hosts OK/);
    expect(plugin.perfdata.map((p) => p.label)).toEqual(expect.arrayContaining(['db1_age', 'db2_age']));
    // A threshold the fleet file sets per host is not taken from the command line too: UNKNOWN.
    const both = await admin(['status', ...host('db1'), '-c', '1h']);
    expect(both.status).toBe(3);
    expect(both.stdout).toMatch(/^SEALDROP UNKNOWN - with --fleet, each host is judged .*drop --max-age/);
  });

  it('names the hosts there are when --host is not one of them, and wants both options', async () => {
    for (const command of [['versions'], ['restore', ...identity()], ['verify', ...identity()], ['status']]) {
      const unknown = await admin([...command, ...host('db9')]);
      expect(unknown.status, command[0]).toBe(command[0] === 'status' ? 3 : 2);
      expect(unknown.stderr).toMatch(
        /error: db9 is not a host of .*fleet\.json\n {2}hint: Its hosts: db1, db2\./,
      );
      const alone = await admin([...command, '--host', 'db1']);
      expect(alone.stderr).toMatch(/--host names a host of a fleet file: pass --fleet FILE too/);
      const both = await admin([...command, `s3://${target.bucket}/${target.key}`, ...host('db1')]);
      expect(both.stderr).toMatch(/not (several|both)/);
    }
  });
});

describe('--at as people type it, against a pinned clock', () => {
  it('versions --at "last tuesday" marks what restore --at "last tuesday" restores', async () => {
    // A week on, last Tuesday lies after both backups: the newest is the one.
    const thursday = thursdayAround(4);
    const tuesday = new Date(thursday.getTime() - 2 * DAY - 12 * 3600_000);
    const clock = { SEALDROP_NOW: thursday.toISOString(), TZ: 'UTC' };
    const listed = await admin(['versions', ...host('db1'), '--at', 'last tuesday', '--json'], clock);
    expect(listed.status, listed.stderr).toBe(0);
    const document = JSON.parse(listed.stdout);
    expect(document.at).toEqual({
      time: tuesday.toISOString(),
      pick: document.snapshots[0].versionId,
      error: null,
    });
    expect(listed.stderr).toContain(`--at "last tuesday": ${tuesday.toISOString().slice(0, 10)} 00:00 local`);
    const text = await admin(['versions', ...host('db1'), '--at', 'last tuesday'], clock);
    expect(text.stdout).toMatch(
      new RegExp(`^${document.snapshots[0].versionId} .* complete {2}<- restore --at$`, 'm'),
    );
    const restored = await admin(['restore', ...host('db1'), ...identity(), '--at', 'last tuesday'], clock);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toBe(db1[1]!.dump);
  });

  it('says when nothing was stored by then, naming the time it read', async () => {
    const thursday = thursdayAround(-3);
    const tuesday = new Date(thursday.getTime() - 2 * DAY - 12 * 3600_000);
    const clock = { SEALDROP_NOW: thursday.toISOString(), TZ: 'UTC' };
    const restored = await admin(['restore', ...host('db1'), ...identity(), '--at', 'last tuesday'], clock);
    expect(restored.status).toBe(1);
    expect(restored.stderr).toContain(`has no version at or before ${tuesday.toISOString()}`);
    const listed = await admin(['versions', ...host('db1'), '--at', 'last tuesday', '--json'], clock);
    expect(listed.status).toBe(1);
    expect(JSON.parse(listed.stdout).at).toMatchObject({ pick: null, error: { code: 'NOT_FOUND' } });
  });

  it('picks the older backup for a time between the two, in versions and in restore alike', async () => {
    const [older, newer] = (await versions(host('db1'))).snapshots.slice().reverse();
    const between = new Date(Date.parse(newer!.time) - 1).toISOString();
    const listed = await versions([...host('db1'), '--at', between]);
    expect(listed.at).toMatchObject({ pick: older!.versionId });
    const restored = await admin(['restore', ...host('db1'), ...identity(), '--at', between]);
    expect(restored.stdout).toBe(db1[0]!.dump);
  });

  it('refuses what it cannot read, or reads two ways, with the forms it takes', async () => {
    const garbled = await admin(['restore', ...host('db1'), ...identity(), '--at', 'last tuesday-ish']);
    expect(garbled.status).toBe(2);
    expect(garbled.stderr).toMatch(
      /"last tuesday-ish" is not a point in time\n {2}hint: Write one of: .*"yesterday 03:00"/,
    );
    const twoWays = await admin(['versions', ...host('db1'), '--at', '03/04/2024']);
    expect(twoWays.status).toBe(2);
    expect(twoWays.stderr).toMatch(/reads two ways/);
    const ahead = await admin(['versions', ...host('db1'), '--at', 'tomorrow']);
    expect(ahead.status).toBe(2);
    expect(ahead.stderr).toMatch(/still to come/);
  });
});

describe('a push matched to its stored version', () => {
  it('versions --json shows the ETag and SHA-256 the push printed', async () => {
    const listed = (await versions(host('db1'))).snapshots.slice().reverse();
    expect(listed).toHaveLength(2);
    for (const [i, version] of listed.entries()) {
      expect(db1[i]!.etag, db1[i]!.summary).toMatch(/^[0-9a-f]{32}$/);
      expect(version.etag).toBe(db1[i]!.etag);
      expect(version.sha256).toBe(db1[i]!.sha256);
    }
    const runs = (await versions(host('db2'))).snapshots;
    expect(runs[0]!.sha256).toBe(db2.sha256);
  });
});
