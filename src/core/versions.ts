// The versions of one backup key and which of them a restore means: latest, an id, or "as of TIME".
import { SealdropError } from './errors.js';
import { parseDurationParts, type DurationParts } from './units.js';

export interface ObjectVersion {
  versionId: string;
  lastModified: Date;
  /** Bytes stored; 0 for delete markers. */
  size: number;
  isLatest: boolean;
  isDeleteMarker: boolean;
  etag: string | null;
}

export type VersionSelector =
  { kind: 'latest' } | { kind: 'id'; versionId: string } | { kind: 'at'; at: Date };

/**
 * Merges a key's versions and delete markers, each in S3's listing order (newest first), into one list.
 * S3's order is kept within each: it is the true order, while LastModified can disagree with it for
 * concurrent uploads. Only the interleaving of the two goes by time (ties: the latest first).
 */
export function newestFirst(
  versions: readonly ObjectVersion[],
  deleteMarkers: readonly ObjectVersion[],
): ObjectVersion[] {
  const merged: ObjectVersion[] = [];
  let v = 0;
  let m = 0;
  while (v < versions.length || m < deleteMarkers.length) {
    const version = versions[v];
    const marker = deleteMarkers[m];
    if (marker === undefined || (version !== undefined && !newer(marker, version))) {
      merged.push(version!);
      v++;
    } else {
      merged.push(marker);
      m++;
    }
  }
  return merged;
}

function newer(a: ObjectVersion, b: ObjectVersion): boolean {
  const difference = a.lastModified.getTime() - b.lastModified.getTime();
  return difference > 0 || (difference === 0 && a.isLatest && !b.isLatest);
}

/**
 * Picks the version a restore means from a newest-first list. `label` names the key in messages.
 * A delete marker is never restorable: at that point in time the key did not exist.
 */
export function chooseVersion(
  versions: readonly ObjectVersion[],
  selector: VersionSelector,
  label: string,
): ObjectVersion {
  if (versions.length === 0)
    throw new SealdropError('NOT_FOUND', `${label} does not exist (no versions at all)`, {
      hint: 'Check the bucket and key (sealdrop versions s3://BUCKET/KEY).',
    });
  let chosen: ObjectVersion | undefined;
  if (selector.kind === 'id') {
    chosen = versions.find((version) => version.versionId === selector.versionId);
    if (!chosen) throw new SealdropError('NOT_FOUND', `${label} has no version ${selector.versionId}`);
  } else if (selector.kind === 'latest') {
    chosen = versions[0]!;
  } else {
    chosen = versions.find((version) => version.lastModified.getTime() <= selector.at.getTime());
    if (!chosen) {
      const oldest = versions[versions.length - 1]!;
      throw new SealdropError(
        'NOT_FOUND',
        `${label} has no version at or before ${selector.at.toISOString()}; the oldest is from ${oldest.lastModified.toISOString()}`,
        {
          hint: 'Pick a later --at, or list what exists with `sealdrop versions`.',
        },
      );
    }
  }
  if (chosen.isDeleteMarker) throw deleted(versions, chosen, label);
  return chosen;
}

function deleted(versions: readonly ObjectVersion[], marker: ObjectVersion, label: string): SealdropError {
  const before = versions.find(
    (version) =>
      !version.isDeleteMarker &&
      version.lastModified.getTime() <= marker.lastModified.getTime() &&
      version !== marker,
  );
  return new SealdropError(
    'NOT_FOUND',
    `${label} version ${marker.versionId} is a delete marker (the key was deleted at ${marker.lastModified.toISOString()}); there is nothing to restore from it`,
    {
      hint: before
        ? `Restore the version before it: --version-id ${before.versionId} (from ${before.lastModified.toISOString()}).`
        : 'List the versions with `sealdrop versions` and pick one with --version-id.',
    },
  );
}

/**
 * Parses a point in time for --at: ISO 8601 ("2024-05-01T03:00:00Z"; without an offset it is local time,
 * like `date`), "@EPOCH_SECONDS", or a duration back from now ("36h", "2d ago").
 */
export function parsePointInTime(text: string, now = new Date()): Date {
  const trimmed = text.trim();
  const ago = trimmed.replace(/\s+ago$/i, '');
  if (/^(?:\d+[a-z]+)+$/i.test(ago)) return durationBefore(now, parseDurationParts(ago, '--at'));
  if (/^@\d+(?:\.\d+)?$/.test(trimmed)) return new Date(Number(trimmed.slice(1)) * 1000);
  const match =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(
      trimmed,
    );
  if (match) {
    const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '0', zone] = match;
    const fields = [
      Number(year),
      Number(month) - 1,
      Number(day),
      Number(hour),
      Number(minute),
      Number(second),
      Number(fraction.padEnd(3, '0')),
    ] as const;
    const utc = new Date(Date.UTC(...fields));
    const date = zone === undefined ? new Date(...fields) : new Date(utc.getTime() - offsetMs(zone));
    // Date rolls 2024-02-30 over into March: a date that doesn't read back is not a date.
    const readBack =
      zone === undefined
        ? [date.getFullYear(), date.getMonth(), date.getDate()]
        : [utc.getUTCFullYear(), utc.getUTCMonth(), utc.getUTCDate()];
    const valid =
      readBack.every((value, i) => value === fields[i]) && fields[3] < 24 && fields[4] < 60 && fields[5] < 60;
    if (valid) return date;
  }
  throw new SealdropError('USAGE', `"${text}" is not a point in time`, {
    hint: 'Write 2024-05-01T03:00:00Z, 2024-05-01 03:00 (local time), @1714532400, or 36h ago.',
  });
}

/** `now` minus a duration: years and months on the local calendar (like `date -d "1 month ago"`), the rest exactly. */
function durationBefore(now: Date, parts: DurationParts): Date {
  const date = new Date(now);
  date.setFullYear(date.getFullYear() - parts.years, date.getMonth() - parts.months);
  const ms =
    ((((parts.weeks * 7 + parts.days) * 24 + parts.hours) * 60 + parts.minutes) * 60 + parts.seconds) * 1000 +
    parts.milliseconds;
  return new Date(date.getTime() - ms);
}

function offsetMs(zone: string): number {
  if (zone.toUpperCase() === 'Z') return 0;
  const digits = zone.replace(':', '');
  const minutes = Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5));
  return (digits.startsWith('-') ? -1 : 1) * minutes * 60_000;
}
