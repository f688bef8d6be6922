// A user's own sessions: the live ones, newest first, marking the caller's, with where each
// was started and last refreshed from; and ending one of them. Another user's (or an ended)
// session id is auth_session_not_found.
import type { EntityManager } from '../../db/orm.js';
import type { AuthMethod } from '../../db/entities/session.entity.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ServiceDeps } from '../deps.js';
import type { Viewer } from './principal.js';
import { recordAudit } from '../shared/audit.js';
import { canonicalId } from '../shared/identifiers.js';

export interface SessionInfo {
  id: string;
  current: boolean;
  authMethod: AuthMethod;
  createdAt: Date;
  lastUsedAt: Date;
  ip: string | null;
  userAgent: string | null;
  expiresAt: Date;
}

// Live: not revoked, not past the absolute lifetime or the idle timeout.
const LIVE = `user_id = ? and revoked_at is null and expires_at > ? and last_used_at > ?`;

export async function listOwnSessions(em: EntityManager, deps: Pick<ServiceDeps, 'config' | 'now'>, viewer: Viewer): Promise<SessionInfo[]> {
  const now = deps.now();
  const idleSince = new Date(now.getTime() - deps.config.sessionIdleTimeout * 1000);
  const rows = (await em.execute(
    `select id, auth_method, created_at, last_used_at, ip, user_agent, expires_at from sessions where ${LIVE} order by created_at desc, id desc`,
    [viewer.userId, now, idleSince],
  )) as Array<{ id: string; auth_method: AuthMethod; created_at: Date; last_used_at: Date; ip: string | null; user_agent: string | null; expires_at: Date }>;
  return rows.map((r) => ({
    id: r.id,
    current: r.id === viewer.sessionId,
    authMethod: r.auth_method,
    createdAt: new Date(r.created_at),
    lastUsedAt: new Date(r.last_used_at),
    ip: r.ip,
    userAgent: r.user_agent,
    expiresAt: new Date(r.expires_at),
  }));
}

export async function revokeOwnSession(em: EntityManager, deps: Pick<ServiceDeps, 'config' | 'sessions' | 'now'>, viewer: Viewer, id: string): Promise<void> {
  const now = deps.now();
  const idleSince = new Date(now.getTime() - deps.config.sessionIdleTimeout * 1000);
  const sessionId = canonicalId(id);
  const ended = sessionId
    ? ((await em.execute(`update sessions set revoked_at = ?, revoked_reason = 'revoked_by_user' where id = ? and ${LIVE} returning tenant_id`, [now, sessionId, viewer.userId, now, idleSince])) as Array<{ tenant_id: string }>)
    : [];
  if (ended.length === 0) throw new AuthError('auth_session_not_found');
  deps.sessions.forgetSession(sessionId!);
  await recordAudit(em, now, { tenantId: ended[0].tenant_id, userId: viewer.userId, sessionId, type: 'session_revoked', details: { by: 'user' } });
}
