// --shard I/N: which hosts a machine verifies. Every host in exactly one shard, the same on every
// machine and in every release, and a new host moves no other.
import { describe, expect, it } from 'vitest';
import { formatShard, inShard, parseShard, shardOf } from '../../src/core/fleet-shard.js';
import { isSealdropError } from '../../src/core/errors.js';
import { run } from '../support/cli.js';

const hosts = (count: number, prefix = 'host') =>
  Array.from({ length: count }, (_, i) => ({ name: `${prefix}${String(i).padStart(3, '0')}` }));

/** Which shard of `count` each host is in, as inShard splits the list. */
function assignment(list: { name: string }[], count: number): Map<string, number> {
  const shards = new Map<string, number>();
  for (let index = 1; index <= count; index++)
    for (const host of inShard(list, { index, count })) shards.set(host.name, index);
  return shards;
}

describe('parseShard', () => {
  it.each([
    ['1/1', 1, 1],
    ['2/3', 2, 3],
    [' 3 / 3 ', 3, 3],
    ['10000/10000', 10000, 10000],
  ])('reads %j', (text, index, count) => {
    expect(parseShard(text)).toEqual({ index, count });
    expect(formatShard(parseShard(text))).toBe(`${index}/${count}`);
  });

  it.each([
    ['0/3', /shards are numbered from 1, not 0/, /JOB_COMPLETION_INDEX \+ 1/],
    ['4/3', /there is no shard 4 of 3/, /I is 1 to 3/],
    ['1/0', /N must be 1 to 10000, not 0/, /how many machines/],
    ['1/10001', /N must be 1 to 10000/, /how many machines/],
    ['', /is not I\/N/, /--shard 2\/3/],
    ['2', /is not I\/N/, /--shard 2\/3/],
    ['1/2/3', /is not I\/N/, /--shard 2\/3/],
    ['-1/3', /is not I\/N/, /--shard 2\/3/],
    ['1.5/3', /is not I\/N/, /--shard 2\/3/],
    ['one/two', /is not I\/N/, /JOB_COMPLETION_INDEX/],
  ])('refuses %j as a usage error with a hint', (text, message, hint) => {
    let thrown: unknown;
    try {
      parseShard(text);
    } catch (error) {
      thrown = error;
    }
    expect(isSealdropError(thrown)).toBe(true);
    if (!isSealdropError(thrown)) return;
    expect(thrown.code).toBe('USAGE');
    expect(thrown.exitStatus).toBe(2);
    expect(thrown.message).toMatch(message);
    expect(thrown.hint).toMatch(hint);
  });
});

describe('shardOf', () => {
  it('is fixed: the same names land in the same shards in every release', () => {
    // Machines of one fleet may run different versions: a change here would skip or double hosts.
    expect(['alpha', 'bravo', 'charlie', 'db1', 'db2', 'web1'].map((name) => shardOf(name, 3))).toEqual([
      2, 2, 2, 2, 1, 3,
    ]);
    expect(['alpha', 'bravo', 'charlie'].map((name) => shardOf(name, 2))).toEqual([2, 1, 1]);
  });

  it('is what the shell recipe in --help computes', async () => {
    for (const name of ['db1', 'web1', 'warehouse', 'host-07.example']) {
      const recipe = `echo $(( 0x$(printf %s "$1" | sha256sum | cut -c1-8) % 7 + 1 ))`;
      const result = await run('sh', ['-c', recipe, 'sh', name]);
      expect(result.status, result.stderr).toBe(0);
      expect(Number(result.stdout), name).toBe(shardOf(name, 7));
    }
  });

  it('puts every host in exactly one shard, for any N', () => {
    const fleet = hosts(200);
    for (let count = 1; count <= 7; count++) {
      const shards = Array.from({ length: count }, (_, i) => inShard(fleet, { index: i + 1, count }));
      const names = shards.flat().map((host) => host.name);
      expect(names.sort(), `N=${count}`).toEqual(fleet.map((host) => host.name));
    }
  });

  it('spreads a large fleet evenly enough', () => {
    const fleet = hosts(1000, 'db');
    for (let index = 1; index <= 4; index++)
      expect(inShard(fleet, { index, count: 4 }).length).toBeGreaterThan(200);
  });

  it('moves no other host when one is added or removed (a sorted index would move every later one)', () => {
    const fleet = hosts(50);
    const before = assignment(fleet, 5);
    const grown = assignment([{ name: 'aaa-first' }, ...fleet, { name: 'host025b' }], 5);
    const shrunk = assignment(
      fleet.filter((host) => host.name !== 'host010'),
      5,
    );
    for (const [name, shard] of before) {
      expect(grown.get(name), name).toBe(shard);
      if (name !== 'host010') expect(shrunk.get(name), name).toBe(shard);
    }
  });

  it('keeps the fleet file order within a shard', () => {
    const fleet = hosts(30).reverse();
    const shard = inShard(fleet, { index: 1, count: 3 });
    expect(shard).toEqual(fleet.filter((host) => shard.includes(host)));
  });
});
