// sealdrop fleet verify FILE --identity KEY.asc [--all] [--shard I/N] [--jobs N]
import type { Command } from 'commander';
import type { FleetVerifyResult, HostVerify } from '../admin/backups/fleet-verify.js';
import { EXIT, isBadBackup, SealdropError } from '../core/errors.js';
import { formatShard, parseShard, type Shard } from '../core/fleet-shard.js';
import { integerArg } from './args.js';
import { errorJson, isQuiet, printData, printJson, say, warn } from './output.js';
import { withProgress } from './progress.js';
import { readerOptions, withReading, type IdentityOptions } from './snapshot-options.js';
import { adminClient } from './target.js';
import { describeCheck, withMarkOption } from './verify.js';

/** The same as DEFAULT_JOBS in admin/backups/fleet-verify.ts, which loads only on use. */
const DEFAULT_JOBS = 2;
const MAX_JOBS = 64;
/** Failed hosts the summary names (each has its own line above). */
const NAMED_HOSTS = 20;

interface FleetVerifyCliOptions extends IdentityOptions {
  all?: boolean;
  unproven?: boolean;
  shard?: Shard;
  jobs: number;
  mark: boolean;
  json?: boolean;
}

export function registerFleetVerify(fleet: Command): void {
  const command = fleet
    .command('verify')
    .description(
      "verify every host's latest backup (or all of them): download, decrypt, decompress to nowhere",
    )
    .argument('<FILE>', 'fleet file (YAML or JSON)')
    .option('--all', 'every complete backup of each host (and every broken run, as a failure)')
    .option(
      '--unproven',
      'every backup of each host not proven yet, oldest first: the nightly proof (see `sealdrop verify --help`)',
    )
    .option(
      '--shard <I/N>',
      'only the hosts of shard I of N (1 to N): SHA-256 of the host name mod N, so adding a host moves no other',
      parseShard,
    )
    .option('--jobs <N>', `hosts verified at once (1 to ${MAX_JOBS})`, jobsArg, DEFAULT_JOBS);
  withMarkOption(withReading(command))
    .option('--json', "print every host's result and a summary as one JSON document on stdout")
    .addHelpText(
      'after',
      `
For each host of the fleet file, what \`sealdrop verify\` does for its backup set: download, decrypt
and decompress its latest complete backup (--all: every complete one) to nowhere, checking everything
a restore depends on, and record the proof (--no-mark: not; --unproven: every backup not proven yet,
at most the newest 100 per host, the nightly proof). Hosts run --jobs at a time; the
passphrase is asked at most once for the whole run.

One line per host on stdout as each one finishes: OK or FAILED, the host, the backup checked (with
--all how many, and the newest) and the seconds it took; a failure says why, with a hint. Under a host
of several backups, each one that failed or verified with a warning, as verify prints it. -q prints
only the failed hosts. --json prints one document instead: {"fleet", "shard", "hosts": [{"host",
"target", "ok", "neverBackedUp", "seconds", "checks": [as verify --json], "error"}], "summary"}.

A host with nothing stored fails as "never backed up", as fleet status makes it CRITICAL: a host that
never pushed is a failure to notice, not one to skip. What would fail every host alike (no --identity,
a wrong passphrase, missing or refused credentials, S3 unreachable) stops the run at once with that
one error.

Sharding: --shard I/N verifies only the hosts of shard I of N, numbered from 1. A host's shard is the
first 4 bytes of the SHA-256 of its name, mod N, plus 1: every machine agrees without talking, each
host is in exactly one shard, and adding or removing a host moves no other (changing N moves most).
In a small fleet a shard may be empty (exit 0). A Kubernetes indexed Job counts JOB_COMPLETION_INDEX
from 0: pass --shard $((JOB_COMPLETION_INDEX + 1))/N (0/N is refused, so a mix-up can't skip a shard).

Exit status: 0 every host verified, 1 a host could not be verified (never backed up, no complete
backup, S3 refused, no matching key) or S3 unreachable, 2 bad usage, fleet file, key, passphrase or
missing credentials, 3 a backup is bad (damaged, or no OpenPGP backup at all) whatever else failed.

Examples:
  sealdrop fleet verify fleet.yaml --identity admin.key.asc
  sealdrop fleet verify fleet.yaml --identity admin.key.asc --all --jobs 4 --json > verify.json
  # the nightly drill, in the monitoring host's crontab (see "Restore drills" in the README):
  SEALDROP_PASSPHRASE_FILE=/etc/sealdrop/drill.pass
  30 5 * * * sealdrop fleet verify /etc/sealdrop/fleet.yaml --identity /etc/sealdrop/drill.asc -q
  # three machines share the proof: a systemd template sealdrop-verify@.service with
  #   ExecStart=/usr/bin/sealdrop fleet verify /etc/sealdrop/fleet.yaml --identity … --shard %i/3
  # and on machine I (1, 2, 3) its timer: systemctl enable --now sealdrop-verify@I.timer
  # a Kubernetes indexed Job (completions: 3, completionMode: Indexed), its container's command:
  sh -c 'exec sealdrop fleet verify /etc/sealdrop/fleet.yaml --identity /keys/drill.key.asc \\
    --shard $((JOB_COMPLETION_INDEX + 1))/3'`,
    )
    .action(async (file: string, options: FleetVerifyCliOptions) => {
      const { readFleet } = await import('../core/fleet-load.js');
      const fleet = await readFleet(file);
      const client = await adminClient({ endpoint: fleet.endpoint, region: fleet.region });
      const { fleetVerify } = await import('../admin/backups/fleet-verify.js');
      const width = fleet.hosts.reduce((widest, host) => Math.max(widest, host.name.length), 0);
      const result = await withProgress({ off: options.json }, (progress, signal) => {
        const reader = readerOptions(options, progress);
        return fleetVerify(client, fleet, {
          identityPaths: reader.identityPaths,
          askPassphrase: reader.askPassphrase,
          maxOutputBytes: reader.maxOutputBytes,
          all: options.all,
          unproven: options.unproven,
          shard: options.shard,
          jobs: options.jobs,
          mark: options.mark,
          signal,
          onStart: (host, snapshot) => progress.update(`${host}: verify ${snapshot.id}`, 0, snapshot.size),
          onProgress: (host, bytes, total) => progress.update(`${host}: verify`, bytes, total),
          onNote: (host, message) => {
            progress.done();
            warn(`${host}: ${message}`);
          },
          onHost: (outcome) => {
            progress.done();
            if (!options.json && (!isQuiet() || !outcome.ok)) printData(describeHost(outcome, width));
          },
        });
      });
      if (options.json) printJson(fleetVerifyJson(file, result, options.shard));
      say(summary(result, options.shard));
      process.exitCode = exitStatus(result);
    });
}

function jobsArg(text: string): number {
  const jobs = integerArg(text);
  if (jobs < 1 || jobs > MAX_JOBS)
    throw new SealdropError('USAGE', `--jobs ${text}: verify 1 to ${MAX_JOBS} hosts at once`);
  return jobs;
}

/** 3 if any backup is bad, whatever else failed; 1 if a host could not be verified; else 0. */
function exitStatus(result: FleetVerifyResult): number {
  const bad = result.hosts.some(
    (host) => isBadBackup(host.error?.code ?? null) || host.checks.some((check) => isBadBackup(check.code)),
  );
  return bad ? EXIT.integrity : result.failed > 0 ? EXIT.failed : EXIT.ok;
}

/** One line per host (OK or FAILED, the backup checked, seconds), and under it what failed and why. */
function describeHost(outcome: HostVerify, width: number): string {
  const head = `${outcome.ok ? 'OK    ' : 'FAILED'}  ${outcome.host.padEnd(width)}`;
  const seconds = `${outcome.seconds.toFixed(1)} s`;
  if (outcome.error)
    return outcome.neverBackedUp
      ? `${head}  never backed up (nothing stored at ${outcome.target})  ${seconds}`
      : `${head}  ${outcome.error.message}  ${seconds}\n  hint: ${outcome.error.hint}`;
  // Checks run oldest first: the line names the newest.
  const check = outcome.checks.at(-1);
  if (check === undefined) return `${head}  nothing new: every backup is proven already  ${seconds}`;
  const { snapshot } = check;
  const newest = `${snapshot.runId ?? snapshot.versionId}  ${snapshot.time}`;
  if (outcome.checks.length === 1)
    return check.ok
      ? [
          `${head}  ${newest}  ${seconds}${check.markedAt ? ', marked verified' : ''}`,
          ...check.warnings.map((warning) => `  warning: ${warning}`),
        ].join('\n')
      : `${head}  ${newest}  ${seconds}  ${check.problem}\n  hint: ${check.hint}`;
  const failed = outcome.checks.filter((each) => !each.ok).length;
  // Under it each backup worth a look, as verify prints it: the failed ones and the warned about.
  const noted = outcome.checks.filter((each) => !each.ok || each.warnings.length > 0);
  return [
    `${head}  ${outcome.checks.length} backups${failed ? `, ${failed} FAILED` : ' verified'}, newest ${newest}  ${seconds}`,
    ...noted.map((each) => indent(describeCheck(each))),
  ].join('\n');
}

function indent(text: string): string {
  return text.replace(/^/gm, '  ');
}

function summary(result: FleetVerifyResult, shard: Shard | undefined): string {
  const total = result.hosts.length;
  const where = shard ? ` in shard ${formatShard(shard)} (${result.otherShards} in the other shards)` : '';
  if (total === 0) return `no hosts${where}: nothing to verify.`;
  const failed = result.hosts.filter((host) => !host.ok).map((host) => host.host);
  const named =
    failed.length > NAMED_HOSTS ? `${failed.slice(0, NAMED_HOSTS).join(', ')} …` : failed.join(', ');
  return `${total - failed.length} of ${total} hosts verified${where}${failed.length ? `, ${failed.length} FAILED: ${named}` : ''}.`;
}

function fleetVerifyJson(file: string, result: FleetVerifyResult, shard: Shard | undefined) {
  return {
    fleet: file,
    shard: shard ? formatShard(shard) : null,
    hosts: result.hosts.map((host) => ({
      host: host.host,
      target: host.target,
      ok: host.ok,
      neverBackedUp: host.neverBackedUp,
      seconds: host.seconds,
      checks: host.checks,
      error: host.error ? errorJson(host.error).error : null,
    })),
    summary: {
      hosts: result.hosts.length,
      verified: result.hosts.length - result.failed,
      failed: result.failed,
      neverBackedUp: result.hosts.filter((host) => host.neverBackedUp).length,
      otherShards: result.otherShards,
      exitStatus: exitStatus(result),
    },
  };
}
