// Comparing the response times of two kinds of request on a loaded machine (the timing tests'
// one method; test/unit/timing-comparison.test.ts shows it tells a real difference from noise).
import { expect } from 'vitest';

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** One request of a kind, awaited to its end; `i` tells the calls of one test apart (negative for warm-up calls). */
export type Timed = (i: number) => Promise<unknown>;

export interface Round {
  /** Median time of each kind, ms. */
  a: number;
  b: number;
  /** Median of the pairs' differences a_i − b_i, ms. */
  diff: number;
  /** The most |diff| may be: `within` of the faster kind's median, or `floorMs`. */
  bound: number;
}

export interface Comparison {
  rounds: Round[];
  /** Some round's median difference was within its bound. */
  same: boolean;
}

/**
 * Times requests of kinds `a` and `b` (each answering `status`), robustly against a loaded
 * machine:
 * - paired: a round times `pairs` pairs of one `a` and one `b` back to back, which of the two
 *   goes first alternating from pair to pair, and takes the median of the pairs' differences
 *   a_i − b_i. Load that lasts longer than a pair (tens of ms) slows both of its halves and
 *   cancels out of the difference; a spike that hits one half only makes one outlying
 *   difference, which the median ignores. (Two independent medians, as this file compared
 *   before, each take their own share of the load: 41.2 vs 36.8 ms on a busy CI machine.)
 * - sequential: a round over the bound is followed by a new, independent round, up to `rounds`
 *   rounds; the kinds differ only if every round is over.
 *
 * Why a real leak still fails: if one kind takes 20 % longer (or shorter), every pair's
 * difference moves by about 20 % of the request's time, so every round's median difference sits
 * near 20 %, twice the 10 % bound. For the leak to pass, noise would have to pull the median of a
 * whole round of paired differences halfway back to zero; rounds spread by a few percent around
 * their true difference (load on the machine falls on both halves of a pair), so this does not
 * happen in any of three rounds. test/unit/timing-comparison.test.ts checks this: a 20 % difference fails the same
 * comparison in every round, and equal kinds pass it.
 */
export async function compareTimes(
  a: Timed,
  b: Timed,
  { pairs, within = 0.1, floorMs = 0, rounds = 3 }: { pairs: number; within?: number; floorMs?: number; rounds?: number },
): Promise<Comparison> {
  const time = async (call: () => Promise<unknown>) => {
    const t = performance.now();
    await call();
    return performance.now() - t;
  };
  for (let i = 0; i < 5; i++) {
    await time(() => a(-1 - i));
    await time(() => b(-1 - i));
  }
  const done: Round[] = [];
  for (let r = 0; r < rounds; r++) {
    const xs: number[] = [];
    const ys: number[] = [];
    for (let k = 0; k < pairs; k++) {
      const i = r * pairs + k;
      if (k % 2 === 0) {
        xs.push(await time(() => a(i)));
        ys.push(await time(() => b(i)));
      } else {
        ys.push(await time(() => b(i)));
        xs.push(await time(() => a(i)));
      }
    }
    const [ma, mb] = [median(xs), median(ys)];
    const round = { a: ma, b: mb, diff: median(xs.map((x, k) => x - ys[k])), bound: Math.max(within * Math.min(ma, mb), floorMs) };
    done.push(round);
    if (Math.abs(round.diff) <= round.bound) return { rounds: done, same: true };
  }
  return { rounds: done, same: false };
}

export const describeRounds = ({ rounds }: Comparison) =>
  rounds.map((r, n) => `round ${n + 1}: medians ${r.a.toFixed(2)} vs ${r.b.toFixed(2)} ms, median paired difference ${r.diff.toFixed(2)} ms (bound ${r.bound.toFixed(2)} ms)`).join('; ');

export const expectSameTime = (c: Comparison) => expect(c.same, describeRounds(c)).toBe(true);
