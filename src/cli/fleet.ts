// sealdrop fleet check | mint | publish
import type { Command } from 'commander';
import { SealdropError } from '../core/errors.js';
import type { LoadedFleet } from '../core/fleet.js';
import { formatS3Url } from '../core/s3-url.js';
import { formatBytes, formatDuration } from '../core/units.js';
import { columns, printData, printJson, say, warn } from './output.js';

interface FleetCliOptions {
  outDir?: string;
  json?: boolean;
}

export function registerFleetCommands(program: Command): void {
  const fleet = program
    .command('fleet')
    .description('many hosts from one fleet file: check it, mint their policies, publish their renewals')
    .addHelpText(
      'after',
      `
Examples:
  sealdrop fleet check fleet.yaml
  sealdrop fleet mint fleet.yaml --out-dir policies      # then install policies/HOST.policy.json on each host
  sealdrop fleet publish fleet.yaml                      # daily, from the admin's cron`,
    );

  fleet
    .command('check')
    .description('validate a fleet file, read every recipient key, refuse overlapping hosts')
    .argument('<FILE>', 'fleet file (YAML or JSON)')
    .option('--json', 'print the hosts and their settings as JSON on stdout')
    .addHelpText(
      'after',
      `
Refuses (exit 2, naming the file, line, host and field) a schema error, an unreadable or unusable
recipient key, two hosts whose keys or prefixes overlap (naming both: either could write into the
other's backups), and a host that would cover sealdrop's own .sealdrop/ area. Prints one line per host.

Example:
  sealdrop fleet check /etc/sealdrop/fleet.yaml`,
    )
    .action(async (file: string, options: FleetCliOptions) => {
      const loaded = await load(file);
      if (options.json) printJson(fleetJson(loaded));
      else printData(hostTable(loaded).join('\n'));
      say(
        `${file}: ${loaded.hosts.length} host${loaded.hosts.length === 1 ? '' : 's'} in s3://${loaded.bucket}, ${loaded.keys.size} recipient key${loaded.keys.size === 1 ? '' : 's'}, no overlaps`,
      );
    });

  fleet
    .command('mint')
    .description(
      "write every host's policy file (HOST.policy.json, 0600); rewrites only what changed or is due",
    )
    .argument('<FILE>', 'fleet file (YAML or JSON)')
    .option('--out-dir <DIR>', 'the policy directory (default: policyDir in the fleet file)')
    .option('--json', 'print what was written as JSON on stdout')
    .addHelpText(
      'after',
      `
Idempotent: a host's file is written when it is missing, rewritten when it no longer matches the fleet
file (key, endpoint, recipients, ACL, sizes, expiry, renewal window, signer) or is due (in its renewal
window, or expired), and kept otherwise. Each line says which, and why. The directory is the fleet's
state: the files name each host's renewal location, which fleet publish keeps using, so keep it.

Signs offline with the standard AWS chain (the admin's credentials): the POST policies and the
presigned renewal URLs. A new host gets its file installed once, by hand; after that fleet publish
renews it without touching the host.

Example:
  sealdrop fleet mint fleet.yaml --out-dir /etc/sealdrop/policies
  scp /etc/sealdrop/policies/db1.policy.json db1:/etc/sealdrop/policy.json`,
    )
    .action(async (file: string, options: FleetCliOptions) => {
      const { loaded, client, outDir } = await open(file, options);
      const { mintFleet } = await import('../admin/fleet.js');
      const result = await mintFleet(client, loaded, { outDir });
      result.warnings.forEach(warn);
      if (options.json) printJson(result);
      for (const host of result.hosts)
        say(
          `${host.action.padEnd(9)} ${host.path}: expires ${host.expiresAt}${host.reasons.length ? ` (${host.reasons.join('; ')})` : ''}`,
        );
      const count = (action: string) => result.hosts.filter((host) => host.action === action).length;
      say(`${count('written')} written, ${count('rewritten')} rewritten, ${count('kept')} kept in ${outDir}`);
    });

  fleet
    .command('publish')
    .description("mint each host's next policy and upload it to the host's renewal location (the daily cron)")
    .argument('<FILE>', 'fleet file (YAML or JSON)')
    .option('--out-dir <DIR>', 'the policy directory (default: policyDir in the fleet file)')
    .option('--json', 'print what was published as JSON on stdout')
    .addHelpText(
      'after',
      `
Each host's successor goes to its own object under s3://BUCKET/.sealdrop/renew/ (the name in its
policy file, unguessable), and the copy in the policy directory is updated. Every push in the last
part of a policy's life (renewWindow, default half of expires) fetches it and replaces its policy file.
Needs the admin's credentials (write and read .sealdrop/renew/). Exit 1 when a host failed; the others
are published. A host without a copy yet gets one: install it on the host once.

Recommended: policies of 7 days (expires: 7d), publish daily. If the cron stops, pushes warn from
the middle of each policy's life and keep working until it expires.

Example:
  # the admin's crontab, daily at 06:00:
  0 6 * * * sealdrop fleet publish /etc/sealdrop/fleet.yaml --json > /var/log/sealdrop-publish.json`,
    )
    .action(async (file: string, options: FleetCliOptions) => {
      const { loaded, client, outDir } = await open(file, options);
      const { publishFleet } = await import('../admin/fleet.js');
      const result = await publishFleet(client, loaded, { outDir });
      result.warnings.forEach(warn);
      if (options.json) printJson(result);
      for (const host of result.hosts)
        say(
          `published ${host.host} (expires ${host.expiresAt})${host.firstPolicy ? `: a first policy, install ${host.path} on the host` : ''}`,
        );
      for (const failure of result.failures) warn(`${failure.host} was not published: ${failure.message}`);
      say(`${result.hosts.length} published, ${result.failures.length} failed`);
      if (result.failures.length > 0)
        throw new SealdropError(
          'FAILED',
          `${result.failures.length} of ${loaded.hosts.length} hosts were not published`,
        );
    });
}

/** The fleet module (and its YAML parser) loads on use: push, which shares this executable, needs neither. */
async function load(file: string): Promise<LoadedFleet> {
  const { loadFleet } = await import('../core/fleet.js');
  return loadFleet(file);
}

async function open(file: string, options: FleetCliOptions) {
  const loaded = await load(file);
  const outDir = options.outDir ?? loaded.policyDir;
  if (outDir === undefined)
    throw new SealdropError(
      'USAGE',
      'no policy directory: pass --out-dir DIR or set policyDir in the fleet file',
    );
  const { createS3Client } = await import('../admin/s3-client.js');
  return { loaded, outDir, client: createS3Client({ endpoint: loaded.endpoint, region: loaded.region }) };
}

function hostTable(fleet: LoadedFleet): string[] {
  return columns(
    ['host', 'backup', 'expires', 'renew in last', 'max size', 'max age'],
    fleet.hosts.map((host) => [
      host.name,
      formatS3Url(host.location),
      formatDuration(host.settings.expires),
      formatDuration(host.settings.renewWindow),
      formatBytes(host.settings.maxSize),
      formatDuration(host.settings.maxAge),
    ]),
  );
}

function fleetJson(fleet: LoadedFleet) {
  return {
    bucket: fleet.bucket,
    endpoint: fleet.endpoint ?? null,
    region: fleet.region ?? null,
    policyDir: fleet.policyDir ?? null,
    recipients: [...fleet.keys].map(([file, key]) => ({ file, fingerprint: key.fingerprint })),
    hosts: fleet.hosts.map((host) => ({
      name: host.name,
      bucket: host.location.bucket,
      [host.location.isPrefix ? 'prefix' : 'key']: host.location.key,
      recipients: host.recipients,
      settings: host.settings,
    })),
  };
}
