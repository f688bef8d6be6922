// A user's own ways to sign in: a password, passkeys, Google links; and unlinking Google,
// refused when it is the last way left.
import type { EntityManager } from '../../db/orm.js';
import { transactional } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import { requireSecondFactorIfEnrolled } from '../sessions/caller.js';
import type { LinkedIdentity } from '../google/login.js';
import type { ServiceDeps } from '../deps.js';
import { listPasskeys, type PasskeyInfo } from '../passkeys/manage.js';
import type { Viewer } from '../sessions/principal.js';
import { recordAudit } from '../shared/audit.js';
import { isUuid } from '../shared/identifiers.js';

export interface Identities {
  password: boolean;
  passkeys: PasskeyInfo[];
  google: LinkedIdentity[];
}

async function googleLinks(em: EntityManager, userId: string): Promise<LinkedIdentity[]> {
  const rows = (await em.execute('select id, subject, email_at_link, created_at from external_identities where user_id = ? order by created_at, id', [userId])) as Array<{
    id: string;
    subject: string;
    email_at_link: string;
    created_at: Date;
  }>;
  return rows.map((r) => ({ id: r.id, provider: 'google', subject: r.subject, email: r.email_at_link, createdAt: new Date(r.created_at) }));
}

export async function listIdentities(em: EntityManager, viewer: Viewer): Promise<Identities> {
  const [{ has_password }] = (await em.execute('select password_hash is not null as has_password from users where id = ?', [viewer.userId])) as Array<{ has_password: boolean }>;
  return { password: has_password, passkeys: await listPasskeys(em, viewer), google: await googleLinks(em, viewer.userId) };
}

export async function unlinkGoogle(em: EntityManager, deps: Pick<ServiceDeps, 'now'>, viewer: Viewer, id: string): Promise<void> {
  // Removing a way in needs what adding one needs (SPEC §15).
  await requireSecondFactorIfEnrolled(em, viewer);
  if (!isUuid(id)) throw new AuthError('auth_identity_not_found');
  await transactional(em, async (tx) => {
    // The user's row is locked: two unlinks at once cannot both think the other link remains.
    const [user] = (await tx.execute(
      `select u.tenant_id, u.password_hash is not null as has_password,
              (select count(*) from webauthn_credentials c where c.user_id = u.id)::int as passkeys,
              -- A Google link or an SSO link (the tenant's IdP signs the user in) is a way in.
              ((select count(*) from external_identities e where e.user_id = u.id) + (select count(*) from sso_identities s where s.user_id = u.id))::int as links,
              exists(select 1 from external_identities e where e.user_id = u.id and e.id = ?) as owns
         from users u where u.id = ? for update`,
      [id, viewer.userId],
    )) as Array<{ tenant_id: string; has_password: boolean; passkeys: number; links: number; owns: boolean }>;
    if (!user?.owns) throw new AuthError('auth_identity_not_found');
    if (!user.has_password && user.passkeys === 0 && user.links <= 1) throw new AuthError('auth_identity_last_method');
    await tx.execute('delete from external_identities where id = ?', [id]);
    await recordAudit(tx, deps.now(), { tenantId: user.tenant_id, userId: viewer.userId, sessionId: viewer.sessionId, type: 'google_unlinked', details: { identityId: id } });
  });
}
