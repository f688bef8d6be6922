// What a mailed link's page may say before anything is spent: which kind of link it is,
// whether it still works, and for whom. Read-only: a look neither consumes, extends nor
// counts the token. The token is the secret (256 bits, kept only as a keyed hash), so the
// answer tells its holder no more than the mail that carried it did, and a guessed or
// forged token learns only `unknown`.
import type { EntityManager } from '../../db/orm.js';
import type { ServiceDeps } from '../deps.js';
import { isOpaqueToken, keyedHash } from '../shared/secrets.js';

export type LinkKind = 'verify_email' | 'reset_password' | 'invitation';

/**
 * `valid`: following the link works now (an invitation's inviter may still have lost the right
 * to grant its roles, which acceptance checks); `expired`; `used` (an accepted invitation);
 * `revoked` (a withdrawn invitation); `unknown`: forged, or a mailed token already spent or
 * replaced by a newer mail (those leave no row behind, so they cannot be told apart).
 */
export type LinkState = 'valid' | 'expired' | 'used' | 'revoked' | 'unknown';

export interface LinkInfo {
  kind: LinkKind | null;
  state: LinkState;
  /** The link's tenant: for a valid or expired link, so a page can pre-fill it. */
  tenant: { slug: string; name: string } | null;
  /** The address the link was mailed to: for a valid link only. */
  email: string | null;
  /** An invitation's inviter (as the mail named them): for a valid or expired invitation. */
  invitedBy: string | null;
  /** An invitation's roles: for a valid invitation. */
  roles: string[];
  expiresAt: Date | null;
}

const UNKNOWN: LinkInfo = { kind: null, state: 'unknown', tenant: null, email: null, invitedBy: null, roles: [], expiresAt: null };

type Found = {
  kind: LinkKind;
  slug: string;
  name: string;
  email: string;
  invited_by: string | null;
  roles: string[];
  expires_at: Date;
  accepted_at: Date | null;
  revoked_at: Date | null;
};

// One statement over both homes of mailed tokens: email_tokens (verification, reset) and
// invitations. A token hash is unique in each; a collision across them is 2^-256.
const FIND = `
select t.kind, te.slug, te.name, u.email, null as invited_by, '{}'::text[] as roles, t.expires_at, null::timestamptz as accepted_at, null::timestamptz as revoked_at
  from email_tokens t join users u on u.id = t.user_id join tenants te on te.id = t.tenant_id
 where t.token_hash = ?
union all
select 'invitation', te.slug, te.name, i.email, inviter.email, i.roles, i.expires_at, i.accepted_at, i.revoked_at
  from invitations i join tenants te on te.id = i.tenant_id left join users inviter on inviter.id = i.invited_by
 where i.token_hash = ?
limit 1`;

export async function inspectLink(em: EntityManager, deps: Pick<ServiceDeps, 'config' | 'now'>, token: string): Promise<LinkInfo> {
  if (!isOpaqueToken(token)) return UNKNOWN;
  const hash = keyedHash(deps.config.secretKey, token);
  const [found] = (await em.execute(FIND, [hash, hash])) as Found[];
  if (!found) return UNKNOWN;
  const state: LinkState = found.revoked_at ? 'revoked' : found.accepted_at ? 'used' : new Date(found.expires_at) <= deps.now() ? 'expired' : 'valid';
  const valid = state === 'valid';
  const named = valid || state === 'expired';
  return {
    kind: found.kind,
    state,
    tenant: named ? { slug: found.slug, name: found.name } : null,
    email: valid ? found.email : null,
    invitedBy: named ? found.invited_by : null,
    roles: valid ? found.roles : [],
    expiresAt: named ? new Date(found.expires_at) : null,
  };
}
