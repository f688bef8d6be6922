// Sessions: one row per sign-in, the `sid` of its access tokens, with its refresh tokens
// stored only as keyed hashes. Rotation and reuse detection build on this (RFC 9700 4.14.2).
import { transactional, type EntityManager } from '../db/orm.js';
import { RefreshToken } from '../db/entities/refresh-token.entity.js';
import { Session, type AuthMethod } from '../db/entities/session.entity.js';
import { Tenant } from '../db/entities/tenant.entity.js';
import { User } from '../db/entities/user.entity.js';
import { AuthError } from '../errors/auth-error.js';
import type { ServiceDeps } from './deps.js';
import { grantsOf } from './rbac.service.js';
import { keyedHash, newOpaqueToken } from './secrets.service.js';

export interface Viewer {
  id: string;
  email: string;
  tenant: string;
  roles: string[];
  permissions: string[];
  authMethod: AuthMethod;
}

export interface AuthPayload {
  accessToken: string;
  tokenType: 'bearer';
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
  user: Viewer;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Start a session for a user whose credential was just proven, and answer the token
 * payload. `user.roles.permissions` and `user.tenant` must be loaded. `beforeCommit`
 * runs in the same transaction (e.g. storing a rehashed password).
 */
export async function startSession(
  em: EntityManager,
  deps: ServiceDeps,
  user: User,
  authMethod: AuthMethod,
  beforeCommit?: (tx: EntityManager) => Promise<unknown>,
): Promise<AuthPayload> {
  const { config } = deps;
  const now = deps.now();
  const tenant: Tenant = user.tenant;
  const grants = grantsOf(user);
  const refreshToken = newOpaqueToken();
  const refreshExpiresAt = new Date(now.getTime() + config.refreshTokenTtl * 1000);

  // The access token is signed inside the transaction: if signing fails nothing is
  // written, and if the commit fails the token is never handed out.
  const accessToken = await transactional(em, async (tx) => {
    const session = tx.create(Session, {
      tenant: tx.getReference(Tenant, tenant.id),
      user: tx.getReference(User, user.id),
      authMethod,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: refreshExpiresAt,
    });
    tx.create(RefreshToken, {
      session,
      tokenHash: keyedHash(config.secretKey, refreshToken),
      createdAt: now,
      expiresAt: refreshExpiresAt,
    });
    await beforeCommit?.(tx);
    return deps.tokens.sign({
      sub: user.id,
      tid: tenant.id,
      tenant: tenant.slug,
      sid: session.id,
      roles: grants.roles,
      permissions: grants.permissions,
      auth_method: authMethod,
    });
  });
  return {
    accessToken,
    tokenType: 'bearer',
    expiresIn: config.accessTokenTtl,
    refreshToken,
    refreshExpiresIn: config.refreshTokenTtl,
    user: { id: user.id, email: user.email, tenant: tenant.slug, ...grants, authMethod },
  };
}

/**
 * The caller behind a bearer access token. The signature proves the claims; the session
 * row is checked on every call, so a revoked session, a disabled user or a token of
 * another tenant stops working at once on this gateway.
 */
export async function authenticateAccessToken(em: EntityManager, deps: ServiceDeps, token: string): Promise<Viewer> {
  let claims;
  try {
    claims = await deps.tokens.verify(token);
  } catch (e) {
    throw new AuthError('auth_unauthenticated', { cause: e });
  }
  if (!UUID.test(claims.sid) || !UUID.test(claims.sub)) throw new AuthError('auth_unauthenticated');
  const session = await em.findOne(Session, { id: claims.sid }, { populate: ['user', 'tenant'] });
  const now = deps.now();
  if (
    !session ||
    session.revokedAt !== null ||
    session.expiresAt <= now ||
    session.user.id !== claims.sub ||
    session.tenant.id !== claims.tid ||
    session.user.disabled
  ) {
    throw new AuthError('auth_unauthenticated');
  }
  return {
    id: session.user.id,
    email: session.user.email,
    tenant: session.tenant.slug,
    roles: claims.roles,
    permissions: claims.permissions,
    authMethod: claims.auth_method,
  };
}
