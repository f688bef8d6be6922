// Audit events: one row per change of security state, written in the same transaction as the
// change itself: who did it (user_id), whom it concerns (subject_id), from where. Never a secret
// in `details`.
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '../../db/orm.js';
import { ENQUEUE_SQL, enqueueParams, eventOfAudit } from './webhook-events.js';

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

const INSERT = 'insert into audit_events (id, tenant_id, user_id, subject_id, session_id, type, details, created_at, ip, user_agent) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

/** Writes the audit event; one that reports a webhook event (SPEC §13) writes its messages in the same statement. */
export async function recordAudit(tx: EntityManager, now: Date, event: AuditRecord): Promise<void> {
  const hook = eventOfAudit(event);
  const subject = event.subjectId === undefined ? event.userId : event.subjectId;
  const params = [
    randomUUID(),
    event.tenantId,
    event.userId,
    subject,
    event.sessionId ?? null,
    event.type,
    JSON.stringify(event.details ?? {}),
    now,
    event.client?.ip ?? null,
    event.client?.userAgent ?? null,
  ];
  if (!hook) return void (await tx.execute(INSERT, params));
  await tx.execute(`with audit as (${INSERT}) ${ENQUEUE_SQL}`, [...params, ...enqueueParams(event.tenantId, subject, now, hook)]);
}
