// Brute-force limits (rate-limiter-flexible), per account and per client address, kept in
// PostgreSQL (or Redis when REDIS_URL is set) so every instance sees the same counts.
// Failures are counted; a spent key is refused, right password or not, until its window
// passes. Unknown accounts are counted exactly like known ones: the key is what the client
// sent, never whether it exists. Keys are stored as keyed hashes.
import { DriverException } from '@mikro-orm/core';
import { Redis } from 'ioredis';
import { RateLimiterPostgres, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../config.js';
import type { Db } from '../db/orm.js';
import { AuthError } from '../errors/auth-error.js';
import { keyedHash } from './secrets.service.js';

export type LimitName =
  | 'login_account'
  | 'login_address'
  | 'refresh_address'
  | 'webauthn_options_address'
  | 'webauthn_verify_address'
  | 'google_address'
  | 'api_key_create_account'
  | 'api_key_auth_address';

export type LimitKey = readonly [LimitName, string];

export interface RateLimiter {
  /** auth_rate_limited (with Retry-After) when any of the keys is spent; answers whether any has counts. */
  check(keys: readonly LimitKey[]): Promise<boolean>;
  /** Count one attempt against each key. */
  hit(keys: readonly LimitKey[]): Promise<void>;
  /** For attempts that count whatever their outcome: refused when spent, else counted. */
  take(keys: readonly LimitKey[]): Promise<void>;
  /** Forget the keys' counts (a successful login clears its account's failures). */
  reset(keys: readonly LimitKey[]): Promise<void>;
  close(): Promise<void>;
}

/** The client as the limits see it. */
export interface Client {
  ip: string;
}

function points(config: Config['rateLimit'], name: LimitName): number {
  if (name === 'login_account') return config.accountFailures;
  if (name === 'webauthn_options_address') return config.optionsPerAddress;
  if (name === 'api_key_create_account') return config.apiKeyCreates;
  return config.addressFailures;
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
];

/** A store failure is a dependency failure: the formatter answers the route's *_db_error. */
function storeFailure(e: unknown): unknown {
  if (e instanceof RateLimiterRes || e instanceof AuthError) return e;
  return new DriverException(e instanceof Error ? e : new Error(String(e)));
}

export function createRateLimiter(config: Pick<Config, 'rateLimit' | 'secretKey'>, orm: Db): RateLimiter {
  const rl = config.rateLimit;
  if (!rl.enabled) {
    return { check: async () => false, hit: async () => {}, take: async () => {}, reset: async () => {}, close: async () => {} };
  }
  const redis = rl.redisUrl ? new Redis(rl.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 2000 }) : undefined;
  redis?.on('error', () => {}); // failures surface on the calls themselves
  const limiters = new Map<LimitName, RateLimiterAbstract>(
    NAMES.map((name) => {
      const opts = { keyPrefix: name, points: points(rl, name), duration: rl.windowSeconds };
      const limiter = redis
        ? new RateLimiterRedis({ ...opts, storeClient: redis })
        : new RateLimiterPostgres({ ...opts, storeClient: orm.em.getConnection().getKnex(), storeType: 'knex', tableName: 'rate_limits', tableCreated: true });
      return [name, limiter];
    }),
  );
  const hashed = (key: string) => keyedHash(config.secretKey, `rate-limit\u0000${key}`).slice(0, 32);

  const limiter: RateLimiter = {
    async take(keys) {
      await limiter.check(keys);
      await limiter.hit(keys);
    },
    async check(keys) {
      const ids = keys.map(([name, key]) => [limiters.get(name)!, hashed(key)] as const);
      let counted = false;
      try {
        for (const [limiter, id] of ids) {
          const res = await limiter.get(id);
          if (res && res.consumedPoints >= limiter.points) {
            throw new AuthError('auth_rate_limited', { retryAfter: Math.max(1, res.msBeforeNext / 1000) });
          }
          counted ||= (res?.consumedPoints ?? 0) > 0;
        }
        return counted;
      } catch (e) {
        throw storeFailure(e);
      }
    },
    async hit(keys) {
      const ids = keys.map(([name, key]) => [limiters.get(name)!, hashed(key)] as const);
      try {
        for (const [limiter, id] of ids) await limiter.penalty(id, 1);
      } catch (e) {
        throw storeFailure(e);
      }
    },
    async reset(keys) {
      const ids = keys.map(([name, key]) => [limiters.get(name)!, hashed(key)] as const);
      try {
        for (const [limiter, id] of ids) await limiter.delete(id);
      } catch (e) {
        throw storeFailure(e);
      }
    },
    async close() {
      redis?.disconnect();
    },
  };
  return limiter;
}

/**
 * Run an attempt under limits: refused up front when a key is spent; an attempt that fails
 * with one of `failures` counts against every key.
 */
export async function limited<T>(
  limiter: RateLimiter,
  keys: readonly LimitKey[],
  failures: readonly string[],
  attempt: () => Promise<T>,
  onSuccess?: (hadCounts: boolean) => Promise<void>,
): Promise<T> {
  const hadCounts = await limiter.check(keys);
  let result: T;
  try {
    result = await attempt();
  } catch (e) {
    if (e instanceof AuthError && failures.includes(e.code)) await limiter.hit(keys);
    throw e;
  }
  await onSuccess?.(hadCounts);
  return result;
}
