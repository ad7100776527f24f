// sealdrop policy mint | show | curl | renew
import type { Command } from 'commander';
import type { SignatureCheck } from '../admin/policies/trust.js';
import { SealdropError } from '../core/errors.js';
import { writeNewFile } from '../core/files.js';
import { inspectKey, readArmoredKey } from '../core/openpgp-keys.js';
import { parseCompression } from '../core/compression.js';
import {
  assertNotExpired,
  assertRecipientsBound,
  loadPolicyFile,
  policyEndpoint,
  type LoadedPolicy,
} from '../core/policy-file.js';
import { formatS3Url, parseS3Url } from '../core/s3-url.js';
import { formatBytes, formatDuration } from '../core/units.js';
import { collect, durationArg, sizeArg } from './args.js';
import { errorJson, printData, printJson, reportError, say, table, warn } from './output.js';
import { registerPolicyRevoke } from './revoke.js';
import { checkSignature, describeSignature } from './signature.js';

export function registerPolicyCommands(program: Command): void {
  const policy = program
    .command('policy')
    .description('upload policy files: what a server may write')
    .addHelpText(
      'after',
      `
Examples:
  sealdrop policy mint s3://acme-backups/db1/mysql.sql.gz.gpg --recipient admin.pub.asc \\
      --out db1.policy.json
  sealdrop policy show db1.policy.json
  sealdrop policy curl db1.policy.json --out db1.curl
  sealdrop policy renew db1.policy.json db2.policy.json --expires 7d
  sealdrop policy revoke db1.policy.json --yes       # cut db1 off now (unrevoke undoes it)`,
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
      "what servers compress with, recorded in the file (push --compress overrides; default: what the key's suffix names, .zst.gpg zstd, else gzip)",
    )
    .option(
      '--ping <URL>',
      'where push reports every run: URL/start, URL on success, URL/fail (healthchecks.io convention)',
    )
    .option('--region <REGION>', 'AWS region (else AWS_REGION)')
    .option('--endpoint <URL>', 'S3 endpoint (else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS)')
    .option('--force', 'replace an existing policy file')
    .option('--json', 'print the summary as JSON on stdout')
    .addHelpText(
      'after',
      `
Signs with the uploader's credentials from the standard AWS chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...).
No network is needed. Renew before it expires: servers warn 3 days ahead. With --ping, every push
reports to that URL (a dead man's switch such as healthchecks.io): the server needs no configuration.

zstd is the better default for a fleet whose servers all push with sealdrop-agent (the executable,
alone or from the .deb, carries a Node.js with zstd) or on Node.js 22.15+: well under half of gzip -6's
CPU for the same size. Restoring it takes Node.js 22.15+ or the zstd tool. Keep gzip (the default)
where a server runs sealdrop or sealdrop-agent.mjs on Node.js 20, or where gunzip alone must restore.

Example:
  AWS_PROFILE=backup-uploader sealdrop policy mint s3://acme-backups/db1/mysql.sql.gz.gpg \\
      --recipient admin.pub.asc --expires 7d --max-size 2GiB --name db1 --out db1.policy.json \\
      --ping https://hc-ping.com/0f3c6e2a-5d0b-4b9e-9d7e-2b1c8a7e4f10
  scp db1.policy.json db1:/etc/sealdrop/db1.policy.json
  # zstd, because the key's suffix says so
  sealdrop policy mint s3://acme-backups/db2/pg.sql.zst.gpg --recipient admin.pub.asc \\
      --out db2.policy.json`,
    )
    .action(async (target: string, options: MintCliOptions) => {
      const [{ mintPolicy }, { createS3Client }] = await Promise.all([
        import('../admin/policies/mint.js'),
        import('../admin/s3/client.js'),
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
        ping: options.ping,
        out: options.out,
        force: options.force,
      });
      result.warnings.forEach(warn);
      if (options.json) printJson(await policyJson(result, options.out));
      say(`Wrote ${options.out} (mode 0600). Install it on the server; it holds no secret key.`);
      say(await describePolicy(result, options.out));
    });

  registerPolicyShowCommand(policy);
  registerPolicyCurlCommand(policy);
  registerPolicyRevoke(policy);
}

/** `policy show` alone, for the agent's command tree (src/cli/agent-program.ts) too. */
export function registerPolicyShowCommand(policy: Command): void {
  policy
    .command('show')
    .description('what a policy file allows, read from the signed policy itself; exits 2 once expired')
    .argument('<FILE>', 'policy file')
    .option('--json', 'print as JSON on stdout')
    .addHelpText(
      'after',
      `
With the credentials that signed it (the same access key id in the AWS credential chain) the signature
is checked: "signature: verified", and a file changed after signing is refused (exit 2). Elsewhere, on
a server say, it says why it could not check. Recipients that are not the ones the policy was signed
for are refused too.

Examples:
  sealdrop policy show /etc/sealdrop/db1.policy.json
  AWS_PROFILE=backup-uploader sealdrop policy show db1.policy.json --json`,
    )
    .action(async (file: string, options: { json?: boolean }) => {
      const loaded = await loadPolicyFile(file);
      const signature = await checkSignature(loaded);
      if (signature.state === 'failed')
        throw new SealdropError('POLICY_FILE_INVALID', `${file}: ${signature.reason}`, {
          hint: 'Do not use this file; mint the policy again (sealdrop policy mint).',
        });
      let expired: SealdropError | undefined;
      try {
        assertNotExpired(loaded.summary, file);
      } catch (error) {
        expired = error as SealdropError;
      }
      // Expired, it is still shown, and the one --json document carries the error too.
      if (options.json)
        printJson({ ...(await policyJson(loaded, file, signature)), ...(expired ? errorJson(expired) : {}) });
      else printData(await describePolicy(loaded, file, signature));
      if (expired) process.exitCode = reportError(expired);
    });
}

function registerPolicyCurlCommand(policy: Command): void {
  policy
    .command('curl')
    .description('write a curl config that uploads stdin under this policy (for hosts without Node)')
    .argument('<FILE>', 'policy file (of one key: a prefix policy is refused)')
    .option('--out <FILE>', 'write the config here (mode 0600) instead of stdout')
    .option('--force', 'replace an existing --out file')
    .addHelpText(
      'after',
      `
The config holds the URL, the signed form fields and "file=@-": \`curl --config FILE\` uploads stdin,
with nothing secret on any command line (ps shows only the config's name). Keep it 0600, like the
policy file. The stream must already be encrypted to the recipients (import them into gpg first).
A prefix policy is refused: one curl upload is not a run that the admin commands could restore.

Example:
  sealdrop policy curl db1.policy.json --out db1.curl        # then copy db1.curl to the server
  mysqldump db1 | gzip | gpg --encrypt --recipient ADMIN-FINGERPRINT --compress-algo none \\
      | curl --config /etc/sealdrop/db1.curl
curl holds the whole upload in memory: prefer \`sealdrop push\` where Node is available.`,
    )
    .action(async (file: string, options: { out?: string; force?: boolean }) => {
      const { summary, file: policy } = await loadPolicyFile(file);
      assertNotExpired(summary, file);
      if (summary.location.isPrefix)
        throw new SealdropError(
          'USAGE',
          `${file} is a prefix policy: a curl upload would store one object that is not a run, which no admin command restores`,
          {
            hint: 'Use `sealdrop push` for prefix policies, or mint a policy for one key (s3://BUCKET/KEY) for curl.',
          },
        );
      const config = curlConfig(policy.url, policy.fields);
      if (options.out === undefined) return printData(config);
      await writeNewFile(options.out, config, { overwrite: options.force });
      say(`Wrote ${options.out} (mode 0600). Upload with: ... | curl --config ${options.out}`);
    });

  policy
    .command('renew')
    .description('re-mint policy files in place from their own signed conditions, atomically')
    .argument('<FILE...>', 'policy files to renew')
    .option(
      '--expires <DURATION>',
      'how long the renewed policies work (default: as long as before)',
      durationArg,
    )
    .option('--region <REGION>', "AWS region (default: the policy's own)")
    .option('--endpoint <URL>', "S3 endpoint (default: the policy's own URL, else as for mint)")
    .option('--json', 'print one summary per file as JSON on stdout')
    .addHelpText(
      'after',
      `
Each file keeps its bucket, key or prefix, ACL, size range, recipients, name and renewal location;
only the expiry moves (and the signature). The file is replaced by rename, with its mode and owner.
Signs with the standard AWS chain, like mint. A file whose signature fails against those credentials
is refused; one that can't be checked (signed by another access key) is renewed with a warning.
A renewal location's new URL is presigned with the same credentials: they must be able to read it.
A file whose key or prefix is revoked in the bucket policy (policy revoke) is skipped with a warning;
when these credentials can't read the bucket policy, the file is renewed with a warning (setup's
bucket policy and IAM user policy let the uploader read it).

Examples:
  AWS_PROFILE=backup-uploader sealdrop policy renew db1.policy.json db2.policy.json
  sealdrop policy renew /etc/sealdrop/*.policy.json --expires 7d`,
    )
    .action(async (files: string[], options: RenewCliOptions) => {
      const [{ renewPolicyFile }, { createS3Client }, { checkRevoked }] = await Promise.all([
        import('../admin/policies/renew.js'),
        import('../admin/s3/client.js'),
        import('../admin/policies/revoke.js'),
      ]);
      const results = [];
      for (const file of files) {
        const loaded = await loadPolicyFile(file);
        const client = createS3Client({
          endpoint: options.endpoint ?? policyEndpoint(loaded.summary),
          region: options.region ?? loaded.summary.region,
        });
        // A revoked host gets no new policy: the bucket policy says who is revoked.
        const revoked = await checkRevoked(client, loaded.summary.location);
        if (revoked.state === 'revoked') {
          warn(
            `skipped ${file}: revoked since ${revoked.since?.toISOString() ?? '(unknown)'} (policy unrevoke undoes it)`,
          );
          continue;
        }
        if (revoked.state === 'unknown')
          warn(`${file}: could not tell whether it is revoked (${revoked.reason}); renewing it`);
        const result = await renewPolicyFile(client, file, loaded, { expiresInMs: options.expires });
        result.warnings.forEach(warn);
        results.push(result);
        say(
          `Renewed ${file}: expires ${result.summary.expiresAt.toISOString()} (was ${result.previousExpiresAt})`,
        );
      }
      if (options.json)
        printJson(
          results.map((result) => ({
            file: result.path,
            expiresAt: result.summary.expiresAt.toISOString(),
            previousExpiresAt: result.previousExpiresAt,
          })),
        );
    });
}

interface RenewCliOptions {
  expires?: number;
  region?: string;
  endpoint?: string;
  json?: boolean;
}

interface MintCliOptions {
  recipient?: string[];
  out: string;
  expires?: number;
  maxSize?: number;
  acl?: string;
  name?: string;
  compress?: string;
  ping?: string;
  region?: string;
  endpoint?: string;
  force?: boolean;
  json?: boolean;
}

/** A curl config file (curl --config): options one per line, values in double quotes. */
function curlConfig(url: string, fields: Record<string, string>): string {
  const quote = (text: string) => {
    // curl's config syntax has escapes for some control characters only; no policy field needs any.
    if ([...text].some((char) => char < ' '))
      throw new SealdropError('POLICY_FILE_INVALID', 'a form field holds a control character');
    return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  };
  return [
    '# sealdrop policy curl: upload stdin with `curl --config THIS-FILE` (keep it 0600: it can upload)',
    'fail-with-body',
    'silent',
    'show-error',
    ...Object.entries(fields).map(([name, value]) => `form-string = ${quote(`${name}=${value}`)}`),
    'form = "file=@-"',
    `url = ${quote(url)}`,
    '',
  ].join('\n');
}

async function recipientsOf(loaded: LoadedPolicy) {
  return Promise.all(
    loaded.file.recipients.map(async (armored, index) => {
      const info = await inspectKey(await readArmoredKey(armored, `recipient ${index + 1}`));
      return { fingerprint: info.fingerprint, userIds: info.userIds };
    }),
  );
}

/** The recipients, refused unless they are the ones the signature binds. */
async function boundRecipientsOf(loaded: LoadedPolicy, source: string) {
  const recipients = await recipientsOf(loaded);
  assertRecipientsBound(
    loaded.summary,
    recipients.map((r) => r.fingerprint),
    source,
  );
  return recipients;
}

async function policyJson(
  loaded: LoadedPolicy,
  source: string,
  signature?: SignatureCheck,
  now = new Date(),
) {
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
    recipients: await boundRecipientsOf(loaded, source),
    recipientsBound: summary.boundRecipients !== null,
    ...(signature
      ? {
          signature: signature.state,
          ...(signature.state === 'verified' ? {} : { signatureNote: signature.reason }),
        }
      : {}),
    renewFrom: summary.renewFrom?.toISOString() ?? null,
    ping: loaded.file.ping ?? null,
    recipientsChangedAt: (await changedAt(loaded))?.toISOString() ?? null,
  };
}

/** When the recipient change the file carries was signed (see core/recipient-change.ts), if it has one. */
async function changedAt(loaded: LoadedPolicy): Promise<Date | null> {
  const { recipientChange } = loaded.file;
  if (recipientChange === undefined) return null;
  const { heldRecipientChange } = await import('../core/recipient-change.js');
  return (await heldRecipientChange(recipientChange))?.signedAt ?? null;
}

export async function describePolicy(
  loaded: LoadedPolicy,
  source: string,
  signature?: SignatureCheck,
  now = new Date(),
): Promise<string> {
  const { summary } = loaded;
  const left = summary.expiresAt.getTime() - now.getTime();
  const recipients = await boundRecipientsOf(loaded, source);
  const changed = await changedAt(loaded);
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
    ...(signature ? [['signature', describeSignature(signature)] as [string, string]] : []),
    ...(summary.renewFrom
      ? [
          [
            'renews',
            `from ${summary.renewFrom.toISOString()} (fetched by push from its renewal location)`,
          ] as [string, string],
        ]
      : []),
    ...(loaded.file.ping ? [['ping', loaded.file.ping] as [string, string]] : []),
    ...recipients.map((r, i): [string, string] => [
      i === 0 ? 'recipients' : '',
      `${r.fingerprint} ${r.userIds.join(', ')}`,
    ]),
    ...(changed
      ? [['', `(a recipient change signed at ${changed.toISOString()}: key rotation)`] as [string, string]]
      : []),
    ...(summary.boundRecipients === null
      ? [
          ['', '(not bound to the signature: minted by an earlier sealdrop; mint it again to bind them)'] as [
            string,
            string,
          ],
        ]
      : []),
  ]);
}
