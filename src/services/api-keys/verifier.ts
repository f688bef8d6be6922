// Checking an API key: shape and checksum first, then the keyed hash looked up (and cached
// for API_KEY_CACHE_TTL_MS, the revocation bound across instances).
import type { Config } from '../../config.js';
import { isDatabaseError } from '../../db/errors.js';
import type { EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import { limited, type Client, type RateLimiter } from '../rate-limits/limiter.js';
import { GRANTS_SQL, type Viewer } from '../sessions/principal.js';
import { TtlCache } from '../shared/cache.js';
import { keyedHash } from '../shared/secrets.js';
import { isWellFormedApiKey } from './format.js';
import { executePrepared } from '../../db/prepared.js';

interface CachedKey {
  id: string;
  tenant: string;
  userId: string;
  email: string;
  /** The key's scopes, limited to what its user holds now. */
  permissions: string[];
  /** Its user holds a role of mfa_required_roles without an active factor: the key holds nothing. */
  mfaRequired: boolean;
  expiresAt: number | null;
  revoked: boolean;
  userDisabled: boolean;
  lastUsedAt: number | null;
}

export interface ApiKeyVerifier {
  /** The caller behind an API key; auth_api_key_invalid / auth_api_key_db_error otherwise. `em` is only forked when the database is needed. */
  authenticate(em: () => EntityManager, deps: { limiter: RateLimiter; now(): Date }, key: string, client: Client): Promise<Viewer>;
  /** Drop a key from this instance's cache (other instances drop it within the cache TTL). */
  forget(keyHash: string): void;
  /** Drop every key of a user from this instance's cache (their keys were revoked). */
  forgetUser(userId: string): void;
}

const CACHE_LIMIT = 10_000;

// One round trip: the key, its user and tenant, the user's current grants, and whether they
// have an active second factor.
export const KEY_SELECT = `
select k.id, k.scopes, k.expires_at, k.revoked_at, k.last_used_at, u.id as user_id, u.email, u.disabled, te.slug,${GRANTS_SQL('u')},
       exists(select 1 from mfa_factors f where f.user_id = u.id and f.status = 'active') as has_factor
  from api_keys k join users u on u.id = k.user_id join tenants te on te.id = k.tenant_id
 where k.key_hash = ?`;

/**
 * Verification caches a key's row for `API_KEY_CACHE_TTL_MS` (default 3 s): that is the
 * bound within which a revocation takes effect on other instances (at once on the one that
 * revoked it). Expiry is checked on every use. The last-used time is written at most once
 * per `API_KEY_LAST_USED_INTERVAL_MS` per key and instance, off the request path.
 */
export function createApiKeyVerifier(
  config: Pick<Config, 'secretKey' | 'apiKeys'>,
  now: () => Date,
  onBackgroundError: (err: unknown) => void,
): ApiKeyVerifier {
  const cache = new TtlCache<string, CachedKey>(CACHE_LIMIT, config.apiKeys.cacheTtlMs, now);

  async function load(em: EntityManager, keyHash: string): Promise<CachedKey | null> {
    const [row] = (await executePrepared(em, KEY_SELECT, [keyHash])) as Array<{
      id: string;
      scopes: string[];
      expires_at: Date | null;
      revoked_at: Date | null;
      last_used_at: Date | null;
      user_id: string;
      email: string;
      disabled: boolean;
      slug: string;
      permissions: string[];
      mfa_required_role: boolean;
      has_factor: boolean;
    }>;
    if (!row) return null;
    // mfa_required_roles (SPEC §15): a key cannot take a second step, so a user who holds such a
    // role but has no factor yet gets nothing through a key (what they minted with one factor
    // included); once a factor is active, only sessions that used it mint keys.
    const restricted = row.mfa_required_role && !row.has_factor;
    const held = new Set(restricted ? [] : row.permissions);
    const time = (d: Date | null) => (d === null ? null : new Date(d).getTime());
    return {
      id: row.id,
      tenant: row.slug,
      userId: row.user_id,
      email: row.email,
      permissions: row.scopes.filter((s) => held.has(s)),
      mfaRequired: restricted,
      expiresAt: time(row.expires_at),
      revoked: row.revoked_at !== null,
      userDisabled: row.disabled,
      lastUsedAt: time(row.last_used_at),
    };
  }

  function touch(em: () => EntityManager, key: CachedKey, now: Date): void {
    if (key.lastUsedAt !== null && now.getTime() - key.lastUsedAt < config.apiKeys.lastUsedIntervalMs) return;
    key.lastUsedAt = now.getTime();
    em()
      .fork()
      .execute('update api_keys set last_used_at = ? where id = ?', [now, key.id])
      .catch(onBackgroundError);
  }

  /** A key's row from the database, cached while it is fresh. */
  async function reload(em: EntityManager, keyHash: string): Promise<CachedKey | null> {
    const key = await load(em, keyHash);
    if (key) cache.set(keyHash, key);
    return key;
  }

  function judge(em: () => EntityManager, deps: { now(): Date }, key: CachedKey | null): Viewer {
    const now = deps.now();
    if (!key || key.revoked || key.userDisabled || (key.expiresAt !== null && key.expiresAt <= now.getTime())) {
      throw new AuthError('auth_api_key_invalid');
    }
    touch(em, key, now);
    return {
      userId: key.userId,
      email: key.email,
      tenantSlug: key.tenant,
      roles: [],
      permissions: key.permissions,
      authMethod: 'api_key',
      authTime: 0,
      amr: [],
      apiKeyId: key.id,
      // `me` says why such a key holds nothing: the user's role needs a second factor first.
      mfaRequired: key.mfaRequired,
    };
  }

  return {
    async authenticate(em, deps, presented, client) {
      // A mistyped key (checksum) is refused before any lookup, the limiter's included.
      if (!isWellFormedApiKey(presented)) throw new AuthError('auth_api_key_invalid');
      const keyHash = keyedHash(config.secretKey, presented);
      // A key verified moments ago is answered from the cache, without the brute-force
      // bookkeeping: guessing a 190-bit key cannot be sped up by a cache hit.
      const cached = cache.get(keyHash);
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
    forgetUser(userId) {
      cache.deleteWhere((key) => key.userId === userId);
    },
  };
}

