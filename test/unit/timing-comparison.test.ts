// The timing tests' comparison tells a real difference from noise: two kinds of call 20% apart
// fail it in every round, two kinds alike pass it (calls that only wait, so the difference is
// known; the event loop's jitter on a loaded machine is the noise).
import { describe, expect, it } from 'vitest';
import { compareTimes, describeRounds } from '../helpers/timing.js';

const waiting = (ms: number) => () => new Promise((resolve) => setTimeout(resolve, ms));

describe('compareTimes', () => {
  it('fails two kinds 20% apart in every round', async () => {
    const c = await compareTimes(waiting(24), waiting(20), { pairs: 25 });
    expect(c.same, describeRounds(c)).toBe(false);
    expect(c.rounds).toHaveLength(3);
    for (const r of c.rounds) expect(r.diff, describeRounds(c)).toBeGreaterThan(r.bound);
  });

  it('passes two kinds alike', async () => {
    const c = await compareTimes(waiting(20), waiting(20), { pairs: 25 });
    expect(c.same, describeRounds(c)).toBe(true);
  });
});
