// Checking the caller of a protected operation: an access token's signature and its
// session's state (cached per instance), and whether the session proved a credential recently.
import type { EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import { isDatabaseError } from '../../db/errors.js';
import type { ServiceDeps } from '../deps.js';
import { isUuid } from '../shared/identifiers.js';
import { acrOf, GRANTS_SQL, hasActiveFactor, hasStrongerWayIn, MFA_ENROLL_PERMISSION, restrictedForMfa, type Viewer } from './principal.js';
import type { SessionState } from './cache.js';
import { executePrepared } from '../../db/prepared.js';

/**
 * One round trip: the session with what a protected call needs of its user and tenant: the
 * user's roles and their permissions now, and whether one of them is among the tenant's
 * mfa_required_roles (restricting a one-factor session whenever the role or the setting was
 * added), both from GRANTS_SQL.
 */
export const SESSION_STATE_SELECT = `
select s.user_id, s.tenant_id, t.slug, u.email, s.revoked_at, u.disabled, s.expires_at, s.amr,${GRANTS_SQL('u')}
  from sessions s join users u on u.id = s.user_id join tenants t on t.id = s.tenant_id
 where s.id = ?`;

async function loadSessionState(em: EntityManager, sid: string): Promise<SessionState | undefined> {
  const rows: Array<{
    user_id: string;
    tenant_id: string;
    slug: string;
    email: string;
    revoked_at: Date | null;
    disabled: boolean;
    expires_at: Date;
    amr: string[];
    roles: string[];
    permissions: string[];
    mfa_required_role: boolean;
  }> = await executePrepared(em, SESSION_STATE_SELECT, [sid]);
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
    mfaRestricted: restrictedForMfa({ mfaRequiredRole: r.mfa_required_role }, r.amr ?? []),
    grants: { roles: r.roles, permissions: r.permissions },
  };
}

/**
 * The caller behind a bearer access token. The signature proves the claims; the session's
 * state is checked on every call (cached for SESSION_CACHE_TTL_MS, and dropped at once on
 * this instance by logout, logout everywhere and reuse detection), so a revoked session, a
 * disabled user or a token of another tenant stops working within that bound.
 */
export async function authenticateAccessToken(em: () => EntityManager, deps: Pick<ServiceDeps, 'tokens' | 'sessions' | 'now'>, token: string): Promise<Viewer> {
  let claims;
  try {
    claims = await deps.tokens.verify(token);
  } catch (e) {
    throw new AuthError('auth_unauthenticated', { cause: e });
  }
  if (!isUuid(claims.sid) || !isUuid(claims.sub)) throw new AuthError('auth_unauthenticated');
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
  // A one-factor session of an MFA-required role is restricted by what the database says now,
  // whatever the token was issued with.
  const mfaRequired = claims.mfa_required === true || session.mfaRestricted;
  return {
    userId: session.userId,
    email: session.email,
    tenantSlug: session.tenantSlug,
    roles: mfaRequired ? [] : claims.roles,
    permissions: mfaRequired ? [MFA_ENROLL_PERMISSION] : claims.permissions,
    authMethod: claims.auth_method,
    authTime: claims.auth_time,
    amr: claims.amr,
    sessionId: claims.sid,
    mfaRequired,
    // The roles' grants as the session cache last read them (forward auth's answer).
    current: mfaRequired ? { roles: [], permissions: [MFA_ENROLL_PERMISSION] } : session.grants,
  };
}

/**
 * Once a user has a second factor, what adds a way in or changes the factor needs a session
 * that used it (acr aal2: the second step, or a user-verified passkey): a session opened with
 * the password alone (before enrolment, or by whoever knows the password) cannot mint recovery
 * codes, add a passkey or a key, link an account, or turn the factor off. A session that
 * mfa_required_roles restricts (the password alone, for a role that needs two factors) may add
 * the user's first strong way in, never one beside a passkey the user already has: otherwise
 * the password alone would turn into two factors. Either gets auth_reauthentication_required:
 * sign in again, with the second step or the passkey.
 */
export async function requireSecondFactorIfEnrolled(em: EntityManager, viewer: Viewer): Promise<void> {
  if (acrOf(viewer.amr) === 'aal2') return;
  const enrolled = viewer.mfaRequired ? await hasStrongerWayIn(em, viewer.userId) : await hasActiveFactor(em, viewer.userId);
  if (enrolled) throw new AuthError('auth_reauthentication_required');
}

/**
 * The same rule, inside the transaction that adds the way in, with the user's row locked: two
 * additions at once (a passkey and a TOTP activation, two passkeys) cannot both be the "first",
 * and a ceremony begun before another way in appeared is judged as things are when it ends.
 */
export async function requireFirstWayIn(tx: EntityManager, viewer: Viewer): Promise<void> {
  await tx.execute('select 1 from users where id = ? for update', [viewer.userId]);
  await requireSecondFactorIfEnrolled(tx, viewer);
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

