// Sessions: one row per sign-in, the `sid` of its access tokens, with a family of refresh
// tokens stored only as keyed hashes and rotated on every use (RFC 9700 4.14.2).
//
// Grace without plaintext: a successor is derived from its parent with a keyed hash,
// successor = HMAC(SECRET_KEY, "refresh-successor" || parent). Whoever presents the
// parent again can be handed the very same successor (two tabs, a lost response) without
// the database ever holding a usable token; without SECRET_KEY nobody can derive it.
import { LockMode } from '@mikro-orm/core';
import { transactional, type EntityManager } from '../db/orm.js';
import { AuditEvent } from '../db/entities/audit-event.entity.js';
import { RefreshToken } from '../db/entities/refresh-token.entity.js';
import { Session, type AuthMethod } from '../db/entities/session.entity.js';
import { Tenant } from '../db/entities/tenant.entity.js';
import { User } from '../db/entities/user.entity.js';
import { AuthError } from '../errors/auth-error.js';
import { isDatabaseError } from '../errors/format.js';
import type { ServiceDeps } from './deps.js';
import { grantsOf } from './rbac.service.js';
import { limited, type Client } from './rate-limit.service.js';
import { keyedHash, newOpaqueToken, safeEqual } from './secrets.service.js';

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
/** 256 bits in base64url: what newOpaqueToken and deriveSuccessor produce. */
const REFRESH_TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export function deriveSuccessor(secretKey: string, parent: string): string {
  return keyedHash(secretKey, `refresh-successor\u0000${parent}`);
}

/** Signs an access token for a session and builds the token payload. `user.roles.permissions` and `user.tenant` must be loaded. */
async function tokenPayload(
  deps: ServiceDeps,
  user: User,
  session: { id: string; authMethod: AuthMethod; expiresAt: Date },
  refreshToken: string,
  now: Date,
): Promise<AuthPayload> {
  const tenant = user.tenant;
  const grants = grantsOf(user);
  const accessToken = await deps.tokens.sign({
    sub: user.id,
    tid: tenant.id,
    tenant: tenant.slug,
    sid: session.id,
    roles: grants.roles,
    permissions: grants.permissions,
    auth_method: session.authMethod,
  });
  return {
    accessToken,
    tokenType: 'bearer',
    expiresIn: deps.config.accessTokenTtl,
    refreshToken,
    refreshExpiresIn: Math.max(0, Math.floor((session.expiresAt.getTime() - now.getTime()) / 1000)),
    user: { id: user.id, email: user.email, tenant: tenant.slug, ...grants, authMethod: session.authMethod },
  };
}

/**
 * Start a session for a user whose credential was just proven, and answer the token
 * payload. `user.roles.permissions` and `user.tenant` must be loaded. `beforeCommit`
 * runs in the same transaction (e.g. storing a rehashed password). The access token is
 * signed inside the transaction: if signing fails nothing is written, and if the commit
 * fails the token is never handed out.
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
  const refreshToken = newOpaqueToken();
  const expiresAt = new Date(now.getTime() + config.refreshTokenTtl * 1000);

  return transactional(em, async (tx) => {
    const session = tx.create(Session, {
      tenant: tx.getReference(Tenant, user.tenant.id),
      user: tx.getReference(User, user.id),
      authMethod,
      createdAt: now,
      lastUsedAt: now,
      expiresAt,
    });
    tx.create(RefreshToken, { session, tokenHash: keyedHash(config.secretKey, refreshToken), createdAt: now, expiresAt });
    await beforeCommit?.(tx);
    return tokenPayload(deps, user, session, refreshToken, now);
  });
}

type RefreshOutcome = { kind: 'ok'; payload: AuthPayload } | { kind: 'reused' };

/**
 * Exchange a refresh token for a new access token and its successor.
 * - First use: the token is marked rotated and its derived successor stored.
 * - Presented again within REFRESH_REUSE_GRACE while the successor is still current: the
 *   same successor again (nothing is written).
 * - Any other reuse: the whole session is revoked and recorded as a security event.
 * Every refresh of one session takes the session row's lock first, so concurrent
 * refreshes queue instead of conflicting, and see each other's rotation.
 */
export async function refreshSession(em: EntityManager, deps: ServiceDeps, presented: string, client: Client): Promise<AuthPayload> {
  return limited(deps.limiter, [['refresh_address', client.ip]], ['auth_refresh_invalid', 'auth_refresh_reused'], () => rotate(em, deps, presented));
}

async function rotate(em: EntityManager, deps: ServiceDeps, presented: string): Promise<AuthPayload> {
  const { config } = deps;
  if (!REFRESH_TOKEN_FORMAT.test(presented)) throw new AuthError('auth_refresh_invalid');
  const tokenHash = keyedHash(config.secretKey, presented);
  const now = deps.now();

  const outcome = await transactional<RefreshOutcome>(em, async (tx) => {
    const peek = await tx.findOne(RefreshToken, { tokenHash }, { fields: ['id', 'session'] });
    if (!peek) throw new AuthError('auth_refresh_invalid');
    const session = await tx.findOneOrFail(Session, { id: peek.session.id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    const token = await tx.findOneOrFail(RefreshToken, { id: peek.id }, { refresh: true });
    const user = await tx.findOneOrFail(User, { id: session.user.id }, { populate: ['tenant', 'roles.permissions'] });

    if (user.disabled) throw new AuthError('auth_login_account_disabled');
    const idleUntil = session.lastUsedAt.getTime() + config.sessionIdleTimeout * 1000;
    if (session.revokedAt || session.expiresAt <= now || token.expiresAt <= now || idleUntil <= now.getTime()) {
      throw new AuthError('auth_refresh_invalid');
    }

    const successor = deriveSuccessor(config.secretKey, presented);
    if (!token.rotatedAt) {
      token.rotatedAt = now;
      session.lastUsedAt = now;
      tx.create(RefreshToken, {
        session,
        parent: token,
        tokenHash: keyedHash(config.secretKey, successor),
        createdAt: now,
        expiresAt: session.expiresAt,
      });
      return { kind: 'ok', payload: await tokenPayload(deps, user, session, successor, now) };
    }

    const child = await tx.findOne(RefreshToken, { parent: token.id });
    const inGrace = now.getTime() - token.rotatedAt.getTime() <= config.refreshReuseGrace * 1000;
    if (inGrace && child && !child.rotatedAt && child.expiresAt > now && safeEqual(child.tokenHash, keyedHash(config.secretKey, successor))) {
      return { kind: 'ok', payload: await tokenPayload(deps, user, session, successor, now) };
    }

    // RFC 9700 4.14.2: a rotated refresh token came back; the family is compromised.
    session.revokedAt = now;
    session.revokedReason = 'refresh_reused';
    tx.create(AuditEvent, {
      tenantId: user.tenant.id,
      userId: user.id,
      sessionId: session.id,
      type: 'auth_refresh_reused',
      details: { tokenId: token.id, rotatedAt: token.rotatedAt.toISOString(), successorRotated: Boolean(child?.rotatedAt) },
      createdAt: now,
    });
    return { kind: 'reused' };
  });

  // Thrown after the commit, so the revocation and the audit event are kept.
  if (outcome.kind === 'reused') throw new AuthError('auth_refresh_reused');
  return outcome.payload;
}

/** End every live session matching `where` (a user, or one session). */
export async function revokeSessions(
  em: EntityManager,
  where: { user: string } | { id: string },
  reason: string,
  now = new Date(),
): Promise<number> {
  return em.nativeUpdate(Session, { ...where, revokedAt: null }, { revokedAt: now, revokedReason: reason });
}

/** RFC 7009: revoking an unknown, malformed or already revoked token is not an error. */
export async function logoutSession(em: EntityManager, deps: ServiceDeps, presented: string): Promise<void> {
  if (!REFRESH_TOKEN_FORMAT.test(presented)) return;
  const token = await em.findOne(RefreshToken, { tokenHash: keyedHash(deps.config.secretKey, presented) }, { fields: ['id', 'session'] });
  if (token) await revokeSessions(em, { id: token.session.id }, 'logout', deps.now());
}

/** Ends every session of the caller (users belong to one tenant, so this is "in this tenant"). */
export async function logoutAllSessions(em: EntityManager, deps: ServiceDeps, viewer: Viewer): Promise<void> {
  await revokeSessions(em, { user: viewer.id }, 'logout_all', deps.now());
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
  let session;
  try {
    session = await em.findOne(Session, { id: claims.sid }, { populate: ['user', 'tenant'] });
  } catch (e) {
    // Whatever the operation, a failure to check the caller's session is the session store's.
    if (isDatabaseError(e)) throw new AuthError('auth_session_db_error', { cause: e });
    throw e;
  }
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
