// sealdrop key retire-check OLD.pub.asc TARGET | --policy FILE | --fleet FILE [--host NAME]
import type { Command } from 'commander';
import type { SetRetireCheck } from '../admin/backups/retire-check.js';
import type { AnomalyThresholds } from '../core/anomaly.js';
import { EXIT, SealdropError } from '../core/errors.js';
import { readTextFile } from '../core/files.js';
import { knownKey, readArmoredKey } from '../core/openpgp-keys.js';
import { recipientsText, type KnownKey } from '../core/recipients.js';
import { isEmptyPolicy, type RetentionPolicy } from '../core/retention.js';
import type { RetireBackup } from '../core/retire.js';
import { formatDuration } from '../core/units.js';
import { plural } from '../core/words.js';
import { integerArg } from './args.js';
import { retentionPolicy, withKeepOptions, type KeepCliOptions } from './keep-options.js';
import { columns, printJson, printLines, warn } from './output.js';
import {
  adminClient,
  fleetHosts,
  hostTarget,
  resolveTarget,
  withFleetHost,
  withTarget,
  type NamedTarget,
  type TargetOptions,
} from './target.js';

interface RetireCliOptions extends Omit<TargetOptions, 'host'>, KeepCliOptions {
  host?: string[];
  json?: boolean;
  maxReads: number;
}

/** One set to check, with the rules prune applies to it. */
interface Checked {
  target: NamedTarget;
  policy: RetentionPolicy;
  anomaly?: AnomalyThresholds;
}

export function registerRetireCheck(key: Command): void {
  withKeepOptions(
    withFleetHost(
      withTarget(
        key
          .command('retire-check')
          .description(
            'which backups only this key can read, and when prune will have removed the last of them',
          )
          .argument('<OLD.pub.asc>', 'the key to retire (armored; public or private)'),
      ),
      { several: true },
    ),
  )
    .option(
      '--max-reads <N>',
      'backups read at most per set (more: refused, not half-checked)',
      integerArg,
      10_000,
    )
    .option('--json', 'print the report as one JSON document on stdout')
    .addHelpText(
      'after',
      `
Reads every complete backup's recipients from its first 8 KiB (one ranged GET each, 8 at a time; a
run's: its first part's), as versions --recipients does. A backup is readable only with OLD when
every key id its key packets name is one of OLD's (its primary key's or a subkey's): "other keys" are
any other key id, whether or not that key is still in use; a passphrase packet is not a key. A backup
whose recipients can't be told (gpg --throw-keyids, or more key packets than 8 KiB hold) counts as
readable only with OLD; one whose first bytes are no encrypted message (junk) is readable by no key
and does not count. WAL archives are not checked.
For each set with such backups, the forecast: the date of the prune after which prune's own plan (the
same rules and guards as sealdrop prune, the circuit breaker aside) has removed the last of them,
assuming no new backup is encrypted to OLD and backups keep coming at the set's usual interval (the
median of its newest, at least an hour), each proven good if the set was ever verified. A rule without
a limit (--keep-yearly -1) keeps one forever: it says so, and which rule; so does a set with no rules.
The rules: --keep-… as for prune; with --fleet, each host's keep: (the --keep-… options override it).
--fleet FILE alone checks every host of the fleet; --host NAME (repeatable) some of them.
Exit status: 0 safe to retire (no backup readable only with OLD), 1 some are (or can't be told), 2 bad
usage or input (a set with more than --max-reads backups included).

Examples:
  sealdrop key retire-check old.pub.asc --fleet fleet.yaml
  sealdrop key retire-check old.pub.asc s3://acme-backups/db1/mysql.sql.gz.gpg \\
      --keep-daily 14 --keep-monthly 12
  sealdrop key retire-check old.pub.asc --policy db1.policy.json --keep-last 30 --json \\
      | jq .lastGoes
  sealdrop key retire-check old.pub.asc --fleet fleet.yaml && shred -u old.key.asc   # once safe`,
    )
    .action(async (oldFile: string, url: string | undefined, options: RetireCliOptions) => {
      const old = knownKey(await readArmoredKey(await readTextFile(oldFile, 'key file'), oldFile));
      const checked = await checkedSets(url, options);
      const [{ retireCheck }, { backupSet }] = await Promise.all([
        import('../admin/backups/retire-check.js'),
        import('../admin/sets/open.js'),
      ]);
      const client = await adminClient(
        options,
        checked.map((c) => c.target),
      );
      const now = new Date();
      const results: (SetRetireCheck & { host?: string })[] = [];
      for (const { target, policy, anomaly } of checked) {
        const result = await retireCheck(backupSet(client, target.location), {
          oldKeyIds: new Set(old.keyIds),
          policy,
          ...(options.tz ? { timeZone: options.tz } : {}),
          ...(anomaly ? { anomaly } : {}),
          now,
          maxReads: options.maxReads,
        });
        result.warnings.forEach(warn);
        results.push({ ...result, ...(target.host ? { host: target.host } : {}) });
      }
      const verdict = overall(results, now);
      if (options.json) printJson(reportJson(old, results, verdict));
      else printLines(describe(old, results, verdict, now));
      if (!verdict.safe) process.exitCode = EXIT.failed;
    });
}

/** The sets the command line names, each with its prune rules. */
async function checkedSets(url: string | undefined, options: RetireCliOptions): Promise<Checked[]> {
  const given = retentionPolicy(options);
  const override = !isEmptyPolicy(given);
  const named =
    options.fleet !== undefined && options.host === undefined
      ? await wholeFleet(options.fleet)
      : await fleetHosts(options);
  if (!named) return [{ target: await resolveTarget(url, options), policy: given }];
  if (url !== undefined || options.policy !== undefined)
    throw new SealdropError(
      'USAGE',
      'name the backups either as s3://BUCKET/KEY, with --policy FILE or with --fleet FILE, not several',
    );
  return named.hosts.map((host) => ({
    target: hostTarget(named.fleet, host),
    policy: override ? given : host.settings.keep,
    anomaly: host.settings.anomaly,
  }));
}

async function wholeFleet(file: string) {
  const { readFleet } = await import('../core/fleet-load.js');
  const fleet = await readFleet(file);
  return { fleet, hosts: fleet.hosts };
}

const isLeft = (b: RetireBackup) => b.class === 'only-old' || b.class === 'unknown';

interface Verdict {
  safe: boolean;
  left: number;
  sets: number;
  /** When the last of them goes, in every set; null: some never do (or not within the forecast). */
  lastGoes: Date | null;
}

/** The set's newest backup is the key's alone: its host encrypts to it still, so none of them goes. */
const stillOnlyKey = (r: SetRetireCheck) => r.backups[0]?.class === 'only-old';

/** Whether any backup names the key at all (none: a wrong key file, likely). */
const namesKey = (results: readonly SetRetireCheck[], keyIds: readonly string[]) =>
  results.some((r) =>
    r.backups.some(
      (b) => b.recipients.kind === 'read' && b.recipients.keyIds.some((id) => keyIds.includes(id)),
    ),
  );

function overall(results: readonly SetRetireCheck[], now: Date): Verdict {
  const withLeft = results.filter((r) => r.backups.some(isLeft));
  let lastGoes: Date | null = now;
  for (const r of withLeft) {
    const at = stillOnlyKey(r) ? null : (r.forecast?.at ?? null);
    lastGoes = at === null || lastGoes === null ? null : at > lastGoes ? at : lastGoes;
  }
  const left = withLeft.reduce((sum, r) => sum + r.backups.filter(isLeft).length, 0);
  return { safe: left === 0, left, sets: withLeft.length, lastGoes: left === 0 ? null : lastGoes };
}

function forecastText(r: SetRetireCheck, now: Date): string {
  const f = r.forecast;
  if (!f) return '';
  if (stillOnlyKey(r))
    return "its newest backup is encrypted to this key alone: the host still encrypts to it, and none goes until it stops (the rotation's steps 2-4)";
  if (f.at && f.at.getTime() <= now.getTime()) return `the next prune removes the last of them (${r.policy})`;
  if (f.at)
    return `the last goes with the prune after ${f.at.toISOString()} (${r.policy}; a backup every ${formatDuration(f.intervalMs)} assumed)`;
  if (f.forever) return `kept forever by ${f.keptBy.join(', ')} (${r.policy})`;
  return `still kept on ${f.horizon.toISOString()}, as far as the forecast looks, by ${f.keptBy.join(', ')} (${r.policy})`;
}

function* describe(
  old: KnownKey,
  results: readonly (SetRetireCheck & { host?: string })[],
  verdict: Verdict,
  now: Date,
): Generator<string> {
  yield `key ${old.fingerprint} (key ids ${old.keyIds.join(', ')})`;
  const known = [old];
  for (const r of results) {
    const name = `${r.target}${r.host ? ` (host ${r.host})` : ''}`;
    const left = r.backups.filter(isLeft);
    if (left.length === 0) {
      yield `${name}: none of ${plural(r.backups.length, 'backup')} is readable only with it`;
      continue;
    }
    const unknown = left.filter((b) => b.class === 'unknown').length;
    yield `${name}: ${left.length} of ${plural(r.backups.length, 'backup')} readable only with it${unknown ? ` (${unknown} whose recipients can't be told)` : ''}; ${forecastText(r, now)}`;
    yield* columns(['  ID', 'TIME', 'RECIPIENTS', 'KEPT NOW BY'], () =>
      left.map((b) => [
        `  ${b.snapshot.id}`,
        b.snapshot.time.toISOString(),
        recipientsText(b.recipients, known),
        (r.keptNow.get(b.snapshot.id) ?? ['no keep rules']).join(', '),
      ]),
    );
  }
  if (verdict.safe && !namesKey(results, old.keyIds) && results.some((r) => r.backups.length > 0))
    yield `note: no backup checked is encrypted to ${old.fingerprint} at all: is it the key you meant?`;
  if (verdict.safe) yield `safe to retire: no backup is readable only with ${old.fingerprint}`;
  else
    yield `NOT safe to retire: ${plural(verdict.left, 'backup')} in ${plural(verdict.sets, 'set')} readable only with ${old.fingerprint}; ${verdict.lastGoes ? `the last goes by ${verdict.lastGoes.toISOString()}` : 'some are not removed by any prune in sight'}`;
}

function reportJson(
  old: KnownKey,
  results: readonly (SetRetireCheck & { host?: string })[],
  verdict: Verdict,
) {
  return {
    key: old,
    safe: verdict.safe,
    namedByAnyBackup: namesKey(results, old.keyIds),
    readableOnlyWithKey: verdict.left,
    lastGoes: verdict.lastGoes?.toISOString() ?? null,
    sets: results.map((r) => {
      const left = r.backups.filter(isLeft);
      const f = r.forecast;
      return {
        target: r.target,
        ...(r.host ? { host: r.host } : {}),
        policy: r.policy,
        backups: r.backups.length,
        unreadable: r.backups.filter((b) => b.class === 'unreadable').length,
        onlyOld: left.map((b) => ({
          id: b.snapshot.id,
          time: b.snapshot.time.toISOString(),
          recipients: b.recipients.kind === 'read' ? b.recipients.keyIds : [],
          certain: b.class === 'only-old',
          keptBy: r.keptNow.get(b.snapshot.id) ?? [],
        })),
        stillEncryptsToKey: stillOnlyKey(r),
        lastGoes: stillOnlyKey(r) ? null : (f?.at?.toISOString() ?? null),
        forever: f?.forever ?? false,
        keptBy: f?.keptBy ?? [],
        intervalSeconds: f ? f.intervalMs / 1000 : null,
        horizon: f?.horizon.toISOString() ?? null,
      };
    }),
  };
}
