// A fleet's hosts on this machine: each with its own policy file, installed once from the admin's copy
// (fleet mint) and pushing a small dump with the real CLI and no AWS credentials, as a server would.
import { chmod, copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { agentEnv } from './backup-target.js';
import { runCli, type CliResult } from './cli.js';

export interface FleetTestHost {
  name: string;
  /** The host's own policy file, as installed on it. */
  policy: string;
}

/** Installs the admin's copy (POLICY_DIR/HOST.policy.json) on the host, by hand: install -m 0600. */
export async function installPolicy(policyDir: string, host: FleetTestHost): Promise<void> {
  await mkdir(dirname(host.policy), { recursive: true });
  await copyFile(join(policyDir, `${host.name}.policy.json`), host.policy);
  await chmod(host.policy, 0o600);
}

/** One push of a one-line dump naming the host and the time; `spoolDir` is the host's own. */
export function pushHost(host: FleetTestHost, spoolDir: string): Promise<CliResult> {
  return runCli(['push', '--policy', host.policy, '--json', '--level', '1', '--spool-dir', spoolDir], {
    input: `-- dump of ${host.name} at ${new Date().toISOString()}\n`,
    env: agentEnv(),
  });
}
