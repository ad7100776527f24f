// A shop database that lives through nights: seeded once, then each night a few per cent of its rows
// change (updates, inserts, deletes, an append-only event log) and it is dumped with the stock tool.
// Some nights are special: a big rewrite, a reorganisation (CLUSTER / OPTIMIZE TABLE), and at the end
// the same database with its text encrypted in place, the way ransomware leaves one.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import type { Database, DatabaseKind } from './databases.js';

export type NightKind = 'normal' | 'big change' | 'reorganised';

export interface Night {
  night: number;
  kind: NightKind;
  /** The night's plain SQL dump. */
  file: string;
}

export interface SeriesOptions {
  /** Rows in orders at the start: about 150 bytes of dump each, plus a fifth as many customers. */
  orders: number;
  nights: number;
  /** The nights that rewrite 30% of the orders / reorganise the tables (none when left out). */
  bigChangeNight?: number;
  reorganiseNight?: number;
  /** Where the dumps go, `${kind}-night-N.sql`. */
  dir: string;
}

/** A normal night, per table: the share of rows updated, deleted and (orders, events) added. */
const NORMAL = { updated: 0.03, deleted: 0.005, added: 0.01, customersUpdated: 0.005 };
const BIG_CHANGE = { ...NORMAL, updated: 0.3 };

export async function dumpSeries(db: Database, options: SeriesOptions): Promise<Night[]> {
  await db.sql(schema(db.kind, options.orders));
  const nights: Night[] = [];
  for (let night = 1; night <= options.nights; night++) {
    let kind: NightKind = 'normal';
    if (night > 1) {
      kind =
        night === options.bigChangeNight
          ? 'big change'
          : night === options.reorganiseNight
            ? 'reorganised'
            : 'normal';
      await db.sql(changes(db.kind, night, kind === 'big change' ? BIG_CHANGE : NORMAL, options.orders));
      if (kind === 'reorganised') await db.sql(reorganise(db.kind));
    }
    const file = join(options.dir, `${db.kind}-night-${night}.sql`);
    await db.dump(file);
    nights.push({ night, kind, file });
  }
  return nights;
}

/** Encrypts every text field in place (AES, base64), as ransomware does, and dumps the result. */
export async function ransomwareDump(db: Database, file: string): Promise<void> {
  const seal = (column: string) =>
    db.kind === 'postgres'
      ? `${column} = encode(encrypt(convert_to(${column}, 'UTF8'), 'ransom', 'aes'), 'base64')`
      : `${column} = TO_BASE64(AES_ENCRYPT(${column}, 'ransom'))`;
  await db.sql(
    (db.kind === 'postgres' ? 'CREATE EXTENSION IF NOT EXISTS pgcrypto;\n' : '') +
      `UPDATE customers SET ${['name', 'email', 'city'].map(seal).join(', ')};\n` +
      `UPDATE orders SET ${['status', 'note'].map(seal).join(', ')};\n` +
      `UPDATE events SET ${['kind', 'detail'].map(seal).join(', ')};\n`,
  );
  await db.dump(file);
}

/** `bytes` of random data: what a broken pipeline or a wrong file would upload. */
export async function junkFile(file: string, bytes: number): Promise<void> {
  const out = createWriteStream(file);
  for (let left = bytes; left > 0; left -= 1 << 20) {
    if (!out.write(randomBytes(Math.min(left, 1 << 20)))) await once(out, 'drain');
  }
  out.end();
  await finished(out);
}

/** The dump encrypted by stock gpg (symmetric, its default compression): ciphertext as if it were a dump. */
export async function gpgFile(input: string, output: string): Promise<void> {
  const home = await mkdtemp(join(tmpdir(), 'sealdrop-gnupg-'));
  try {
    const args = ['--homedir', home, '--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', 'x'];
    const child = spawn('gpg', [...args, '--symmetric', '--output', output, input], { stdio: 'ignore' });
    const status = await new Promise((resolve, reject) => child.on('error', reject).on('close', resolve));
    if (status !== 0) throw new Error(`gpg --symmetric exited with ${String(status)}`);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

function schema(kind: DatabaseKind, orders: number): string {
  const customers = Math.max(1, Math.round(orders / 5));
  const cities = ['Berlin', 'Lyon', 'Porto', 'Oslo', 'Austin', 'Osaka', 'Quito', 'Perth'];
  const tables = `
    CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(255), email VARCHAR(255), city VARCHAR(255), since DATE);
    CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT, status VARCHAR(255), amount DECIMAL(10,2), note TEXT, updated TIMESTAMP);
    CREATE TABLE events (id INT PRIMARY KEY, order_id INT, kind VARCHAR(255), detail TEXT, at TIMESTAMP);`;
  if (kind === 'postgres') {
    const city = `(ARRAY[${cities.map((c) => `'${c}'`).join(',')}])[1 + i % 8]`;
    return `${tables}
      INSERT INTO customers SELECT i, 'Customer ' || md5(i::text)::varchar(12), 'c' || i || '@example.org', ${city},
        date '2020-01-01' + i % 1500 FROM generate_series(1, ${customers}) i;
      INSERT INTO orders SELECT ${orderRow('postgres', 'i', customers, 1)} FROM generate_series(1, ${orders}) i;
      INSERT INTO events SELECT i, i, 'created', 'order ' || i || ' created by web shop', timestamp '2024-01-01' + i * interval '1 second'
        FROM generate_series(1, ${orders}) i;`;
  }
  const city = `ELT(1 + seq % 8, ${cities.map((c) => `'${c}'`).join(',')})`;
  return `${tables}
    INSERT INTO customers SELECT seq, CONCAT('Customer ', LEFT(MD5(seq), 12)), CONCAT('c', seq, '@example.org'), ${city},
      DATE '2020-01-01' + INTERVAL (seq % 1500) DAY FROM seq_1_to_${customers};
    INSERT INTO orders SELECT ${orderRow('mariadb', 'seq', customers, 1)} FROM seq_1_to_${orders};
    INSERT INTO events SELECT seq, seq, 'created', CONCAT('order ', seq, ' created by web shop'),
      TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND FROM seq_1_to_${orders};`;
}

/** One order's columns from its id: reproducible text of realistic length (40 to 100 bytes of note). */
function orderRow(kind: DatabaseKind, expression: string, customers: number, night: number): string {
  // bigint: the arithmetic on ids below passes 2^31 once ids are in the hundreds of thousands.
  const id = kind === 'postgres' ? `(${expression})::bigint` : `(${expression})`;
  if (kind === 'postgres') {
    return `${id}, 1 + (${id} * 7919) % ${customers}, (ARRAY['new','paid','shipped','done'])[1 + ${id} % 4],
      ((${id} * 37) % 100000) / 100.0, 'ship to ' || md5(${id}::text) || ' ' || repeat(substr(md5((${id} * 3)::text), 1, 10), (${id} % 6)::int),
      timestamp '2025-01-01' + ${night} * interval '1 day' + (${id} % 86400) * interval '1 second'`;
  }
  return `${id}, 1 + (${id} * 7919) % ${customers}, ELT(1 + ${id} % 4, 'new','paid','shipped','done'),
    ((${id} * 37) % 100000) / 100.0, CONCAT('ship to ', MD5(${id}), ' ', REPEAT(LEFT(MD5(${id} * 3), 10), ${id} % 6)),
    TIMESTAMP '2025-01-01 00:00:00' + INTERVAL ${night} DAY + INTERVAL (${id} % 86400) SECOND`;
}

/** A night's changes, rows picked by a hash of (id, night) so that every run changes the same rows. */
function changes(kind: DatabaseKind, night: number, rates: typeof NORMAL, orders: number): string {
  const picked = (salt: string, rate: number) =>
    kind === 'postgres'
      ? `(hashtext(id::text || ':${salt}${night}') & 1023) < ${Math.round(rate * 1024)}`
      : `(CRC32(CONCAT(id, ':${salt}${night}')) & 1023) < ${Math.round(rate * 1024)}`;
  const added = Math.max(1, Math.round(orders * rates.added));
  const nextStatus = `CASE status WHEN 'new' THEN 'paid' WHEN 'paid' THEN 'shipped' ELSE 'done' END`;
  const day =
    kind === 'postgres'
      ? `timestamp '2025-01-01' + ${night} * interval '1 day'`
      : `TIMESTAMP '2025-01-01 00:00:00' + INTERVAL ${night} DAY`;
  const common = `
    UPDATE orders SET status = ${nextStatus}, amount = amount + 1, updated = ${day} WHERE ${picked('u', rates.updated)};
    DELETE FROM orders WHERE ${picked('d', rates.deleted)};
    UPDATE customers SET email = ${kind === 'postgres' ? `'new' || id || '.' || ${night} || '@example.net'` : `CONCAT('new', id, '.', ${night}, '@example.net')`}
      WHERE ${picked('c', rates.customersUpdated)};`;
  if (kind === 'postgres') {
    return `${common}
      INSERT INTO orders SELECT ${orderRow(kind, 'm.top + i', Math.round(orders / 5), night)}
        FROM generate_series(1, ${added}) i, (SELECT max(id) AS top FROM orders) m;
      INSERT INTO events SELECT m.top + i, m.top + i, 'paid', 'payment ' || md5((m.top + i)::text) || ' settled', ${day}
        FROM generate_series(1, ${added}) i, (SELECT max(id) AS top FROM events) m;`;
  }
  return `${common}
    INSERT INTO orders SELECT ${orderRow(kind, 'm.top + seq', Math.round(orders / 5), night)}
      FROM seq_1_to_${added}, (SELECT MAX(id) AS top FROM orders) m;
    INSERT INTO events SELECT m.top + seq, m.top + seq, 'paid', CONCAT('payment ', MD5(m.top + seq), ' settled'), ${day}
      FROM seq_1_to_${added}, (SELECT MAX(id) AS top FROM events) m;`;
}

/** PostgreSQL: CLUSTER (VACUUM FULL in key order, which undoes where updates moved rows); MariaDB: OPTIMIZE. */
function reorganise(kind: DatabaseKind): string {
  return kind === 'postgres'
    ? 'CLUSTER customers USING customers_pkey; CLUSTER orders USING orders_pkey; CLUSTER events USING events_pkey;'
    : 'OPTIMIZE TABLE customers, orders, events;';
}
