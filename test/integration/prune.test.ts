// sealdrop prune against the real S3 server: dry run, the more-than-half guard, and real deletion.
import { beforeAll, describe, expect, it } from 'vitest';
import { backupTarget, stockRestore, type BackupTarget } from '../support/backup-target.js';
import { runCli } from '../support/cli.js';
import { listVersions } from '../support/s3.js';

let target: BackupTarget;
const contents = ['one', 'two', 'three', 'four', 'five', 'six'].map((word) =>
  `-- dump ${word}\n`.repeat(1000),
);

beforeAll(async () => {
  target = await backupTarget('prune');
  for (const input of contents) {
    const pushed = await runCli(['push', '--policy', target.policyPath, '--quiet'], {
      input,
      env: target.agentEnv,
    });
    expect(pushed.status, pushed.stderr).toBe(0);
  }
});

const prune = (...args: string[]) =>
  runCli(['prune', `s3://${target.bucket}/${target.key}`, ...args], { env: target.adminEnv });

describe('prune', () => {
  it('dry run: prints the plan on stdout (4 of 6 to remove), warns about --keep-last alone, deletes nothing', async () => {
    const result = await prune('--keep-last', '2', '--json');
    expect(result.status, result.stderr).toBe(0);
    const plan = JSON.parse(result.stdout);
    expect(plan).toMatchObject({ dryRun: true, totals: { backups: 6, keep: 2, remove: 4 }, deleted: 0 });
    expect(
      plan.snapshots
        .filter((v: { action: string }) => v.action === 'keep')
        .map((v: { reasons: string[] }) => v.reasons),
    ).toEqual([['last'], ['last']]);
    expect(result.stderr).toMatch(/--keep-last alone is fragile/);
    expect(await listVersions(target.bucket, target.key)).toHaveLength(6);

    const human = await prune('--keep-last', '2');
    expect(human.stdout).toMatch(
      /6 backups: keep 2, remove 4; 4 object versions, .*; removes more than half: --yes needs --force$/m,
    );
    expect(human.stdout).toMatch(/Dry run: nothing was deleted/);
    expect(human.stdout.match(/ remove$/gm)).toHaveLength(4);
  });

  it('refuses, with --yes alone, a plan that removes more than half, deleting nothing', async () => {
    const result = await prune('--keep-last', '2', '--yes');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /refusing to remove 4 of 6 backups \(more than half\); nothing was deleted/,
    );
    expect(await listVersions(target.bucket, target.key)).toHaveLength(6);
  });

  it('refuses an empty policy', async () => {
    const result = await prune('--yes');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/no retention policy given/);
    // The README's recommended policy, whole.
    expect(result.stderr).toMatch(/hint: .*--keep-yearly -1 --keep-earliest/);
  });

  it('with --yes --force deletes exactly the planned versions; the latest stays and both survivors restore', async () => {
    const before = await listVersions(target.bucket, target.key);
    const result = await prune('--keep-last', '2', '--yes', '--force', '--json');
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).deleted).toBe(4);
    expect(result.stderr).toMatch(/Deleted 4 of 4 object versions/);
    const after = await listVersions(target.bucket, target.key);
    expect(after.map((v) => v.VersionId)).toEqual(before.slice(0, 2).map((v) => v.VersionId));
    expect(after[0]?.IsLatest).toBe(true);
    expect((await stockRestore(target, after[0]!.VersionId)).toString()).toBe(contents[5]);
    expect((await stockRestore(target, after[1]!.VersionId)).toString()).toBe(contents[4]);
  });
});
