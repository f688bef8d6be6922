// The events a tenant's webhook endpoints receive (SPEC §13), and how each is written: in the
// same statement as the audit event that records the change (so in its transaction), one
// message per subscribed endpoint, its body built by PostgreSQL from the tenant and the user.
// Nothing is written when no endpoint subscribes; never a secret, token or code in a body.
import type { EntityManager } from '../../db/orm.js';

/** What of an audit event (shared/audit.ts) its webhook event reads. */
type AuditRecord = { type: string; sessionId?: string | null; details?: Record<string, unknown> };

export const WEBHOOK_EVENTS = [
  'user.created',
  'user.email_verified',
  'user.password_changed',
  'user.roles_changed',
  'user.disabled',
  'user.enabled',
  'user.mfa_enabled',
  'user.mfa_disabled',
  'session.created',
  'session.revoked',
  'api_key.created',
  'api_key.revoked',
  'invitation.accepted',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

type Data = Record<string, unknown>;
const only = (type: WebhookEvent, data: (e: AuditRecord) => Data = () => ({})) => ({ type, data });

/** The webhook event of each audit event that reports one, and what its body adds to the tenant and the user. */
const OF_AUDIT: Record<string, { type: WebhookEvent; data: (e: AuditRecord) => Data }> = {
  email_verified: only('user.email_verified'),
  password_changed: only('user.password_changed'),
  password_reset: only('user.password_changed', () => ({ reset: true })),
  roles_changed: only('user.roles_changed', (e) => ({ roles: e.details?.roles ?? [] })),
  user_disabled: only('user.disabled'),
  user_enabled: only('user.enabled'),
  mfa_enrolled: only('user.mfa_enabled'),
  mfa_disabled: only('user.mfa_disabled'),
  mfa_reset: only('user.mfa_disabled', () => ({ reset: true })),
  session_revoked: only('session.revoked', (e) => ({ session: { id: e.sessionId ?? null }, by: 'user' })),
  sessions_revoked_by_admin: only('session.revoked', (e) => ({ session: null, sessions: e.details?.sessions ?? 0, by: 'admin' })),
  api_key_created: only('api_key.created', (e) => ({ api_key: { id: e.details?.keyId ?? null } })),
  api_key_revoked: only('api_key.revoked', (e) => ({ api_key: { id: e.details?.keyId ?? null } })),
  invitation_accepted: only('invitation.accepted'),
  sso_user_provisioned: only('user.created', () => ({ via: 'sso' })),
};

/** The webhook event an audit event reports, if any. */
export function eventOfAudit(e: AuditRecord): { type: WebhookEvent; data: Data } | undefined {
  const found = OF_AUDIT[e.type];
  return found && { type: found.type, data: found.data(e) };
}

/**
 * Appends to a statement (as its last part, after a data-modifying WITH) the messages of one
 * event for every endpoint of the tenant that subscribes to it: 7 parameters, from `enqueueParams`.
 */
export const ENQUEUE_SQL = `insert into webhook_messages (id, tenant_id, endpoint_id, type, payload, next_attempt_at, created_at)
select 'msg_' || replace(gen_random_uuid()::text, '-', ''), e.tenant_id, e.id, ?::text,
       jsonb_build_object('type', ?::text, 'timestamp', ?::text, 'data',
         jsonb_build_object('tenant', t.slug, 'user', (select jsonb_build_object('id', u.id, 'email', u.email) from users u where u.id = ?::uuid)) || ?::jsonb)::text,
       now(), now()
  from webhook_endpoints e join tenants t on t.id = e.tenant_id
 where e.tenant_id = ? and e.disabled_at is null and e.events && array[?::text, '*']`;

/** The messages of an event that no audit statement carries (user.created by most ways in), in the caller's transaction. */
export async function emitWebhook(tx: EntityManager, now: Date, tenantId: string, userId: string, type: WebhookEvent, data: Data = {}): Promise<void> {
  await tx.execute(ENQUEUE_SQL, enqueueParams(tenantId, userId, now, { type, data }));
}

export const enqueueParams = (tenantId: string, userId: string | null, at: Date, event: { type: WebhookEvent; data: Data }) => [
  event.type,
  event.type,
  at.toISOString(),
  userId,
  JSON.stringify(event.data),
  tenantId,
  event.type,
];
