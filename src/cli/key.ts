// sealdrop key generate | show
import { Option, type Command } from 'commander';
import { readTextFile } from '../core/files.js';
import { inspectKey, readArmoredKey, type KeyInfo } from '../core/openpgp-keys.js';
import { integerArg } from './args.js';
import { printData, printJson, say, table } from './output.js';
import { readPassphrase } from './passphrase.js';
import { registerRetireCheck } from './retire-check.js';

export function registerKeyCommands(program: Command): void {
  const key = program
    .command('key')
    .description("the admin's OpenPGP keypair")
    .addHelpText(
      'after',
      `
Examples:
  sealdrop key generate --uid "Backup Admin <ops@example.com>" --out ~/.sealdrop/admin
  sealdrop key show ~/.sealdrop/admin.pub.asc
  sealdrop key retire-check ~/.sealdrop/old.pub.asc --fleet fleet.yaml`,
    );

  key
    .command('generate')
    .description('make a keypair: PREFIX.pub.asc (give to servers) and PREFIX.key.asc (keep offline, 0600)')
    .requiredOption('--uid <"NAME <EMAIL>">', 'user id of the key')
    .requiredOption('--out <PREFIX>', 'path prefix for the two files')
    .option('--rsa <BITS>', 'RSA key of this size instead of ed25519/cv25519', integerArg)
    .addOption(
      new Option(
        '--passphrase-file <FILE>',
        'read the passphrase from FILE (else SEALDROP_PASSPHRASE, else a prompt)',
      ).env('SEALDROP_PASSPHRASE_FILE'),
    )
    .option('--no-passphrase', 'leave the private key unprotected (only for keys kept in a vault)')
    .option('--json', 'print the result as JSON on stdout')
    .addHelpText(
      'after',
      `
Example:
  sealdrop key generate --uid "Backup Admin <ops@example.com>" --out ~/.sealdrop/admin
  gpg --import ~/.sealdrop/admin.key.asc     # the same key works in GnuPG`,
    )
    .action(
      async (options: {
        uid: string;
        out: string;
        rsa?: number;
        passphrase: boolean;
        passphraseFile?: string;
        json?: boolean;
      }) => {
        const { generateKeyPair } = await import('../admin/openpgp/keygen.js');
        const passphrase = options.passphrase
          ? await readPassphrase(options, {
              confirm: true,
              prompt: `Passphrase for ${options.out}.key.asc: `,
            })
          : null;
        const result = await generateKeyPair({
          userId: options.uid,
          outPrefix: options.out,
          passphrase,
          rsaBits: options.rsa,
        });
        if (options.json)
          printJson({
            publicKey: result.publicKeyPath,
            privateKey: result.privateKeyPath,
            ...keyJson(result.info),
          });
        say(`Wrote ${result.publicKeyPath} (public: give it to servers via policy files)`);
        say(
          `Wrote ${result.privateKeyPath} (private, mode 0600${passphrase === null ? ', NOT passphrase-protected' : ''}: keep it off the servers)`,
        );
        say(describeKey(result.info));
      },
    );

  key
    .command('show')
    .description('fingerprint, user ids, algorithms, dates, and whether the key can be a recipient')
    .argument('<FILE>', 'armored OpenPGP key (public or private)')
    .option('--json', 'print as JSON on stdout')
    .addHelpText(
      'after',
      `
Example:
  sealdrop key show admin.pub.asc
  gpg --armor --export ops@example.com > ops.asc && sealdrop key show ops.asc`,
    )
    .action(async (file: string, options: { json?: boolean }) => {
      const info = await inspectKey(await readArmoredKey(await readTextFile(file, 'key file'), file));
      if (options.json) printJson(keyJson(info));
      else printData(describeKey(info));
    });

  registerRetireCheck(key);
}

function keyJson(info: KeyInfo) {
  return { ...info, canBeRecipient: info.problems.length === 0 };
}

function describeKey(info: KeyInfo): string {
  return table([
    ['fingerprint', info.fingerprint],
    ['user ids', info.userIds.join(', ') || '(none)'],
    [
      'algorithm',
      `${info.algorithm}${info.encryptionAlgorithm ? `, encryption: ${info.encryptionAlgorithm}` : ''}`,
    ],
    ['created', info.created.toISOString()],
    ['expires', info.expires ? info.expires.toISOString() : 'never'],
    [
      'kind',
      info.isPrivate ? `private${info.isProtected ? ' (passphrase-protected)' : ' (UNPROTECTED)'}` : 'public',
    ],
    ['recipient', info.problems.length === 0 ? 'usable' : `NOT usable: ${info.problems.join('; ')}`],
  ]);
}
