// How much consecutive nightly dumps of real databases overlap by content sketch, against junk, gpg
// ciphertext and a ransomware-encrypted database: the numbers behind DEFAULT_MIN_OVERLAP.
// Run it through scripts/measure-continuity (which bundles it); see there for the options.
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SKETCH_PARAMS, Sketcher, overlap, type Sketch, type SketchParams } from '../src/core/sketch.js';
import { startDatabase, type DatabaseKind } from '../test/support/databases.js';
import {
  dumpSeries,
  gpgFile,
  junkFile,
  ransomwareDump,
  type NightKind,
} from '../test/support/dump-series.js';

const { values: args } = parseArgs({
  options: {
    orders: { type: 'string', default: '250000' },
    nights: { type: 'string', default: '14' },
    params: {
      type: 'string',
      default: `${SKETCH_PARAMS.minChunk}/${SKETCH_PARAMS.avgChunk}/${SKETCH_PARAMS.maxChunk}`,
    },
    databases: { type: 'string', default: 'postgres,mariadb' },
  },
});
const orders = Number(args.orders);
const nights = Number(args.nights);
const settings: SketchParams[] = args.params.split(',').map((text) => {
  const [minChunk, avgChunk, maxChunk] = text.split('/').map(Number);
  return { k: SKETCH_PARAMS.k, minChunk: minChunk!, avgChunk: avgChunk!, maxChunk: maxChunk! };
});
const key = new Uint8Array(32).fill(42);

/** One pass over a file feeds every setting's sketcher. */
async function sketches(file: string): Promise<Sketch[]> {
  const sketchers = settings.map((params) => new Sketcher(key, params));
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 16 })) {
    for (const sketcher of sketchers) sketcher.update(chunk as Buffer);
  }
  return sketchers.map((sketcher) => sketcher.digest());
}

interface Row {
  database: DatabaseKind;
  scenario: string;
  /** Per setting: the overlaps measured. */
  overlaps: number[][];
}

const rows: Row[] = [];
const add = (database: DatabaseKind, scenario: string, values: number[]) => {
  let row = rows.find((r) => r.database === database && r.scenario === scenario);
  if (!row) rows.push((row = { database, scenario, overlaps: settings.map(() => []) }));
  values.forEach((value, i) => row.overlaps[i]!.push(value));
};

const work = await mkdtemp(join(tmpdir(), 'sealdrop-continuity-'));
try {
  for (const kind of args.databases.split(',') as DatabaseKind[]) {
    const started = Date.now();
    const db = await startDatabase(kind);
    try {
      const series = await dumpSeries(db, {
        orders,
        nights,
        dir: work,
        bigChangeNight: nights >= 7 ? 7 : undefined,
        reorganiseNight: nights >= 10 ? 10 : undefined,
      });
      let previous = await sketches(series[0]!.file);
      for (const night of series.slice(1)) {
        const current = await sketches(night.file);
        add(
          kind,
          scenarioOf(night.kind),
          current.map((sketch, i) => overlap(previous[i]!, sketch)),
        );
        previous = current;
      }
      const last = series.at(-1)!.file;
      const size = (await stat(last)).size;
      const against = async (scenario: string, file: string) =>
        add(
          kind,
          scenario,
          (await sketches(file)).map((sketch, i) => overlap(previous[i]!, sketch)),
        );
      await junkFile(join(work, 'junk'), size);
      await against('random junk, same size', join(work, 'junk'));
      await gpgFile(last, join(work, 'dump.gpg'));
      await against('gpg-encrypted dump', join(work, 'dump.gpg'));
      await ransomwareDump(db, join(work, 'ransomed.sql'));
      await against('ransomware-encrypted database, dumped', join(work, 'ransomed.sql'));
      const sizes = await Promise.all(series.map(async (night) => (await stat(night.file)).size));
      console.error(
        `${kind}: ${series.length} nights, dumps ${mib(Math.min(...sizes))}-${mib(Math.max(...sizes))} MiB, ` +
          `${Math.round((Date.now() - started) / 1000)} s`,
      );
    } finally {
      await db.stop();
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

settings.forEach((params, i) => {
  console.log(
    `\nchunks min/avg/max ${params.minChunk}/${params.avgChunk}/${params.maxChunk} B, k = ${params.k}:\n`,
  );
  console.log('| database | compared with the night before | nights | min overlap | median |');
  console.log('| --- | --- | ---: | ---: | ---: |');
  for (const row of rows) {
    const values = row.overlaps[i]!.slice().sort((a, b) => a - b);
    const median = values[Math.floor((values.length - 1) / 2)]!;
    console.log(
      `| ${row.database} | ${row.scenario} | ${values.length} | ${values[0]!.toFixed(3)} | ${median.toFixed(3)} |`,
    );
  }
});

function scenarioOf(kind: NightKind): string {
  return {
    normal: 'genuine night: 3% updated, 1% added, 0.5% deleted',
    'big change': 'genuine night: 30% of orders rewritten',
    reorganised: 'genuine night, tables reorganised (CLUSTER / OPTIMIZE)',
  }[kind];
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
