// What restore and verify share: the target, which backup (--version-id, --run, --at, --verified, --all), the
// private keys that open it (--identity, --passphrase-file), and how they talk to the person watching.
import { Option, type Command } from 'commander';
import type { PassphraseSource } from '../admin/openpgp/identities.js';
import { SealdropError } from '../core/errors.js';
import type { S3Location } from '../core/s3-url.js';
import type { SnapshotSelector } from '../core/snapshot.js';
import { collect, sizeArg } from './args.js';
import { say, warn } from './output.js';
import { readPassphrase } from './passphrase.js';
import type { ProgressLine } from './progress.js';
import { adminClient, resolveTarget, withFleetHost, withTarget, type TargetOptions } from './target.js';

export interface ChoiceOptions {
  versionId?: string;
  run?: string;
  at?: string;
  verified?: boolean;
  all?: boolean;
  unproven?: boolean;
}

export interface IdentityOptions {
  identity?: string[];
  passphraseFile?: string;
  /** Bytes a restore or verify may write (decompressed); default: unseal's outputLimit(). */
  maxOutput?: number;
  /** Accept objects that name no place (gpg- and curl-made: the seed article's way). */
  allowUnbound?: boolean;
}

export interface SnapshotCliOptions extends TargetOptions, ChoiceOptions, IdentityOptions {}

/**
 * Adds the target (--fleet/--host too), --version-id/--run/--at (and --verified, --all), --identity,
 * --passphrase-file and --max-output.
 */
export function withSnapshotOptions(
  command: Command,
  choices: { all?: boolean; verified?: boolean } = {},
): Command {
  return withReading(withChoice(withFleetHost(withTarget(command)), choices));
}

/** The target, the selector that fits it, and the admin client. */
export async function resolveChoice(url: string | undefined, options: SnapshotCliOptions) {
  const target = await resolveTarget(url, options);
  const at = options.at === undefined ? undefined : await pointInTime(options.at);
  const selector = chosen(options, target.location, at);
  return { target, selector, client: await adminClient(options, [target]) };
}

/**
 * --at (and pg restore's --to) read against now, or against SEALDROP_NOW (an ISO time or @EPOCH) where
 * tests and reproducible scripts pin the clock; what it was read as is said on stderr. The parser (and
 * chrono-node) loads on use.
 */
export async function pointInTime(text: string, option = '--at'): Promise<Date> {
  const { parsePointInTime, localText } = await import('../admin/sets/point-in-time.js');
  const pinned = process.env.SEALDROP_NOW;
  if (pinned && !/^(?:@\d|\d{4}-\d{2}-\d{2})/.test(pinned.trim()))
    throw new SealdropError('USAGE', `SEALDROP_NOW=${pinned}: give an ISO time or @EPOCH_SECONDS`);
  const at = parsePointInTime(text, pinned ? parsePointInTime(pinned) : new Date());
  say(`${option} "${text}": ${localText(at)}`);
  return at;
}

/** --at's help, for restore, verify and versions. */
export const AT_HELP =
  'the newest complete backup at or before TIME: 2024-05-01T03:00:00Z, "2024-05-01 03:00" (local), @EPOCH, "36h ago", "yesterday 03:00", "last tuesday" (a day without a time: its 00:00)';

function withChoice(command: Command, { all = false, verified = false } = {}): Command {
  command
    .option('--version-id <ID>', 'key targets: this version (see `sealdrop versions`); default the latest')
    .option(
      '--run <ID>',
      'prefix targets: this run (see `sealdrop versions`); default the latest complete one',
    )
    .option('--at <TIME>', AT_HELP);
  if (verified)
    command.option(
      '--verified',
      'the newest backup proven good (by `sealdrop verify` or `sealdrop approve`); with --at, the newest at or before TIME',
    );
  if (all)
    command
      .option('--all', 'every complete backup (and every broken run, as a failure), oldest first')
      .option(
        '--unproven',
        'every complete backup not proven yet (good or rejected), oldest first, the newest 100 at most: the nightly proof',
      );
  return command;
}

/** --identity, --passphrase-file and --max-output: what opens a backup (restore, verify, fleet verify). */
export function withReading(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--identity <KEY.asc|gpg:ID>',
        'private key to decrypt with: a key file, or gpg:FINGERPRINT / gpg:EMAIL for a key in gpg-agent or on a card (repeatable; the one the backup is encrypted to is used)',
      )
        .argParser(collect)
        .env('SEALDROP_IDENTITY'),
    )
    .addOption(
      new Option(
        '--passphrase-file <FILE>',
        'passphrase of the identity (else SEALDROP_PASSPHRASE, else a prompt)',
      ).env('SEALDROP_PASSPHRASE_FILE'),
    )
    .option(
      '--max-output <SIZE>',
      'stop (exit 3, nothing left) past this much restored data: a decompression bomb (default 20x what the good backup before it restored to, at least 64MiB; without proofs 100x the stored size, at least 1GiB)',
      sizeArg,
    )
    .option(
      '--allow-unbound',
      "accept objects that name no place they belong (made by gpg and curl: a set written the seed article's way)",
    );
}

/**
 * One of --version-id, --run, --at (read as `at`), --verified (with --at or not), --all, --unproven
 * (none: the latest); the first two must fit the target.
 */
function chosen(
  options: ChoiceOptions,
  location: S3Location,
  at: Date | undefined,
): SnapshotSelector | { kind: 'all' } | { kind: 'unproven' } {
  const flags = {
    versionId: '--version-id',
    run: '--run',
    at: '--at',
    verified: '--verified',
    all: '--all',
    unproven: '--unproven',
  } as const;
  // --verified --at: the newest proven good at or before a time.
  const given = (Object.keys(flags) as (keyof typeof flags)[]).filter(
    (name) => options[name] !== undefined && !(name === 'at' && options.verified),
  );
  if (given.length > 1)
    throw new SealdropError(
      'USAGE',
      `give ${given.map((name) => flags[name]).join(' or ')}, not ${given.length === 2 ? 'both' : 'several'}`,
    );
  if (location.isPrefix && options.versionId !== undefined)
    throw new SealdropError('USAGE', 'a prefix target holds runs: pick one with --run ID, not --version-id');
  if (!location.isPrefix && options.run !== undefined)
    throw new SealdropError('USAGE', '--run needs a prefix target (s3://BUCKET/PREFIX/ or a prefix policy)');
  const id = options.versionId ?? options.run;
  if (id !== undefined) return { kind: 'id', id };
  if (options.verified) return { kind: 'verified', ...(at === undefined ? {} : { at }) };
  if (at !== undefined) return { kind: 'at', at };
  if (options.unproven) return { kind: 'unproven' };
  return options.all ? { kind: 'all' } : { kind: 'latest' };
}

/** The identity files, and the passphrase prompt and notes, which clear the progress line first. */
export function readerOptions(
  options: IdentityOptions,
  progress: ProgressLine,
): {
  identityPaths: string[];
  askPassphrase: PassphraseSource;
  onNote: (message: string) => void;
  maxOutputBytes?: number;
  allowUnbound: boolean;
} {
  return {
    identityPaths: options.identity ?? [],
    allowUnbound: options.allowUnbound ?? false,
    ...(options.maxOutput === undefined ? {} : { maxOutputBytes: options.maxOutput }),
    askPassphrase: (key) => {
      progress.done();
      return readPassphrase(options, { prompt: `Passphrase for ${key.source} (${key.fingerprint}): ` });
    },
    onNote: (message) => {
      progress.done();
      warn(message);
    },
  };
}
