// Invitations (users:manage): an address is mailed a single-use token (256 bits, kept only as a
// keyed hash, 7 days) that admits it to the tenant with the invited roles; accepting is accept.ts.
// The inviter learns nothing about the address: the answer, the mail and the statements are the
// same whether or not it has an account.
import { randomUUID } from 'node:crypto';
import { pgTextArray, transactional, type EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import { invitationMail, linkOf, type TenantMailInfo } from '../mail/messages.js';
import type { ServiceDeps } from '../deps.js';
import type { Client } from '../rate-limits/limiter.js';
import { enqueueMail } from '../mail/outbox.js';
import { currentPermissions, requirePermission, type Viewer } from '../sessions/principal.js';
import { recordAudit } from '../shared/audit.js';
import { canonicalId, EMAIL_SHAPE, normaliseEmail } from '../shared/identifiers.js';
import { keyedHash, newOpaqueToken } from '../shared/secrets.js';
import { pageWindow, toPage, type Page } from '../shared/pages.js';
import { coversRoles, grantableRoles, rolesByName, tenantOf } from '../users/manage.js';

export type InvitationStatus = 'pending' | 'accepted' | 'revoked' | 'expired';

export interface InvitationInfo {
  id: string;
  email: string;
  roles: string[];
  status: InvitationStatus;
  expiresAt: Date;
  createdAt: Date;
}

export type InvitationRow = {
  id: string;
  tenant_id: string;
  email: string;
  roles: string[];
  invited_by: string;
  created_at: Date;
  expires_at: Date;
  accepted_at: Date | null;
  revoked_at: Date | null;
};

export const COLUMNS = 'i.id, i.tenant_id, i.email, i.roles, i.invited_by, i.created_at, i.expires_at, i.accepted_at, i.revoked_at';

// Each status as a condition on the row (the bound parameter is now).
export const STATUS_SQL: Record<InvitationStatus, string> = {
  pending: 'i.accepted_at is null and i.revoked_at is null and i.expires_at > ?',
  expired: 'i.accepted_at is null and i.revoked_at is null and i.expires_at <= ?',
  accepted: 'i.accepted_at is not null and ?::timestamptz is not null',
  revoked: 'i.revoked_at is not null and ?::timestamptz is not null',
};

function statusOf(r: InvitationRow, now: Date): InvitationStatus {
  if (r.revoked_at) return 'revoked';
  if (r.accepted_at) return 'accepted';
  return new Date(r.expires_at) <= now ? 'expired' : 'pending';
}

const toInfo = (r: InvitationRow, now: Date): InvitationInfo => ({
  id: r.id,
  email: r.email,
  roles: r.roles,
  status: statusOf(r, now),
  expiresAt: new Date(r.expires_at),
  createdAt: new Date(r.created_at),
});

type InviteDeps = Pick<ServiceDeps, 'config' | 'limiter' | 'now' | 'mailer'>;

/**
 * Invite an address with roles the caller may grant. Counted per inviter
 * (RATE_LIMIT_INVITATIONS_PER_INVITER an hour); at most INVITATIONS_MAX_PENDING pending in a
 * tenant (auth_rate_limited beyond). A new invitation of an address voids its pending ones.
 */
export async function inviteUser(em: EntityManager, deps: InviteDeps, viewer: Viewer, input: { email: string; roles: string[] }, client: Client): Promise<InvitationInfo> {
  await requirePermission(em, viewer, 'users:manage');
  const email = normaliseEmail(input.email);
  if (!EMAIL_SHAPE.test(email)) throw new AuthError('auth_request_invalid', { fields: [{ field: 'email', rule: 'format' }] });
  const tenantId = await tenantOf(em, viewer);
  const roles = await grantableRoles(em, viewer, tenantId, input.roles);
  await deps.limiter.consume([['invitations_inviter', viewer.userId]]);

  const { config } = deps;
  const now = deps.now();
  const token = newOpaqueToken();
  const row: InvitationRow = {
    id: randomUUID(),
    tenant_id: tenantId,
    email,
    roles: roles.map((r) => r.name),
    invited_by: viewer.userId,
    created_at: now,
    expires_at: new Date(now.getTime() + config.accounts.invitationTtl * 1000),
    accepted_at: null,
    revoked_at: null,
  };
  await transactional(em, async (tx) => {
    // One invitation at a time per tenant: the pending count cannot be raced past its cap
    // (no key update: rows referencing the tenant are not blocked).
    const [tenant] = (await tx.execute('select id, name, app_url from tenants where id = ? for no key update', [tenantId])) as TenantMailInfo[];
    // Re-issuing voids the address's pending invitations: only a caller who covers their roles may (SPEC §15).
    const replaced = (await tx.execute(`update invitations i set revoked_at = ? where i.tenant_id = ? and i.email = ? and ${STATUS_SQL.pending} returning i.roles`, [
      now,
      tenantId,
      email,
      now,
    ])) as Array<{ roles: string[] }>;
    if (replaced.length) await requireCoversRoles(tx, viewer, tenantId, replaced.flatMap((r) => r.roles));
    const [pending] = (await tx.execute(`select count(*)::int as n, min(i.expires_at) as first_expiry from invitations i where i.tenant_id = ? and ${STATUS_SQL.pending}`, [
      tenantId,
      now,
    ])) as Array<{ n: number; first_expiry: Date | null }>;
    if (pending.n >= config.accounts.maxPendingInvitations) {
      const wait = pending.first_expiry ? (new Date(pending.first_expiry).getTime() - now.getTime()) / 1000 : 3600;
      throw new AuthError('auth_rate_limited', { retryAfter: Math.max(1, Math.ceil(wait)) });
    }
    await tx.execute(
      'insert into invitations (id, tenant_id, email, roles, token_hash, invited_by, created_at, expires_at) values (?, ?, ?, ?::text[], ?, ?, ?, ?)',
      [row.id, tenantId, email, pgTextArray(row.roles), keyedHash(config.secretKey, token), viewer.userId, now, row.expires_at],
    );
    const link = linkOf(config, tenant, 'accept-invitation', token, 'auth_admin_internal_error');
    await enqueueMail(tx, deps, { tenantId, ...invitationMail(email, tenant, link, config.accounts.invitationTtl, viewer.email, row.roles) });
    await recordAudit(tx, now, { tenantId, userId: viewer.userId, subjectId: null, type: 'user_invited', details: { invitation: row.id, email, roles: row.roles }, client });
  });
  deps.mailer?.wake();
  return toInfo(row, now);
}

/** The tenant's invitations, newest first, optionally of one status (users:manage). */
export async function listInvitations(
  em: EntityManager,
  deps: Pick<ServiceDeps, 'now'>,
  viewer: Viewer,
  args: { first?: number | null; after?: string | null; status?: InvitationStatus | null },
): Promise<Page<InvitationInfo>> {
  await requirePermission(em, viewer, 'users:manage');
  const now = deps.now();
  const where = ['i.tenant_id = ?'];
  const params: unknown[] = [await tenantOf(em, viewer)];
  const first = pageWindow(args, 'i', where, params);
  if (args.status) {
    where.push(STATUS_SQL[args.status]);
    params.push(now);
  }
  const rows = (await em.execute(`select ${COLUMNS} from invitations i where ${where.join(' and ')} order by i.created_at desc, i.id desc limit ?`, [
    ...params,
    first + 1,
  ])) as InvitationRow[];
  return toPage(rows, first, (r) => toInfo(r, now));
}

/** auth_forbidden unless the caller holds every permission of the roles named (as the roles are now). */
async function requireCoversRoles(em: EntityManager, viewer: Viewer, tenantId: string, names: string[]): Promise<void> {
  if (!coversRoles(await currentPermissions(em, viewer), await rolesByName(em, tenantId, names))) throw new AuthError('auth_forbidden');
}

/**
 * Revoke a pending invitation of the caller's tenant whose roles the caller covers (SPEC §15:
 * auth_forbidden otherwise); anything else is auth_invitation_invalid.
 */
export async function revokeInvitation(em: EntityManager, deps: Pick<ServiceDeps, 'now'>, viewer: Viewer, id: string, client: Client): Promise<void> {
  await requirePermission(em, viewer, 'users:manage');
  const tenantId = await tenantOf(em, viewer);
  const invitationId = canonicalId(id);
  if (!invitationId) throw new AuthError('auth_invitation_invalid');
  const now = deps.now();
  await transactional(em, async (tx) => {
    const [row] = (await tx.execute(`update invitations i set revoked_at = ? where i.id = ? and i.tenant_id = ? and ${STATUS_SQL.pending} returning i.email, i.roles`, [
      now,
      invitationId,
      tenantId,
      now,
    ])) as Array<{ email: string; roles: string[] }>;
    if (!row) throw new AuthError('auth_invitation_invalid');
    await requireCoversRoles(tx, viewer, tenantId, row.roles);
    await recordAudit(tx, now, { tenantId, userId: viewer.userId, subjectId: null, type: 'invitation_revoked', details: { invitation: invitationId, email: row.email }, client });
  });
}
