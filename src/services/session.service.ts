// Sessions: one row per sign-in, the `sid` of its access tokens, with a family of refresh
// tokens stored only as keyed hashes and rotated on every use (RFC 9700 4.14.2).
//
// Grace without plaintext: a successor is derived from its parent with a keyed hash,
// successor = HMAC(SECRET_KEY, "refresh-successor" || parent). Whoever presents the
// parent again can be handed the very same successor (two tabs, a lost response) without
// the database ever holding a usable token; without SECRET_KEY nobody can derive it.
import { randomUUID } from 'node:crypto';
import { transactional, type EntityManager } from '../db/orm.js';
import { RefreshToken } from '../db/entities/refresh-token.entity.js';
import { Session, type AuthMethod } from '../db/entities/session.entity.js';
import { User } from '../db/entities/user.entity.js';
import { AuthError } from '../errors/auth-error.js';
import { isDatabaseError } from '../errors/format.js';
import type { ServiceDeps } from './deps.js';
import { grantsOf } from './rbac.service.js';
import { limited, type Client } from './rate-limit.service.js';
import { keyedHash, newOpaqueToken, safeEqual } from './secrets.service.js';
import type { SessionState } from './session-cache.js';

export interface Viewer {
  id: string;
  email: string;
  tenant: string;
  roles: string[];
  permissions: string[];
  authMethod: AuthMethod;
  /** When the caller last proved a credential in this session (epoch seconds; 0 for an API key). */
  authTime: number;
  /** RFC 8176 method references of that proof (empty for an API key). */
  amr: string[];
}

/** How a session's user proved who they are: the session's method and its RFC 8176 amr values. */
export interface Proof {
  method: AuthMethod;
  amr: string[];
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

/** Who a token is for: the user, the tenant, and the grants of the user's roles. */
export interface Principal {
  userId: string;
  email: string;
  tenantId: string;
  tenantSlug: string;
  roles: string[];
  permissions: string[];
}

/** `user.roles.permissions` and `user.tenant` must be loaded. */
export const principalOf = (user: User): Principal => ({
  userId: user.id,
  email: user.email,
  tenantId: user.tenant.id,
  tenantSlug: user.tenant.slug,
  ...grantsOf(user),
});

/** Signs an access token for a session and builds the token payload. */
async function tokenPayload(
  deps: ServiceDeps,
  p: Principal,
  session: { id: string; authMethod: AuthMethod; expiresAt: Date; authTime: Date; amr: string[] },
  refreshToken: string,
  now: Date,
): Promise<AuthPayload> {
  const authTime = Math.floor(session.authTime.getTime() / 1000);
  const accessToken = await deps.tokens.sign({
    sub: p.userId,
    tid: p.tenantId,
    tenant: p.tenantSlug,
    sid: session.id,
    roles: p.roles,
    permissions: p.permissions,
    auth_method: session.authMethod,
    auth_time: authTime,
    amr: session.amr,
  });
  return {
    accessToken,
    tokenType: 'bearer',
    expiresIn: deps.config.accessTokenTtl,
    refreshToken,
    refreshExpiresIn: Math.max(0, Math.floor((session.expiresAt.getTime() - now.getTime()) / 1000)),
    user: {
      id: p.userId,
      email: p.email,
      tenant: p.tenantSlug,
      roles: p.roles,
      permissions: p.permissions,
      authMethod: session.authMethod,
      authTime,
      amr: session.amr,
    },
  };
}

// A session and its first refresh token, in one statement.
const START_SESSION = `
with s as (insert into sessions (id, tenant_id, user_id, auth_method, amr, created_at, last_used_at, auth_time, expires_at) values (?, ?, ?, ?, ?::text[], ?, ?, ?, ?))
insert into refresh_tokens (id, session_id, token_hash, created_at, expires_at) values (?, ?, ?, ?, ?)`;

/** The role names and the union of their permissions of user `alias`, as two sorted text[] columns. */
export const GRANTS_SQL = (alias: string) => `
       coalesce((select array_agg(distinct r.name order by r.name) from user_roles ur join roles r on r.id = ur.role_id
                  where ur.user_id = ${alias}.id), '{}') as roles,
       coalesce((select array_agg(distinct p.name order by p.name) from user_roles ur
                   join role_permissions rp on rp.role_id = ur.role_id join permissions p on p.id = rp.permission_id
                  where ur.user_id = ${alias}.id), '{}') as permissions`;

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
  principal: Principal,
  proof: Proof,
  beforeCommit?: (tx: EntityManager) => Promise<unknown>,
): Promise<AuthPayload> {
  const { config } = deps;
  const now = deps.now();
  const refreshToken = newOpaqueToken();
  const expiresAt = new Date(now.getTime() + config.refreshTokenTtl * 1000);

  const session = { id: randomUUID(), authMethod: proof.method, expiresAt, authTime: now, amr: proof.amr };
  return transactional(em, async (tx) => {
    await tx.execute(START_SESSION, [
      session.id,
      principal.tenantId,
      principal.userId,
      proof.method,
      // knex would spread an array binding into a list: the amr goes as an array literal
      // (its values are RFC 8176 words set by the code, never input).
      `{${proof.amr.join(',')}}`,
      now,
      now,
      now,
      expiresAt,
      randomUUID(),
      session.id,
      keyedHash(config.secretKey, refreshToken),
      now,
      expiresAt,
    ]);
    await beforeCommit?.(tx);
    return tokenPayload(deps, principal, session, refreshToken, now);
  });
}

type RefreshOutcome = { kind: 'ok'; payload: AuthPayload } | { kind: 'reused'; sessionId: string };

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

interface RefreshRow {
  token_id: string;
  rotated_at: Date | null;
  token_expires_at: Date;
  session_id: string;
  revoked_at: Date | null;
  expires_at: Date;
  last_used_at: Date;
  auth_method: AuthMethod;
  auth_time: Date;
  amr: string[];
  user_id: string;
  email: string;
  disabled: boolean;
  tenant_id: string;
  slug: string;
  roles: string[];
  permissions: string[];
}

// One round trip: the token, its session (both locked: concurrent refreshes of a family
// queue here and then see each other's rotation), the user, the tenant and the grants,
// reloaded so that a role change takes effect at the next refresh.
const REFRESH_SELECT = `
select t.id as token_id, t.rotated_at, t.expires_at as token_expires_at,
       s.id as session_id, s.revoked_at, s.expires_at, s.last_used_at, s.auth_method, s.auth_time, s.amr,
       u.id as user_id, u.email, u.disabled, te.id as tenant_id, te.slug,${GRANTS_SQL('u')}
  from refresh_tokens t
  join sessions s on s.id = t.session_id
  join users u on u.id = s.user_id
  join tenants te on te.id = s.tenant_id
 where t.token_hash = ?
   for update of s, t`;

// Rotation in one statement: the token is marked, the session touched, the successor stored.
const ROTATE = `
with rotated as (update refresh_tokens set rotated_at = ? where id = ?),
     touched as (update sessions set last_used_at = ? where id = ?)
insert into refresh_tokens (id, session_id, parent_id, token_hash, created_at, expires_at) values (?, ?, ?, ?, ?, ?)`;

// Reuse: the session (and with it every token of the family and its access tokens) ends, recorded.
const REVOKE_REUSED = `
with revoked as (update sessions set revoked_at = ?, revoked_reason = 'refresh_reused' where id = ?)
insert into audit_events (id, tenant_id, user_id, session_id, type, details, created_at) values (?, ?, ?, ?, 'auth_refresh_reused', ?, ?)`;

async function rotate(em: EntityManager, deps: ServiceDeps, presented: string): Promise<AuthPayload> {
  const { config } = deps;
  if (!REFRESH_TOKEN_FORMAT.test(presented)) throw new AuthError('auth_refresh_invalid');
  const tokenHash = keyedHash(config.secretKey, presented);
  const now = deps.now();

  const outcome = await transactional<RefreshOutcome>(em, async (tx) => {
    const [row] = (await tx.execute(REFRESH_SELECT, [tokenHash])) as RefreshRow[];
    if (!row) throw new AuthError('auth_refresh_invalid');
    const expiresAt = new Date(row.expires_at);
    const idleUntil = new Date(row.last_used_at).getTime() + config.sessionIdleTimeout * 1000;
    // A dead token says nothing more, not even that its account is disabled.
    if (row.revoked_at || expiresAt <= now || new Date(row.token_expires_at) <= now || idleUntil <= now.getTime()) {
      throw new AuthError('auth_refresh_invalid');
    }
    if (row.disabled) throw new AuthError('auth_login_account_disabled');
    const principal: Principal = { userId: row.user_id, email: row.email, tenantId: row.tenant_id, tenantSlug: row.slug, roles: row.roles, permissions: row.permissions };
    const session = { id: row.session_id, authMethod: row.auth_method, expiresAt, authTime: new Date(row.auth_time), amr: row.amr };

    const successor = deriveSuccessor(config.secretKey, presented);
    const successorHash = keyedHash(config.secretKey, successor);
    if (!row.rotated_at) {
      await tx.execute(ROTATE, [now, row.token_id, now, row.session_id, randomUUID(), row.session_id, row.token_id, successorHash, now, expiresAt]);
      return { kind: 'ok', payload: await tokenPayload(deps, principal, session, successor, now) };
    }

    const rotatedAt = new Date(row.rotated_at);
    const [child] = (await tx.execute('select rotated_at, expires_at, token_hash from refresh_tokens where parent_id = ?', [row.token_id])) as Array<{
      rotated_at: Date | null;
      expires_at: Date;
      token_hash: string;
    }>;
    const inGrace = now.getTime() - rotatedAt.getTime() <= config.refreshReuseGrace * 1000;
    if (inGrace && child && !child.rotated_at && new Date(child.expires_at) > now && safeEqual(child.token_hash, successorHash)) {
      return { kind: 'ok', payload: await tokenPayload(deps, principal, session, successor, now) };
    }

    // RFC 9700 4.14.2: a rotated refresh token came back; the family is compromised.
    const details = { tokenId: row.token_id, rotatedAt: rotatedAt.toISOString(), successorRotated: Boolean(child?.rotated_at) };
    await tx.execute(REVOKE_REUSED, [now, row.session_id, randomUUID(), row.tenant_id, row.user_id, row.session_id, JSON.stringify(details), now]);
    return { kind: 'reused', sessionId: row.session_id };
  });

  // Thrown after the commit, so the revocation and the audit event are kept.
  if (outcome.kind === 'reused') {
    deps.sessions.forgetSession(outcome.sessionId);
    throw new AuthError('auth_refresh_reused');
  }
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
  if (!token) return;
  await revokeSessions(em, { id: token.session.id }, 'logout', deps.now());
  deps.sessions.forgetSession(token.session.id);
}

/** Ends every session of the caller (users belong to one tenant, so this is "in this tenant"). */
export async function logoutAllSessions(em: EntityManager, deps: ServiceDeps, viewer: Viewer): Promise<void> {
  await revokeSessions(em, { user: viewer.id }, 'logout_all', deps.now());
  deps.sessions.forgetUser(viewer.id);
}

/** One round trip: the session with what a protected call needs of its user and tenant. */
async function loadSessionState(em: EntityManager, sid: string): Promise<SessionState | undefined> {
  const rows: Array<{ user_id: string; tenant_id: string; slug: string; email: string; revoked_at: Date | null; disabled: boolean; expires_at: Date }> =
    await em.execute(
      `select s.user_id, s.tenant_id, t.slug, u.email, s.revoked_at, u.disabled, s.expires_at
         from sessions s join users u on u.id = s.user_id join tenants t on t.id = s.tenant_id
        where s.id = ?`,
      [sid],
    );
  const r = rows[0];
  if (!r) return undefined;
  return {
    userId: r.user_id,
    tenantId: r.tenant_id,
    tenantSlug: r.slug,
    email: r.email,
    revoked: r.revoked_at !== null,
    disabled: r.disabled,
    expiresAt: new Date(r.expires_at).getTime(),
  };
}

/**
 * The caller behind a bearer access token. The signature proves the claims; the session's
 * state is checked on every call (cached for SESSION_CACHE_TTL_MS, and dropped at once on
 * this instance by logout, logout everywhere and reuse detection), so a revoked session, a
 * disabled user or a token of another tenant stops working within that bound.
 */
export async function authenticateAccessToken(em: () => EntityManager, deps: ServiceDeps, token: string): Promise<Viewer> {
  let claims;
  try {
    claims = await deps.tokens.verify(token);
  } catch (e) {
    throw new AuthError('auth_unauthenticated', { cause: e });
  }
  if (!UUID.test(claims.sid) || !UUID.test(claims.sub)) throw new AuthError('auth_unauthenticated');
  let session = deps.sessions.get(claims.sid);
  if (!session) {
    try {
      session = await loadSessionState(em(), claims.sid);
    } catch (e) {
      // Whatever the operation, a failure to check the caller's session is the session store's.
      if (isDatabaseError(e)) throw new AuthError('auth_session_db_error', { cause: e });
      throw e;
    }
    if (session) deps.sessions.set(claims.sid, session);
  }
  if (
    !session ||
    session.revoked ||
    session.expiresAt <= deps.now().getTime() ||
    session.userId !== claims.sub ||
    session.tenantId !== claims.tid ||
    session.disabled
  ) {
    throw new AuthError('auth_unauthenticated');
  }
  return {
    id: session.userId,
    email: session.email,
    tenant: session.tenantSlug,
    roles: claims.roles,
    permissions: claims.permissions,
    authMethod: claims.auth_method,
    authTime: claims.auth_time,
    amr: claims.amr,
  };
}

/**
 * Adding a sign-in method, changing a credential and creating an API key need a session
 * whose user proved a credential within REAUTH_MAX_AGE (OIDC auth_time); older sessions
 * get auth_reauthentication_required and the client signs in again.
 */
export function requireRecentAuthentication(deps: Pick<ServiceDeps, 'config' | 'now'>, viewer: Viewer): void {
  if (viewer.authMethod === 'api_key') throw new AuthError('auth_forbidden');
  const age = deps.now().getTime() / 1000 - viewer.authTime;
  if (!(age <= deps.config.reauthMaxAge)) throw new AuthError('auth_reauthentication_required');
}
