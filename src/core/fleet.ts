// The fleet file: one bucket, its recipients, defaults, and hosts (a name with a key or a prefix, and any
// override). Parsing, validation and the overlap check are pure; loadFleet adds reading the key files.
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { SealdropError } from './errors.js';
import { readTextFile } from './files.js';
import { DEFAULT_ANOMALY_THRESHOLDS, parseAnomalyThresholds, type AnomalyThresholds } from './anomaly.js';
import type { HealthThresholds } from './health.js';
import { isRecord } from './json.js';
import { coversSealdropArea, SEALDROP_AREA } from './layout.js';
import { readRecipient } from './openpgp-keys.js';
import { MAX_RECIPIENTS, pingUrlProblem } from './policy-file.js';
import { COUNT_RULES, WITHIN_RULE_NAMES, type RetentionPolicy } from './retention.js';
import { parseS3Url, type S3Location } from './s3-url.js';
import { parseDuration, parseRetentionDuration, parseSize } from './units.js';

const FLEET_VERSION = 1;
/** The admin's copy of each host's policy: POLICY_DIR/HOST.policy.json. */
export const POLICY_SUFFIX = '.policy.json';

const DAY_MS = 86_400_000;
const MAX_PROBLEMS_SHOWN = 40;

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
  maxSize: { parse: size, default: 5 * 1024 ** 3 },
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
  /** Retention (prune): restic's rules, as for `sealdrop prune --keep-…` (and `earliest: true`). */
  keep: { parse: retention, default: {} as RetentionPolicy },
  /** Status alarms and prune's circuit breaker: as status's --warn-shrink … --anomaly-window. */
  anomaly: { parse: anomaly, default: DEFAULT_ANOMALY_THRESHOLDS },
} satisfies Record<string, { parse: (value: unknown) => unknown; default: unknown }>;

type SettingName = keyof typeof SETTINGS;
type Parsed<K extends SettingName> =
  ReturnType<(typeof SETTINGS)[K]['parse']> | (typeof SETTINGS)[K]['default'];
export type HostSettings = { [K in Exclude<SettingName, 'renewWindow'>]: Parsed<K> } & {
  renewWindow: number;
};

export interface FleetHost {
  name: string;
  location: S3Location;
  /** Recipient key files, resolved against the fleet file's directory. */
  recipients: string[];
  settings: HostSettings;
}

export interface Fleet {
  source: string;
  bucket: string;
  endpoint?: string;
  region?: string;
  /** Where fleet mint and publish keep the admin's copy of every host's policy (resolved). */
  policyDir?: string;
  hosts: FleetHost[];
}

export interface RecipientKey {
  armored: string;
  fingerprint: string;
}

export interface LoadedFleet extends Fleet {
  /** Every recipient file, read and checked, by resolved path. */
  keys: Map<string, RecipientKey>;
}

/** What the read side (status, prune) needs per host. */
export interface HostTarget {
  host: string;
  location: S3Location;
  thresholds: HealthThresholds;
  retention: RetentionPolicy;
  /** The admin's copy of the host's policy (for its expiry), when the fleet has a policy directory. */
  policyFile: string | null;
}

class Problem extends Error {}

const TOP_LEVEL = ['fleet', 'bucket', 'endpoint', 'region', 'recipients', 'policyDir', 'defaults', 'hosts'];
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Parses and validates a fleet file (YAML or JSON); `source` is its path (relative paths resolve against it). */
export function parseFleet(text: string, source: string): Fleet {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const problems: string[] = [];
  for (const error of doc.errors) {
    const at = error.linePos?.[0];
    problems.push(`${source}${at ? `:${at.line}` : ''}: ${error.message.split(/ at line \d|\n/)[0]}`);
  }
  if (problems.length > 0) throw fleetInvalid(source, problems);

  const report = (path: (string | number)[], context: string, message: string) => {
    const line = lineOf(doc, lineCounter, path);
    problems.push(`${source}${line ? `:${line}` : ''}: ${context ? `${context}: ` : ''}${message}`);
  };
  const raw: unknown = doc.toJS();
  if (!isRecord(raw))
    throw fleetInvalid(source, [`${source}: not a fleet file (expected a mapping with bucket and hosts)`]);
  for (const name of Object.keys(raw))
    if (!TOP_LEVEL.includes(name))
      report([name], '', `unknown field "${name}" (known: ${TOP_LEVEL.join(', ')})`);
  if (raw.fleet !== FLEET_VERSION)
    report(
      ['fleet'],
      'fleet',
      raw.fleet === undefined
        ? `missing: start the file with "fleet: ${FLEET_VERSION}"`
        : `version ${JSON.stringify(raw.fleet)} is not supported (this sealdrop reads ${FLEET_VERSION})`,
    );

  const base = dirname(resolve(source));
  const bucket = typeof raw.bucket === 'string' ? raw.bucket : '';
  try {
    parseS3Url(`s3://${bucket}/x`);
  } catch {
    report(
      ['bucket'],
      'bucket',
      raw.bucket === undefined ? 'missing' : `"${String(raw.bucket)}" is not a bucket name`,
    );
  }
  const endpoint = optionalString(raw, 'endpoint', report);
  if (endpoint !== undefined && !/^https?:\/\/[^/]/.test(endpoint))
    report(['endpoint'], 'endpoint', 'must be an http(s) URL');
  const region = optionalString(raw, 'region', report);
  const policyDirText = optionalString(raw, 'policyDir', report);
  const recipients = recipientList(raw.recipients, ['recipients'], 'recipients', base, report);
  if (raw.recipients === undefined)
    report([], 'recipients', 'missing: list the public key files every backup is encrypted to');

  const defaults = settingsOf(raw.defaults, ['defaults'], 'defaults', report, true);
  const hosts: FleetHost[] = [];
  if (!isRecord(raw.hosts) || Object.keys(raw.hosts).length === 0) {
    report(['hosts'], 'hosts', 'missing: map each host name to its key or prefix');
  } else {
    for (const [name, value] of Object.entries(raw.hosts)) {
      const context = `host ${name}`;
      const path = ['hosts', name];
      if (!HOST_NAME.test(name)) {
        report(path, context, 'a host name is letters, digits, ".", "_" and "-" (it names the policy file)');
        continue;
      }
      if (!isRecord(value)) {
        report(path, context, 'must be a mapping with a key or a prefix');
        continue;
      }
      const location = hostLocation(value, bucket, path, context, report);
      const own = recipientList(
        value.recipients,
        [...path, 'recipients'],
        `${context}: recipients`,
        base,
        report,
      );
      const rest = Object.fromEntries(
        Object.entries(value).filter(([name]) => !['key', 'prefix', 'recipients'].includes(name)),
      );
      const overrides = settingsOf(rest, path, context, report, false);
      const settings = { ...defaults, ...overrides } as Omit<HostSettings, 'renewWindow'> & {
        renewWindow: number | null;
      };
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
      if (location)
        hosts.push({
          name,
          location,
          recipients: own ?? recipients ?? [],
          settings: { ...settings, renewWindow },
        });
    }
  }
  for (const problem of overlaps(hosts))
    report(['hosts', problem.host], `host ${problem.host}`, problem.message);
  if (problems.length > 0) throw fleetInvalid(source, problems);
  return {
    source,
    bucket,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(region === undefined ? {} : { region }),
    ...(policyDirText === undefined ? {} : { policyDir: resolve(base, policyDirText) }),
    hosts,
  };
}

/** Reads and validates a fleet file, not its key files: the read side (status, prune, ls) needs only the hosts. */
export async function readFleet(path: string): Promise<Fleet> {
  return parseFleet(await readTextFile(path, 'fleet file'), path);
}

/** Reads and validates a fleet file and every recipient key it names. */
export async function loadFleet(path: string): Promise<LoadedFleet> {
  const fleet = await readFleet(path);
  const keys = new Map<string, RecipientKey>();
  const problems: string[] = [];
  for (const host of fleet.hosts)
    for (const file of host.recipients) {
      if (keys.has(file)) continue;
      try {
        const key = await readRecipient(await readTextFile(file, 'recipient key'), file);
        keys.set(file, { armored: key.armor(), fingerprint: key.getFingerprint().toUpperCase() });
      } catch (error) {
        keys.set(file, { armored: '', fingerprint: '' });
        problems.push(`${path}: host ${host.name}: ${(error as Error).message}`);
      }
    }
  if (problems.length > 0) throw fleetInvalid(path, problems);
  return { ...fleet, keys };
}

export interface Overlap {
  /** The host whose entry is reported (the later one in sorted order). */
  host: string;
  message: string;
}

/**
 * Hosts whose keys or prefixes overlap (one could write into the other's backups), and hosts that
 * would cover sealdrop's own area. Sorted by key, a prefix's covered keys follow it directly, so this
 * is O(n log n) plus one step per overlap found.
 */
export function overlaps(hosts: readonly Pick<FleetHost, 'name' | 'location'>[]): Overlap[] {
  const found: Overlap[] = [];
  const describe = (location: S3Location) => `${location.isPrefix ? 'prefix' : 'key'} "${location.key}"`;
  for (const host of hosts) {
    if (coversSealdropArea(host.location))
      found.push({
        host: host.name,
        message: `${describe(host.location)} covers sealdrop's own ${SEALDROP_AREA} area`,
      });
  }
  const sorted = [...hosts].sort((a, b) =>
    a.location.key < b.location.key ? -1 : a.location.key > b.location.key ? 1 : 0,
  );
  for (let i = 0; i < sorted.length; i++) {
    const first = sorted[i]!;
    for (let j = i + 1; j < sorted.length; j++) {
      const second = sorted[j]!;
      const same = second.location.key === first.location.key;
      const covered = first.location.isPrefix && second.location.key.startsWith(first.location.key);
      if (!same && !covered) break;
      found.push({
        host: second.name,
        message: same
          ? `overlaps host ${first.name}: both have ${describe(first.location)}`
          : `overlaps host ${first.name}: its ${describe(first.location)} covers ${describe(second.location)}, so either could write into the other's backups`,
      });
    }
  }
  return found;
}

/** Per-host targets with their thresholds and retention, for fleet status and prune. */
export function hostTargets(fleet: Fleet, policyDir = fleet.policyDir): HostTarget[] {
  return fleet.hosts.map((host) => ({
    host: host.name,
    location: host.location,
    thresholds: {
      maxAgeMs: host.settings.maxAge,
      warnAgeMs: host.settings.warnAge,
      policyWarnMs: host.settings.policyWarn,
      anomaly: host.settings.anomaly,
      nothingStored: 'CRITICAL',
    },
    retention: host.settings.keep,
    policyFile: policyDir === undefined ? null : resolve(policyDir, `${host.name}${POLICY_SUFFIX}`),
  }));
}

/**
 * Which host a stored key belongs to (its exact key, or the prefix it lies under), or null: a stray.
 * Hosts never overlap (parseFleet refuses it), so there is at most one. O(depth of the key) per lookup,
 * for listings of millions of keys.
 */
export function hostIndex(hosts: readonly FleetHost[]): (key: string) => FleetHost | null {
  const byKey = new Map<string, FleetHost>();
  for (const host of hosts) byKey.set(host.location.key, host);
  return (key) => {
    const exact = byKey.get(key);
    if (exact && !exact.location.isPrefix) return exact;
    for (let slash = key.indexOf('/'); slash !== -1; slash = key.indexOf('/', slash + 1)) {
      const host = byKey.get(key.slice(0, slash + 1));
      if (host?.location.isPrefix) return host;
    }
    return null;
  };
}

function fleetInvalid(source: string, problems: string[]): SealdropError {
  const shown = problems.slice(0, MAX_PROBLEMS_SHOWN);
  const more = problems.length - shown.length;
  return new SealdropError(
    'FLEET_INVALID',
    `${source} is not a valid fleet file:\n${shown.map((p) => `  ${p}`).join('\n')}${more > 0 ? `\n  … and ${more} more` : ''}`,
  );
}

type Report = (path: (string | number)[], context: string, message: string) => void;

function settingsOf(
  value: unknown,
  path: (string | number)[],
  context: string,
  report: Report,
  withDefaults: boolean,
): Partial<Record<SettingName, unknown>> {
  const out: Partial<Record<SettingName, unknown>> = {};
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
        `unknown setting "${name}" (known: ${withDefaults ? '' : 'key, prefix, recipients, '}${Object.keys(SETTINGS).join(', ')})`,
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

function hostLocation(
  value: Record<string, unknown>,
  bucket: string,
  path: (string | number)[],
  context: string,
  report: Report,
): S3Location | null {
  const { key, prefix } = value;
  if ((key === undefined) === (prefix === undefined)) {
    report(path, context, 'give exactly one of key (one object) or prefix (runs, ending in /)');
    return null;
  }
  const field = key !== undefined ? 'key' : 'prefix';
  const text = key ?? prefix;
  if (typeof text !== 'string' || text === '' || text.startsWith('/') || Buffer.byteLength(text) > 1000) {
    report(
      [...path, field],
      `${context}: ${field}`,
      'must be a non-empty S3 key of at most 1000 bytes, not starting with /',
    );
    return null;
  }
  if (field === 'key' && text.endsWith('/')) {
    report([...path, field], `${context}: key`, `"${text}" ends in /: write it as prefix for runs`);
    return null;
  }
  if (field === 'prefix' && !text.endsWith('/')) {
    report([...path, field], `${context}: prefix`, `"${text}" must end in /`);
    return null;
  }
  return { bucket, key: text, isPrefix: field === 'prefix' };
}

function recipientList(
  value: unknown,
  path: (string | number)[],
  context: string,
  base: string,
  report: Report,
): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string' && v !== '')) {
    report(path, context, 'must list public key files (paths relative to the fleet file)');
    return undefined;
  }
  if (value.length > MAX_RECIPIENTS) report(path, context, `at most ${MAX_RECIPIENTS} recipients`);
  return [...new Set((value as string[]).map((file) => resolve(base, file)))];
}

function optionalString(raw: Record<string, unknown>, name: string, report: Report): string | undefined {
  const value = raw[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && value !== '') return value;
  report([name], name, 'must be a string');
  return undefined;
}

function duration(value: unknown): number {
  if (typeof value !== 'string')
    throw new Problem(`${JSON.stringify(value)} is not a duration (write 36h, 7d, 30min)`);
  return unitsOf(() => parseDuration(value, 'duration'), 'duration') || fail('must be longer than 0s');
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

/** {warnShrink: 40%, critShrink: 90%, minSize: 1MiB, floodFactor: 4 (or off), window: 30d}; any subset. */
function anomaly(value: unknown): AnomalyThresholds {
  if (!isRecord(value)) throw new Problem('must be a mapping such as {warnShrink: 40%, floodFactor: 4}');
  const known = ['warnShrink', 'critShrink', 'minSize', 'floodFactor', 'window'];
  const unknown = Object.keys(value).filter((name) => !known.includes(name));
  if (unknown.length > 0) throw new Problem(`unknown threshold "${unknown[0]}" (known: ${known.join(', ')})`);
  const text = (v: unknown) => (v === undefined ? undefined : String(v));
  try {
    return parseAnomalyThresholds({
      warnShrink: text(value.warnShrink),
      critShrink: text(value.critShrink),
      minSize: text(value.minSize),
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

/** The line of the entry at `path` (its key), or of the nearest enclosing entry that exists. */
function lineOf(doc: Document, lineCounter: LineCounter, path: (string | number)[]): number | null {
  for (let depth = path.length; depth > 0; depth--) {
    const parent = depth === 1 ? doc.contents : doc.getIn(path.slice(0, depth - 1), true);
    const name = String(path[depth - 1]);
    let node: unknown;
    if (isMap(parent)) {
      const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === name);
      node = pair?.key ?? pair?.value;
    } else if (isSeq(parent)) node = parent.items[Number(name)];
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) return lineCounter.linePos(range[0]).line;
  }
  return null;
}
