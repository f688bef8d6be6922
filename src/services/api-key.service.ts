// API keys: `agk_` + 32 random base62 characters (190 bits) + a 6-character base62 CRC32
// of everything before it. The fixed prefix lets secret scanners find leaked keys; the
// checksum rejects a mistyped key before any database lookup. Only HMAC-SHA256(SECRET_KEY,
// key) is stored, plus the first 12 characters for lists.
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { Config } from '../config.js';
import type { EntityManager } from '../db/orm.js';
import { ApiKey } from '../db/entities/api-key.entity.js';
import { User } from '../db/entities/user.entity.js';
import { AuthError } from '../errors/auth-error.js';
import { isDatabaseError } from '../errors/format.js';
import type { ServiceDeps } from './deps.js';
import { grantsOf } from './rbac.service.js';
import { limited, type Client } from './rate-limit.service.js';
import { keyedHash } from './secrets.service.js';
import { requireRecentAuthentication, type Viewer } from './session.service.js';

export const API_KEY_PREFIX = 'agk_';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_CHARS = 32;
const CHECKSUM_CHARS = 6;
const API_KEY_FORMAT = new RegExp(`^${API_KEY_PREFIX}[0-9A-Za-z]{${RANDOM_CHARS + CHECKSUM_CHARS}}$`);
const DISPLAY_CHARS = API_KEY_PREFIX.length + 8;
export const MANAGE_PERMISSION = 'api_keys:manage';
export const CREATE_PERMISSION = 'api_keys:create';

function randomBase62(n: number): string {
  let out = '';
  while (out.length < n) {
    for (const b of randomBytes(n * 2)) {
      // 248 = 4 * 62: rejection sampling keeps every character uniform.
      if (b < 248 && out.length < n) out += BASE62[b % 62];
    }
  }
  return out;
}

function checksum(body: string): string {
  let n = crc32(body);
  let out = '';
  for (let i = 0; i < CHECKSUM_CHARS; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

export function generateApiKey(): string {
  const body = API_KEY_PREFIX + randomBase62(RANDOM_CHARS);
  return body + checksum(body);
}

/** Shape and checksum: a typo is caught here, without a database lookup. */
export function isWellFormedApiKey(key: string): boolean {
  return API_KEY_FORMAT.test(key) && checksum(key.slice(0, -CHECKSUM_CHARS)) === key.slice(-CHECKSUM_CHARS);
}

export const looksLikeApiKey = (credential: string) => credential.startsWith(API_KEY_PREFIX);

export interface ApiKeyInfo {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface CreatedApiKey extends Omit<ApiKeyInfo, 'lastUsedAt' | 'revokedAt'> {
  /** The key itself: shown once, never stored. */
  apiKey: string;
}

const info = (k: ApiKey): ApiKeyInfo => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  scopes: k.scopes,
  createdAt: k.createdAt,
  expiresAt: k.expiresAt,
  lastUsedAt: k.lastUsedAt,
  revokedAt: k.revokedAt,
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SCOPE = /^[a-z0-9_.-]+(?::[a-z0-9_.*-]+)*$/;

/** The caller's current grants, from the database (a token's claims may be minutes old). */
async function currentUser(em: EntityManager, viewer: Viewer): Promise<User> {
  const user = await em.findOne(User, { id: viewer.id }, { populate: ['tenant', 'roles.permissions'] });
  if (!user || user.disabled) throw new AuthError('auth_unauthenticated');
  return user;
}

export async function createApiKey(
  em: EntityManager,
  deps: ServiceDeps,
  viewer: Viewer,
  input: { name: string; scopes?: string[] | null; expiresInDays?: number | null },
): Promise<CreatedApiKey> {
  const name = input.name.trim();
  const days = input.expiresInDays ?? null;
  if (name === '' || name.length > 100 || (days !== null && (!Number.isInteger(days) || days < 1 || days > 3650))) {
    throw new AuthError('auth_request_invalid');
  }
  if (input.scopes && (input.scopes.length > 100 || !input.scopes.every((s) => SCOPE.test(s)))) throw new AuthError('auth_request_invalid');
  // Keys are minted with a signed-in session that proved a credential recently, never by
  // another key (a leaked key must not breed).
  requireRecentAuthentication(deps, viewer);
  const user = await currentUser(em, viewer);
  const { permissions } = grantsOf(user);
  if (!permissions.includes(CREATE_PERMISSION)) throw new AuthError('auth_forbidden');
  const scopes = [...new Set(input.scopes ?? permissions)].sort();
  if (!scopes.every((s) => permissions.includes(s))) throw new AuthError('auth_forbidden');

  await deps.limiter.consume([['api_key_create_account', user.id]]);

  const apiKey = generateApiKey();
  const now = deps.now();
  const row = em.create(ApiKey, {
    tenant: user.tenant,
    user,
    name,
    prefix: apiKey.slice(0, DISPLAY_CHARS),
    keyHash: keyedHash(deps.config.secretKey, apiKey),
    scopes,
    createdAt: now,
    expiresAt: days === null ? null : new Date(now.getTime() + days * 86_400_000),
  });
  await em.flush();
  const { lastUsedAt: _l, revokedAt: _r, ...created } = info(row);
  return { ...created, apiKey };
}

/**
 * Whether the caller may manage the whole tenant's keys, from the database: an access
 * token's claims may be minutes old, while a key's permissions were read from the database
 * when it was verified (its scopes within its user's current grants, at most
 * API_KEY_CACHE_TTL_MS old).
 */
async function managesTenantKeys(em: EntityManager, viewer: Viewer): Promise<boolean> {
  if (viewer.authMethod === 'api_key') return viewer.permissions.includes(MANAGE_PERMISSION);
  return grantsOf(await currentUser(em, viewer)).permissions.includes(MANAGE_PERMISSION);
}

/** The caller's keys, or the whole tenant's for a holder of api_keys:manage; revoked ones included. */
export async function listApiKeys(em: EntityManager, viewer: Viewer): Promise<ApiKeyInfo[]> {
  const where = (await managesTenantKeys(em, viewer)) ? { tenant: { slug: viewer.tenant } } : { user: viewer.id };
  return (await em.find(ApiKey, where, { orderBy: { createdAt: 'asc', id: 'asc' } })).map(info);
}

export async function revokeApiKey(em: EntityManager, deps: ServiceDeps, viewer: Viewer, id: string): Promise<void> {
  const manage = UUID.test(id) && (await managesTenantKeys(em, viewer));
  const key = UUID.test(id)
    ? await em.findOne(ApiKey, manage ? { id, tenant: { slug: viewer.tenant } } : { id, user: viewer.id })
    : null;
  if (!key) throw new AuthError('auth_api_key_not_found');
  if (!key.revokedAt) {
    key.revokedAt = deps.now();
    await em.flush();
  }
  deps.apiKeys.forget(key.keyHash);
}

interface CachedKey {
  id: string;
  tenant: string;
  userId: string;
  email: string;
  /** The key's scopes, limited to what its user holds now. */
  permissions: string[];
  expiresAt: number | null;
  revoked: boolean;
  userDisabled: boolean;
  lastUsedAt: number | null;
}

export interface ApiKeyVerifier {
  /** The caller behind an API key; auth_api_key_invalid / auth_api_key_db_error otherwise. `em` is only forked when the database is needed. */
  authenticate(em: () => EntityManager, deps: ServiceDeps, key: string, client: Client): Promise<Viewer>;
  /** Drop a key from this instance's cache (other instances drop it within the cache TTL). */
  forget(keyHash: string): void;
}

const CACHE_LIMIT = 10_000;

/**
 * Verification caches a key's row for `API_KEY_CACHE_TTL_MS` (default 3 s): that is the
 * bound within which a revocation takes effect on other instances (at once on the one that
 * revoked it). Expiry is checked on every use. The last-used time is written at most once
 * per `API_KEY_LAST_USED_INTERVAL_MS` per key and instance, off the request path.
 */
export function createApiKeyVerifier(config: Pick<Config, 'secretKey' | 'apiKeys'>, onBackgroundError: (err: unknown) => void): ApiKeyVerifier {
  const cache = new Map<string, { key: CachedKey | null; until: number }>();

  async function load(em: EntityManager, keyHash: string): Promise<CachedKey | null> {
    const row = await em.findOne(ApiKey, { keyHash }, { populate: ['tenant', 'user', 'user.roles.permissions'] });
    if (!row) return null;
    const held = new Set(grantsOf(row.user).permissions);
    return {
      id: row.id,
      tenant: row.tenant.slug,
      userId: row.user.id,
      email: row.user.email,
      permissions: row.scopes.filter((s) => held.has(s)),
      expiresAt: row.expiresAt?.getTime() ?? null,
      revoked: row.revokedAt !== null,
      userDisabled: row.user.disabled,
      lastUsedAt: row.lastUsedAt?.getTime() ?? null,
    };
  }

  function touch(em: () => EntityManager, key: CachedKey, now: Date): void {
    if (key.lastUsedAt !== null && now.getTime() - key.lastUsedAt < config.apiKeys.lastUsedIntervalMs) return;
    key.lastUsedAt = now.getTime();
    em()
      .fork()
      .nativeUpdate(ApiKey, { id: key.id }, { lastUsedAt: now })
      .catch(onBackgroundError);
  }

  /** A key's row from the cache while it is fresh, otherwise from the database (and cached). */
  function fresh(keyHash: string): CachedKey | null | undefined {
    const entry = cache.get(keyHash);
    return entry && entry.until > Date.now() ? entry.key : undefined;
  }

  async function reload(em: EntityManager, keyHash: string): Promise<CachedKey | null> {
    const key = await load(em, keyHash);
    if (key) {
      if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
      cache.set(keyHash, { key, until: Date.now() + config.apiKeys.cacheTtlMs });
    }
    return key;
  }

  function judge(em: () => EntityManager, deps: ServiceDeps, key: CachedKey | null): Viewer {
    const now = deps.now();
    if (!key || key.revoked || key.userDisabled || (key.expiresAt !== null && key.expiresAt <= now.getTime())) {
      throw new AuthError('auth_api_key_invalid');
    }
    touch(em, key, now);
    return { id: key.userId, email: key.email, tenant: key.tenant, roles: [], permissions: key.permissions, authMethod: 'api_key', authTime: 0, amr: [] };
  }

  return {
    async authenticate(em, deps, presented, client) {
      // A mistyped key (checksum) is refused before any lookup, the limiter's included.
      if (!isWellFormedApiKey(presented)) throw new AuthError('auth_api_key_invalid');
      const keyHash = keyedHash(config.secretKey, presented);
      // A key verified moments ago is answered from the cache, without the brute-force
      // bookkeeping: guessing a 190-bit key cannot be sped up by a cache hit.
      const cached = fresh(keyHash);
      if (cached) return judge(em, deps, cached);
      try {
        return await limited(deps.limiter, [['api_key_auth_address', client.ip]], ['auth_api_key_invalid'], async () =>
          judge(em, deps, await reload(em(), keyHash)),
        );
      } catch (e) {
        // Whatever the operation, a failure to check the key is the key store's.
        if (isDatabaseError(e)) throw new AuthError('auth_api_key_db_error', { cause: e });
        throw e;
      }
    },
    forget(keyHash) {
      cache.delete(keyHash);
    },
  };
}
