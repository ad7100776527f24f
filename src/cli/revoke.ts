// sealdrop fleet revoke | unrevoke, policy revoke | unrevoke: cut a host off now, and undo it
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { RevokeResult, RevokeTarget, UnrevokeResult } from '../admin/policies/revoke.js';
import { isSealdropError } from '../core/errors.js';
import { POLICY_SUFFIX } from '../core/layout.js';
import { plural } from '../core/words.js';
import { loadPolicyFile, policyEndpoint, renewalKey } from '../core/policy-file.js';
import { printData, printJson, say, verboseLogger, warn } from './output.js';

interface RevokeCliOptions {
  yes?: boolean;
  json?: boolean;
  outDir?: string;
  endpoint?: string;
  region?: string;
}

const EXIT_STATUS = `
Exit status: 0 done, planned (no --yes), or nothing to do (already revoked / not revoked);
1 S3 refused (the credentials may not read or write the bucket policy), or the bucket policy can't be
read as JSON with a Statement list (fixed by hand, never guessed at); 2 bad usage, a host not in the
fleet file, a damaged policy file.`;

const WHAT_REVOKE_DOES = `
Adds to the bucket policy (read, merged, written back once: every other statement stays as it is) a
statement denying s3:PutObject to every principal on each place the host writes: fleet revoke, its key
(exactly) or prefix (PREFIX*) and, for a host with a wal: line, its WAL archive (WAL*); policy revoke,
the file's key or prefix alone. Each has the Sid SealdropRevoke<hash>Since<time>. S3 applies them to
the host's POST uploads at once, whatever its policy files say (the WAL policy minted by hand too, and
any renewal of it). The bucket policy is where "revoked" lives: fleet publish skips the host, policy
renew skips a revoked file, and fleet status shows its backups and its WAL archive REVOKED. The host's
published successor (its .sealdrop/renew/ object) is removed, so it can't renew itself either (a WAL
policy from policy mint has no renewal location). Without --yes: a dry run that prints the statements
and the resulting policy. Revoking twice changes nothing, and says so; a host revoked before its WAL
archive was gets the missing statement.`;

export function registerFleetRevoke(fleet: Command): void {
  for (const undo of [false, true])
    fleet
      .command(undo ? 'unrevoke' : 'revoke')
      .description(
        undo
          ? "let a revoked host upload again: remove exactly sealdrop's statements from the bucket policy"
          : 'cut a host off now: deny its uploads (backups, WAL) in the bucket policy, remove its successor',
      )
      .argument('<FILE>', 'fleet file (YAML or JSON)')
      .argument('<HOST>', 'the host, as named in the fleet file')
      .option('--yes', 'change the bucket policy (without it: a dry run that prints the plan)')
      .option('--out-dir <DIR>', 'the policy directory (default: policyDir in the fleet file)')
      .option('--json', 'print the plan (and what was done) as JSON on stdout')
      .addHelpText(
        'after',
        `${undo ? WHAT_UNREVOKE_DOES : WHAT_REVOKE_DOES}\n${EXIT_STATUS}\n\n${fleetExamples(undo)}`,
      )
      .action(async (file: string, host: string, options: RevokeCliOptions) => {
        const [{ readFleet }, { findHost }, { hostPlaces }] = await Promise.all([
          import('../core/fleet-load.js'),
          import('../core/fleet-hosts.js'),
          import('../core/fleet.js'),
        ]);
        const loaded = await readFleet(file);
        const found = findHost(loaded, host);
        const policyDir = options.outDir ?? loaded.policyDir;
        const copy = policyDir === undefined ? null : resolve(policyDir, `${host}${POLICY_SUFFIX}`);
        // Every place the fleet file gives it: a host left its WAL archive could still archive WAL that
        // pg restore --to latest replays.
        const target = {
          locations: hostPlaces(found),
          host,
          renewalKey: await copyRenewalKey(copy, undo),
        };
        await change(target, undo, options, { endpoint: loaded.endpoint, region: loaded.region });
      });
}

export function registerPolicyRevoke(policy: Command): void {
  for (const undo of [false, true])
    policy
      .command(undo ? 'unrevoke' : 'revoke')
      .description(
        undo
          ? "let a revoked policy's host upload again: remove sealdrop's statement from the bucket policy"
          : 'cut off the host of a policy file now: deny uploads to its key or prefix in the bucket policy',
      )
      .argument('<FILE>', "the host's policy file (the admin's copy): its bucket and key or prefix")
      .option('--yes', 'change the bucket policy (without it: a dry run that prints the plan)')
      .option('--region <REGION>', "AWS region (default: the policy's own)")
      .option('--endpoint <URL>', "S3 endpoint (default: the policy's own URL, else as for mint)")
      .option('--json', 'print the plan (and what was done) as JSON on stdout')
      .addHelpText(
        'after',
        `${undo ? WHAT_UNREVOKE_DOES : WHAT_REVOKE_DOES}\n${EXIT_STATUS}\n\n${policyExamples(undo)}`,
      )
      .action(async (file: string, options: RevokeCliOptions) => {
        const { summary, file: contents } = await loadPolicyFile(file);
        const target = {
          locations: [summary.location],
          host: summary.name ?? null,
          renewalKey: renewalKey(contents),
        };
        await change(target, undo, options, {
          endpoint: options.endpoint ?? policyEndpoint(summary),
          region: options.region ?? summary.region,
        });
      });
}

const WHAT_UNREVOKE_DOES = `
Removes exactly the statements revoke added (by their Sids): fleet unrevoke, those of the host's key or
prefix and of its WAL archive; policy unrevoke, the file's key or prefix. It writes the bucket policy
back once; every other statement stays as it is, and a policy left with no statement is deleted.
Pushes and wal push land again at once while the host's policy files are valid. Its successor is not
put back: run fleet publish (or renew and install the policy by hand). Without --yes: a dry run.`;

function fleetExamples(undo: boolean): string {
  return undo
    ? `Examples:
  sealdrop fleet unrevoke fleet.yaml db7                # the plan
  sealdrop fleet unrevoke fleet.yaml db7 --yes && sealdrop fleet publish fleet.yaml`
    : `Examples:
  sealdrop fleet revoke fleet.yaml db7                  # the statement and the resulting policy
  sealdrop fleet revoke fleet.yaml db7 --yes            # db7's next upload is refused (403)
  sealdrop fleet revoke fleet.yaml pg1 --yes            # its base backups and WAL archive (wal:)`;
}

function policyExamples(undo: boolean): string {
  return undo
    ? `Example:
  sealdrop policy unrevoke policies/db7.policy.json --yes`
    : `Examples:
  sealdrop policy revoke policies/db7.policy.json
  sealdrop policy revoke policies/db7.policy.json --yes --json`;
}

async function change(
  target: RevokeTarget,
  undo: boolean,
  options: RevokeCliOptions,
  store: { endpoint?: string; region?: string },
): Promise<void> {
  const [{ createS3Client }, { revoke, unrevoke }] = await Promise.all([
    import('../admin/s3/client.js'),
    import('../admin/policies/revoke.js'),
  ]);
  const client = createS3Client({ ...store, log: verboseLogger() });
  const execute = Boolean(options.yes);
  const result = undo
    ? await unrevoke(client, target, { execute })
    : await revoke(client, target, { execute });
  result.warnings.forEach(warn);
  if (options.json) printJson(result);
  else printData(undo ? unrevokePlan(result as UnrevokeResult) : revokePlan(result as RevokeResult));
  const name = target.host ?? result.target;
  if ('added' in result) sayRevoked(result, name);
  else sayUnrevoked(result, name);
}

function revokePlan(result: RevokeResult): string {
  return [
    result.added.length > 0
      ? `${plural(result.added.length, 'statement')} ${result.dryRun ? 'to add to' : 'added to'} the bucket policy of ${result.bucket}:`
      : `no statement to add: ${result.targets.join(' and ')} ${result.targets.length > 1 ? 'are' : 'is'} already revoked`,
    ...result.added.map((statement) => JSON.stringify(statement, null, 2)),
    `the bucket policy ${result.dryRun ? 'would be' : 'is now'}:`,
    JSON.stringify(result.policy, null, 2),
    result.renewal
      ? `its successor s3://${result.bucket}/${result.renewal.key}: ${result.renewal.versions} version(s) ${result.dryRun ? 'to remove' : 'removed'}`
      : 'its successor: none known (no renewal location in its policy copy)',
  ].join('\n');
}

function unrevokePlan(result: UnrevokeResult): string {
  return [
    result.removed.length > 0
      ? `${plural(result.removed.length, 'statement')} ${result.dryRun ? 'to remove from' : 'removed from'} the bucket policy of ${result.bucket}:`
      : `no statement to remove: ${result.targets.join(' and ')} ${result.targets.length > 1 ? 'are' : 'is'} not revoked`,
    ...result.removed.map((statement) => JSON.stringify(statement, null, 2)),
    result.policy === null
      ? `the bucket policy ${result.deletesPolicy ? (result.dryRun ? 'would be deleted' : 'is deleted') : 'does not exist'}`
      : `the bucket policy ${result.dryRun ? 'would be' : 'is now'}:\n${JSON.stringify(result.policy, null, 2)}`,
  ].join('\n');
}

function sayRevoked(result: RevokeResult, name: string): void {
  if (!result.hadPolicy && result.dryRun) say(`${result.bucket} has no bucket policy yet: revoke makes one`);
  if (result.already)
    say(
      `${name} is already revoked (since ${result.since ?? 'an unknown time'}): the bucket policy is unchanged`,
    );
  if (result.dryRun) return say('dry run: nothing changed; run again with --yes to apply');
  if (!result.already)
    say(`revoked ${name}: uploads to ${result.targets.join(' and ')} are denied from now on`);
  if (result.renewal)
    say(`removed its successor (${result.renewal.versions} version(s)); fleet publish skips it`);
}

function sayUnrevoked(result: UnrevokeResult, name: string): void {
  if (result.removed.length === 0) return say(`${name} is not revoked: the bucket policy is unchanged`);
  if (result.dryRun) return say('dry run: nothing changed; run again with --yes to apply');
  say(`unrevoked ${name}: uploads to ${result.targets.join(' and ')} are allowed again`);
  if (result.deletesPolicy) say(`deleted the bucket policy of ${result.bucket}: nothing else was in it`);
  say('its successor is not published: run fleet publish (or renew and install its policy)');
}

/** The renewal object named by the admin's copy; unrevoke needs none, revoke warns without one. */
async function copyRenewalKey(copy: string | null, undo: boolean): Promise<string | null> {
  if (undo) return null;
  if (copy === null) {
    warn('no policyDir in the fleet file (nor --out-dir): its successor, if published, is not removed');
    return null;
  }
  try {
    return renewalKey((await loadPolicyFile(copy)).file);
  } catch (error) {
    if (!isSealdropError(error)) throw error;
    warn(`${copy}: ${error.message}; its successor, if published, is not removed`);
    return null;
  }
}
