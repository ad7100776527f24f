import { mkdtempSync, mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fetchedAhead } from '../../src/core/wal-ahead.js';
import { archivedAlready, readyFiles } from '../../src/agent/wal-memory.js';
import {
  archivedFileOf,
  archiveObjectKey,
  backupHistoryName,
  historyFileName,
  onTimeline,
  parseBackupHistory,
  parseBackupLabel,
  parseTimelineHistory,
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

  const stopped = (lsn: string) => `${label}\nSTOP WAL LOCATION: ${lsn} (file 000000010000000000000004)\n`;

  it('reads where it stopped from the backup history file', () => {
    const history = `${stopped('0/4000100')}STOP TIME: 2026-12-06 03:03:25 UTC\n`;
    expect(parseBackupLabel(history, 'history')).toMatchObject({ stopLsn: 0x4000100 });
    expect(parseBackupHistory(history, 'history')).toMatchObject({ startLsn: 0x2000028, stopLsn: 0x4000100 });
  });

  it.each([
    ['no stop', label, 'no STOP WAL LOCATION'],
    [
      'a stop past any genuine backup',
      stopped('1000/2000000'),
      'the base backup would span 1048577 segments (a genuine one, at most 1048576)',
    ],
  ])('refuses a backup history file with %s', (_why, text, why) => {
    expect(() => parseBackupHistory(text, 'X.backup')).toThrow(`X.backup is no backup history file: ${why}`);
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
  const launcher = fileURLToPath(new URL('../../bin/sealdrop', import.meta.url));
  /** bin/sealdrop run in `dir` with a fake `node` first in PATH: status 99 says it passed the call on. */
  const runLauncher = (dir: string, args: string[]) => {
    const fakeNode = join(dir, 'bin');
    mkdirSync(fakeNode);
    writeFileSync(join(fakeNode, 'node'), '#!/bin/sh\nexit 99\n', { mode: 0o755 });
    const call = spawnSync(launcher, args, {
      cwd: dir,
      env: { PATH: `${fakeNode}:/usr/bin:/bin` },
      encoding: 'utf8',
    });
    return { status: call.status, stderr: call.stderr };
  };
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

  // The installed `sealdrop` is bin/sealdrop, a shell script that answers these calls without starting
  // Node.js at all; it must agree with archivedAlready on every case. A fake `node` first in PATH
  // shows which calls it passed on.
  it.each([
    ['a file remembered at its size', ['--policy', 'p.json', 'pg_wal/000000010000000000000003'], true],
    ['no path after the options', ['--policy', 'p.json'], false],
    ['an option last', ['pg_wal/000000010000000000000003', '--jobs'], false],
    ['--help', ['--help', 'pg_wal/000000010000000000000003'], false],
    ['-h', ['-h', 'pg_wal/000000010000000000000003'], false],
    ['a file never stored', ['--policy', 'p.json', 'pg_wal/000000010000000000000004'], false],
    ['a recycled file of another size', ['--policy', 'p.json', 'pg_wal/000000010000000000000005'], false],
    ['a record without a size', ['--policy', 'p.json', 'pg_wal/000000010000000000000006'], false],
    ['a name with no directory', ['--policy', 'p.json', '000000010000000000000003'], false],
  ])('bin/sealdrop answers wal push like archivedAlready: %s', (_why, args, answered) => {
    const dir = dataDir();
    const wal = join(dir, 'pg_wal');
    mkdirSync(join(wal, 'sealdrop'));
    for (const [segno, content, record] of [
      [3, 'wal', { bytes: 3 }],
      [4, 'wal', null],
      [5, 'recycled', { bytes: 3 }],
      [6, 'wal', { key: 'x' }],
    ] as const) {
      const name = `00000001000000000000000${segno}`;
      writeFileSync(join(wal, name), content);
      if (record) writeFileSync(join(wal, 'sealdrop', name), JSON.stringify({ key: 'k', ...record }));
    }
    expect(runLauncher(dir, ['wal', 'push', ...args])).toEqual({ status: answered ? 0 : 99, stderr: '' });
    const absolute = args.map((arg) => (arg.startsWith('pg_wal/') ? join(dir, arg) : arg));
    expect(archivedAlready(argv('wal', 'push', ...absolute))).toBe(answered && args.at(-1)!.includes('/'));
  });

  it('bin/sealdrop passes a name with no directory on when run inside pg_wal, and answers it there', () => {
    const dir = dataDir();
    const wal = join(dir, 'pg_wal');
    mkdirSync(join(wal, 'sealdrop'));
    writeFileSync(join(wal, '000000010000000000000003'), 'wal');
    writeFileSync(join(wal, 'sealdrop/000000010000000000000003'), JSON.stringify({ key: 'k', bytes: 3 }));
    const call = spawnSync(launcher, ['wal', 'push', '--policy', 'p.json', '000000010000000000000003'], {
      cwd: wal,
      env: { PATH: '/nonexistent:/usr/bin:/bin' },
    });
    expect(call.status).toBe(0);
  });

  // The same for wal fetch: a file fetched ahead into pg_wal/sealdrop-fetch/ is moved into place by
  // bin/sealdrop itself, exactly when fetchedAhead would move it.
  it.each([
    ['fetched ahead', ['s3://b/db1/wal/', '000000010000000000000004', 'pg_wal/RECOVERYXLOG'], true],
    [
      'options after the arguments',
      ['s3://b/w/', '000000010000000000000004', 'pg_wal/X', '--identity', 'k'],
      true,
    ],
    ['not fetched ahead', ['s3://b/db1/wal/', '000000010000000000000005', 'pg_wal/RECOVERYXLOG'], false],
    ['--version-id', ['s3://b/w/', '000000010000000000000004', 'pg_wal/X', '--version-id', 'v'], false],
    ['--version-id=', ['s3://b/w/', '000000010000000000000004', 'pg_wal/X', '--version-id=v'], false],
    ['--help', ['s3://b/w/', '000000010000000000000004', 'pg_wal/X', '--help'], false],
    ['a history file', ['s3://b/w/', '00000002.history', 'pg_wal/X'], false],
    ['a name with a path', ['s3://b/w/', 'x/000000010000000000000004', 'pg_wal/X'], false],
    ['an option first', ['--identity', 'k', 's3://b/w/', '000000010000000000000004', 'pg_wal/X'], false],
    ['no destination', ['s3://b/w/', '000000010000000000000004'], false],
  ])('bin/sealdrop answers wal fetch like fetchedAhead: %s', (_why, args, answered) => {
    const prepare = () => {
      const dir = dataDir();
      mkdirSync(join(dir, 'pg_wal/sealdrop-fetch/x'), { recursive: true });
      for (const name of ['000000010000000000000004', '00000002.history', 'x/000000010000000000000004'])
        writeFileSync(join(dir, 'pg_wal/sealdrop-fetch', name), `fetched ${name}`);
      return dir;
    };
    const dir = prepare();
    expect(runLauncher(dir, ['wal', 'fetch', ...args])).toEqual({ status: answered ? 0 : 99, stderr: '' });
    const destination = args[2] ?? '';
    if (answered) {
      expect(readFileSync(join(dir, destination), 'utf8')).toBe(`fetched ${args[1]}`);
      expect(existsSync(join(dir, 'pg_wal/sealdrop-fetch', args[1]!))).toBe(false);
    }
    const other = prepare();
    const absolute = args.map((arg) => (arg.startsWith('pg_wal/') ? join(other, arg) : arg));
    expect(fetchedAhead(argv('wal', 'fetch', ...absolute))).toBe(answered);
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

describe('timelines', () => {
  // 00000003.history: timeline 1 left at 0/40000B0 for 2, which was left at 0/7000000 for 3.
  const history = parseTimelineHistory(
    '1\t0/40000B0\tbefore 2026-12-06 03:04:01+00\n\n2\t0/7000000\tno recovery target specified\n',
    '00000003.history',
  );

  it('reads a history file', () => {
    expect(history).toEqual([
      { timeline: 1, switchLsn: 0x40000b0 },
      { timeline: 2, switchLsn: 0x7000000 },
    ]);
    expect(historyFileName(3)).toBe('00000003.history');
  });

  it.each([
    ['on the timeline itself', { timeline: 3, stopLsn: 0x9000100 }, true],
    ['on a parent, ending before the child left it', { timeline: 1, stopLsn: 0x2000100 }, true],
    ['on a parent, ending where the child left it', { timeline: 1, stopLsn: 0x40000b0 }, true],
    [
      'on a parent, starting before the child left it but ending after (on the abandoned branch)',
      { timeline: 1, stopLsn: 0x40000b1 },
      false,
    ],
    [
      'on a parent, after the child left it (the abandoned server went on)',
      { timeline: 1, stopLsn: 0x6000100 },
      false,
    ],
    ['on a timeline it does not descend from', { timeline: 4, stopLsn: 0x1000100 }, false],
  ])('a base backup %s: %s', (_why, base, expected) => {
    expect(onTimeline(base, 3, history)).toBe(expected);
  });
});
