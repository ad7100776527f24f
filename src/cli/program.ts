// The command tree: wiring only. Each command parses, calls one function and prints. Admin commands load
// their implementation (and the AWS SDK) on use, so `push` never loads the SDK. Building it runs nothing:
// the executable (main.ts), the man page and the shell completions are all made from it.
import { Command } from 'commander';
import { registerCompletionCommand } from './completion.js';
import { registerKeyCommands } from './key.js';
import { registerPolicyCommands } from './policy.js';
import { registerPruneCommand } from './prune.js';
import { registerPushCommand } from './push.js';
import { registerRestoreCommand } from './restore.js';
import { registerSetupCommand } from './setup.js';
import { registerStatusCommand } from './status.js';
import { registerVerifyCommand } from './verify.js';
import { registerVersionsCommand } from './versions.js';
import { version } from './version.js';

export function buildProgram(): Command {
  const program = new Command('sealdrop')
    .version(version)
    .description('Offsite backups a compromised server can neither read back nor destroy.')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) })
    .addHelpText(
      'after',
      `
Examples:
  # the admin (holds AWS credentials and the private key), once:
  sealdrop key generate --uid "Backup Admin <ops@example.com>" --out admin
  sealdrop setup s3://acme-backups --create
  sealdrop policy mint s3://acme-backups/db1/mysql.sql.gz.gpg --recipient admin.pub.asc --out db1.policy.json
  # every server (holds only the policy file), from cron:
  sealdrop push --policy /etc/sealdrop/policy.json -- mysqldump --single-transaction db1
  # the admin, later:
  sealdrop versions s3://acme-backups/db1/mysql.sql.gz.gpg
  sealdrop restore s3://acme-backups/db1/mysql.sql.gz.gpg --identity admin.key.asc --at "2d ago" --out db1.sql
  sealdrop status --policy db1.policy.json --max-age 26h
  sealdrop prune s3://acme-backups/db1/mysql.sql.gz.gpg --keep-daily 14 --keep-weekly 8 --keep-monthly 24 --yes

Exit status: 0 ok, 1 operation failed, 2 bad usage or input, 3 integrity failure,
130/143 interrupted. \`status\` uses the monitoring-plugin convention (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).`,
    );
  // In the order of the flow: the admin's set-up, the server's push, then the admin's read side.
  registerKeyCommands(program);
  registerSetupCommand(program);
  registerPolicyCommands(program);
  registerPushCommand(program);
  registerVersionsCommand(program);
  registerRestoreCommand(program);
  registerVerifyCommand(program);
  registerStatusCommand(program);
  registerPruneCommand(program);
  registerCompletionCommand(program);
  return program;
}
