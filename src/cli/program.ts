// The command tree: wiring only. Each command parses, calls one function and prints. Admin commands load
// their implementation (and the AWS SDK) on use, so `push` never loads the SDK. Building it runs nothing:
// the executable (main.ts), the man page and the shell completions are all made from it.
import type { Command } from 'commander';
import { registerApproveCommands } from './approve.js';
import { baseProgram } from './base-program.js';
import { registerCompletionCommand } from './completion.js';
import { registerFleetCommands } from './fleet.js';
import { registerKeyCommands } from './key.js';
import { registerLsCommand } from './ls.js';
import { registerPgCommands } from './pg.js';
import { registerPolicyCommands } from './policy.js';
import { registerPruneCommand } from './prune.js';
import { registerPushCommand } from './push.js';
import { registerReportCommand } from './report.js';
import { registerRestoreCommand } from './restore.js';
import { registerSetupCommand } from './setup.js';
import { registerStatusCommand } from './status.js';
import { registerVerifyCommand } from './verify.js';
import { registerVersionsCommand } from './versions.js';
import { registerWalFetchCommand, registerWalPushCommand, walCommand } from './wal.js';

export function buildProgram(): Command {
  const program = baseProgram('sealdrop')
    .description('Offsite backups a compromised server can neither read back nor destroy.')
    .addHelpText(
      'after',
      `
Examples:
  # the admin (holds AWS credentials and the private key), once:
  sealdrop key generate --uid "Backup Admin <ops@example.com>" --out admin
  sealdrop setup s3://acme-backups --create
  sealdrop policy mint s3://acme-backups/db1/mysql.sql.gz.gpg --recipient admin.pub.asc \\
      --out db1.policy.json
  sealdrop fleet mint fleet.yaml --out-dir policies    # or every host's policy from one fleet file
  # every server (holds only the policy file), from cron:
  sealdrop push --policy /etc/sealdrop/db1.policy.json -- mysqldump --single-transaction db1
  # the admin, later:
  sealdrop versions s3://acme-backups/db1/mysql.sql.gz.gpg
  sealdrop restore s3://acme-backups/db1/mysql.sql.gz.gpg --identity admin.key.asc --at "2d ago" \\
      --out db1.sql
  sealdrop ls s3://acme-backups                        # every backup set in the bucket
  sealdrop status --policy db1.policy.json --max-age 26h
  sealdrop fleet status fleet.yaml                     # every host, one monitoring check
  sealdrop report --fleet fleet.yaml --out report.html  # one page: every host, worst first
  sealdrop prune s3://acme-backups/db1/mysql.sql.gz.gpg --keep-daily 14 --keep-weekly 8 \\
      --keep-monthly 24 --yes

Output: stdout carries what a command produces (listings, plans, reports, restored data, --json
documents: on failure {"error": {code, message, hint, exitStatus}}); stderr is for people (progress,
warnings, errors, summaries). Durations everywhere: s, min, h, d, w, mo, y, combined (1d12h, 1y2mo);
a bare m is refused (min or mo?).
Environment: SEALDROP_POLICY, SEALDROP_IDENTITY, SEALDROP_PASSPHRASE_FILE, SEALDROP_PASSPHRASE, and
the AWS chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, …, AWS_ENDPOINT_URL_S3).
Exit status: 0 ok, 1 operation failed, 2 bad usage or input, 3 integrity failure,
129/130/143 interrupted. \`status\` and \`fleet status\` use the monitoring-plugin convention (0 OK, 1 WARNING,
2 CRITICAL, 3 UNKNOWN).`,
    );
  // In the order of the flow: the admin's set-up, the server's push, then the admin's read side.
  registerKeyCommands(program);
  registerSetupCommand(program);
  registerPolicyCommands(program);
  registerFleetCommands(program);
  registerPushCommand(program);
  const wal = walCommand(program);
  registerWalPushCommand(wal);
  registerWalFetchCommand(wal);
  registerLsCommand(program);
  registerVersionsCommand(program);
  registerRestoreCommand(program);
  registerPgCommands(program);
  registerVerifyCommand(program);
  registerApproveCommands(program);
  registerStatusCommand(program);
  registerReportCommand(program);
  registerPruneCommand(program);
  registerCompletionCommand(program);
  return program;
}
