#!/usr/bin/env node
// Writes a deterministic, SQL-like dump of SIZE bytes to stdout: `scripts/gen-dump.mjs 64MiB [SEED]`.
// Used by the demo, the benchmarks and the tests. Compresses about like a real mysqldump (≈ 3.5:1).
const units = { b: 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 };
const [sizeArg = '1MiB', seedArg = '1'] = process.argv.slice(2);
const match = /^(\d+(?:\.\d+)?)([a-z]*)$/i.exec(sizeArg);
if (!match || units[(match[2] || 'b').toLowerCase()] === undefined) {
  console.error(`usage: gen-dump.mjs SIZE [SEED]   (SIZE like 64MiB, 1GiB; got "${sizeArg}")`);
  process.exit(2);
}
const total = Math.round(Number(match[1]) * units[(match[2] || 'b').toLowerCase()]);

let state = (Number(seedArg) * 2654435761) >>> 0 || 1;
const next = () => {
  // xorshift32: fast and deterministic; not for anything but test data.
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>>= 0);
};
const words = [
  'alpha',
  'bravo',
  'charlie',
  'delta',
  'echo',
  'foxtrot',
  'golf',
  'hotel',
  'india',
  'juliet',
  'kilo',
  'lima',
];
const cities = ['Berlin', 'Lyon', 'Porto', 'Oslo', 'Austin', 'Osaka', 'Quito', 'Perth'];
const header =
  '-- sealdrop test dump\nCREATE TABLE orders (id BIGINT, customer VARCHAR(64), city VARCHAR(32), amount DECIMAL(10,2), note TEXT, created DATETIME);\n';
let id = 0;
function chunk() {
  const rows = [];
  for (let i = 0; i < 40; i++) {
    const r = next();
    id++;
    const note = `${words[r % 12]} ${words[(r >>> 4) % 12]} ${(r >>> 8).toString(36)}`;
    const day = 1 + (r % 28);
    rows.push(
      `(${id},'customer-${r % 100000}','${cities[(r >>> 3) % 8]}',${(r % 100000) / 100},'${note}','2026-0${1 + (r % 9)}-${day < 10 ? '0' : ''}${day} ${r % 24}:${10 + (r % 50)}:00')`,
    );
  }
  return `INSERT INTO orders VALUES ${rows.join(',')};\n`;
}

let written = 0;
let pending = header;
function write() {
  while (written < total) {
    while (pending.length < 1 << 20) pending += chunk();
    let buf = Buffer.from(pending, 'latin1');
    pending = '';
    if (written + buf.length > total) buf = buf.subarray(0, total - written);
    written += buf.length;
    if (!process.stdout.write(buf)) return process.stdout.once('drain', write);
  }
}
process.stdout.on('error', (error) => process.exit(error.code === 'EPIPE' ? 0 : 1));
write();
