// Starting sessions: one row per sign-in, the `sid` of its access tokens, with its first refresh
// token; and the token payload every sign-in answers with. Ending them is end.ts.
import { randomUUID } from 'node:crypto';
import type { AuthMethod } from '../../db/entities/session.entity.js';
import { transactional, type EntityManager } from '../../db/orm.js';
import { executePrepared } from '../../db/prepared.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ServiceDeps } from '../deps.js';
import { keyedHash, newOpaqueToken } from '../shared/secrets.js';
import type { SettleAlong } from '../rate-limits/limiter.js';
import { ENQUEUE_SQL, enqueueParams } from '../shared/webhook-events.js';
import { acrOf, mfaRestricted, restrictedForMfa, type AuthPayload, type Principal, type Proof } from './principal.js';

/** Signs an access token for a session and builds the token payload. */
export async function tokenPayload(
  deps: Pick<ServiceDeps, 'tokens' | 'config'>,
  p: Principal,
  session: { id: string; authMethod: AuthMethod; expiresAt: Date; authTime: Date; amr: string[] },
  refreshToken: string,
  now: Date,
): Promise<AuthPayload> {
  const authTime = Math.floor(session.authTime.getTime() / 1000);
  const acr = acrOf(session.amr);
  // mfa_required_roles: one factor is not enough for such a role; the token can only enrol one,
  // and names no role (a service authorising by role must not let it through).
  const mfaRequired = restrictedForMfa(p, session.amr);
  const { roles, permissions } = mfaRequired ? mfaRestricted(p) : p;
  const accessToken = await deps.tokens.sign({
    sub: p.userId,
    tid: p.tenantId,
    tenant: p.tenantSlug,
    sid: session.id,
    roles,
    permissions,
    auth_method: session.authMethod,
    auth_time: authTime,
    amr: session.amr,
    acr,
    ...(mfaRequired ? { mfa_required: true } : {}),
  });
  return {
    accessToken,
    tokenType: 'bearer',
    expiresIn: deps.config.accessTokenTtl,
    refreshToken,
    refreshExpiresIn: Math.max(0, Math.floor((session.expiresAt.getTime() - now.getTime()) / 1000)),
    user: {
      userId: p.userId,
      email: p.email,
      tenantSlug: p.tenantSlug,
      roles,
      permissions,
      authMethod: session.authMethod,
      authTime,
      amr: session.amr,
      mfaRequired,
      sessionId: session.id,
    },
  };
}


// A session, its audit event, its webhook messages (session.created, SPEC §13: to the tenant's
// endpoints that subscribe) and its first refresh token, in one statement, only if the user
// is still enabled and (for a password sign-in) still has the hash the password was verified
// against. The user's row is locked FOR SHARE meanwhile: a password change, reset or disable
// (each updates that row, then ends the user's sessions) either commits first, and nothing is
// inserted, or waits for this insert and then ends the new session with the others. A sign-in
// under limits settles them here too (`limits`: CTEs that run only if `u` has its row).
export const START_SESSION = (limits?: string) => `
with u as (select id from users where id = ? and not disabled and (?::text is null or password_hash = ?) for share),
     s as (insert into sessions (id, tenant_id, user_id, auth_method, amr, created_at, last_used_at, auth_time, expires_at, ip, user_agent)
           select ?, ?, ?, ?, ?::text[], ?, ?, ?, ?, ?, ? from u),
     a as (insert into audit_events (id, tenant_id, user_id, subject_id, session_id, type, details, created_at, ip, user_agent)
           select ?, ?, ?, ?, ?, 'session_started', ?::jsonb, ?, ?, ? from u),
     w as (${ENQUEUE_SQL} and exists (select 1 from u))${limits ? `,
     ${limits}` : ''}
insert into refresh_tokens (id, session_id, token_hash, created_at, expires_at) select ?, ?, ?, ?, ? from u returning id`;


/**
 * Start a session for a user whose credential was just proven, and answer the token
 * payload. `user.roles.permissions` and `user.tenant` must be loaded. The access token is
 * signed first: if signing fails nothing is written, and if the statement fails the token is
 * never handed out. The session, its audit event and its first refresh token are one
 * statement (atomic on its own: no BEGIN/COMMIT round trips); `beforeCommit` (e.g. storing a
 * rehashed password) makes it a transaction with that work.
 */
export async function startSession(
  em: EntityManager,
  deps: Pick<ServiceDeps, 'config' | 'tokens' | 'now'>,
  principal: Principal,
  proof: Proof,
  beforeCommit?: (tx: EntityManager) => Promise<unknown>,
  limits?: SettleAlong,
): Promise<AuthPayload> {
  const { config } = deps;
  const now = deps.now();
  const refreshToken = newOpaqueToken();
  const expiresAt = proof.continues?.expiresAt ?? new Date(now.getTime() + config.refreshTokenTtl * 1000);

  const authTime = proof.continues?.authTime ?? now;
  const session = { id: randomUUID(), authMethod: proof.method, expiresAt, authTime, amr: proof.amr };
  const payload = await tokenPayload(deps, principal, session, refreshToken, now);
  const settle = limits?.part('u');
  const params = [
    principal.userId,
    proof.passwordHash ?? null,
    proof.passwordHash ?? null,
    session.id,
    principal.tenantId,
    principal.userId,
    proof.method,
    // knex would spread an array binding into a list: the amr goes as an array literal
    // (its values are RFC 8176 words set by the code, never input).
    `{${proof.amr.join(',')}}`,
    now,
    now,
    authTime,
    expiresAt,
    proof.client?.ip ?? null,
    proof.client?.userAgent ?? null,
    randomUUID(),
    principal.tenantId,
    principal.userId,
    principal.userId,
    session.id,
    JSON.stringify({ method: proof.method, amr: proof.amr, ...(proof.continues ? { replaces: proof.continues.sessionId } : {}) }),
    now,
    proof.client?.ip ?? null,
    proof.client?.userAgent ?? null,
    ...enqueueParams(principal.tenantId, principal.userId, now, { type: 'session.created', data: { session: { id: session.id, method: proof.method } } }),
    ...(settle?.params ?? []),
    randomUUID(),
    session.id,
    keyedHash(config.secretKey, refreshToken),
    now,
    expiresAt,
  ];
  const start = async (tx: EntityManager) => {
    const inserted = await executePrepared(tx, START_SESSION(settle?.ctes), params);
    if (inserted.length) return;
    // The user was disabled, or the password changed, since the credential was checked.
    const [user] = (await tx.execute('select disabled from users where id = ?', [principal.userId])) as Array<{ disabled: boolean }>;
    throw new AuthError(!user || user.disabled || !proof.passwordHash ? 'auth_login_account_disabled' : 'auth_login_invalid_credentials');
  };
  if (!beforeCommit) await start(em);
  else
    await transactional(em, async (tx) => {
      await start(tx);
      await beforeCommit(tx);
    });
  // Committed with the session: the limits need no settle of their own.
  limits?.done();
  return payload;
}
