// The fleet file: one bucket, its recipients, defaults, and hosts (a name with a key or a prefix, and any
// override). Parsing and validation, with the overlap check; pure (fleet-load.ts reads the files).
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
import { SealdropError } from './errors.js';
import { plural } from './words.js';
import { defaultSettings, hostSettings, type HostSettings, type ReportProblem } from './fleet-settings.js';
import { isRecord } from './json.js';
import { coversSealdropArea, SEALDROP_AREA } from './layout.js';
import { MAX_RECIPIENTS } from './policy-file.js';
import { parseS3Url, type S3Location } from './s3-url.js';

const FLEET_VERSION = 1;
export { POLICY_SUFFIX } from './layout.js';

const MAX_PROBLEMS_SHOWN = 40;

export interface FleetHost {
  name: string;
  location: S3Location;
  /** Its PostgreSQL WAL archive (a prefix), watched as a chain; its base backups are `location`. */
  wal: S3Location | null;
  /** Recipient key files, resolved against the fleet file's directory. */
  recipients: string[];
  settings: HostSettings;
}

/**
 * Every place the fleet file lets a host write (what its policies may be minted for): its key or prefix,
 * then its WAL archive if it has one. What is checked for overlaps, and what revoke cuts off.
 */
export function hostPlaces(host: Pick<FleetHost, 'location' | 'wal'>): S3Location[] {
  return host.wal ? [host.location, host.wal] : [host.location];
}

export interface Fleet {
  source: string;
  bucket: string;
  endpoint?: string;
  region?: string;
  /** Where fleet mint and publish keep the admin's copy of every host's policy (resolved). */
  policyDir?: string;
  hosts: FleetHost[];
  /** The line a recipient key file is first listed on, for what is said about the file. */
  recipientLine(file: string): number | null;
}

const TOP_LEVEL = ['fleet', 'bucket', 'endpoint', 'region', 'recipients', 'policyDir', 'defaults', 'hosts'];
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Parses and validates a fleet file (YAML or JSON); `source` is its path (relative paths resolve against it). */
export function parseFleet(text: string, source: string): Fleet {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const problems: string[] = [];
  const base = dirname(resolve(source));
  for (const error of doc.errors) problems.push(yamlProblem(source, text, error));
  if (problems.length > 0) throw fleetInvalid(source, problems);

  // Where each key file is first listed; its line is looked up only when something is said of it
  // (a lookup walks the document: one per entry would cost a large fleet's parse half again).
  const firstListed = new Map<string, (string | number)[]>();
  const recipientList = (value: unknown, path: (string | number)[], context: string) => {
    const files = recipientFiles(value, path, context, base, report);
    if (files)
      (value as string[]).forEach((entry, i) => {
        const file = resolve(base, entry);
        if (!firstListed.has(file)) firstListed.set(file, [...path, i]);
      });
    return files;
  };
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
  const recipients = recipientList(raw.recipients, ['recipients'], 'recipients');
  if (raw.recipients === undefined)
    report([], 'recipients', 'missing: list the public key files every backup is encrypted to');

  const defaults = defaultSettings(raw.defaults, report);
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
      const own = recipientList(value.recipients, [...path, 'recipients'], `${context}: recipients`);
      const settings = hostSettings(value, defaults, location, path, context, report);
      const wal = walLocation(value.wal, bucket, [...path, 'wal'], context, report);
      if (location) hosts.push({ name, location, wal, recipients: own ?? recipients ?? [], settings });
    }
  }
  // A WAL archive is a place a host writes too: no other host's backups or archive may overlap it.
  const places = hosts.flatMap((host) => hostPlaces(host).map((location) => ({ name: host.name, location })));
  for (const problem of overlaps(places))
    report(['hosts', problem.host], `host ${problem.host}`, problem.message);
  if (problems.length > 0) throw fleetInvalid(source, problems);
  return {
    source,
    bucket,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(region === undefined ? {} : { region }),
    ...(policyDirText === undefined ? {} : { policyDir: resolve(base, policyDirText) }),
    hosts,
    recipientLine(file) {
      const path = firstListed.get(file);
      return path ? lineOf(doc, lineCounter, path) : null;
    },
  };
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

/** The error for a fleet file's problems: all of them, up to a screenful, each "FILE:LINE: what". */
export function fleetInvalid(source: string, problems: string[], hint?: string): SealdropError {
  const shown = problems.slice(0, MAX_PROBLEMS_SHOWN);
  const more = problems.length - shown.length;
  // One line, as every error is: problems after "; " (a monitoring check's line reads the same).
  return new SealdropError(
    'FLEET_INVALID',
    `${source} is not a valid fleet file (${plural(problems.length, 'problem')}); ${shown.join('; ')}${more > 0 ? `; … and ${more} more` : ''}`,
    hint === undefined ? {} : { hint },
  );
}

function hostLocation(
  value: Record<string, unknown>,
  bucket: string,
  path: (string | number)[],
  context: string,
  report: ReportProblem,
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

function walLocation(
  value: unknown,
  bucket: string,
  path: (string | number)[],
  context: string,
  report: ReportProblem,
): S3Location | null {
  if (value === undefined || value === null) return null;
  if (
    typeof value !== 'string' ||
    !value.endsWith('/') ||
    value.startsWith('/') ||
    Buffer.byteLength(value) > 1000
  ) {
    report(path, `${context}: wal`, 'must be the prefix of its WAL archive, ending in / (like db1/wal/)');
    return null;
  }
  return { bucket, key: value, isPrefix: true };
}

function recipientFiles(
  value: unknown,
  path: (string | number)[],
  context: string,
  base: string,
  report: ReportProblem,
): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string' && v !== '')) {
    report(path, context, 'must list public key files (paths relative to the fleet file)');
    return undefined;
  }
  if (value.length > MAX_RECIPIENTS) report(path, context, `at most ${MAX_RECIPIENTS} recipients`);
  return [...new Set((value as string[]).map((file) => resolve(base, file)))];
}

function optionalString(
  raw: Record<string, unknown>,
  name: string,
  report: ReportProblem,
): string | undefined {
  const value = raw[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && value !== '') return value;
  report([name], name, 'must be a string');
  return undefined;
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

/** Longest quoted excerpt of the line a YAML error is on. */
const MAX_EXCERPT = 80;

/**
 * A YAML syntax error as "FILE:LINE:COL: what is wrong: the line", the parser's message without its
 * own position and code frame.
 */
function yamlProblem(source: string, text: string, error: YAMLError): string {
  const at = error.linePos?.[0];
  const what =
    error.message
      .split(/ at line \d+, column \d+|\n/)[0]!
      .replace(/[.:]\s*$/, '')
      .trim() || `YAML error ${error.code}`;
  if (!at) return `${source}: ${what}`;
  const line = text.split('\n', at.line)[at.line - 1]?.trimEnd() ?? '';
  const excerpt = line.length > MAX_EXCERPT ? `${line.slice(0, MAX_EXCERPT)}…` : line;
  return `${source}:${at.line}:${at.col}: ${what}${excerpt.trim() ? `: ${JSON.stringify(excerpt)}` : ''}`;
}
