// sealdrop approve TARGET --version-id ID | --run ID;  sealdrop ack TARGET
import type { Command } from 'commander';
import { SealdropError } from '../core/errors.js';
import { printJson, say } from './output.js';
import { adminClient, resolveTarget, withTarget, type TargetOptions } from './target.js';

interface ApproveCliOptions extends TargetOptions {
  versionId?: string;
  run?: string;
  json?: boolean;
}

export function registerApproveCommands(program: Command): void {
  withTarget(
    program
      .command('approve')
      .description(
        'mark one backup good by your word: a genuine dump verify rejected (a very large real change)',
      ),
  )
    .option('--version-id <ID>', 'key targets: the version to approve')
    .option('--run <ID>', 'prefix targets: the run to approve')
    .option('--json', 'print the result as one JSON document on stdout')
    .addHelpText(
      'after',
      `
verify rejects a backup whose content does not continue the good backup before it (junk, encrypted
data, or a very large real change). Check it (restore it with --version-id/--run and look), then
approve it: prune ranks it as good from now on, \`restore --verified\` may return it, and the next
backup is compared with it. The approval is kept in the bucket's .sealdrop/ area, where no host writes.
Exit status: 0 approved, 2 bad usage or no such backup.

Examples:
  sealdrop approve s3://acme-backups/db1/mysql.sql.gz.gpg \\
      --version-id 3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY
  sealdrop approve --policy db1.policy.json --run 20261205T023000Z-3fa9c1`,
    )
    .action(async (url: string | undefined, options: ApproveCliOptions) => {
      const target = await resolveTarget(url, options);
      const id = options.versionId ?? options.run;
      if (id === undefined || (options.versionId && options.run))
        throw new SealdropError(
          'USAGE',
          'name the backup to approve: --version-id ID (a key) or --run ID (a prefix)',
          {
            hint: '`sealdrop versions TARGET` lists them, REJECTED ones marked.',
          },
        );
      const { approve } = await import('../admin/backups/approve.js');
      const result = await approve(await adminClient(options, [target]), target.location, id);
      if (options.json) printJson(result);
      else
        say(
          `approved ${id} of ${result.target}${result.was === 'rejected' ? ` (verify had rejected it: ${result.problem ?? 'no reason kept'})` : ''}: prune ranks it as good from now on.`,
        );
    });

  withTarget(
    program
      .command('ack')
      .description(
        "acknowledge a set's alarms so far (rejected backups, stream anomalies): quiet until something new",
      ),
  )
    .option('--json', 'print the result as one JSON document on stdout')
    .addHelpText(
      'after',
      `
status then clears the CRITICAL of backups verify rejected and the WARNING of stream anomalies up to
now; anything newer raises them again. Rejected backups stay as evidence (prune --remove-rejected
removes them) and are never ranked as good; to make one good, \`sealdrop approve\` it.
Exit status: 0 acknowledged, 2 bad usage.

Examples:
  sealdrop ack s3://acme-backups/db1/mysql.sql.gz.gpg
  sealdrop ack --policy db1.policy.json`,
    )
    .action(async (url: string | undefined, options: TargetOptions & { json?: boolean }) => {
      const target = await resolveTarget(url, options);
      const { ack } = await import('../admin/backups/approve.js');
      const result = await ack(await adminClient(options, [target]), target.location);
      if (options.json) printJson(result);
      else
        say(
          `acknowledged the alarms of ${result.target} up to ${result.ackedAt}; new ones raise them again.`,
        );
    });
}
