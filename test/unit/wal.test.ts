import { mkdtempSync, mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fetchedAhead } from '../../src/admin/wal/ahead.js';
import { archivedAlready, readyFiles } from '../../src/agent/wal-memory.js';
import {
  archivedFileOf,
  archiveObjectKey,
  backupHistoryName,
  parseBackupLabel,
  parseLsn,
  parseWalFileName,
  segmentFileName,
} from '../../src/core/wal.js';

describe('archived file names', () => {
  it.each([
    ['000000010000000000000003', { kind: 'segment', timeline: 1, segno: 3 }],
    ['0000000200000001000000FF', { kind: 'segment', timeline: 2, segno: 511 }],
    ['000000010000000000000003.partial', { kind: 'partial', timeline: 1, segno: 3 }],
    ['000000010000000000000002.00000028.backup', { kind: 'backup', timeline: 1, segno: 2 }],
    ['00000002.history', { kind: 'history', timeline: 2, segno: null }],
  ])('reads %s', (name, expected) => {
    expect(parseWalFileName(name)).toEqual({ name, ...expected });
  });

  it.each([
    ['lower case', '00000001000000000000000a'],
    ['a segment past the last of its log (16 MiB segments)', '000000010000000000000100'],
    ['a path', '../000000010000000000000003'],
    ['anything else', 'backup_label'],
    ['an empty name', ''],
  ])('refuses %s', (_why, name) => {
    expect(parseWalFileName(name)).toBeNull();
  });

  it('counts segments across logs, as PostgreSQL names them', () => {
    expect(segmentFileName(1, 255)).toBe('0000000100000000000000FF');
    expect(segmentFileName(1, 256)).toBe('000000010000000100000000');
    expect(parseWalFileName(segmentFileName(3, 1000))?.segno).toBe(1000);
  });

  it('names one object per file under the prefix, and reads the name back', () => {
    const key = archiveObjectKey('db1/wal/', '000000010000000000000003', 'zstd');
    expect(key).toBe('db1/wal/000000010000000000000003.zst.gpg');
    expect(archivedFileOf('db1/wal/', key)).toMatchObject({
      compression: 'zstd',
      file: { name: '000000010000000000000003' },
    });
    expect(archivedFileOf('db1/wal/', 'db1/wal/000000010000000000000003.gz.gpg')?.compression).toBe('gzip');
    expect(archivedFileOf('db1/wal/', 'db1/wal/junk.gz.gpg')).toBeNull();
    expect(archivedFileOf('db1/wal/', 'db2/wal/000000010000000000000003.gz.gpg')).toBeNull();
  });
});

describe('backup labels', () => {
  const label = [
    'START WAL LOCATION: 0/2000028 (file 000000010000000000000002)',
    'CHECKPOINT LOCATION: 0/2000060',
    'BACKUP METHOD: streamed',
    'BACKUP FROM: primary',
    'START TIME: 2026-12-06 03:03:11 UTC',
    'LABEL: pg_basebackup base backup',
    'START TIMELINE: 1',
  ].join('\n');

  it('reads where a base backup starts, and its backup history file', () => {
    const read = parseBackupLabel(label, 'backup_label');
    expect(read).toMatchObject({
      startLsn: 0x2000028,
      startSegment: '000000010000000000000002',
      timeline: 1,
    });
    expect(backupHistoryName(read)).toBe('000000010000000000000002.00000028.backup');
  });

  it('reads where it stopped from the backup history file', () => {
    const history = `${label}\nSTOP WAL LOCATION: 0/4000100 (file 000000010000000000000004)\nSTOP TIME: 2026-12-06 03:03:25 UTC\n`;
    expect(parseBackupLabel(history, 'history')).toMatchObject({ stopLsn: 0x4000100 });
  });

  it.each([
    [
      'a file name that is not its position',
      label.replace('(file 000000010000000000000002)', '(file 000000010000000000000009)'),
    ],
    ['another timeline than its file', label.replace('START TIMELINE: 1', 'START TIMELINE: 2')],
    ['no start', label.replace(/^START WAL.*$/m, '')],
    ['a stop before the start', `${label}\nSTOP WAL LOCATION: 0/1000000 (file 000000010000000000000001)`],
    ['a flood', label + 'x'.repeat(70_000)],
  ])('refuses a label with %s', (_why, text) => {
    expect(() => parseBackupLabel(text, 'backup_label')).toThrow(/not a PostgreSQL backup label/);
  });

  it('reads positions past 4 GiB', () => {
    expect(parseLsn('1/0')).toBe(0x1_0000_0000);
    expect(parseLsn('x/0')).toBeNull();
  });
});

describe('the calls PostgreSQL makes again, answered before anything loads', () => {
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdrop-wal-unit-'));
    mkdirSync(join(dir, 'pg_wal/archive_status'), { recursive: true });
    return dir;
  };
  const argv = (...args: string[]) => ['node', 'sealdrop', ...args];

  it('wal push of a file remembered as stored, at the same size', () => {
    const dir = dataDir();
    const segment = join(dir, 'pg_wal/000000010000000000000003');
    writeFileSync(segment, 'wal');
    expect(archivedAlready(argv('wal', 'push', '--policy', 'p.json', segment))).toBe(false);
    mkdirSync(join(dir, 'pg_wal/sealdrop'));
    writeFileSync(join(dir, 'pg_wal/sealdrop/000000010000000000000003'), JSON.stringify({ bytes: 3 }));
    expect(archivedAlready(argv('wal', 'push', '--policy', 'p.json', segment))).toBe(true);
    expect(archivedAlready(argv('wal', 'push', '--help', segment))).toBe(false);
    writeFileSync(segment, 'a recycled file of another size');
    expect(archivedAlready(argv('wal', 'push', '--policy', 'p.json', segment))).toBe(false);
  });

  it('lists ready files in the order PostgreSQL archives them: history files first', () => {
    const dir = dataDir();
    for (const name of ['000000020000000000000005', '00000002.history', '000000010000000000000004'])
      writeFileSync(join(dir, `pg_wal/archive_status/${name}.ready`), '');
    writeFileSync(join(dir, 'pg_wal/archive_status/000000010000000000000003.done'), '');
    expect(readyFiles(join(dir, 'pg_wal/000000010000000000000004'))).toEqual([
      '00000002.history',
      '000000010000000000000004',
      '000000020000000000000005',
    ]);
  });

  it('wal fetch of a segment fetched ahead: moved into place once', () => {
    const dir = dataDir();
    mkdirSync(join(dir, 'pg_wal/sealdrop-fetch'));
    writeFileSync(join(dir, 'pg_wal/sealdrop-fetch/000000010000000000000004'), 'segment 4');
    const destination = join(dir, 'pg_wal/RECOVERYXLOG');
    const call = argv('wal', 'fetch', 's3://b/db1/wal/', '000000010000000000000004', destination);
    expect(
      fetchedAhead(argv('wal', 'fetch', 's3://b/db1/wal/', '000000010000000000000005', destination)),
    ).toBe(false);
    expect(fetchedAhead(call)).toBe(true);
    expect(readFileSync(destination, 'utf8')).toBe('segment 4');
    expect(existsSync(join(dir, 'pg_wal/sealdrop-fetch/000000010000000000000004'))).toBe(false);
    expect(fetchedAhead(call)).toBe(false);
  });
});
