// The two stores of the limits' counts: PostgreSQL (the default: one upsert of every key of a
// call, in rate-limiter-flexible's table layout) and Redis (REDIS_URL: rate-limiter-flexible,
// a MULTI per key). A store failure is a dependency failure (the route's *_db_error).
import { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../../config.js';
import { pgTextArray, type Db } from '../../db/orm.js';
import { executePrepared } from '../../db/prepared.js';
import { isDatabaseError, StoreError } from '../../db/errors.js';
import { AuthError } from '../../errors/auth-error.js';
import { limitOf, NAMES, refusedUntil, untilDone, type CarriedCheck, type LimitKey, type LimitName, type RateLimiter, type Taken, type TakenRow } from './limits.js';

/**
 * A store failure is a dependency failure: the formatter answers the route's *_db_error.
 * PostgreSQL's errors are the driver's own; Redis's get a class of their own.
 */
function storeFailure(e: unknown, store: StoreError['store']): unknown {
  if (e instanceof AuthError || isDatabaseError(e)) return e;
  return new StoreError(store, e);
}

// PostgreSQL: every key of a call in one statement. Both statements lock their rows in key
// order (byte order, "C"), so two attempts never wait on each other's rows crosswise. A row
// whose window has passed starts over.
export const CONSUME = `
insert into rate_limits (key, points, expire)
select k, 1, e from unnest(?::text[], ?::bigint[]) as t(k, e) order by k collate "C"
on conflict (key) do update set
  points = case when rate_limits.expire is null or rate_limits.expire <= ? then 1 else rate_limits.points + 1 end,
  expire = case when rate_limits.expire is null or rate_limits.expire <= ? then excluded.expire else rate_limits.expire end
returning key, points, expire`;
// A point goes back only to the window it was taken in (`e`, as CONSUME returned it): a window
// that ended and started over meanwhile keeps its count. A cleared key's row goes. The rows
// are locked first, in key order, whichever of the two changes each gets.
// As CTEs of another statement (SettleAlong), run only if its CTE `guard` has a row.
export const SETTLE_CTES = (guard?: string) => `limit_settle as (select * from unnest(?::text[], ?::bigint[], ?::boolean[]) as t(k, e, clear)${guard ? ` where exists (select 1 from ${guard})` : ''}),
     limit_locked as (select r.key, t.e, t.clear from rate_limits r join limit_settle t on t.k = r.key order by r.key collate "C" for update of r),
     limit_cleared as (delete from rate_limits r using limit_locked l where r.key = l.key and l.clear),
     limit_refunded as (update rate_limits r set points = greatest(r.points - 1, 0) from limit_locked l where r.key = l.key and not l.clear and r.expire = l.e)`;
export const SETTLE = `with ${SETTLE_CTES()} select 1`;
// CONSUME as a part of an attempt's first statement (CarriedLimits).
export const TAKE_CTE = `limit_taken as (${CONSUME})`;
// The keys that are spent now (points at their limit in a window that has not passed), read only.
export const SPENT_CTE = `limit_spent as (
  select r.key, r.expire from rate_limits r join unnest(?::text[], ?::int[]) as t(k, p) on r.key = t.k
   where r.expire > ? and r.points >= t.p)`;
export const SPENT = `with ${SPENT_CTE} select max(expire) as spent_until from limit_spent`;

/** Byte order, as PostgreSQL's "C" collation sorts the (ASCII) stored keys. */
const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function postgresLimiter(rl: Config['rateLimit'], orm: Db, stored: (k: LimitKey) => string): RateLimiter {
  const run = async <T>(sql: string, params: unknown[]): Promise<T> => {
    try {
      return (await executePrepared(orm.em, sql, params)) as T;
    } catch (e) {
      throw storeFailure(e, 'postgres');
    }
  };
  // SETTLE's parameters: each stored key once, in key order, with its window and whether it goes.
  const settling = (taken: Taken, cleared: readonly LimitKey[]) => {
    const clear = new Set(cleared.map(stored));
    const rows = [...new Set([...taken.keys.map(stored), ...clear])].sort(byteOrder);
    return [pgTextArray(rows), `{${rows.map((k) => taken.windows?.get(k) ?? 0).join(',')}}`, `{${rows.map((k) => clear.has(k)).join(',')}}`];
  };
  const settle = async (taken: Taken, cleared: readonly LimitKey[]) => {
    if (taken.keys.length || cleared.length) await run(SETTLE, settling(taken, cleared));
  };
  // CONSUME's parameters for the keys (each stored key once), and the verdict on its rows.
  const taking = (keys: readonly LimitKey[]) => {
    const unique = [...new Map(keys.map((k) => [stored(k), k])).entries()].sort(([a], [b]) => byteOrder(a, b));
    const now = Date.now();
    const params = [pgTextArray(unique.map(([id]) => id)), `{${unique.map(([, [name]]) => now + limitOf(rl, name).duration * 1000).join(',')}}`, now, now];
    const verdict = async (rows: readonly TakenRow[]): Promise<Taken> => {
      const byId = new Map(rows.map((r) => [r.key, r]));
      const taken: Taken = { keys: unique.map(([, k]) => k), windows: new Map(rows.map((r) => [r.key, Number(r.expire)])) };
      const refused = unique.filter(([id, [name]]) => byId.get(id)!.points > limitOf(rl, name).points);
      if (!refused.length) return taken;
      // A refused attempt gets no verdict: every point it took goes back.
      await untilDone(() => settle(taken, []));
      throw refusedUntil(Math.max(...refused.map(([id]) => Number(byId.get(id)!.expire))), now);
    };
    return { params, verdict };
  };
  const checking = (keys: readonly LimitKey[]): CarriedCheck => {
    const now = Date.now();
    const params = [pgTextArray(keys.map(stored)), `{${keys.map(([name]) => limitOf(rl, name).points).join(',')}}`, now];
    const verdict = (spentUntil: string | number | null) => {
      if (spentUntil !== null) throw refusedUntil(Number(spentUntil), now);
    };
    return { check: { ctes: SPENT_CTE, params }, verdict };
  };
  return {
    async consume(keys) {
      const { params, verdict } = taking(keys);
      return verdict(await run<TakenRow[]>(CONSUME, params));
    },
    settle,
    carry(keys) {
      const { params, verdict } = taking(keys);
      return { take: { ctes: TAKE_CTE, params }, taken: verdict };
    },
    async spent(keys) {
      const { check, verdict } = checking(keys);
      const [row] = await run<Array<{ spent_until: string | null }>>(SPENT, check.params);
      verdict(row.spent_until);
    },
    async count(keys) {
      await run(CONSUME, taking(keys).params);
    },
    checkAlong: checking,
    settleAlong: (taken, cleared, guard) => ({ ctes: SETTLE_CTES(guard), params: settling(taken, cleared) }),
    close: async () => {},
  };
}

export function redisLimiter(rl: Config['rateLimit'], stored: (k: LimitKey) => string): RateLimiter {
  const redis = new Redis(rl.redisUrl!, { maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 2000 });
  redis.on('error', () => {}); // failures surface on the calls themselves
  const limiters = new Map<LimitName, RateLimiterAbstract>(NAMES.map((name) => [name, new RateLimiterRedis({ keyPrefix: name, ...limitOf(rl, name), storeClient: redis })]));
  // rate-limiter-flexible adds the `<limit>:` prefix itself.
  const id = (k: LimitKey) => stored(k).slice(k[0].length + 1);
  const each = async (keys: readonly LimitKey[], fn: (limiter: RateLimiterAbstract, id: string) => Promise<unknown>) => {
    try {
      return await Promise.all(keys.map((k) => fn(limiters.get(k[0])!, id(k))));
    } catch (e) {
      throw storeFailure(e, 'redis');
    }
  };
  const refund = async (keys: readonly LimitKey[]) => void (await each(keys, (l, key) => l.reward(key, 1)));

  return {
    async consume(keys) {
      const results = await Promise.allSettled(keys.map((k) => limiters.get(k[0])!.consume(id(k), 1)));
      const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (!refused) return { keys };
      // A refused attempt gets no verdict: every point it took goes back (a key that was over
      // its limit took one too; a key whose store call failed took none).
      const took = keys.filter((_, i) => {
        const r = results[i];
        return r.status === 'fulfilled' || r.reason instanceof RateLimiterRes;
      });
      if (took.length) await untilDone(() => refund(took));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !(r.reason instanceof RateLimiterRes));
      if (failed) throw storeFailure(failed.reason, 'redis');
      throw refusedUntil(Date.now() + (refused.reason as RateLimiterRes).msBeforeNext);
    },
    async spent(keys) {
      const states = await each(keys, (l, key) => l.get(key));
      const spentFor = keys.flatMap((k, i) => {
        const res = states[i] as RateLimiterRes | null;
        return res && res.consumedPoints >= limitOf(rl, k[0]).points ? [res.msBeforeNext] : [];
      });
      if (spentFor.length) throw refusedUntil(Date.now() + Math.max(...spentFor));
    },
    count: async (keys) => void (await each(keys, (l, key) => l.penalty(key, 1))),
    settle: async (taken, cleared) => {
      await Promise.all([refund(taken.keys.filter((k) => !cleared.includes(k))), each(cleared, (l, key) => l.delete(key))]);
    },
    async close() {
      redis.disconnect();
    },
  };
}
