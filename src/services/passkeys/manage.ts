// A user's own passkeys: listing and deleting them.
import { Passkey } from '../../db/entities/passkey.entity.js';
import type { EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import { requireSecondFactorIfEnrolled } from '../sessions/caller.js';
import type { Viewer } from '../sessions/principal.js';
import { recordAudit } from '../shared/audit.js';
import { canonicalId } from '../shared/identifiers.js';
import { credentialsOf } from './ceremony.js';

export interface PasskeyInfo {
  id: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  deviceType: string;
  backedUp: boolean;
  transports: string[];
}

export const toPasskey = (c: Passkey): PasskeyInfo => ({
  id: c.id,
  name: c.name,
  createdAt: c.createdAt,
  lastUsedAt: c.lastUsedAt,
  deviceType: c.deviceType,
  backedUp: c.backedUp,
  transports: c.transports,
});


export async function listPasskeys(em: EntityManager, viewer: Viewer): Promise<PasskeyInfo[]> {
  return (await credentialsOf(em, viewer.userId)).map(toPasskey);
}

export async function deletePasskey(em: EntityManager, viewer: Viewer, id: string, now = new Date()): Promise<void> {
  // Removing a way in needs what adding one needs: else a session the password alone opened
  // could remove the passkey, then add its own as the "first" (SPEC §15).
  await requireSecondFactorIfEnrolled(em, viewer);
  const passkeyId = canonicalId(id);
  const gone = passkeyId
    ? ((await em.execute('delete from webauthn_credentials where id = ? and user_id = ? returning tenant_id, name', [passkeyId, viewer.userId])) as Array<{ tenant_id: string; name: string }>)
    : [];
  if (gone.length === 0) throw new AuthError('auth_webauthn_credential_not_found');
  await recordAudit(em, now, { tenantId: gone[0].tenant_id, userId: viewer.userId, sessionId: viewer.sessionId, type: 'passkey_removed', details: { passkeyId, name: gone[0].name } });
}

