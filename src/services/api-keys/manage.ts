// Creating, listing and revoking API keys. Only HMAC-SHA256(SECRET_KEY, key) is stored, plus
// the first 12 characters for lists; scopes never exceed the creator's current permissions.
import { ApiKey } from '../../db/entities/api-key.entity.js';
import { Tenant } from '../../db/entities/tenant.entity.js';
import { User } from '../../db/entities/user.entity.js';
import { transactional, type EntityManager } from '../../db/orm.js';
import { recordAudit } from '../shared/audit.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ServiceDeps } from '../deps.js';
import { requireRecentAuthentication, requireSecondFactorIfEnrolled } from '../sessions/caller.js';
import { currentPermissions, type Viewer } from '../sessions/principal.js';
import { canonicalId } from '../shared/identifiers.js';
import { keyedHash } from '../shared/secrets.js';
import { DISPLAY_CHARS, generateApiKey } from './format.js';

export const MANAGE_PERMISSION = 'api_keys:manage';
export const CREATE_PERMISSION = 'api_keys:create';

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

const SCOPE = /^[a-z0-9_.-]+(?::[a-z0-9_.*-]+)*$/;

export async function createApiKey(
  em: EntityManager,
  deps: Pick<ServiceDeps, 'config' | 'limiter' | 'now'>,
  viewer: Viewer,
  input: { name: string; scopes?: string[] | null; expiresInDays?: number | null },
): Promise<CreatedApiKey> {
  const name = input.name.trim();
  const days = input.expiresInDays ?? null;
  if (name === '' || name.length > 100) throw new AuthError('auth_request_invalid', { fields: [{ field: 'name', rule: name === '' ? 'too_short' : 'too_long' }] });
  if (days !== null && (!Number.isInteger(days) || days < 1 || days > 3650)) throw new AuthError('auth_request_invalid', { fields: [{ field: 'expires_in_days', rule: 'format' }] });
  if (input.scopes && (input.scopes.length > 100 || !input.scopes.every((s) => SCOPE.test(s)))) {
    throw new AuthError('auth_request_invalid', { fields: [{ field: 'scopes', rule: input.scopes.length > 100 ? 'too_long' : 'format' }] });
  }
  // Keys are minted with a signed-in session that proved a credential recently, never by
  // another key (a leaked key must not breed).
  requireRecentAuthentication(deps, viewer);
  await requireSecondFactorIfEnrolled(em, viewer);
  const permissions = await currentPermissions(em, viewer);
  if (!permissions.includes(CREATE_PERMISSION)) throw new AuthError('auth_forbidden', { missing: [CREATE_PERMISSION] });
  const scopes = [...new Set(input.scopes ?? permissions)].sort();
  if (!scopes.every((s) => permissions.includes(s))) throw new AuthError('auth_forbidden');

  await deps.limiter.consume([['api_key_create_account', viewer.userId]]);

  const apiKey = generateApiKey();
  const now = deps.now();
  const tenant = await em.findOneOrFail(Tenant, { slug: viewer.tenantSlug });
  const row = em.create(ApiKey, {
    tenant,
    user: em.getReference(User, viewer.userId),
    name,
    prefix: apiKey.slice(0, DISPLAY_CHARS),
    keyHash: keyedHash(deps.config.secretKey, apiKey),
    scopes,
    createdAt: now,
    expiresAt: days === null ? null : new Date(now.getTime() + days * 86_400_000),
  });
  await transactional(em, async (tx) => {
    await tx.flush();
    await recordAudit(tx, now, { tenantId: tenant.id, userId: viewer.userId, sessionId: viewer.sessionId, type: 'api_key_created', details: { keyId: row.id, prefix: row.prefix, scopes } });
  });
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
  return (await currentPermissions(em, viewer)).includes(MANAGE_PERMISSION);
}

/** The caller's keys, or the whole tenant's for a holder of api_keys:manage; revoked ones included. */
export async function listApiKeys(em: EntityManager, viewer: Viewer): Promise<ApiKeyInfo[]> {
  const where = (await managesTenantKeys(em, viewer)) ? { tenant: { slug: viewer.tenantSlug } } : { user: viewer.userId };
  return (await em.find(ApiKey, where, { orderBy: { createdAt: 'asc', id: 'asc' } })).map(info);
}

/**
 * Revoke a key: one's own, or any of the tenant's with api_keys:manage. A key revokes only
 * itself unless it carries api_keys:manage (SPEC §15): a leaked key must not end its owner's
 * other keys.
 */
export async function revokeApiKey(em: EntityManager, deps: Pick<ServiceDeps, 'apiKeys' | 'now'>, viewer: Viewer, id: string): Promise<void> {
  const keyId = canonicalId(id);
  const manage = keyId !== undefined && (await managesTenantKeys(em, viewer));
  const key = keyId ? await em.findOne(ApiKey, manage ? { id: keyId, tenant: { slug: viewer.tenantSlug } } : { id: keyId, user: viewer.userId }) : null;
  if (!key) throw new AuthError('auth_api_key_not_found');
  if (viewer.authMethod === 'api_key' && !manage && key.id !== viewer.apiKeyId) throw new AuthError('auth_forbidden');
  if (!key.revokedAt) {
    key.revokedAt = deps.now();
    await transactional(em, async (tx) => {
      await tx.flush();
      await recordAudit(tx, deps.now(), { tenantId: key.tenant.id, userId: viewer.userId, subjectId: key.user.id, sessionId: viewer.sessionId ?? null, type: 'api_key_revoked', details: { keyId: key.id, prefix: key.prefix } });
    });
  }
  deps.apiKeys.forget(key.keyHash);
}

/** At most this many keys in one revokeApiKeys call. */
export const REVOKE_MANY_MAX = 100;

/**
 * Revoke several of the caller's own keys at once (a signed-in session: the doors refuse a key),
 * all or none: an id that is not one of the caller's keys is auth_api_key_not_found and nothing
 * is revoked. Answers how many were live and are revoked now.
 */
export async function revokeApiKeys(em: EntityManager, deps: Pick<ServiceDeps, 'apiKeys' | 'now'>, viewer: Viewer, ids: string[]): Promise<number> {
  if (ids.length === 0 || ids.length > REVOKE_MANY_MAX) throw new AuthError('auth_request_invalid', { fields: [{ field: 'ids', rule: ids.length === 0 ? 'too_short' : 'too_long' }] });
  const wanted = [...new Set(ids.map(canonicalId))];
  if (wanted.some((k) => k === undefined)) throw new AuthError('auth_api_key_not_found');
  const now = deps.now();
  const revoked = await transactional(em, async (tx) => {
    const rows = (await tx.execute('select id, tenant_id, prefix, key_hash, revoked_at from api_keys where user_id = ? and id = any(?::uuid[]) for update', [
      viewer.userId,
      `{${wanted.join(',')}}`,
    ])) as Array<{ id: string; tenant_id: string; prefix: string; key_hash: string; revoked_at: Date | null }>;
    if (rows.length !== wanted.length) throw new AuthError('auth_api_key_not_found');
    const live = rows.filter((r) => r.revoked_at === null);
    for (const k of live) {
      await tx.execute('update api_keys set revoked_at = ? where id = ?', [now, k.id]);
      await recordAudit(tx, now, { tenantId: k.tenant_id, userId: viewer.userId, sessionId: viewer.sessionId ?? null, type: 'api_key_revoked', details: { keyId: k.id, prefix: k.prefix } });
    }
    return rows;
  });
  for (const k of revoked) deps.apiKeys.forget(k.key_hash);
  return revoked.filter((r) => r.revoked_at === null).length;
}

/**
 * The user's live keys made before their second factor was activated: a key minted by a
 * one-factor session (perhaps not by the owner) keeps working after enrolment, so the owner is
 * shown them (activation answer and mail) and may revoke them with revokeApiKeys.
 */
export async function keysBeforeFactor(em: EntityManager, userId: string, now: Date): Promise<ApiKeyInfo[]> {
  const rows = (await em.execute(
    `select k.id, k.name, k.prefix, k.scopes, k.created_at, k.expires_at, k.last_used_at, k.revoked_at
       from api_keys k join mfa_factors f on f.user_id = k.user_id and f.status = 'active'
      where k.user_id = ? and k.revoked_at is null and (k.expires_at is null or k.expires_at > ?) and k.created_at <= f.activated_at
      order by k.created_at, k.id`,
    [userId, now],
  )) as Array<{ id: string; name: string; prefix: string; scopes: string[]; created_at: Date; expires_at: Date | null; last_used_at: Date | null; revoked_at: Date | null }>;
  const time = (d: Date | null) => (d === null ? null : new Date(d));
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    scopes: r.scopes,
    createdAt: new Date(r.created_at),
    expiresAt: time(r.expires_at),
    lastUsedAt: time(r.last_used_at),
    revokedAt: null,
  }));
}
