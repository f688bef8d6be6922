// Brute-force limits, per account and per client address, kept in PostgreSQL (or Redis when
// REDIS_URL is set: rate-limiter-flexible) so every instance sees the same counts.
// A point is taken before the credential is checked, atomically in the store (one upsert of
// every key in PostgreSQL, in rate-limiter-flexible's table layout; a MULTI per key in Redis), so
// N concurrent attempts get at most the limit's number of verdicts; an attempt that turns out
// not to count (a success, a database failure) gives its point back (one statement). A spent
// key is refused, right password or not, until its window passes. In PostgreSQL, a password
// sign-in carries both statements in its own (limitedAlong): the upsert in the statement that
// reads the user, the settle in the one that starts the session, so they cost no round trip.
// Unknown accounts are counted exactly like known ones: the key is what the client sent,
// never whether it exists. Keys are stored as keyed hashes; IPv6 clients count by /64.
import { isIPv6 } from 'node:net';
import { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../../config.js';
import { pgTextArray, type Db } from '../../db/orm.js';
import { isDatabaseError, StoreError } from '../../db/errors.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ErrorCode } from '../../errors/catalog.js';
import { keyedHash } from '../shared/secrets.js';

export type LimitName =
  | 'login_account'
  | 'login_address'
  | 'refresh_address'
  | 'webauthn_options_address'
  | 'webauthn_verify_address'
  | 'google_address'
  | 'api_key_create_account'
  | 'api_key_auth_address'
  | 'mail_address'
  | 'mail_account'
  | 'invitations_inviter';

export type LimitKey = readonly [LimitName, string];

/** What a credential check counts against: the account (tenant and normalised address) and the client address. */
export const credentialKeys = (tenant: string, email: string, ip: string): [LimitKey, LimitKey] => [
  ['login_account', `${tenant}\u0000${email}`],
  ['login_address', ip],
];

export interface RateLimiter {
  /**
   * Take one point from each key, atomically per key in the store. When any key is spent the
   * attempt is refused with auth_rate_limited (Retry-After), and the points it took from the
   * other keys are given back.
   */
  consume(keys: readonly LimitKey[]): Promise<void>;
  /** Give one point back to each key: the attempt turned out not to count. */
  refund(keys: readonly LimitKey[]): Promise<void>;
  /** Forget the keys' counts (a successful login clears its account's failures). */
  reset(keys: readonly LimitKey[]): Promise<void>;
  /** refund(`refunded`) and reset(`cleared`) together (one statement in PostgreSQL). */
  settle(refunded: readonly LimitKey[], cleared: readonly LimitKey[]): Promise<void>;
  /**
   * PostgreSQL only: the limits of an attempt as parts of the attempt's own statements, so
   * that taking and settling them costs no round trip of its own (see limitedAlong).
   */
  carry?(keys: readonly LimitKey[], cleared: readonly LimitKey[]): Omit<CarriedLimits, 'settled'>;
  close(): Promise<void>;
}

/** Common table expressions for another statement's WITH list, and their parameters in order. */
export interface StatementPart {
  ctes: string;
  params: unknown[];
}

/** A row of the `limit_taken` CTE, as its statement returns it (`json_agg`). */
export interface TakenRow {
  key: string;
  points: number;
  expire: string | number;
}

/**
 * An attempt's limits carried by its statements. Its first statement includes `take` (a
 * `limit_taken` CTE taking one point from every key) and hands the CTE's rows to `taken`; its
 * last includes `settleIf(guard)` (the success settle, run only if CTE `guard` yields a row)
 * and calls `settled` once it committed.
 */
export interface CarriedLimits {
  take: StatementPart;
  /** Refuses with auth_rate_limited, giving back the other keys' points, when a key is spent. */
  taken(rows: readonly TakenRow[]): Promise<void>;
  settleIf(guard: string): StatementPart;
  settled(): void;
}

/** The client as the limits (and session lists) see it. */
export interface Client {
  ip: string;
  /** The User-Agent header, trimmed of control characters and cut to 256 characters. */
  userAgent?: string;
}

/**
 * The address a limit counts: IPv4 as it is (an IPv4-mapped IPv6 address as its IPv4), IPv6
 * by its /64, the smallest block one subscriber usually holds: counting single IPv6 addresses
 * would give every client 2^64 fresh budgets.
 */
export function addressKey(ip: string): string {
  const bare = ip.split('%')[0];
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(bare);
  if (mapped) return mapped[1];
  if (!isIPv6(bare)) return bare;
  const [left, right] = bare.includes('::') ? bare.split('::') : [bare, undefined];
  const groups = (part: string | undefined) => {
    if (!part) return [];
    return part.split(':').flatMap((g) => {
      if (!g.includes('.')) return [g];
      const [a, b, c, d] = g.split('.').map(Number);
      return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    });
  };
  const head = groups(left);
  const tail = groups(right);
  const full = right === undefined ? head : [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail];
  return `${full.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

/** Each limit's points per window: failures per RATE_LIMIT_WINDOW_SECONDS, mails per hour. */
function limitOf(config: Config['rateLimit'], name: LimitName): { points: number; duration: number } {
  const window = (points: number) => ({ points, duration: config.windowSeconds });
  if (name === 'login_account') return window(config.accountFailures);
  if (name === 'webauthn_options_address') return window(config.optionsPerAddress);
  if (name === 'api_key_create_account') return window(config.apiKeyCreates);
  if (name === 'mail_address') return { points: config.mailsPerAddress, duration: 3600 };
  if (name === 'mail_account') return { points: config.mailsPerAccount, duration: 3600 };
  if (name === 'invitations_inviter') return { points: config.invitationsPerInviter, duration: 3600 };
  return window(config.addressFailures);
}

const NAMES: LimitName[] = [
  'login_account',
  'login_address',
  'refresh_address',
  'webauthn_options_address',
  'webauthn_verify_address',
  'google_address',
  'api_key_create_account',
  'api_key_auth_address',
  'mail_address',
  'mail_account',
  'invitations_inviter',
];

/**
 * A store failure is a dependency failure: the formatter answers the route's *_db_error.
 * PostgreSQL's errors are the driver's own; Redis's get a class of their own.
 */
function storeFailure(e: unknown, store: StoreError['store']): unknown {
  if (e instanceof AuthError || isDatabaseError(e)) return e;
  return new StoreError(store, e);
}

// PostgreSQL: every key of a call in one statement (rows in key order, so two calls never wait
// on each other's rows crosswise). A row whose window has passed starts over.
export const CONSUME = `
insert into rate_limits (key, points, expire)
select k, 1, e from unnest(?::text[], ?::bigint[]) as t(k, e) order by k
on conflict (key) do update set
  points = case when rate_limits.expire is null or rate_limits.expire <= ? then 1 else rate_limits.points + 1 end,
  expire = case when rate_limits.expire is null or rate_limits.expire <= ? then excluded.expire else rate_limits.expire end
returning key, points, expire`;
export const SETTLE = `
with cleared as (delete from rate_limits where key = any(?::text[]))
update rate_limits set points = points - 1 where key = any(?::text[]) and expire > ?`;
// The same two as parts of an attempt's statements (CarriedLimits).
export const TAKE_CTE = `limit_taken as (${CONSUME})`;
export const SETTLE_IF_CTES = (guard: string) => `
limit_cleared as (delete from rate_limits where key = any(?::text[]) and exists (select 1 from ${guard})),
limit_refunded as (update rate_limits set points = points - 1 where key = any(?::text[]) and expire > ? and exists (select 1 from ${guard}))`;

export function createRateLimiter(config: Pick<Config, 'rateLimit' | 'secretKey'>, orm: Db): RateLimiter {
  const rl = config.rateLimit;
  if (!rl.enabled) {
    return { consume: async () => {}, refund: async () => {}, reset: async () => {}, settle: async () => {}, close: async () => {} };
  }
  // Stored keys: `<limit>:<keyed hash>` (rate-limiter-flexible's prefix layout, in both stores).
  const stored = ([name, key]: LimitKey) => `${name}:${keyedHash(config.secretKey, `rate-limit\u0000${name.endsWith('_address') ? addressKey(key) : key}`).slice(0, 32)}`;
  return rl.redisUrl ? redisLimiter(rl, stored) : postgresLimiter(rl, orm, stored);
}

function postgresLimiter(rl: Config['rateLimit'], orm: Db, stored: (k: LimitKey) => string): RateLimiter {
  const run = async <T>(sql: string, params: unknown[]): Promise<T> => {
    try {
      return (await orm.em.getConnection().execute(sql, params)) as T;
    } catch (e) {
      throw storeFailure(e, 'postgres');
    }
  };
  const settleParams = (refunded: readonly LimitKey[], cleared: readonly LimitKey[]) => [pgTextArray(cleared.map(stored)), pgTextArray(refunded.map(stored)), Date.now()];
  const settle = async (refunded: readonly LimitKey[], cleared: readonly LimitKey[]) => {
    if (!refunded.length && !cleared.length) return;
    await run(SETTLE, settleParams(refunded, cleared));
  };
  // CONSUME's parameters for the keys (each stored key once), and the verdict on its rows.
  const taking = (keys: readonly LimitKey[]) => {
    const unique = [...new Map(keys.map((k) => [stored(k), k])).entries()];
    const now = Date.now();
    const params = [pgTextArray(unique.map(([id]) => id)), `{${unique.map(([, [name]]) => now + limitOf(rl, name).duration * 1000).join(',')}}`, now, now];
    const verdict = async (rows: readonly TakenRow[]) => {
      const byId = new Map(rows.map((r) => [r.key, r]));
      const refused = unique.filter(([id, [name]]) => byId.get(id)!.points > limitOf(rl, name).points);
      if (!refused.length) return;
      // Keys that did give a point keep it only if the attempt goes ahead.
      const taken = unique.filter((u) => !refused.includes(u)).map(([, k]) => k);
      if (taken.length) await untilDone(() => settle(taken, []));
      const waitMs = Math.max(...refused.map(([id]) => Number(byId.get(id)!.expire) - now));
      throw new AuthError('auth_rate_limited', { retryAfter: Math.max(1, waitMs / 1000) });
    };
    return { params, verdict };
  };
  return {
    async consume(keys) {
      const { params, verdict } = taking(keys);
      await verdict(await run<TakenRow[]>(CONSUME, params));
    },
    refund: (keys) => settle(keys, []),
    reset: (keys) => settle([], keys),
    settle,
    carry(keys, cleared) {
      const { params, verdict } = taking(keys);
      const refunded = keys.filter((k) => !cleared.includes(k));
      return {
        take: { ctes: TAKE_CTE, params },
        taken: verdict,
        settleIf: (guard) => ({ ctes: SETTLE_IF_CTES(guard), params: settleParams(refunded, cleared) }),
      };
    },
    close: async () => {},
  };
}

function redisLimiter(rl: Config['rateLimit'], stored: (k: LimitKey) => string): RateLimiter {
  const redis = new Redis(rl.redisUrl!, { maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 2000 });
  redis.on('error', () => {}); // failures surface on the calls themselves
  const limiters = new Map<LimitName, RateLimiterAbstract>(NAMES.map((name) => [name, new RateLimiterRedis({ keyPrefix: name, ...limitOf(rl, name), storeClient: redis })]));
  // rate-limiter-flexible adds the `<limit>:` prefix itself.
  const id = (k: LimitKey) => stored(k).slice(k[0].length + 1);
  const each = async (keys: readonly LimitKey[], fn: (limiter: RateLimiterAbstract, id: string) => Promise<unknown>) => {
    try {
      await Promise.all(keys.map((k) => fn(limiters.get(k[0])!, id(k))));
    } catch (e) {
      throw storeFailure(e, 'redis');
    }
  };

  const limiter: RateLimiter = {
    async consume(keys) {
      const results = await Promise.allSettled(keys.map((k) => limiters.get(k[0])!.consume(id(k), 1)));
      const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (!refused) return;
      // Keys that did give a point keep it only if the attempt goes ahead.
      const taken = keys.filter((_, i) => results[i].status === 'fulfilled');
      if (taken.length) await untilDone(() => limiter.refund(taken));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !(r.reason instanceof RateLimiterRes));
      if (failed) throw storeFailure(failed.reason, 'redis');
      const res = refused.reason as RateLimiterRes;
      throw new AuthError('auth_rate_limited', { retryAfter: Math.max(1, res.msBeforeNext / 1000) });
    },
    refund: (keys) => each(keys, (l, key) => l.reward(key, 1)),
    reset: (keys) => each(keys, (l, key) => l.delete(key)),
    settle: async (refunded, cleared) => {
      await Promise.all([limiter.refund(refunded), limiter.reset(cleared)]);
    },
    async close() {
      redis.disconnect();
    },
  };
  return limiter;
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
  await limiter.consume(keys);
  let result: T;
  try {
    result = await attempt();
  } catch (e) {
    if (!(e instanceof AuthError && failures.includes(e.code))) await untilDone(() => limiter.refund(keys));
    throw e;
  }
  const cleared = new Set(clearOnSuccess);
  // The attempt succeeded (a session may exist): a store failure here never turns it into an error.
  await untilDone(() => limiter.settle(keys.filter((k) => !cleared.has(k)), [...cleared]));
  return result;
}

/**
 * limited() with the limits carried by the attempt's own statements where the store can
 * (PostgreSQL): `attempt` gets them, puts `take` in its first statement and `settleIf` in its
 * last. The rules are limited()'s: a refused key refuses the attempt; a failure in `failures`
 * keeps its points; any other failure gives them back; a success settles, by its last
 * statement, or (when the attempt ended another way, e.g. a second factor to come) on its own.
 * With Redis, `attempt` gets nothing and limited() takes and settles around it.
 */
export async function limitedAlong<T>(
  limiter: RateLimiter,
  keys: readonly LimitKey[],
  failures: readonly ErrorCode[],
  attempt: (limits?: CarriedLimits) => Promise<T>,
  clearOnSuccess: readonly LimitKey[] = [],
): Promise<T> {
  if (!limiter.carry) return limited(limiter, keys, failures, () => attempt(), clearOnSuccess);
  const carried = limiter.carry(keys, clearOnSuccess);
  // Set by the attempt's calls (TypeScript cannot see that through the closures).
  let state = 'untaken' as 'untaken' | 'taken' | 'refused' | 'settled';
  let result: T;
  try {
    result = await attempt({
      take: carried.take,
      async taken(rows) {
        state = 'taken';
        try {
          await carried.taken(rows);
        } catch (e) {
          state = 'refused';
          throw e;
        }
      },
      settleIf: carried.settleIf,
      settled: () => {
        state = 'settled';
      },
    });
  } catch (e) {
    // Nothing to give back when the first statement never ran (no point was taken), the attempt
    // was refused (its verdict gave back what it took) or its last statement settled.
    if (state === 'taken' && !(e instanceof AuthError && failures.includes(e.code))) await untilDone(() => limiter.refund(keys));
    throw e;
  }
  if (state === 'untaken') throw new Error('a limited attempt succeeded without taking its limits');
  const cleared = new Set(clearOnSuccess);
  if (state !== 'settled') await untilDone(() => limiter.settle(keys.filter((k) => !cleared.has(k)), [...cleared]));
  return result;
}

/** Waits between the later tries of a settle that failed. */
const SETTLE_RETRY_MS = [1000, 5000, 15000];

/**
 * Give points back now, or, when the store fails, a few more times in the background: a
 * database blip must not leave a burst of successful attempts counted against the address for
 * the whole window (behind a NAT that would lock everyone out).
 */
async function untilDone(settle: () => Promise<void>): Promise<void> {
  try {
    await settle();
  } catch {
    const retry = (i: number) => {
      if (i >= SETTLE_RETRY_MS.length) return;
      setTimeout(() => settle().catch(() => retry(i + 1)), SETTLE_RETRY_MS[i]).unref();
    };
    retry(0);
  }
}
