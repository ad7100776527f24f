// The one bounded pool: order kept, never more than the limit in flight, and a stop condition.
import { describe, expect, it } from 'vitest';
import { mapBounded } from '../../src/core/pool.js';

describe('mapBounded', () => {
  it('keeps the input order with never more than `limit` calls in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const results = await mapBounded([5, 1, 4, 2, 3, 0], 2, async (n) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, n));
      inFlight--;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30, 0]);
    expect(most).toBe(2);
  });

  it('starts no more items once a result satisfies `until`; those in flight finish', async () => {
    const started: number[] = [];
    const results = await mapBounded(
      [1, 2, 3, 4, 5, 6],
      2,
      async (n) => {
        started.push(n);
        return n;
      },
      { until: (n) => n === 3 },
    );
    expect(started).toEqual([1, 2, 3, 4]);
    expect(results).toEqual([1, 2, 3, 4, undefined, undefined]);
  });

  it('copes with no items', async () => {
    expect(await mapBounded([], 8, async () => 1)).toEqual([]);
  });
});
