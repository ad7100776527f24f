#!/usr/bin/env node
// How `sealdrop ls` groups a bucket's listing into backup sets, at scale, without an S3 server: a
// generated listing in S3's order (keys with versions, prefixes with runs of many parts) through the
// same grouper (dist/core/inventory.js), one entry at a time as pages would bring them.
//   npm run build && /usr/bin/time -v node scripts/bench-ls.mjs [ENTRIES]      (default 1000000)
import { SetGrouper, summarizeSet } from '../dist/core/inventory.js';

const total = Number(process.argv[2] ?? 1_000_000);
const started = performance.now();
const grouper = new SetGrouper('bench', '');
let entries = 0;
let sets = 0;
let clock = Date.parse('2026-01-01T00:00:00Z');
const take = (done) => {
  for (const set of done) {
    sets++;
    if (set.kind === 'version') summarizeSet(set.snapshots, 0);
  }
};
const feed = (key) => {
  entries++;
  clock += 1000;
  take(
    grouper.add({
      key,
      versionId: `v${entries}`,
      lastModified: new Date(clock),
      size: 1024,
      etag: 'e',
      isDeleteMarker: false,
      isLatest: true,
    }),
  );
};
// A fifth in hosts with one key of 100 versions, the rest in hosts with runs of 199 parts and a manifest.
const keyHosts = Math.floor(total / 5 / 100);
for (let h = 0; h < keyHosts; h++)
  for (let v = 0; v < 100; v++) feed(`k${String(h).padStart(6, '0')}/db.gpg`);
for (let h = 0; entries < total; h++)
  for (let r = 0; r < 50 && entries < total; r++) {
    const id = `202601${String(1 + (r % 28)).padStart(2, '0')}T0000${String(r).padStart(2, '0')}Z-abcdef`;
    for (let p = 1; p <= 199 && entries < total; p++)
      feed(`r${String(h).padStart(6, '0')}/${id}/part-${String(p).padStart(6, '0')}`);
    if (entries < total) feed(`r${String(h).padStart(6, '0')}/${id}/manifest.json`);
  }
take(grouper.finish());
const seconds = (performance.now() - started) / 1000;
console.log(
  `${entries} entries, ${sets} backup sets in ${seconds.toFixed(2)} s; at most ${grouper.peakHeld} entries held; peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`,
);
