// Content continuity on real dumps: nightly pg_dump and mariadb-dump output of a changing database
// stays above DEFAULT_MIN_OVERLAP; junk, gpg ciphertext and a ransomware-encrypted database fall below.
// A small version of scripts/measure-continuity, on throwaway servers this test installs and starts.
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MIN_OVERLAP, Sketcher, overlap, type Sketch } from '../../src/core/sketch.js';
import { startDatabase, type DatabaseKind } from '../support/databases.js';
import { dumpSeries, gpgFile, junkFile, ransomwareDump } from '../support/dump-series.js';

const KEY = new Uint8Array(32).fill(9);

async function sketchOf(file: string): Promise<Sketch> {
  const sketcher = new Sketcher(KEY);
  for await (const chunk of createReadStream(file)) sketcher.update(chunk as Buffer);
  return sketcher.digest();
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sealdrop-continuity-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe.each<DatabaseKind>(['postgres', 'mariadb'])('content continuity of %s dumps', (kind) => {
  it('keeps genuine nights above the threshold and puts junk, ciphertext and a ransomed database below', async () => {
    const db = await startDatabase(kind);
    try {
      const dir = await mkdtemp(join(work, `${kind}-`));
      const nights = await dumpSeries(db, { orders: 25_000, nights: 3, dir });
      const sketches = await Promise.all(nights.map((night) => sketchOf(night.file)));
      const last = nights.at(-1)!.file;
      expect((await stat(last)).size).toBeGreaterThan(3 << 20);
      for (let i = 1; i < sketches.length; i++) {
        const genuine = overlap(sketches[i - 1]!, sketches[i]!);
        expect(genuine, `night ${i + 1} against night ${i}`).toBeGreaterThan(DEFAULT_MIN_OVERLAP);
        expect(genuine).toBeLessThan(1); // the nights did change
      }

      const lastSketch = sketches.at(-1)!;
      await junkFile(join(dir, 'junk'), (await stat(last)).size);
      await gpgFile(last, join(dir, 'dump.gpg'));
      await ransomwareDump(db, join(dir, 'ransomed.sql'));
      for (const name of ['junk', 'dump.gpg', 'ransomed.sql']) {
        expect(overlap(lastSketch, await sketchOf(join(dir, name))), name).toBeLessThan(DEFAULT_MIN_OVERLAP);
      }
    } finally {
      await db.stop();
    }
    // Nothing left behind: the server's directory is gone.
    await expect(stat(db.dir)).rejects.toThrow(/ENOENT/);
  });
});
