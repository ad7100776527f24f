// Cutting a host off: a Deny of s3:PutObject on each place it writes (its key or prefix, its WAL archive),
// merged into the bucket policy, where "revoked" lives (nothing local to drift). Pure: policy text in, plans out.
import { createHash } from 'node:crypto';
import { SealdropError } from './errors.js';
import { isRecord } from './json.js';
import { formatS3Url, type S3Location } from './s3-url.js';

/** A bucket policy's statement, kept as it was written: sealdrop changes only its own. */
export type Statement = Record<string, unknown>;

export interface BucketPolicy {
  /** The document's other fields (Version, Id), in their order. */
  document: Record<string, unknown>;
  statements: Statement[];
}

/** What revokes one location: found in a bucket policy, with when (from its Sid). */
export interface Revocation {
  sid: string;
  /** null: the Sid's time could not be read (edited by hand); still revoked. */
  since: Date | null;
  statement: Statement;
}

export interface RevokePlan {
  /** The locations revoked already, each by its own statement: nothing is added for them. */
  already: Revocation[];
  /** One statement per location not revoked yet, in the order given. */
  added: Statement[];
  /** The bucket policy as it will be. */
  result: BucketPolicy;
}

export interface UnrevokePlan {
  removed: Statement[];
  /** The bucket policy as it will be; null: delete it (nothing else was left), or there was none. */
  result: BucketPolicy | null;
}

/** AWS allows 20 KB; a store might allow more, but nothing near this. */
const MAX_POLICY_BYTES = 1024 * 1024;
/** Sids are letters and digits only (what IAM requires; S3 accepts it everywhere). */
const SID_PREFIX = 'SealdropRevoke';
const SINCE = /Since(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/;

/** Parses GetBucketPolicy's text; refuses what it can't merge into without guessing. */
export function parseBucketPolicy(text: string, bucket: string): BucketPolicy {
  const invalid = (why: string) =>
    new SealdropError('BUCKET_POLICY_INVALID', `the bucket policy of ${bucket} ${why}; not changing it`, {
      hint: `Look at it (aws s3api get-bucket-policy --bucket ${bucket}) and fix it by hand; sealdrop only merges into a policy it can read.`,
    });
  if (Buffer.byteLength(text) > MAX_POLICY_BYTES) throw invalid('is over 1 MiB');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid('is not JSON');
  }
  if (!isRecord(parsed)) throw invalid('is not a JSON object');
  const raw = parsed.Statement;
  // One statement may stand alone; it is written back as a list of one, which means the same.
  const statements = Array.isArray(raw) ? raw : isRecord(raw) ? [raw] : null;
  if (statements === null) throw invalid('has no Statement list');
  statements.forEach((statement, index) => {
    if (!isRecord(statement)) throw invalid(`has a statement (number ${index + 1}) that is not an object`);
  });
  for (const statement of statements as Statement[])
    if (isOurs(statement) && !isIntact(statement, statement.Resource))
      throw invalid(`has a statement ${String(statement.Sid)} named as sealdrop's revocation but changed`);
  return { document: parsed, statements: statements as Statement[] };
}

/** The text PutBucketPolicy gets: the document as it was, its Statement list replaced. */
export function formatBucketPolicy(policy: BucketPolicy): string {
  return JSON.stringify({ ...policy.document, Statement: policy.statements }, null, 2);
}

/** The Deny that cuts `location` off: the exact key, or everything under the prefix. */
export function revocationStatement(location: S3Location, now: Date): Statement {
  return {
    Sid: `${sidOf(location)}Since${compactTime(now)}`,
    Effect: 'Deny',
    Principal: '*',
    Action: 's3:PutObject',
    Resource: resourceOf(location),
  };
}

/** The revocation of `location` in `policy` (null: none, or no policy), the policy as it stands. */
export function findRevocation(policy: BucketPolicy | null, location: S3Location): Revocation | null {
  const sid = sidOf(location);
  const statement = policy?.statements.find((s) => typeof s.Sid === 'string' && s.Sid.startsWith(sid));
  if (!statement) return null;
  return { sid: statement.Sid as string, since: sinceOf(statement.Sid as string), statement };
}

/**
 * Adds a Deny for each location not revoked already, all in one change of the policy: a host writes to
 * several places (its backups, its WAL archive), and one left open is not cut off. Every other statement
 * stays as it was.
 */
export function planRevoke(
  current: BucketPolicy | null,
  locations: readonly S3Location[],
  now: Date,
): RevokePlan {
  const policy = current ?? { document: { Version: '2012-10-17' }, statements: [] };
  const already: Revocation[] = [];
  const added: Statement[] = [];
  for (const location of locations) {
    const found = findRevocation(current, location);
    if (found) already.push(found);
    else if (!added.some((s) => s.Resource === resourceOf(location)))
      added.push(revocationStatement(location, now));
  }
  return { already, added, result: { ...policy, statements: [...policy.statements, ...added] } };
}

/** Removes exactly sealdrop's statements for `locations`; a policy left empty is to be deleted. */
export function planUnrevoke(current: BucketPolicy | null, locations: readonly S3Location[]): UnrevokePlan {
  if (current === null) return { removed: [], result: null };
  const sids = locations.map(sidOf);
  const ours = (s: Statement) =>
    typeof s.Sid === 'string' && sids.some((sid) => (s.Sid as string).startsWith(sid));
  const removed = current.statements.filter(ours);
  const statements = current.statements.filter((s) => !ours(s));
  return {
    removed,
    result: statements.length === 0 && removed.length > 0 ? null : { ...current, statements },
  };
}

/**
 * The ARN a location's uploads go to. A key with * or ? would be a wildcard there and deny more than
 * the host: refused.
 */
export function resourceOf(location: S3Location): string {
  if (/[*?]/.test(location.key))
    throw new SealdropError(
      'USAGE',
      `${formatS3Url(location)} holds * or ?, which a bucket policy reads as wildcards: it can't be revoked exactly`,
      { hint: 'Revoke it by hand with a bucket policy statement you check yourself.' },
    );
  return `arn:aws:s3:::${location.bucket}/${location.key}${location.isPrefix ? '*' : ''}`;
}

/** One Sid per location (64 bits of its resource's hash), the same for policy and fleet revoke. */
function sidOf(location: S3Location): string {
  return `${SID_PREFIX}${createHash('sha256').update(resourceOf(location)).digest('hex').slice(0, 16)}`;
}

function isOurs(statement: Statement): boolean {
  return typeof statement.Sid === 'string' && statement.Sid.startsWith(SID_PREFIX);
}

/** Whether a statement with sealdrop's Sid is still the Deny sealdrop wrote for its resource. */
function isIntact(statement: Statement, written: unknown): boolean {
  const resource = single(written);
  if (typeof resource !== 'string' || !resource.startsWith('arn:aws:s3:::')) return false;
  const path = resource.slice('arn:aws:s3:::'.length);
  const slash = path.indexOf('/');
  const isPrefix = path.endsWith('*');
  const location = {
    bucket: path.slice(0, slash),
    key: isPrefix ? path.slice(slash + 1, -1) : path.slice(slash + 1),
    isPrefix,
  };
  return (
    slash > 0 &&
    !/[*?]/.test(location.key) &&
    (statement.Sid as string).startsWith(sidOf(location)) &&
    statement.Effect === 'Deny' &&
    single(isRecord(statement.Principal) ? statement.Principal.AWS : statement.Principal) === '*' &&
    single(statement.Action) === 's3:PutObject' &&
    Object.keys(statement).length === 5
  );
}

/** A store may hand back a one-element list where a single value was written. */
function single(value: unknown): unknown {
  return Array.isArray(value) && value.length === 1 ? value[0] : value;
}

function compactTime(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replaceAll('-', '')
    .replaceAll(':', '');
}

function sinceOf(sid: string): Date | null {
  const match = SINCE.exec(sid);
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match;
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}
