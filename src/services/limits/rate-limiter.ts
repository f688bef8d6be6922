// Brute-force limits, per account and per client address, kept in PostgreSQL (or Redis when
// REDIS_URL is set: rate-limiter-flexible) so every instance sees the same counts.
// A point is taken before the credential is checked, atomically in the store (one upsert of
// every key in PostgreSQL, in rate-limiter-flexible's table layout; a MULTI per key in Redis), so
// N concurrent attempts get at most the limit's number of verdicts; an attempt that turns out
// not to count (a success, a database failure) gives its point back (one statement). A spent
// key is refused, right password or not, until its window passes.
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
  close(): Promise<void>;
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
  const settle = async (refunded: readonly LimitKey[], cleared: readonly LimitKey[]) => {
    if (!refunded.length && !cleared.length) return;
    await run(SETTLE, [pgTextArray(cleared.map(stored)), pgTextArray(refunded.map(stored)), Date.now()]);
  };
  return {
    async consume(keys) {
      const unique = [...new Map(keys.map((k) => [stored(k), k])).entries()];
      const now = Date.now();
      const rows = await run<Array<{ key: string; points: number; expire: string | number }>>(CONSUME, [
        pgTextArray(unique.map(([id]) => id)),
        `{${unique.map(([, [name]]) => now + limitOf(rl, name).duration * 1000).join(',')}}`,
        now,
        now,
      ]);
      const byId = new Map(rows.map((r) => [r.key, r]));
      const refused = unique.filter(([id, [name]]) => byId.get(id)!.points > limitOf(rl, name).points);
      if (!refused.length) return;
      // Keys that did give a point keep it only if the attempt goes ahead.
      const taken = unique.filter((u) => !refused.includes(u)).map(([, k]) => k);
      if (taken.length) await untilDone(() => settle(taken, []));
      const waitMs = Math.max(...refused.map(([id]) => Number(byId.get(id)!.expire) - now));
      throw new AuthError('auth_rate_limited', { retryAfter: Math.max(1, waitMs / 1000) });
    },
    refund: (keys) => settle(keys, []),
    reset: (keys) => settle([], keys),
    settle,
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
