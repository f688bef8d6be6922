// Brute-force limits, per account and per client address, kept in PostgreSQL (or Redis when
// REDIS_URL is set: rate-limiter-flexible) so every instance sees the same counts.
// A point is taken before the credential is checked, atomically in the store (one upsert of
// every key in PostgreSQL, in rate-limiter-flexible's table layout; a MULTI per key in Redis), so
// N concurrent attempts get at most the limit's number of verdicts; an attempt that turns out
// not to count (a success, a database failure) gives its point back (one statement). A spent
// key is refused, right password or not, until its window passes. In PostgreSQL, a password
// sign-in takes its points inside the statement that reads the user, and a successful one
// settles them inside the statement that starts its session (limitedAlong), so neither costs a
// round trip of its own.
// Unknown accounts are counted exactly like known ones: the key is what the client sent,
// never whether it exists. Keys are stored as keyed hashes; IPv6 clients count by /64.
import type { Config } from '../../config.js';
import type { Db } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ErrorCode } from '../../errors/catalog.js';
import { keyedHash } from '../shared/secrets.js';
import { addressKey, untilDone, type CarriedCheck, type CarriedLimits, type LimitKey, type RateLimiter, type Taken } from './limits.js';
import { postgresLimiter, redisLimiter } from './stores.js';

export * from './limits.js';
export { CONSUME, SETTLE, SPENT_CTE, TAKE_CTE } from './stores.js';

const NOTHING_TAKEN: Taken = { keys: [] };

export function createRateLimiter(config: Pick<Config, 'rateLimit' | 'secretKey'>, orm: Db): RateLimiter {
  const rl = config.rateLimit;
  if (!rl.enabled) {
    const nothing = async () => {};
    return { consume: async () => NOTHING_TAKEN, settle: nothing, spent: nothing, count: nothing, close: nothing };
  }
  // Stored keys: `<limit>:<keyed hash>` (rate-limiter-flexible's prefix layout, in both stores).
  const stored = ([name, key]: LimitKey) => `${name}:${keyedHash(config.secretKey, `rate-limit\u0000${name.endsWith('_address') ? addressKey(key) : key}`).slice(0, 32)}`;
  return rl.redisUrl ? redisLimiter(rl, stored) : postgresLimiter(rl, orm, stored);
}

/**
 * Run an attempt under limits: a point is taken from every key first (refused when a key is
 * spent); the attempt keeps it only when it fails with one of `failures`. Any other outcome
 * gives it back, except that a success clears the keys in `clearOnSuccess` altogether.
 */
export async function limited<T>(
  limiter: RateLimiter,
  keys: readonly LimitKey[],
  failures: readonly ErrorCode[],
  attempt: () => Promise<T>,
  clearOnSuccess: readonly LimitKey[] = [],
): Promise<T> {
  const taken = await limiter.consume(keys);
  return settled(limiter, taken, failures, attempt, clearOnSuccess);
}

/** After the points are taken: the attempt, then the give-back its outcome calls for. */
async function settled<T>(limiter: RateLimiter, taken: Taken, failures: readonly ErrorCode[], attempt: () => Promise<T>, clearOnSuccess: readonly LimitKey[]): Promise<T> {
  let result: T;
  try {
    result = await attempt();
  } catch (e) {
    if (!(e instanceof AuthError && failures.includes(e.code))) await untilDone(() => limiter.settle(taken, []));
    throw e;
  }
  // The attempt succeeded (a session may exist): a store failure here never turns it into an error.
  await untilDone(() => limiter.settle(taken, clearOnSuccess));
  return result;
}

/**
 * limited() with the points taken by the attempt's own first statement where the store can
 * (PostgreSQL): `attempt` gets the `limit_taken` CTE to include and hands its rows to `taken`
 * (which refuses when a key is spent) before it checks anything. The give-back is limited()'s.
 * With Redis, `attempt` gets nothing and limited() takes the points around it.
 */
export async function limitedAlong<T>(
  limiter: RateLimiter,
  keys: readonly LimitKey[],
  failures: readonly ErrorCode[],
  attempt: (limits?: CarriedLimits) => Promise<T>,
  clearOnSuccess: readonly LimitKey[] = [],
): Promise<T> {
  if (!limiter.carry) return limited(limiter, keys, failures, () => attempt(), clearOnSuccess);
  const carried = limiter.carry(keys);
  // Set once the first statement's rows came back and passed: until then no point was taken (a
  // failed statement took none; a refusal gave its points back), so there is nothing to settle.
  let taken: Taken | undefined;
  // Set when the success's own statement carried the settle and committed.
  let settledAlong = false;
  const outcome = attempt({
    take: carried.take,
    taken: async (rows) => (taken = await carried.taken(rows)),
    settle: limiter.settleAlong && {
      part: (guard) => {
        if (!taken) throw new Error('a settle carried before the limits were taken');
        return limiter.settleAlong!(taken, clearOnSuccess, guard);
      },
      done: () => void (settledAlong = true),
    },
  });
  try {
    await outcome;
  } catch {
    // settled() below gives the points back as the failure calls for
  }
  if (!taken) {
    await outcome;
    throw new Error('a limited attempt succeeded without taking its limits');
  }
  if (settledAlong) return outcome;
  return settled(limiter, taken, failures, () => outcome, clearOnSuccess);
}

/**
 * Limits for a credential nobody can guess (a 256-bit refresh token): a guess is worthless, so
 * nothing is taken before the attempt and a success writes nothing. A spent key is still
 * refused, by a read (carried by the attempt's first statement where the store can:
 * `attempt` includes `check.check` and hands its result to `check.verdict`); a failure in
 * `failures` counts one point after the fact. Concurrent failures may each get their verdict
 * before the count refuses the next: what that gives a guesser of 2^256 values is nothing.
 */
export async function countedAfter<T>(
  limiter: RateLimiter,
  keys: readonly LimitKey[],
  failures: readonly ErrorCode[],
  attempt: (check?: CarriedCheck) => Promise<T>,
): Promise<T> {
  const along = limiter.checkAlong?.(keys);
  if (!along) await limiter.spent(keys);
  // Whether the spent check ran: before the attempt, or when its statement handed the verdict.
  let checked = !along;
  const check = along && {
    check: along.check,
    verdict(spentUntil: string | number | null) {
      checked = true;
      along.verdict(spentUntil);
    },
  };
  try {
    return await attempt(check);
  } catch (e) {
    if (!(e instanceof AuthError && failures.includes(e.code))) throw e;
    // A failure before the first statement (a malformed token) was not checked yet: a spent
    // key is refused, not counted again.
    if (!checked) await limiter.spent(keys);
    await untilDone(() => limiter.count(keys));
    throw e;
  }
}
