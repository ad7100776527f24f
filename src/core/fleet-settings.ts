// The settings a fleet's `defaults` or a host may give: one table of their parsers and defaults, and a
// host's settings read from it (its own over the defaults), checked against each other.
import { DEFAULT_ANOMALY_THRESHOLDS, parseAnomalyThresholds, type AnomalyThresholds } from './anomaly.js';
import { COMPRESSIONS, type Compression } from './compression.js';
import { isRecord } from './json.js';
import { compressionOfKey, suffixMismatch } from './layout.js';
import { pingUrlProblem } from './policy-file.js';
import { COUNT_RULES, WITHIN_RULE_NAMES, type RetentionPolicy } from './retention.js';
import type { S3Location } from './s3-url.js';
import { parseDuration, parseRetentionDuration, parseSize } from './units.js';
import { DEFAULT_WAL_THRESHOLDS } from './wal-chain.js';

const DAY_MS = 86_400_000;
/** One POST object is at most 5 GiB on S3. */
const MAX_OBJECT_SIZE = 5 * 1024 ** 3;

/**
 * Every setting a fleet's `defaults` or a host may give, with its parser and default. A new one (a
 * compression default, a status threshold) is one line here; HostSettings follows from the table.
 * Durations and sizes are in ms and bytes.
 */
const SETTINGS = {
  /** How long a policy works. */
  expires: { parse: duration, default: 7 * DAY_MS },
  /** Pushes fetch the successor once the policy expires within this; null: half of `expires`. */
  renewWindow: { parse: duration, default: null as number | null },
  maxSize: { parse: objectSize, default: MAX_OBJECT_SIZE },
  /** What push compresses with (recorded in the policy); null: what a key's suffix names, else gzip. */
  compress: { parse: compression, default: null as Compression | null },
  acl: { parse: cannedAcl, default: 'bucket-owner-full-control' },
  /** Prefix hosts: push's part size (null: push's own default). */
  partSize: { parse: size, default: null as number | null },
  /** Where push reports each run (healthchecks.io's convention); null: no pings. */
  ping: { parse: pingUrl, default: null as string | null },
  /** Status: CRITICAL when the latest backup is older. */
  maxAge: { parse: duration, default: 26 * 3_600_000 },
  /** Status: WARNING when the latest backup is older (null: no warning stage). */
  warnAge: { parse: duration, default: null as number | null },
  /** Status: WARNING when the host's policy expires within this. */
  policyWarn: { parse: duration, default: 3 * DAY_MS },
  /** Status: WARNING when the newest backup proven good is older; null: maxAge and a weekly drill. */
  maxUnverifiedAge: { parse: durationOrOff, default: null as number | 'off' | null },
  /** Status of a host's WAL archive (`wal:`): the RPO's WARNING and CRITICAL ages, the base backup's. */
  walWarnAge: { parse: duration, default: DEFAULT_WAL_THRESHOLDS.warnAgeMs },
  walMaxAge: { parse: duration, default: DEFAULT_WAL_THRESHOLDS.maxAgeMs },
  walBaseAge: { parse: duration, default: DEFAULT_WAL_THRESHOLDS.baseAgeMs },
  /** Retention (prune): restic's rules, as for `sealdrop prune --keep-…` (and `earliest: true`). */
  keep: { parse: retention, default: {} as RetentionPolicy },
  /** Status alarms and prune's circuit breaker: as status's --warn-shrink … --anomaly-window. */
  anomaly: { parse: anomaly, default: DEFAULT_ANOMALY_THRESHOLDS },
  /** Written with gpg and curl (the seed article's way): objects that name no place are its backups. */
  allowUnbound: { parse: flag, default: false },
} satisfies Record<string, { parse: (value: unknown) => unknown; default: unknown }>;

type SettingName = keyof typeof SETTINGS;
type Parsed<K extends SettingName> =
  ReturnType<(typeof SETTINGS)[K]['parse']> | (typeof SETTINGS)[K]['default'];
export type HostSettings = {
  [K in Exclude<SettingName, 'renewWindow' | 'maxUnverifiedAge'>]: Parsed<K>;
} & {
  renewWindow: number;
  /** null: off. */
  maxUnverifiedAge: number | null;
};

/**
 * HostSettings before the defaults derived from other settings are filled in: the renewal window
 * (half of `expires`) and maxUnverifiedAge (maxAge and a week; 'off' as given).
 */
type Unfilled = Omit<HostSettings, 'renewWindow' | 'maxUnverifiedAge'> & {
  renewWindow: number | null;
  maxUnverifiedAge: number | 'off' | null;
};

/** Where in the fleet file a problem is (a path of keys), what it concerns, and what is wrong. */
export type ReportProblem = (path: (string | number)[], context: string, message: string) => void;

/** Settings as read: any of them, not yet checked against each other. */
export type SettingValues = Partial<Record<SettingName, unknown>>;

/** A host's entries that are not settings. */
const HOST_FIELDS = ['key', 'prefix', 'wal', 'recipients'];

/** The settings under `defaults`: each one given, else its default. */
export function defaultSettings(value: unknown, report: ReportProblem): SettingValues {
  return settingsOf(value, ['defaults'], 'defaults', report, true);
}

/**
 * A host's settings: its own (every entry but key, prefix, wal and recipients) over `defaults`, checked
 * against each other and against the host's location (null: it has none).
 */
export function hostSettings(
  host: Record<string, unknown>,
  defaults: SettingValues,
  location: S3Location | null,
  path: (string | number)[],
  context: string,
  report: ReportProblem,
): HostSettings {
  const own = Object.fromEntries(Object.entries(host).filter(([name]) => !HOST_FIELDS.includes(name)));
  const settings = { ...defaults, ...settingsOf(own, path, context, report, false) } as Unfilled;
  const renewWindow = settings.renewWindow ?? settings.expires / 2;
  if (renewWindow > settings.expires) report(path, context, 'renewWindow is longer than expires');
  else if (settings.expires - renewWindow >= 7 * DAY_MS)
    report(
      path,
      context,
      `renewWindow must open within 7 days of minting (presigned URLs last at most 7 days): with expires over 7d, lengthen it`,
    );
  if (settings.partSize !== null && location?.isPrefix === false)
    report(path, context, 'partSize is for prefix hosts only');
  if (settings.partSize !== null && settings.partSize > settings.maxSize)
    report(path, context, 'partSize is over maxSize');
  const { maxUnverifiedAge } = settings;
  return {
    ...settings,
    renewWindow,
    maxUnverifiedAge:
      maxUnverifiedAge === 'off' ? null : (maxUnverifiedAge ?? settings.maxAge + WEEKLY_DRILL_MS),
    compress: hostCompression(settings.compress, location, path, context, report, 'compress' in own),
  };
}

/**
 * A host's compression: the one given (its own, or from defaults), checked against what its key's suffix
 * names; else what the suffix names; else null (push's default, gzip).
 */
function hostCompression(
  given: Compression | null,
  location: S3Location | null,
  path: (string | number)[],
  context: string,
  report: ReportProblem,
  own: boolean,
): Compression | null {
  const named = location && !location.isPrefix ? compressionOfKey(location.key) : null;
  const mismatch = given && location && !location.isPrefix ? suffixMismatch(location.key, given) : null;
  if (mismatch && named)
    report(
      [...path, own ? 'compress' : 'key'],
      context,
      `${mismatch}${own ? '' : ' (compress in defaults)'}: set compress: ${named} for this host in the fleet file, or name its key for ${given}`,
    );
  return given ?? named;
}

class Problem extends Error {}

function settingsOf(
  value: unknown,
  path: (string | number)[],
  context: string,
  report: ReportProblem,
  withDefaults: boolean,
): SettingValues {
  const out: SettingValues = {};
  if (withDefaults)
    for (const [name, spec] of Object.entries(SETTINGS)) out[name as SettingName] = spec.default;
  if (value === undefined || value === null) return out;
  if (!isRecord(value)) {
    report(path, context, 'must be a mapping of settings');
    return out;
  }
  for (const [name, setting] of Object.entries(value)) {
    const spec = (SETTINGS as Record<string, { parse: (value: unknown) => unknown }>)[name];
    if (!spec) {
      report(
        [...path, name],
        context,
        `unknown setting "${name}" (known: ${withDefaults ? '' : `${HOST_FIELDS.join(', ')}, `}${Object.keys(SETTINGS).join(', ')})`,
      );
      continue;
    }
    try {
      out[name as SettingName] = spec.parse(setting);
    } catch (error) {
      report([...path, name], `${context}: ${name}`, (error as Error).message);
    }
  }
  return out;
}

function duration(value: unknown): number {
  if (typeof value !== 'string')
    throw new Problem(`${JSON.stringify(value)} is not a duration (write 36h, 7d, 30min)`);
  return unitsOf(() => parseDuration(value, 'duration'), 'duration') || fail('must be longer than 0s');
}

/** A week: how late maxUnverifiedAge lets the newest proven backup be, beyond maxAge. */
const WEEKLY_DRILL_MS = 7 * DAY_MS;

function durationOrOff(value: unknown): number | 'off' {
  if (value === 'off') return value;
  try {
    return duration(value);
  } catch (error) {
    throw new Problem(`${(error as Error).message} or off`);
  }
}

function compression(value: unknown): Compression {
  if (typeof value === 'string' && (COMPRESSIONS as readonly string[]).includes(value))
    return value as Compression;
  throw new Problem(`${JSON.stringify(value)} is not a compression (${COMPRESSIONS.join(', ')})`);
}

/** A POST object's size: S3 takes at most 5 GiB in one. */
function objectSize(value: unknown): number {
  const bytes = size(value);
  if (bytes > MAX_OBJECT_SIZE)
    throw new Problem(`${JSON.stringify(value)} is over 5GiB, S3's limit for one POST object`);
  return bytes;
}

function size(value: unknown): number {
  if (typeof value !== 'string' && typeof value !== 'number')
    throw new Problem(`${JSON.stringify(value)} is not a size (write 512MiB, 5GiB)`);
  return unitsOf(() => parseSize(String(value), 'size'), 'size') || fail('must be at least 1 byte');
}

/** The units parsers' own message, without the word they start with ("duration \"7x\" is not …"). */
function unitsOf(parse: () => number, what: string): number {
  try {
    return parse();
  } catch (error) {
    throw new Problem((error as Error).message.replace(`${what} `, ''));
  }
}

function pingUrl(value: unknown): string {
  const problem = pingUrlProblem(value);
  if (problem !== null) throw new Problem(`${JSON.stringify(value)} ${problem}`);
  return value as string;
}

const CANNED_ACLS = [
  'private',
  'public-read',
  'public-read-write',
  'authenticated-read',
  'aws-exec-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
];

function flag(value: unknown): boolean {
  if (typeof value !== 'boolean') throw new Problem('must be true or false');
  return value;
}

function cannedAcl(value: unknown): string {
  if (typeof value === 'string' && CANNED_ACLS.includes(value)) return value;
  throw new Problem(`${JSON.stringify(value)} is not a canned ACL (${CANNED_ACLS.join(', ')})`);
}

function retention(value: unknown): RetentionPolicy {
  if (!isRecord(value)) throw new Problem(`must be a mapping such as {daily: 14, weekly: 8, monthly: 24}`);
  const policy: RetentionPolicy = {};
  for (const [rule, setting] of Object.entries(value)) {
    if ((COUNT_RULES as readonly string[]).includes(rule)) {
      if (!(Number.isSafeInteger(setting) && (setting as number) >= -1))
        throw new Problem(
          `${rule}: ${JSON.stringify(setting)} is not a count (a whole number, -1 for unlimited)`,
        );
      policy[rule as (typeof COUNT_RULES)[number]] = setting as number;
    } else if ((WITHIN_RULE_NAMES as readonly string[]).includes(rule)) {
      if (typeof setting !== 'string')
        throw new Problem(`${rule}: ${JSON.stringify(setting)} is not a duration`);
      try {
        parseRetentionDuration(setting, rule);
      } catch (error) {
        throw new Problem((error as Error).message);
      }
      policy[rule as (typeof WITHIN_RULE_NAMES)[number]] = setting;
    } else if (rule === 'earliest') {
      if (typeof setting !== 'boolean')
        throw new Problem(`earliest: ${JSON.stringify(setting)} is not true or false`);
      policy.earliest = setting;
    } else
      throw new Problem(
        `unknown rule "${rule}" (known: ${[...COUNT_RULES, ...WITHIN_RULE_NAMES, 'earliest'].join(', ')})`,
      );
  }
  return policy;
}

/** {warnShrink: 40%, critShrink: 90%, minSize: 1MiB, growthFactor: 10, floodFactor: 4 (or off), window: 30d}; any subset. */
function anomaly(value: unknown): AnomalyThresholds {
  if (!isRecord(value)) throw new Problem('must be a mapping such as {warnShrink: 40%, floodFactor: 4}');
  const known = ['warnShrink', 'critShrink', 'minSize', 'growthFactor', 'floodFactor', 'window'];
  const unknown = Object.keys(value).filter((name) => !known.includes(name));
  if (unknown.length > 0) throw new Problem(`unknown threshold "${unknown[0]}" (known: ${known.join(', ')})`);
  const text = (v: unknown) => (v === undefined ? undefined : String(v));
  try {
    return parseAnomalyThresholds({
      warnShrink: text(value.warnShrink),
      critShrink: text(value.critShrink),
      minSize: text(value.minSize),
      growthFactor: text(value.growthFactor),
      floodFactor: text(value.floodFactor),
      window: text(value.window),
    });
  } catch (error) {
    throw new Problem((error as Error).message);
  }
}

function fail(message: string): never {
  throw new Problem(message);
}
