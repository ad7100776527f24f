// A bounded pool: at most `limit` calls in flight, so a listing an attacker flooded never opens a
// request per entry at once.

export interface PoolOptions<R> {
  /** Take no more items once a result satisfies this (calls in flight still finish). */
  until?: (result: R) => boolean;
}

/** `fn` over `items`, at most `limit` at a time; results in input order. */
export function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]>;
/** With `until`, the items never started have no result (undefined). */
export function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
  options: PoolOptions<R>,
): Promise<(R | undefined)[]>;
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
  options: PoolOptions<R> = {},
): Promise<(R | undefined)[]> {
  const results = new Array<R | undefined>(items.length);
  let next = 0;
  let stopped = false;
  const worker = async () => {
    while (!stopped && next < items.length) {
      const i = next++;
      const result = await fn(items[i]!);
      results[i] = result;
      if (options.until?.(result)) stopped = true;
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
