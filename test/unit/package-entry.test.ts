import { describe, expect, it } from 'vitest';
import { planRetention } from '../../src/index.js';

describe("the package's main entry", () => {
  it('exports the retention planner', () => {
    const day = (d: number) => new Date(Date.UTC(2026, 0, d, 12));
    const plan = planRetention(
      [1, 2, 3].map((d) => ({ id: `v${d}`, time: day(d) })),
      { last: 2 },
      { timeZone: 'UTC' },
    );
    expect(plan.keep.map((k) => k.id)).toEqual(['v3', 'v2']);
    expect(plan.remove.map((r) => r.id)).toEqual(['v1']);
  });
});
