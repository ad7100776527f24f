// sealdrop policy mint | show | curl
import type { Command } from 'commander';
import { inspectKey, readArmoredKey } from '../core/openpgp-keys.js';
import { assertNotExpired, loadPolicyFile, type LoadedPolicy } from '../core/policy-file.js';
import { parseCompression } from '../core/compression.js';
import { formatS3Url, parseS3Url } from '../core/s3-url.js';
import { formatBytes, formatDuration } from '../core/units.js';
import { collect, durationArg, sizeArg } from './args.js';
import { printData, printJson, say, table, warn } from './output.js';

export function registerPolicyCommands(program: Command): void {
  const policy = program
    .command('policy')
    .description('upload policy files: what a server may write')
    .addHelpText(
      'after',
      `
Examples:
  sealdrop policy mint s3://acme-backups/db1/mysql.sql.gz.gpg --recipient admin.pub.asc --out db1.policy.json
  sealdrop policy show db1.policy.json
  sealdrop policy curl db1.policy.json`,
    );

  policy
    .command('mint')
    .description('sign (offline) an upload policy for one key or prefix and bundle it with the recipients')
    .argument('<s3://BUCKET/KEY>', 'the key servers write to; end it in / for a prefix (multi-object runs)')
    .option(
      '--recipient <PUB.asc>',
      'public key every backup is encrypted to (repeatable, at least one)',
      collect,
    )
    .requiredOption('--out <FILE>', 'policy file to write (mode 0600)')
    .option('--expires <DURATION>', 'how long the policy works, e.g. 36h (default 7d)', durationArg)
    .option('--max-size <SIZE>', 'largest object allowed, e.g. 2GiB (default and ceiling 5GiB)', sizeArg)
    .option(
      '--acl <ACL>',
      'canned ACL the object gets (default bucket-owner-full-control: the admin must be able to read it)',
    )
    .option('--name <LABEL>', 'label for people (host or database name)')
    .option(
      '--compress <gzip|zstd|none>',
      'what servers compress with, recorded in the file (push --compress overrides; default gzip)',
    )
    .option('--region <REGION>', 'AWS region (else AWS_REGION)')
    .option('--endpoint <URL>', 'S3 endpoint (else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS)')
    .option('--force', 'replace an existing policy file')
    .option('--json', 'print the summary as JSON on stdout')
    .addHelpText(
      'after',
      `
Signs with the uploader's credentials from the standard AWS chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...).
No network is needed. Renew before it expires: servers warn 3 days ahead.

Example:
  AWS_PROFILE=backup-uploader sealdrop policy mint s3://acme-backups/db1/mysql.sql.gz.gpg \\
      --recipient admin.pub.asc --expires 7d --max-size 2GiB --name db1 --out db1.policy.json
  # servers on Node.js 22.15+: zstd, named so by the key's suffix
  sealdrop policy mint s3://acme-backups/db2/pg.sql.zst.gpg --compress zstd --recipient admin.pub.asc --out db2.policy.json
  scp db1.policy.json db1:/etc/sealdrop/policy.json`,
    )
    .action(async (target: string, options: MintCliOptions) => {
      const [{ mintPolicy }, { createS3Client }] = await Promise.all([
        import('../admin/mint.js'),
        import('../admin/s3-client.js'),
      ]);
      const client = createS3Client({ endpoint: options.endpoint, region: options.region });
      const result = await mintPolicy(client, {
        location: parseS3Url(target),
        recipientFiles: options.recipient ?? [],
        expiresInMs: options.expires,
        maxSize: options.maxSize,
        acl: options.acl,
        name: options.name,
        compression: options.compress === undefined ? undefined : parseCompression(options.compress),
        out: options.out,
        force: options.force,
      });
      result.warnings.forEach(warn);
      if (options.json) printJson(await policyJson(result));
      say(`Wrote ${options.out} (mode 0600). Install it on the server; it holds no secret key.`);
      say(await describePolicy(result));
    });

  policy
    .command('show')
    .description('what a policy file allows, read from the signed policy itself; exits 2 once expired')
    .argument('<FILE>', 'policy file')
    .option('--json', 'print as JSON on stdout')
    .addHelpText(
      'after',
      `
Example:
  sealdrop policy show /etc/sealdrop/policy.json`,
    )
    .action(async (file: string, options: { json?: boolean }) => {
      const loaded = await loadPolicyFile(file);
      if (options.json) printJson(await policyJson(loaded));
      else say(await describePolicy(loaded));
      assertNotExpired(loaded.summary, file);
    });

  policy
    .command('curl')
    .description('print a curl command that uploads its stdin under this policy (for hosts without Node)')
    .argument('<FILE>', 'policy file')
    .addHelpText(
      'after',
      `
The stream must already be encrypted to the recipients (import them into gpg first).

Example:
  mysqldump db1 | gzip | gpg --encrypt --recipient ADMIN-FINGERPRINT --compress-algo none \\
      | sh -c "$(sealdrop policy curl db1.policy.json)"
curl holds the whole upload in memory: prefer \`sealdrop push\` where Node is available.`,
    )
    .action(async (file: string) => {
      const { summary, file: policy } = await loadPolicyFile(file);
      assertNotExpired(summary, file);
      printData(curlCommand(policy.url, policy.fields, summary.location.isPrefix));
    });
}

interface MintCliOptions {
  recipient?: string[];
  out: string;
  expires?: number;
  maxSize?: number;
  acl?: string;
  name?: string;
  compress?: string;
  region?: string;
  endpoint?: string;
  force?: boolean;
  json?: boolean;
}

function curlCommand(url: string, fields: Record<string, string>, isPrefix: boolean): string {
  const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
  const args = Object.entries(fields).map(([name, value]) =>
    // A prefix policy lets the uploader choose the key under the prefix: a timestamp keeps uploads apart.
    name === 'key' && isPrefix
      ? `--form-string ${quote(`key=${value}`)}"$(date -u +%Y%m%dT%H%M%SZ).gz.gpg"`
      : `--form-string ${quote(`${name}=${value}`)}`,
  );
  return ['curl --fail-with-body --silent --show-error', ...args, "-F 'file=@-'", quote(url)].join(' \\\n  ');
}

async function recipientsOf(loaded: LoadedPolicy) {
  return Promise.all(
    loaded.file.recipients.map(async (armored, index) => {
      const info = await inspectKey(await readArmoredKey(armored, `recipient ${index + 1}`));
      return { fingerprint: info.fingerprint, userIds: info.userIds };
    }),
  );
}

async function policyJson(loaded: LoadedPolicy, now = new Date()) {
  const { summary } = loaded;
  return {
    name: summary.name ?? null,
    bucket: summary.location.bucket,
    [summary.location.isPrefix ? 'prefix' : 'key']: summary.location.key,
    url: summary.url,
    expiresAt: summary.expiresAt.toISOString(),
    secondsLeft: Math.max(0, Math.floor((summary.expiresAt.getTime() - now.getTime()) / 1000)),
    expired: summary.expiresAt.getTime() <= now.getTime(),
    maxSize: summary.maxSize,
    compression: loaded.file.compression ?? null,
    acl: summary.acl,
    region: summary.region,
    signedAt: summary.signedAt.toISOString(),
    temporaryCredentials: summary.hasSessionToken,
    recipients: await recipientsOf(loaded),
  };
}

export async function describePolicy(loaded: LoadedPolicy, now = new Date()): Promise<string> {
  const { summary } = loaded;
  const left = summary.expiresAt.getTime() - now.getTime();
  const recipients = await recipientsOf(loaded);
  return table([
    ...(summary.name ? [['name', summary.name] as [string, string]] : []),
    [summary.location.isPrefix ? 'prefix' : 'key', formatS3Url(summary.location)],
    ['url', summary.url],
    [
      'expires',
      `${summary.expiresAt.toISOString()} (${left > 0 ? `in ${formatDuration(left)}` : `EXPIRED ${formatDuration(-left)} ago`})`,
    ],
    ['max size', formatBytes(summary.maxSize)],
    ...(loaded.file.compression ? [['compression', loaded.file.compression] as [string, string]] : []),
    ['acl', summary.acl],
    [
      'signed',
      `${summary.signedAt.toISOString()} by ${summary.accessKeyId} in ${summary.region}${summary.hasSessionToken ? ' (temporary credentials)' : ''}`,
    ],
    ...recipients.map((r, i): [string, string] => [
      i === 0 ? 'recipients' : '',
      `${r.fingerprint} ${r.userIds.join(', ')}`,
    ]),
  ]);
}
