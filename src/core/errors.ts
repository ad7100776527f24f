// Every failure a user can cause or meet is a SealdropError: a stable code to program against,
// an exit status for scripts and a one-line hint for people. Anything else reaching the CLI is a bug.

/**
 * The exit statuses, as the README's table lists them, and `bug` (sysexits' EX_SOFTWARE) for whatever is
 * not a SealdropError. `status` and `fleet status` use the monitoring plugins' instead (HEALTH_EXIT).
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  badInput: 2,
  integrity: 3,
  bug: 70,
  sighup: 129,
  sigint: 130,
  sigterm: 143,
} as const;

const CATALOGUE = {
  USAGE: { exit: EXIT.badInput, hint: 'See --help for the options and an example.' },
  FILE_NOT_FOUND: { exit: EXIT.badInput, hint: 'Check the path.' },
  FILE_EXISTS: { exit: EXIT.badInput, hint: 'Choose another path, or remove the file first.' },
  POLICY_FILE_INVALID: {
    exit: EXIT.badInput,
    hint: 'Mint a fresh policy file with `sealdrop policy mint` and copy it over unchanged.',
  },
  POLICY_EXPIRED: {
    exit: EXIT.badInput,
    hint: "Renew it on the admin's machine (`sealdrop policy renew FILE`, or mint a new one) and install it.",
  },
  FLEET_INVALID: {
    exit: EXIT.badInput,
    hint: 'Fix the fleet file (see "Fleets" in the README); `sealdrop fleet check FILE` lists every problem.',
  },
  KEY_INVALID: { exit: EXIT.badInput, hint: 'Pass an armored OpenPGP key (gpg --armor --export).' },
  KEY_UNUSABLE: {
    exit: EXIT.badInput,
    hint: 'Use a current ed25519/cv25519 or RSA >= 2048 key with an encryption subkey (sealdrop key generate).',
  },
  PASSPHRASE_REQUIRED: {
    exit: EXIT.badInput,
    hint: 'Pass --passphrase-file FILE or set SEALDROP_PASSPHRASE (no terminal to prompt on).',
  },
  WRONG_PASSPHRASE: { exit: EXIT.badInput, hint: 'Check the passphrase for this key.' },
  NO_MATCHING_KEY: {
    exit: EXIT.badInput,
    hint: 'Pass the private key of one of the recipients the backup was encrypted to (--identity).',
  },
  GPG_FAILED: {
    exit: EXIT.badInput,
    hint: 'See what gpg holds and can reach: gpg --list-secret-keys, gpg --card-status.',
  },
  CREDENTIALS_MISSING: {
    exit: EXIT.badInput,
    hint: 'Set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE (the standard AWS credential chain).',
  },
  HOST_NOT_IN_FLEET: {
    exit: EXIT.badInput,
    hint: 'Name a host of the fleet file (`sealdrop fleet check FILE` lists them).',
  },
  BUCKET_POLICY_INVALID: {
    exit: EXIT.failed,
    hint: 'Look at the bucket policy (aws s3api get-bucket-policy) and fix it by hand.',
  },
  S3_REFUSED: { exit: EXIT.failed, hint: 'See the message from S3 above.' },
  S3_UNREACHABLE: { exit: EXIT.failed, hint: 'Check the endpoint URL and the network, then try again.' },
  NOT_FOUND: { exit: EXIT.failed, hint: 'List what exists with `sealdrop versions`.' },
  NEEDS_NEWER_NODE: { exit: EXIT.failed, hint: 'Run it on a newer Node.js.' },
  OBJECT_FORMAT: {
    exit: EXIT.failed,
    hint: 'Not a sealdrop backup (gzip or raw data inside an OpenPGP message); inspect it with `gpg --list-packets`.',
  },
  DUMP_FAILED: {
    exit: EXIT.failed,
    hint: 'Run the dump command by hand to see why it fails (its stderr is shown above).',
  },
  EMPTY_INPUT: {
    exit: EXIT.failed,
    hint: 'Check the dump command, or pass --allow-empty if empty is expected.',
  },
  TOO_LARGE: {
    exit: EXIT.failed,
    hint: 'Mint a policy with a larger --max-size (at most 5GiB), a prefix policy (s3://BUCKET/PREFIX/: runs of many parts) for more, or compress harder.',
  },
  DISK_FULL: { exit: EXIT.failed, hint: 'Free space in the spool directory or point --spool-dir elsewhere.' },
  INTEGRITY: {
    exit: EXIT.integrity,
    hint: 'The stored object is corrupt or was tampered with: restore an older version and investigate.',
  },
  INCOMPLETE_RUN: {
    exit: EXIT.failed,
    hint: 'Pick a complete run from `sealdrop versions` (--run ID), or push again.',
  },
  SKETCH_INVALID: {
    exit: EXIT.failed,
    hint: 'The content sketch stored next to the proof is damaged or from another key or version; the backup itself is not affected.',
  },
  INTERRUPTED: { exit: EXIT.sigint, hint: 'Run it again.' },
  FAILED: { exit: EXIT.failed, hint: 'See the message above.' },
} satisfies Record<string, { exit: number; hint: string }>;

export type ErrorCode = keyof typeof CATALOGUE;

export interface SealdropErrorOptions {
  hint?: string;
  exitStatus?: number;
  cause?: unknown;
}

export class SealdropError extends Error {
  override readonly name = 'SealdropError';
  readonly code: ErrorCode;
  readonly exitStatus: number;
  readonly hint: string;

  constructor(code: ErrorCode, message: string, options: SealdropErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.exitStatus = options.exitStatus ?? CATALOGUE[code].exit;
    this.hint = options.hint ?? CATALOGUE[code].hint;
  }
}

export function isSealdropError(error: unknown): error is SealdropError {
  return error instanceof SealdropError;
}

/**
 * A failure that means the backup itself is bad (damaged, or no OpenPGP backup at all): verify exits 3
 * and records it rejected. Any other failure is a check that could not be made (exit 1, nothing recorded).
 */
export function isBadBackup(code: ErrorCode | null): boolean {
  return code === 'INTEGRITY' || code === 'OBJECT_FORMAT';
}

/** The signals that stop an operation cleanly (a dropped ssh session, Ctrl-C, kill). */
export const STOP_SIGNALS = ['SIGHUP', 'SIGINT', 'SIGTERM'] as const;

/** 128 + the signal's number, as a shell reports it. */
const STOP_EXIT: Record<(typeof STOP_SIGNALS)[number], number> = {
  SIGHUP: EXIT.sighup,
  SIGINT: EXIT.sigint,
  SIGTERM: EXIT.sigterm,
};

/** What an operation a signal stopped reports, with the signal's exit status. */
export function interruptedBy(signal: AbortSignal, message: string, hint?: string): SealdropError {
  const name = STOP_SIGNALS.find((stop) => stop === signal.reason) ?? 'SIGINT';
  return new SealdropError('INTERRUPTED', `interrupted by ${name}${message}`, {
    exitStatus: STOP_EXIT[name],
    ...(hint === undefined ? {} : { hint }),
  });
}
