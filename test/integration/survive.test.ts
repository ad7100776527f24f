// Good backups survive a compromised host (issue 13), live on the local RGW: junk pushed after genuine
// backups raises the alarm, and prune holds the history while it stands.
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { backupTarget, type BackupTarget } from '../support/backup-target.js';
import { run, runCli } from '../support/cli.js';
import { listVersions } from '../support/s3.js';

const GEN_DUMP = fileURLToPath(new URL('../../scripts/gen-dump.mjs', import.meta.url));

describe('junk after genuine backups', () => {
  let target: BackupTarget;
  let url: string;
  const admin = (...args: string[]) => runCli(args, { env: target.adminEnv });

  beforeAll(async () => {
    target = await backupTarget('survive');
    url = `s3://${target.bucket}/${target.key}`;
    for (const night of [1, 2, 3, 4]) {
      const dump = (await run(process.execPath, [GEN_DUMP, '1MiB', String(night)])).stdoutBytes;
      const pushed = await runCli(['push', '--policy', target.policyPath, '-q'], {
        input: dump,
        env: target.agentEnv,
      });
      expect(pushed.status, pushed.stderr).toBe(0);
    }
    // The compromised host pushes a small, validly encrypted junk dump with its own policy file.
    const junk = await runCli(['push', '--policy', target.policyPath, '-q'], {
      input: 'DROP TABLE users;\n',
      env: target.agentEnv,
    });
    expect(junk.status, junk.stderr).toBe(0);
  }, 120_000);

  it('status is CRITICAL, naming the rule and the numbers; verify passes (the junk is valid)', async () => {
    const status = await admin('status', url);
    expect(status.status, status.stdout).toBe(2);
    expect(status.stdout).toMatch(
      /^SEALDROP CRITICAL - .*the latest backup shrank \d+(\.\d+)? KiB -> \d+ B \(-\d+%; warn at -40%, critical at -90%/,
    );
    // --no-mark: no proofs, so prune runs blind and its circuit breaker is what holds history here.
    const verified = await admin('verify', url, '--identity', target.privateKey, '--no-mark');
    expect(verified.status).toBe(0);
    const relaxed = await admin('status', url, '--crit-shrink', '100%');
    expect(relaxed.status).toBe(1); // then it is a WARNING
  });

  it('prune holds every genuine backup (dry run and --yes alike) until --force', async () => {
    const dry = await admin('prune', url, '--keep-last', '1', '--json');
    expect(dry.status, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout);
    expect(plan.snapshots.map((s: { action: string }) => s.action)).toEqual([
      'keep',
      'keep',
      'keep',
      'keep',
      'keep',
    ]);
    expect(plan.snapshots[1].reasons).toEqual([
      expect.stringMatching(
        /^held: the backup stream looks anomalous since \S+: shrank .* pass --force after checking$/,
      ),
    ]);
    expect(dry.stderr).toMatch(/warning: held: the backup stream looks anomalous since/);
    const yes = await admin('prune', url, '--keep-last', '1', '--yes');
    expect(yes.status, yes.stderr).toBe(0);
    expect(await listVersions(target.bucket, target.key)).toHaveLength(5);
    const forced = await admin('prune', url, '--keep-last', '4', '--yes', '--force');
    expect(forced.status, forced.stderr).toBe(0);
    expect(await listVersions(target.bucket, target.key)).toHaveLength(4);
  });
});
