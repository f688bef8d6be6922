// Brute-force limits, per account and per client address, kept in PostgreSQL (or Redis when
// REDIS_URL is set: rate-limiter-flexible) so every instance sees the same counts.
// A point is taken before the credential is checked, atomically in the store (one upsert of
// every key in PostgreSQL, in rate-limiter-flexible's table layout; a MULTI per key in Redis), so
// N concurrent attempts get at most the limit's number of verdicts; an attempt that turns out
// not to count (a success, a database failure) gives its point back (one statement). A spent
// key is refused, right password or not, until its window passes. In PostgreSQL, a password
// sign-in takes its points inside the statement that reads the user (limitedAlong), so the
// take costs no round trip of its own; the settle stays a statement apart.
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
  | 'mail_account_total'
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
   * attempt is refused with auth_rate_limited (Retry-After) and gives back every point it took:
   * a refused attempt gets no verdict, so it does not count.
   */
  consume(keys: readonly LimitKey[]): Promise<Taken>;
  /**
   * After the attempt: give its points back, except that the keys in `cleared` are forgotten
   * altogether (a successful login clears its account's failures). A point is given back only
   * in the window it was taken in (one statement in PostgreSQL).
   */
  settle(taken: Taken, cleared: readonly LimitKey[]): Promise<void>;
  /**
   * PostgreSQL only: a `limit_taken` CTE taking the points, for an attempt's first statement,
   * so that taking them costs no round trip of its own (see limitedAlong).
   */
  carry?(keys: readonly LimitKey[]): CarriedLimits;
  close(): Promise<void>;
}

/** What an attempt took: its keys and (PostgreSQL) the window of each point, by stored key. */
export interface Taken {
  keys: readonly LimitKey[];
  windows?: ReadonlyMap<string, number>;
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
 * An attempt's points taken by its own first statement: it includes `take` and hands the
 * `limit_taken` rows to `taken`, which refuses (auth_rate_limited) when a key is spent.
 */
export interface CarriedLimits {
  take: StatementPart;
  taken(rows: readonly TakenRow[]): Promise<Taken>;
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
  if (name === 'mail_account_total') return { points: config.mailsPerAccountTotal, duration: 3600 };
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
  'mail_account_total',
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
export const SETTLE = `
with t as (select * from unnest(?::text[], ?::bigint[], ?::boolean[]) as t(k, e, clear)),
     locked as (select r.key, t.e, t.clear from rate_limits r join t on t.k = r.key order by r.key collate "C" for update of r),
     cleared as (delete from rate_limits r using locked l where r.key = l.key and l.clear)
update rate_limits r set points = greatest(r.points - 1, 0)
  from locked l
 where r.key = l.key and not l.clear and r.expire = l.e`;
// CONSUME as a part of an attempt's first statement (CarriedLimits).
export const TAKE_CTE = `limit_taken as (${CONSUME})`;

const NOTHING_TAKEN: Taken = { keys: [] };

export function createRateLimiter(config: Pick<Config, 'rateLimit' | 'secretKey'>, orm: Db): RateLimiter {
  const rl = config.rateLimit;
  if (!rl.enabled) {
    return { consume: async () => NOTHING_TAKEN, settle: async () => {}, close: async () => {} };
  }
  // Stored keys: `<limit>:<keyed hash>` (rate-limiter-flexible's prefix layout, in both stores).
  const stored = ([name, key]: LimitKey) => `${name}:${keyedHash(config.secretKey, `rate-limit\u0000${name.endsWith('_address') ? addressKey(key) : key}`).slice(0, 32)}`;
  return rl.redisUrl ? redisLimiter(rl, stored) : postgresLimiter(rl, orm, stored);
}

/** Byte order, as PostgreSQL's "C" collation sorts the (ASCII) stored keys. */
const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function postgresLimiter(rl: Config['rateLimit'], orm: Db, stored: (k: LimitKey) => string): RateLimiter {
  const run = async <T>(sql: string, params: unknown[]): Promise<T> => {
    try {
      return (await orm.em.getConnection().execute(sql, params)) as T;
    } catch (e) {
      throw storeFailure(e, 'postgres');
    }
  };
  const settle = async (taken: Taken, cleared: readonly LimitKey[]) => {
    const clear = new Set(cleared.map(stored));
    const rows = [...new Set([...taken.keys.map(stored), ...clear])].sort(byteOrder);
    if (!rows.length) return;
    await run(SETTLE, [pgTextArray(rows), `{${rows.map((k) => taken.windows?.get(k) ?? 0).join(',')}}`, `{${rows.map((k) => clear.has(k)).join(',')}}`]);
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
      const waitMs = Math.max(...refused.map(([id]) => Number(byId.get(id)!.expire) - now));
      throw new AuthError('auth_rate_limited', { retryAfter: Math.max(1, waitMs / 1000) });
    };
    return { params, verdict };
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
  const refund = (keys: readonly LimitKey[]) => each(keys, (l, key) => l.reward(key, 1));

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
      const res = refused.reason as RateLimiterRes;
      throw new AuthError('auth_rate_limited', { retryAfter: Math.max(1, res.msBeforeNext / 1000) });
    },
    settle: async (taken, cleared) => {
      await Promise.all([refund(taken.keys.filter((k) => !cleared.includes(k))), each(cleared, (l, key) => l.delete(key))]);
    },
    async close() {
      redis.disconnect();
    },
  };
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
  const outcome = attempt({ take: carried.take, taken: async (rows) => (taken = await carried.taken(rows)) });
  try {
    await outcome;
  } catch {
    // settled() below gives the points back as the failure calls for
  }
  if (!taken) {
    await outcome;
    throw new Error('a limited attempt succeeded without taking its limits');
  }
  return settled(limiter, taken, failures, () => outcome, clearOnSuccess);
}

/** Waits between the later tries of a settle that failed. */
const SETTLE_RETRY_MS = [1000, 5000, 15000];

/**
 * Give points back now, or, when the store fails, a few more times in the background: a
 * database blip must not leave a burst of successful attempts counted against the address for
 * the whole window (behind a NAT that would lock everyone out). A late give-back is harmless:
 * it only applies to the window its point was taken in.
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
