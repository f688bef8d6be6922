// Ending sessions: logout (by refresh token, RFC 7009), logout of every session of the caller,
// and the revocation other operations use (disable, password change, claims).
import { randomUUID } from 'node:crypto';
import { RefreshToken } from '../../db/entities/refresh-token.entity.js';
import { Session } from '../../db/entities/session.entity.js';
import { transactional, type EntityManager } from '../../db/orm.js';
import type { ServiceDeps } from '../deps.js';
import { isOpaqueToken, keyedHash } from '../shared/secrets.js';
import { emitWebhook } from '../shared/webhook-events.js';
import type { Viewer } from './principal.js';

const tenantIdOf = async (em: EntityManager, userId: string) => ((await em.execute('select tenant_id from users where id = ?', [userId])) as Array<{ tenant_id: string }>)[0]?.tenant_id;

/** End every live session matching `where` (a user, or one session), but `except` (the caller's own, when it goes on). */
export async function revokeSessions(
  em: EntityManager,
  where: { user: string } | { id: string },
  reason: string,
  now = new Date(),
  except?: string,
): Promise<number> {
  return em.nativeUpdate(Session, { ...where, revokedAt: null, ...(except ? { id: { $ne: except } } : {}) }, { revokedAt: now, revokedReason: reason });
}

/** RFC 7009: revoking an unknown, malformed or already revoked token is not an error. */
export async function logoutSession(em: EntityManager, deps: Pick<ServiceDeps, 'config' | 'sessions' | 'now'>, presented: string): Promise<void> {
  if (!isOpaqueToken(presented)) return;
  const token = await em.findOne(RefreshToken, { tokenHash: keyedHash(deps.config.secretKey, presented) }, { fields: ['id', 'session'] });
  if (!token) return;
  const now = deps.now();
  // The session's end and its session.revoked messages (SPEC §13) commit together.
  await transactional(em, async (tx) => {
    const [ended] = (await tx.execute("update sessions set revoked_at = ?, revoked_reason = 'logout' where id = ? and revoked_at is null returning tenant_id, user_id", [now, token.session.id])) as Array<{
      tenant_id: string;
      user_id: string;
    }>;
    if (ended) await emitWebhook(tx, now, ended.tenant_id, ended.user_id, 'session.revoked', { session: { id: token.session.id }, by: 'logout' });
  });
  deps.sessions.forgetSession(token.session.id);
}

/** Ends every session of the caller (users belong to one tenant, so this is "in this tenant"). */
export async function logoutAllSessions(em: EntityManager, deps: Pick<ServiceDeps, 'sessions' | 'now'>, viewer: Viewer): Promise<void> {
  await transactional(em, async (tx) => {
    const ended = await revokeSessions(tx, { user: viewer.userId }, 'logout_all', deps.now());
    if (ended) await emitWebhook(tx, deps.now(), (await tenantIdOf(tx, viewer.userId))!, viewer.userId, 'session.revoked', { session: null, sessions: ended, by: 'logout_all' });
    await tx.execute(
      `insert into audit_events (id, tenant_id, user_id, subject_id, session_id, type, details, created_at) select ?, tenant_id, id, id, ?, 'logout_all', ?::jsonb, ? from users where id = ?`,
      [randomUUID(), viewer.sessionId ?? null, JSON.stringify({ sessions: ended }), deps.now(), viewer.userId],
    );
  });
  deps.sessions.forgetUser(viewer.userId);
}

