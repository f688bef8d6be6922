// Audit events: one row per change of security state, written in the same transaction as the
// change itself: who did it (user_id), whom it concerns (subject_id), from where. Never a secret
// in `details`.
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '../../db/orm.js';

export interface AuditRecord {
  tenantId: string;
  /** The actor. */
  userId: string | null;
  /** Whom it concerns; the actor when not given. */
  subjectId?: string | null;
  sessionId?: string | null;
  type: string;
  details?: Record<string, unknown>;
  client?: { ip: string; userAgent?: string };
}

export async function recordAudit(tx: EntityManager, now: Date, event: AuditRecord): Promise<void> {
  await tx.execute('insert into audit_events (id, tenant_id, user_id, subject_id, session_id, type, details, created_at, ip, user_agent) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', [
    randomUUID(),
    event.tenantId,
    event.userId,
    event.subjectId === undefined ? event.userId : event.subjectId,
    event.sessionId ?? null,
    event.type,
    JSON.stringify(event.details ?? {}),
    now,
    event.client?.ip ?? null,
    event.client?.userAgent ?? null,
  ]);
}
