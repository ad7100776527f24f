// Splitting a fleet's hosts over N machines (`--shard I/N`): each host's shard follows from its name
// alone, so adding or removing a host never moves another, and every machine agrees without talking.
import { createHash } from 'node:crypto';
import { SealdropError } from './errors.js';

/** One of `count` shards, numbered from 1 (as `--shard 2/3` names it). */
export interface Shard {
  index: number;
  count: number;
}

/** More shards than this is a typo, not a fleet (and keeps the numbers far from float trouble). */
export const MAX_SHARDS = 10_000;

const KUBERNETES_HINT =
  'In a Kubernetes indexed Job (JOB_COMPLETION_INDEX counts from 0) pass --shard $((JOB_COMPLETION_INDEX + 1))/N.';

/** `I/N` with 1 <= I <= N: shard I of N. Anything else is a usage error saying what would be right. */
export function parseShard(text: string): Shard {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!match)
    throw new SealdropError('USAGE', `--shard "${text}" is not I/N`, {
      hint: `Write the shard as I/N, e.g. --shard 2/3 (the second of three), I from 1 to N. ${KUBERNETES_HINT}`,
    });
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (count < 1 || count > MAX_SHARDS)
    throw new SealdropError('USAGE', `--shard ${text}: N must be 1 to ${MAX_SHARDS}, not ${match[2]}`, {
      hint: 'N is how many machines share the fleet, e.g. --shard 1/3 … 3/3.',
    });
  if (index === 0)
    throw new SealdropError('USAGE', `--shard ${text}: shards are numbered from 1, not 0`, {
      hint: KUBERNETES_HINT,
    });
  if (index > count)
    throw new SealdropError('USAGE', `--shard ${text}: there is no shard ${index} of ${count}`, {
      hint: `I is 1 to ${count}. ${KUBERNETES_HINT}`,
    });
  return { index, count };
}

/**
 * The shard (1 to `count`) a host name belongs to: the first 4 bytes of the SHA-256 of its UTF-8 name,
 * big-endian, mod `count`, plus 1. By hand: $(( 0x$(printf %s NAME | sha256sum | cut -c1-8) % N + 1 )).
 */
export function shardOf(host: string, count: number): number {
  return (createHash('sha256').update(host, 'utf8').digest().readUInt32BE(0) % count) + 1;
}

/** The hosts of one shard, in their order. */
export function inShard<T extends { name: string }>(hosts: readonly T[], shard: Shard): T[] {
  return hosts.filter((host) => shardOf(host.name, shard.count) === shard.index);
}

export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}
