// Audit events: one row per change of security state, written in the same transaction as the
// change itself. Never a secret in `details`.
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '../../db/orm.js';

export interface AuditRecord {
  tenantId: string;
  userId: string | null;
  sessionId?: string | null;
  type: string;
  details?: Record<string, unknown>;
}

export async function recordAudit(tx: EntityManager, now: Date, event: AuditRecord): Promise<void> {
  await tx.execute('insert into audit_events (id, tenant_id, user_id, session_id, type, details, created_at) values (?, ?, ?, ?, ?, ?, ?)', [
    randomUUID(),
    event.tenantId,
    event.userId,
    event.sessionId ?? null,
    event.type,
    JSON.stringify(event.details ?? {}),
    now,
  ]);
}
