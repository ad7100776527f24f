// sealdrop report TARGET... | --fleet FILE --out report.html
import type { S3Client } from '@aws-sdk/client-s3';
import type { WatchedSet } from '../core/health.js';
import { access } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { SealdropError } from '../core/errors.js';
import { replaceFile } from '../core/files.js';
import { buildReport } from '../core/report.js';
import { reportHtml } from '../core/report-html.js';
import { formatBytes } from '../core/units.js';
import { plural } from '../core/words.js';
import { durationArg, durationOption } from './args.js';
import { say, warn } from './output.js';
import { streamThresholds, withStreamOptions, type StreamCliOptions } from './stream-options.js';
import { adminClient, policiesOrEnv, resolveTargets, withTargets, type TargetsOptions } from './target.js';

interface ReportCliOptions extends TargetsOptions, StreamCliOptions {
  fleet?: string;
  out: string;
  force?: boolean;
  maxAge: number;
  warnAge?: number;
  policyWarn: number;
  period: number;
}

/** Thresholds a fleet file sets per host (under the same names): with --fleet they come from there. */
const PER_HOST = [
  ['maxAge', '--max-age'],
  ['warnAge', '--warn-age'],
  ['policyWarn', '--policy-warn'],
] as const;

export function registerReportCommand(program: Command): void {
  withStreamOptions(
    withTargets(
      program
        .command('report')
        .description('one self-contained HTML page: every backup set, worst first, with its timeline'),
      { envPolicy: true },
    ),
  )
    .option('--fleet <FILE>', "every host of a fleet file, with its thresholds and its policy copy's expiry")
    .requiredOption('--out <FILE>', 'the HTML file to write (required; replaced by rename)')
    .option('--force', 'replace an existing --out file')
    .addOption(
      durationOption('--max-age <DURATION>', 'mark gaps longer than this; CRITICAL beyond it', '26h'),
    )
    .option(
      '--warn-age <DURATION>',
      'WARNING when the latest is older (default: no warning stage)',
      durationArg,
    )
    .addOption(durationOption('--policy-warn <DURATION>', 'WARNING when a policy expires within this', '3d'))
    .addOption(
      durationOption('--period <DURATION>', 'the period summed up at the top, and the timelines', '7d'),
    )
    .addHelpText(
      'after',
      `
The page needs nothing at view time (no script, no network): mail it, or put it on a share. At the
top, the period in numbers: backups made and missed (by each set's usual rhythm, in stretches longer
than its max age), the bytes stored and what the period added, and the sets in trouble. Then one tile
per backup set, worst first (CRITICAL, UNKNOWN, WARNING, OK), with why. Then each set with its state
and why, its thresholds, its policy's expiry, its period's numbers and its timeline over --period:
the size of each backup on the set's own labelled scale (one outsized backup is drawn clipped, with
its value), stretches without a complete backup for longer than the max age, anomalies (a backup
that shrank against the ones before it, too small, a flood), broken and incomplete runs and delete
markers. States are those of \`sealdrop status\`. Sets of any size draw as the same few marks.
With --fleet, thresholds are each host's (maxAge, warnAge, policyWarn in the fleet file) and the
policy expiry is read from the fleet's policy directory. A host cut off in the bucket policy (fleet
revoke) is judged as fleet status judges it, says REVOKED on its tile and its section, has the cut
drawn on its timeline, and misses nothing after it; the WAL archive of a host whose backups alone
are revoked is CRITICAL, with the fleet revoke to run again (reading the bucket policy needs
s3:GetBucketPolicy; without it, a warning). With no --fleet, TARGET or --policy, the set is
SEALDROP_POLICY's, as for the other read-side commands.

Examples:
  sealdrop report --fleet fleet.yaml --out /var/www/backups/index.html --force
  sealdrop report --fleet fleet.yaml --period 30d --out month.html
  sealdrop report s3://acme-backups/db1/mysql.sql.gz.gpg --policy db2.policy.json --out report.html`,
    )
    .action(async (urls: string[], options: ReportCliOptions, command: Command) => {
      const anomaly = streamThresholds(options);
      // The thresholds for sets named here; a fleet's hosts have their own.
      const thresholds = {
        maxAgeMs: options.maxAge,
        warnAgeMs: options.warnAge ?? null,
        policyWarnMs: options.policyWarn,
        anomaly,
      };
      let targets: WatchedSet[];
      let title: string;
      let client: S3Client;
      if (options.fleet !== undefined) {
        if (urls.length > 0 || options.policy)
          throw new SealdropError(
            'USAGE',
            'give backup sets either as TARGETs/--policy or with --fleet, not both',
          );
        for (const [setting, flag] of PER_HOST)
          if (command.getOptionValueSource(setting) === 'cli')
            throw new SealdropError(
              'USAGE',
              `with --fleet, ${flag} is each host's ${setting} in the fleet file`,
            );
        const [{ loadFleet }, { fleetReportTargets }] = await Promise.all([
          import('../core/fleet-load.js'),
          import('../admin/backups/fleet.js'),
        ]);
        const fleet = await loadFleet(options.fleet);
        client = await adminClient({
          endpoint: options.endpoint ?? fleet.endpoint,
          region: options.region ?? fleet.region,
        });
        const read = await fleetReportTargets(client, fleet, anomaly);
        read.warnings.forEach(warn);
        targets = read.targets;
        title = basename(options.fleet);
      } else {
        // As every read-side command: SEALDROP_POLICY when nothing is named.
        const policy = policiesOrEnv(options.policy, urls.length > 0);
        if (urls.length === 0 && !policy)
          throw new SealdropError(
            'USAGE',
            'name the backup sets: --fleet FILE, or s3://BUCKET/KEY arguments and/or --policy FILE options (else SEALDROP_POLICY)',
          );
        const resolved = await resolveTargets(urls, { ...options, policy });
        targets = resolved.map((target) => ({
          location: target.location,
          ...(target.policyExpiresAt ? { policyExpiresAt: target.policyExpiresAt } : {}),
        }));
        title = plural(targets.length, 'backup set');
        client = await adminClient(options, resolved);
      }
      if (!options.force && (await exists(options.out)))
        throw new SealdropError('FILE_EXISTS', `${options.out} already exists; not overwriting it`, {
          hint: 'Pass --force to replace it (by rename: readers see the old page or the new one).',
        });
      const { gatherReport } = await import('../admin/backups/report.js');
      const inputs = await gatherReport(client, targets, thresholds);
      const model = buildReport(inputs, { periodMs: options.period });
      const html = reportHtml(model, { title });
      await replaceFile(options.out, html, { mode: 0o644 });
      const states = (['CRITICAL', 'UNKNOWN', 'WARNING', 'OK'] as const)
        .filter((state) => model.counts[state] > 0)
        .map((state) => `${model.counts[state]} ${state}`);
      say(
        `Wrote ${options.out} (${formatBytes(Buffer.byteLength(html))}): ${plural(model.sets.length, 'backup set')}, ${states.join(', ')}`,
      );
    });
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
