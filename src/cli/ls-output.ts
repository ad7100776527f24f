// ls's output: one row per backup set, as fixed-width text or as one JSON document, each written as the
// listing streams (a row is never held back for the ones after it).
import type { SealdropError } from '../core/errors.js';
import type { Fleet } from '../core/fleet.js';
import type { HealthState } from '../core/health-state.js';
import type { GroupedArea, SetSummary } from '../core/inventory.js';
import { recipientsJson, recipientsText, type KnownKey, type Recipients } from '../core/recipients.js';
import { formatS3Url, type S3Location } from '../core/s3-url.js';
import { snapshotJson } from '../core/snapshot.js';
import { formatBytes } from '../core/units.js';
import { plural } from '../core/words.js';
import { errorJson, printData, printLines } from './output.js';

/** One set of the inventory, as a row and as JSON. */
export interface Row {
  target: string;
  kind: 'version' | 'run' | 'area' | 'wal';
  /** With --fleet: the host whose set it is; null: it belongs to no host. */
  host?: string | null;
  /** With --fleet: since when the bucket policy denies the host's uploads here; null: not (or not known). */
  revokedAt?: Date | null;
  summary: SetSummary | null;
  area: GroupedArea | null;
  /** A fleet host's WAL archive, judged as a chain by the host's thresholds. */
  wal: WalRow | null;
  notes: string[];
  /** With --recipients: whom the latest complete backup is encrypted to. */
  recipients?: Recipients;
}

export interface WalRow {
  state: HealthState;
  rpoMs: number | null;
  newest: Date | null;
  files: number;
  storedBytes: number;
}

export interface Writer {
  readonly started: boolean;
  row(row: Row): void;
  fail(error: SealdropError): void;
  end(missingHosts: string[]): void;
}

const STATE_WORDS: Record<SetSummary['state'], string> = {
  complete: 'complete',
  deleted: 'DELETED',
  incomplete: 'INCOMPLETE',
  broken: 'BROKEN',
  empty: 'EMPTY',
};

/** Fixed-width columns with the address last, so each line is printed as soon as its set is known. */
export function textWriter(fleet: Fleet | null, known: readonly KnownKey[]): Writer {
  const hostWidth = fleet ? Math.max(7, ...fleet.hosts.map((h) => h.name.length)) : 0;
  let sets = 0;
  let noHost = 0;
  const line = (cells: string[]) => cells.join('  ').trimEnd();
  const hostCell = (row: Row) =>
    fleet ? [(row.host ?? (row.kind === 'area' ? '-' : 'NO HOST')).padEnd(hostWidth)] : [];
  // The header comes with the first row (or the sum): a listing that fails at once prints nothing.
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    printData(
      line([
        'KIND',
        'BACKUPS',
        'LATEST COMPLETE'.padEnd(24),
        'SIZE'.padStart(10),
        'STATE'.padEnd(10),
        ...(fleet ? ['HOST'.padEnd(hostWidth)] : []),
        'SET',
      ]),
    );
  };
  return {
    get started() {
      return started;
    },
    row(row) {
      start();
      if (row.summary) sets++;
      if (row.summary && row.host === null) noHost++;
      const { summary } = row;
      const latest = summary?.latest ?? null;
      const size = row.area
        ? formatBytes(row.area.storedBytes)
        : row.wal
          ? formatBytes(row.wal.storedBytes)
          : latest
            ? formatBytes(latest.size)
            : '-';
      const newest = row.wal ? row.wal.newest : (latest?.time ?? null);
      printLines([
        line([
          row.kind === 'area' ? 'area' : row.kind === 'run' ? 'runs' : row.kind === 'wal' ? 'wal ' : 'key ',
          (row.area || row.wal ? '-' : String(summary?.backups ?? 0)).padStart(7),
          (newest ? newest.toISOString() : '-').padEnd(24),
          size.padStart(10),
          (row.area ? 'sealdrop' : row.wal ? row.wal.state : STATE_WORDS[summary?.state ?? 'empty']).padEnd(
            10,
          ),
          ...hostCell(row),
          `${row.target}${notesText(row, known)}`,
        ]),
      ]);
    },
    fail() {},
    end(missing) {
      start();
      const parts = [plural(sets, 'backup set')];
      if (fleet) {
        parts.push(`${noHost} belonging to no host`);
        parts.push(`${plural(missing.length, 'host')} with nothing stored`);
      }
      printData(parts.join(', '));
    },
  };
}

function notesText(row: Row, known: readonly KnownKey[]): string {
  const notes = row.recipients
    ? [...row.notes, `recipients ${recipientsText(row.recipients, known)}`]
    : row.notes;
  return notes.length ? `  (${notes.join('; ')})` : '';
}

/** One JSON document, written as the sets arrive; a failure half-way ends it with an "error" member. */
export function jsonWriter(location: S3Location, known: readonly KnownKey[]): Writer {
  let started = false;
  let rows = 0;
  let sets = 0;
  let noHost = 0;
  const open = () => {
    if (started) return;
    started = true;
    process.stdout.write(`{"target": ${JSON.stringify(formatS3Url(location))}, "sets": [`);
  };
  return {
    get started() {
      return started;
    },
    row(row) {
      const first = rows++ === 0;
      open();
      if (row.summary) sets++;
      if (row.summary && row.host === null) noHost++;
      const { summary } = row;
      const json = row.wal
        ? {
            target: row.target,
            kind: 'wal',
            ...hostJson(row),
            state: row.wal.state,
            rpoSeconds: row.wal.rpoMs === null ? null : row.wal.rpoMs / 1000,
            newestSegmentTime: row.wal.newest?.toISOString() ?? null,
            files: row.wal.files,
            storedBytes: row.wal.storedBytes,
            notes: row.notes,
          }
        : row.area
          ? {
              target: row.target,
              kind: 'area',
              objects: row.area.objects,
              objectVersions: row.area.objectVersions,
              storedBytes: row.area.storedBytes,
            }
          : {
              target: row.target,
              kind: row.kind,
              ...hostJson(row),
              state: summary?.state ?? 'empty',
              backups: summary?.backups ?? 0,
              latest: summary?.latest ? snapshotJson(summary.latest) : null,
              counts: {
                incomplete: summary?.incomplete ?? 0,
                broken: summary?.broken ?? 0,
                deleteMarkers: summary?.deleteMarkers ?? 0,
                strays: summary?.strays ?? 0,
              },
              notes: row.notes,
              ...(row.recipients ? recipientsJson(row.recipients, known) : {}),
            };
      process.stdout.write(`${first ? '' : ','}\n  ${JSON.stringify(json)}`);
    },
    fail(error) {
      process.stdout.write(`\n], "error": ${JSON.stringify(errorJson(error).error)}}\n`);
    },
    end(missing) {
      open();
      process.stdout.write(
        `\n], "hostsWithNothingStored": ${JSON.stringify(missing)}, "totals": ${JSON.stringify({ sets, noHost })}}\n`,
      );
    },
  };
}

/** With --fleet: the host a set is of, and since when its uploads there are revoked. */
function hostJson(row: Row) {
  return row.host === undefined ? {} : { host: row.host, revokedAt: row.revokedAt?.toISOString() ?? null };
}
