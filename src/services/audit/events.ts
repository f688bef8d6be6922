// The tenant's audit log for holders of audit:read (read from the database): a cursor
// connection over (created_at, id), newest first, with filters; actors and subjects of a page
// are loaded in one query.
import type { EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import { currentPrincipal, requirePermission, type Viewer } from '../sessions/principal.js';
import { isUuid } from '../shared/identifiers.js';
import { pageWindow, toPage, type Page } from '../shared/pages.js';

export interface AuditPerson {
  id: string;
  email: string | null;
}

export interface AuditEventInfo {
  id: string;
  type: string;
  actor: AuditPerson | null;
  subject: AuditPerson | null;
  ip: string | null;
  userAgent: string | null;
  createdAt: Date;
  details: Record<string, unknown>;
}

export interface AuditFilter {
  userId?: string | null;
  type?: string | null;
  since?: Date | null;
  until?: Date | null;
}

type Row = { id: string; type: string; user_id: string | null; subject_id: string | null; ip: string | null; user_agent: string | null; created_at: Date; details: Record<string, unknown> };

export async function listAuditEvents(em: EntityManager, viewer: Viewer, args: { first?: number | null; after?: string | null; filter?: AuditFilter | null }): Promise<Page<AuditEventInfo>> {
  await requirePermission(em, viewer, 'audit:read');
  const where = ['a.tenant_id = ?'];
  const params: unknown[] = [(await currentPrincipal(em, viewer)).tenantId];
  const first = pageWindow(args, 'a', where, params);
  const f = args.filter ?? {};
  if (f.userId) {
    if (!isUuid(f.userId)) throw new AuthError('auth_request_invalid', { fields: [{ field: 'filter.userId', rule: 'format' }] });
    where.push('(a.user_id = ? or a.subject_id = ?)');
    params.push(f.userId, f.userId);
  }
  if (f.type) {
    where.push('a.type = ?');
    params.push(f.type);
  }
  if (f.since) {
    where.push('a.created_at >= ?');
    params.push(f.since);
  }
  if (f.until) {
    where.push('a.created_at < ?');
    params.push(f.until);
  }
  const rows = (await em.execute(
    `select a.id, a.type, a.user_id, a.subject_id, a.ip, a.user_agent, a.created_at, a.details from audit_events a where ${where.join(' and ')} order by a.created_at desc, a.id desc limit ?`,
    [...params, first + 1],
  )) as Row[];
  const ids = [...new Set(rows.slice(0, first).flatMap((r) => [r.user_id, r.subject_id]).filter((x): x is string => x !== null))];
  const emails = new Map(
    ids.length ? ((await em.execute('select id, email from users where id = any(?::uuid[])', [`{${ids.join(',')}}`])) as Array<{ id: string; email: string }>).map((u) => [u.id, u.email]) : [],
  );
  const person = (id: string | null): AuditPerson | null => (id ? { id, email: emails.get(id) ?? null } : null);
  return toPage(rows, first, (r) => ({
    id: r.id,
    type: r.type,
    actor: person(r.user_id),
    subject: person(r.subject_id),
    ip: r.ip,
    userAgent: r.user_agent,
    createdAt: new Date(r.created_at),
    details: r.details,
  }));
}
