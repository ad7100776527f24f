// PostgreSQL's archived files as sealdrop names and reads them: WAL segments, timeline history files and
// backup history files, one object each under a prefix; the positions a base backup needs. Pure.
import type { Compression } from './compression.js';
import { SealdropError } from './errors.js';

/** PostgreSQL's default segment size; names and positions are computed with it. */
const WAL_SEGMENT_BYTES = 16 * 1024 * 1024;
/** Segments per 4 GiB "log" (the middle eight hex digits of a segment name) at 16 MiB. */
const SEGMENTS_PER_LOG = 0x1_0000_0000 / WAL_SEGMENT_BYTES;

export type WalFileKind = 'segment' | 'partial' | 'history' | 'backup';

export interface WalFile {
  name: string;
  kind: WalFileKind;
  timeline: number;
  /** The segment's number across logs (segments, partials, backup history files); null for history files. */
  segno: number | null;
}

const SEGMENT = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})(\.partial|\.[0-9A-F]{8}\.backup)?$/;
const HISTORY = /^([0-9A-F]{8})\.history$/;

/** What an archived file name is, or null for anything PostgreSQL doesn't archive. */
export function parseWalFileName(name: string): WalFile | null {
  const history = HISTORY.exec(name);
  if (history) return { name, kind: 'history', timeline: parseInt(history[1]!, 16), segno: null };
  const match = SEGMENT.exec(name);
  if (!match) return null;
  const [, timeline, log, seg, suffix] = match;
  const segInLog = parseInt(seg!, 16);
  if (segInLog >= SEGMENTS_PER_LOG) return null;
  return {
    name,
    kind: suffix === undefined ? 'segment' : suffix === '.partial' ? 'partial' : 'backup',
    timeline: parseInt(timeline!, 16),
    segno: parseInt(log!, 16) * SEGMENTS_PER_LOG + segInLog,
  };
}

export function segmentFileName(timeline: number, segno: number): string {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
  return `${hex(timeline)}${hex(Math.floor(segno / SEGMENTS_PER_LOG))}${hex(segno % SEGMENTS_PER_LOG)}`;
}

/** A WAL position ("0/2000028", as PostgreSQL prints one) as a number of bytes, or null. */
export function parseLsn(text: string): number | null {
  const match = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i.exec(text);
  if (!match) return null;
  const lsn = parseInt(match[1]!, 16) * 0x1_0000_0000 + parseInt(match[2]!, 16);
  return Number.isSafeInteger(lsn) ? lsn : null;
}

export function segnoOfLsn(lsn: number): number {
  return Math.floor(lsn / WAL_SEGMENT_BYTES);
}

// Objects: PREFIX + file name + the compression's suffix, one object per file, written once.
const SUFFIXES: Record<Compression, string> = { gzip: '.gz.gpg', zstd: '.zst.gpg', none: '.gpg' };

export function archiveObjectKey(prefix: string, name: string, compression: Compression): string {
  return `${prefix}${name}${SUFFIXES[compression]}`;
}

/** The archived file a key under `prefix` holds (and its compression), or null for anything else there. */
export function archivedFileOf(
  prefix: string,
  key: string,
): { file: WalFile; compression: Compression } | null {
  if (!key.startsWith(prefix)) return null;
  const rest = key.slice(prefix.length);
  for (const compression of ['gzip', 'zstd', 'none'] as const) {
    const suffix = SUFFIXES[compression];
    if (!rest.endsWith(suffix)) continue;
    const file = parseWalFileName(rest.slice(0, -suffix.length));
    return file ? { file, compression } : null;
  }
  return null;
}

/** What a base backup's backup_label says (and, from its backup history file, where it stopped). */
export interface BackupLabel {
  startLsn: number;
  startSegment: string;
  timeline: number;
  label: string;
  startTime: string;
  /** Only in a backup history file (the archived NAME.OFFSET.backup). */
  stopLsn?: number;
  stopTime?: string;
}

/** backup_label and backup history files are a few hundred bytes; anything bigger isn't one. */
export const MAX_LABEL_BYTES = 64 * 1024;

/**
 * Reads backup_label or a backup history file: bounded, every field checked, so that a label written by
 * a compromised host can name positions but never anything else.
 */
export function parseBackupLabel(text: string, what: string): BackupLabel {
  const invalid = (why: string) =>
    new SealdropError('INTEGRITY', `${what} is not a PostgreSQL backup label: ${why}`, {
      hint: 'Choose another base backup (--base), or check that the object is a pg_basebackup tar.',
    });
  if (text.length > MAX_LABEL_BYTES) throw invalid('too long');
  const fields = new Map<string, string>();
  for (const line of text.split('\n').slice(0, 64)) {
    const colon = line.indexOf(': ');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 2).slice(0, 1024));
  }
  // START WAL LOCATION: 0/2000028 (file 000000010000000000000002)
  const start = /^([0-9A-F]{1,8}\/[0-9A-F]{1,8}) \(file ([0-9A-F]{24})\)$/i.exec(
    fields.get('START WAL LOCATION') ?? '',
  );
  const startLsn = start ? parseLsn(start[1]!) : null;
  const timeline = Number(fields.get('START TIMELINE') ?? NaN);
  if (startLsn === null || !start) throw invalid('no START WAL LOCATION');
  if (!(Number.isInteger(timeline) && timeline >= 1 && timeline <= 0xffffffff))
    throw invalid('no START TIMELINE');
  const segment = parseWalFileName(start[2]!.toUpperCase());
  if (segment?.timeline !== timeline || segment.segno !== segnoOfLsn(startLsn))
    throw invalid('START WAL LOCATION names another file than its position');
  const stop = /^([0-9A-F]{1,8}\/[0-9A-F]{1,8})/i.exec(fields.get('STOP WAL LOCATION') ?? '');
  const stopLsn = stop ? parseLsn(stop[1]!) : null;
  if (stopLsn !== null && stopLsn < startLsn) throw invalid('it stops before it starts');
  return {
    startLsn,
    startSegment: segment.name,
    timeline,
    label: fields.get('LABEL') ?? '',
    startTime: fields.get('START TIME') ?? '',
    ...(stopLsn !== null ? { stopLsn, stopTime: fields.get('STOP TIME') ?? '' } : {}),
  };
}

/** Segments a base backup may span (16 TiB of WAL in 16 MiB segments): more is no genuine history file. */
const MAX_BACKUP_SEGMENTS = 1 << 20;

/**
 * A backup history file, archived when the backup stopped: its label, and where the backup ends (it is
 * usable from there on), which a genuine one always says.
 */
export function parseBackupHistory(text: string, what: string): BackupLabel & { stopLsn: number } {
  const history = parseBackupLabel(text, what);
  const invalid = (why: string) =>
    new SealdropError('INTEGRITY', `${what} is no backup history file: ${why}`, {
      hint: 'Pick another base backup (--to), and check the archive with `sealdrop status`.',
    });
  if (history.stopLsn === undefined) throw invalid('no STOP WAL LOCATION');
  const span = segnoOfLsn(history.stopLsn) - segnoOfLsn(history.startLsn) + 1;
  if (span > MAX_BACKUP_SEGMENTS)
    throw invalid(
      `the base backup would span ${span} segments (a genuine one, at most ${MAX_BACKUP_SEGMENTS})`,
    );
  return { ...history, stopLsn: history.stopLsn };
}

/** The backup history file PostgreSQL archives for a base backup: START-SEGMENT.OFFSET.backup. */
export function backupHistoryName(label: Pick<BackupLabel, 'startLsn' | 'startSegment'>): string {
  const offset = label.startLsn % WAL_SEGMENT_BYTES;
  return `${label.startSegment}.${offset.toString(16).toUpperCase().padStart(8, '0')}.backup`;
}

/** One line of a timeline history file: the parent timeline, and where the child left it. */
export interface TimelineSwitch {
  timeline: number;
  switchLsn: number;
}

/** NNNNNNNN.history: the timelines a timeline descends from. Bounded and checked like a label. */
export function parseTimelineHistory(text: string, what: string): TimelineSwitch[] {
  if (text.length > MAX_LABEL_BYTES)
    throw new SealdropError('INTEGRITY', `${what} is not a timeline history file: too long`);
  const switches: TimelineSwitch[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*(\d{1,10})\s+([0-9A-F]{1,8}\/[0-9A-F]{1,8})/i.exec(line);
    const switchLsn = match ? parseLsn(match[2]!) : null;
    if (match && switchLsn !== null) switches.push({ timeline: Number(match[1]), switchLsn });
  }
  return switches;
}

/**
 * Whether replay from a base backup can reach a timeline: the backup was taken on it, or on a timeline
 * it descends from and ended (became consistent, `stopLsn` from its backup history file) by the time
 * the child left that one. A backup that ends past the fork ends on the abandoned branch.
 */
export function onTimeline(
  base: { timeline: number; stopLsn: number },
  timeline: number,
  history: readonly TimelineSwitch[],
): boolean {
  if (base.timeline === timeline) return true;
  const parent = history.find((entry) => entry.timeline === base.timeline);
  return parent !== undefined && base.stopLsn <= parent.switchLsn;
}

export function historyFileName(timeline: number): string {
  return `${timeline.toString(16).toUpperCase().padStart(8, '0')}.history`;
}
