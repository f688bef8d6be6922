// Accepting an invitation: with a password, the user is created, verified, and signed in; an
// address that already has an account here accepts signed in, and the roles are added to it.
import { randomUUID } from 'node:crypto';
import { pgTextArray, transactional, type EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ServiceDeps } from '../deps.js';
import { checkPassword } from '../passwords/policy.js';
import type { Client } from '../rate-limits/limiter.js';
import { revokeSessions } from '../sessions/end.js';
import { currentPrincipal, loadPrincipal, type AuthPayload, type Viewer } from '../sessions/principal.js';
import { startSession } from '../sessions/start.js';
import { recordAudit } from '../shared/audit.js';
import { emitWebhook } from '../shared/webhook-events.js';
import { normaliseEmail } from '../shared/identifiers.js';
import { isOpaqueToken, keyedHash } from '../shared/secrets.js';
import { dropUnprovenCredentials } from '../users/claim.js';
import { refuseWhereSsoEnforced } from '../sso/enforce.js';
import { coversRoles, rolesByName } from '../users/manage.js';
import { COLUMNS, STATUS_SQL, type InvitationRow } from './manage.js';

type AcceptDeps = Pick<ServiceDeps, 'config' | 'passwords' | 'tokens' | 'now' | 'sessions' | 'apiKeys' | 'breaches'>;

/** How the acceptor is known: a new password, or the signed-in session of the invited address. */
export type Acceptor = { password: string } | { signedIn: () => Promise<Viewer> };

/**
 * Accept an invitation and answer the token response. With a password: the address must not
 * have a verified account here yet (signed-in acceptance is the way then: auth_unauthenticated);
 * the user is created verified with the invited roles (an unverified sign-up of the address is
 * taken over: the invitation proved the mailbox). Signed in (an access token, never an API key):
 * the invitation must be for the caller's address and tenant; the roles are added and the
 * session is replaced by one with the new roles (same method and authentication time).
 * The token is consumed atomically by the first acceptance; the inviter must still be allowed
 * to grant the roles. Unknown, expired, used, revoked, or not the caller's: auth_invitation_invalid.
 */
export async function acceptInvitation(em: EntityManager, deps: AcceptDeps, token: string, acceptor: Acceptor, client: Client): Promise<AuthPayload> {
  if (!isOpaqueToken(token)) throw new AuthError('auth_invitation_invalid');
  const tokenHash = keyedHash(deps.config.secretKey, token);
  // The caller first (a refused credential never looks at the token), then a cheap look at the
  // token before any password is hashed.
  const viewer = 'signedIn' in acceptor ? await acceptor.signedIn() : undefined;
  const [found] = (await em.execute(`select ${COLUMNS} from invitations i where i.token_hash = ? and ${STATUS_SQL.pending}`, [tokenHash, deps.now()])) as InvitationRow[];
  if (!found) throw new AuthError('auth_invitation_invalid');

  if (viewer) {
    const me = await currentPrincipal(em, viewer);
    if (me.tenantId !== found.tenant_id || normaliseEmail(me.email) !== found.email || !viewer.sessionId) throw new AuthError('auth_invitation_invalid');
    const payload = await transactional(em, async (tx) => {
      // The session being replaced, locked (a refresh of it waits, then finds it ended).
      const [current] = (await tx.execute('select expires_at from sessions where id = ? and revoked_at is null for update', [viewer.sessionId])) as Array<{ expires_at: Date }>;
      if (!current) throw new AuthError('auth_unauthenticated');
      const invitation = await consume(tx, deps, tokenHash);
      await grant(tx, deps, invitation, viewer.userId, client, false);
      await revokeSessions(tx, { id: viewer.sessionId! }, 'replaced', deps.now());
      const principal = (await loadPrincipal(tx, viewer.userId))!;
      // Accepting proves nothing new: the same method, authentication time and end of life.
      return startSession(tx, deps, principal, {
        method: viewer.authMethod,
        amr: viewer.amr,
        client,
        continues: { sessionId: viewer.sessionId!, authTime: new Date(viewer.authTime * 1000), expiresAt: new Date(current.expires_at) },
      });
    });
    deps.sessions.forgetSession(viewer.sessionId);
    deps.sessions.forgetUser(viewer.userId);
    return payload;
  }

  const { password } = acceptor as { password: string };
  // Where SSO is enforced for the address, no password account: the invitee signs in through SSO.
  await refuseWhereSsoEnforced(em, { id: found.tenant_id }, found.email);
  await checkPassword(deps, password, found.email);
  const passwordHash = await deps.passwords.hash(password);
  const { userId, payload } = await transactional(em, async (tx) => {
    const now = deps.now();
    // Consumed first: concurrent acceptances wait here, and all but the first find it used.
    const invitation = await consume(tx, deps, tokenHash);
    // A verified account of the address accepts signed in; an unverified one is taken over,
    // clean (SPEC §15): the invitation proved the mailbox, so whatever else was set goes.
    const [user] = (await tx.execute(
      `insert into users (id, tenant_id, email, password_hash, disabled, email_verified, created_at, updated_at) values (?, ?, ?, ?, false, true, ?, ?)
       on conflict (tenant_id, email) do update set password_hash = excluded.password_hash, email_verified = true, updated_at = excluded.updated_at
       where not users.email_verified and not users.disabled returning id, xmax <> 0 as existed`,
      [randomUUID(), invitation.tenant_id, invitation.email, passwordHash, now, now],
    )) as Array<{ id: string; existed: boolean }>;
    if (!user) {
      // A disabled account stays out, whoever holds the link; a verified one signs in first.
      const [existing] = (await tx.execute('select disabled from users where tenant_id = ? and email = ?', [invitation.tenant_id, invitation.email])) as Array<{ disabled: boolean }>;
      throw new AuthError(existing?.disabled ? 'auth_invitation_invalid' : 'auth_unauthenticated');
    }
    if (user.existed) await dropUnprovenCredentials(tx, now, user.id, 'invitation');
    await grant(tx, deps, invitation, user.id, client, true);
    const principal = (await loadPrincipal(tx, user.id))!;
    return { userId: user.id, payload: await startSession(tx, deps, principal, { method: 'password', amr: ['pwd'], client }) };
  });
  deps.sessions.forgetUser(userId);
  deps.apiKeys.forgetUser(userId);
  return payload;
}

/** Mark the invitation accepted: the first acceptance wins (the row is re-checked after any wait). */
async function consume(tx: EntityManager, deps: Pick<ServiceDeps, 'now'>, tokenHash: string): Promise<InvitationRow> {
  const now = deps.now();
  const [row] = (await tx.execute(`update invitations i set accepted_at = ? where i.token_hash = ? and ${STATUS_SQL.pending} returning ${COLUMNS}`, [
    now,
    tokenHash,
    now,
  ])) as InvitationRow[];
  if (!row) throw new AuthError('auth_invitation_invalid');
  return row;
}

/**
 * Add the invitation's roles (those that still exist) to the user, if its inviter is still an
 * enabled user of the tenant who may grant them; audited.
 */
async function grant(tx: EntityManager, deps: Pick<ServiceDeps, 'now'>, invitation: InvitationRow, userId: string, client: Client, newUser: boolean): Promise<void> {
  const inviter = await loadPrincipal(tx, invitation.invited_by);
  const roles = await rolesByName(tx, invitation.tenant_id, invitation.roles);
  const allowed = inviter && !inviter.disabled && inviter.tenantId === invitation.tenant_id && inviter.permissions.includes('users:manage') && coversRoles(inviter.permissions, roles);
  if (!allowed) throw new AuthError('auth_invitation_invalid');
  await tx.execute('update invitations set accepted_by = ? where id = ?', [userId, invitation.id]);
  if (roles.length) {
    await tx.execute('insert into user_roles (user_id, role_id) select ?, r.id from roles r where r.id = any(?::uuid[]) on conflict do nothing', [userId, pgTextArray(roles.map((r) => r.id))]);
    // Granted by an invitation: an SSO connection that granted them too no longer removes them.
    await tx.execute('delete from sso_role_grants where user_id = ? and role_id = any(?::uuid[])', [userId, pgTextArray(roles.map((r) => r.id))]);
  }
  if (newUser) await emitWebhook(tx, deps.now(), invitation.tenant_id, userId, 'user.created', { via: 'invitation' });
  await recordAudit(tx, deps.now(), {
    tenantId: invitation.tenant_id,
    userId,
    type: 'invitation_accepted',
    details: { invitation: invitation.id, invited_by: invitation.invited_by, roles: roles.map((r) => r.name), new_user: newUser },
    client,
  });
}
