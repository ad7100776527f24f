// The agent's command tree (sealdrop-agent, the single-file build for servers): `push` and `policy show`,
// registered by the same code as sealdrop's, so their options, messages, exit statuses and --help are
// sealdrop's. Every other command of sealdrop's answers where it lives. Nothing here reaches the admin
// modules, so the bundle holds no AWS SDK.
import type { Command } from 'commander';
import { SealdropError } from '../core/errors.js';
import { baseProgram } from './base-program.js';
import { registerPolicyShowCommand } from './policy.js';
import { registerPushCommand } from './push.js';
import { version } from './version.js';
import { registerWalPushCommand, walCommand } from './wal.js';

export const AGENT_NAME = 'sealdrop-agent';

/** sealdrop's commands the agent doesn't run (a test checks this against sealdrop's tree). */
const ADMIN_ONLY = {
  top: [
    'key',
    'setup',
    'fleet',
    'ls',
    'versions',
    'restore',
    'verify',
    'approve',
    'ack',
    'status',
    'report',
    'prune',
    'completion',
    'pg',
  ],
  policy: ['mint', 'curl', 'renew', 'revoke', 'unrevoke'],
  wal: ['fetch'],
};

/** The help is sealdrop's; its examples of push and policy show name this executable. */
export function agentHelp(text: string): string {
  return text.replace(/\bsealdrop (?=push\b|policy show\b|wal push\b)/g, `${AGENT_NAME} `);
}

export function buildAgentProgram(): Command {
  // The Node.js inside the executable (or running the .mjs) is the server's runtime: say which it is.
  const program = baseProgram(AGENT_NAME, `${version} (Node.js ${process.version})`, agentHelp)
    .description(
      "A server's half of sealdrop: push backups and archive WAL under a policy file, show what it allows.",
    )
    .addHelpText(
      'after',
      `
Examples:
  sealdrop-agent policy show /etc/sealdrop/db1.policy.json
  sealdrop-agent push --policy /etc/sealdrop/db1.policy.json -- mysqldump --single-transaction db1
  # postgresql.conf:
  archive_command = 'sealdrop-agent wal push --policy /etc/sealdrop/db1-wal.policy.json %p'
  systemctl enable --now sealdrop-backup@db1.timer    # a nightly push (the Debian package's units)

The admin's commands (${[...ADMIN_ONLY.top, ...ADMIN_ONLY.policy.map((name) => `policy ${name}`), ...ADMIN_ONLY.wal.map((name) => `wal ${name}`)].join(', ')})
are in \`sealdrop\`, the npm package, on the admin's machine.

Exit status: 0 ok, 1 operation failed, 2 bad usage or input, 129/130/143 interrupted.`,
    );
  registerPushCommand(program);
  const policy = program.command('policy').description('what a policy file allows');
  registerPolicyShowCommand(policy);
  for (const name of ADMIN_ONLY.top) refuse(program, name);
  for (const name of ADMIN_ONLY.policy) refuse(policy, name);
  const wal = walCommand(program);
  registerWalPushCommand(wal);
  for (const name of ADMIN_ONLY.wal) refuse(wal, name);
  return program;
}

/** A hidden command that takes anything and says where the real one is. */
function refuse(parent: Command, name: string): void {
  const path = [parent.parent ? parent.name() : '', name].filter(Boolean).join(' ');
  parent
    .command(name, { hidden: true })
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[ARGS...]')
    .action(() => {
      throw new SealdropError(
        'USAGE',
        `\`${path}\` is a command of sealdrop, the admin CLI, not of ${AGENT_NAME}`,
        {
          hint: `Run \`sealdrop ${path}\` on the admin's machine (npm package sealdrop); ${AGENT_NAME} runs push, wal push and policy show.`,
        },
      );
    });
}
