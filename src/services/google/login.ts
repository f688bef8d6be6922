// Google sign-in and linking: the gateway's rules on top of a verified ID token —
// email_verified, the tenant's `hd` restriction, and the (issuer, sub) link to a user.
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { AuditEvent } from '../../db/entities/audit-event.entity.js';
import { ExternalIdentity } from '../../db/entities/external-identity.entity.js';
import { Role } from '../../db/entities/role.entity.js';
import { Tenant } from '../../db/entities/tenant.entity.js';
import { User } from '../../db/entities/user.entity.js';
import { transactional, type EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ErrorCode } from '../../errors/catalog.js';
import type { ServiceDeps } from '../deps.js';
import { wayInAddedMail } from '../mail/messages.js';
import { enqueueMail } from '../mail/outbox.js';
import { limited, type Client } from '../rate-limits/limiter.js';
import { requireRecentAuthentication, requireSecondFactorIfEnrolled } from '../sessions/caller.js';
import { hasActiveFactor, loadPrincipal, type AuthPayload, type Viewer } from '../sessions/principal.js';
import { requireSecondStep } from '../mfa/second-step.js';
import { startSession } from '../sessions/start.js';
import { emitWebhook } from '../shared/webhook-events.js';
import { GOOGLE_ISSUER, type GoogleIdentity } from './verifier.js';
import { dropUnprovenCredentials } from '../users/claim.js';
import { domainOf, refuseWhereSsoEnforced } from '../sso/enforce.js';

/** What Google sign-in and linking touch. */
type GoogleDeps = Pick<ServiceDeps, 'config' | 'google' | 'limiter' | 'tokens' | 'now' | 'sessions' | 'apiKeys'>;

/**
 * Google is authoritative for an address it hosts: a consumer `@gmail.com` account, or a
 * Workspace account (`hd`) of the address's own domain. Only then does a verified Google
 * e-mail prove ownership of a user's address; anyone can open a Google account under any
 * other address and have Google mark it verified.
 */
export function googleOwnsEmail(id: Pick<GoogleIdentity, 'email' | 'hostedDomain'>): boolean {
  const domain = id.email.slice(id.email.lastIndexOf('@') + 1);
  return domain === 'gmail.com' || (id.hostedDomain !== undefined && id.hostedDomain === domain);
}

/** A tenant that lists Google domains admits only accounts of those domains. */
const admits = (tenant: Tenant, id: GoogleIdentity) =>
  tenant.googleDomains.length === 0 || (id.hostedDomain !== undefined && tenant.googleDomains.includes(id.hostedDomain));

/**
 * The user behind a verified Google identity in a tenant:
 * 1. an existing (issuer, sub) link decides alone;
 * 2. else a user of the tenant with the same e-mail is linked, if Google is authoritative for
 *    the address; otherwise auth_google_link_required (the user links from a session);
 * 3. else, if the tenant admits the account's hosted domain, a user is created with the
 *    tenant's default roles;
 * 4. else auth_google_account_not_allowed.
 * Concurrent first sign-ins race on the unique (tenant, issuer, subject) and (tenant, email)
 * constraints; the loser resolves again and finds the winner's link.
 * When step 2 proves the address of an account that never verified it, the account is taken
 * clean (SPEC §15): its password and every other credential somebody else could have set go.
 */
async function resolveUser(em: EntityManager, deps: Pick<ServiceDeps, 'now'>, tenant: Tenant, id: GoogleIdentity): Promise<{ user: User; claimed: boolean }> {
  const linked = await em.findOne(ExternalIdentity, { tenant, issuer: GOOGLE_ISSUER, subject: id.subject }, { populate: ['user'] });
  if (linked) {
    return { user: await em.findOneOrFail(User, { id: linked.user.id }), claimed: false };
  }
  return transactional(em, async (tx) => {
    let user: User | null = await tx.findOne(User, { tenant, email: id.email });
    let claimed = false;
    if (user) {
      if (!googleOwnsEmail(id)) throw new AuthError('auth_google_link_required');
      // Google is authoritative for the address: that proves it as a mailed link would, and
      // whatever a squatter set before the owner arrived goes.
      claimed = await claimAddress(tx, deps.now(), user.id);
    } else {
      if (!id.hostedDomain || !tenant.googleDomains.includes(id.hostedDomain)) throw new AuthError('auth_google_account_not_allowed');
      user = tx.create(User, { tenant, email: id.email, passwordHash: null, createdAt: deps.now(), updatedAt: deps.now() });
      user.roles.set(tenant.defaultRoles.length ? await tx.find(Role, { tenant, name: { $in: tenant.defaultRoles } }, { populate: ['permissions'] }) : []);
      // Written first: the message's body reads the new user's address.
      await tx.flush();
      await emitWebhook(tx, deps.now(), tenant.id, user.id, 'user.created', { via: 'google' });
    }
    link(tx, deps, tenant, user, id, 'google_linked_by_email');
    return { user, claimed };
  });
}

/** Marks an unverified address verified, clearing its password and the rest (SPEC §15); false when it was verified already. */
async function claimAddress(tx: EntityManager, now: Date, userId: string): Promise<boolean> {
  const rows = (await tx.execute('update users set email_verified = true, password_hash = null, updated_at = ? where id = ? and not email_verified returning id', [now, userId])) as unknown[];
  if (!rows.length) return false;
  await dropUnprovenCredentials(tx, now, userId, 'google');
  return true;
}

function link(tx: EntityManager, deps: Pick<ServiceDeps, 'now'>, tenant: Tenant, user: User, id: GoogleIdentity, how: string): ExternalIdentity {
  const now = deps.now();
  const identity = tx.create(ExternalIdentity, { tenant, user, issuer: GOOGLE_ISSUER, subject: id.subject, emailAtLink: id.email, createdAt: now });
  tx.create(AuditEvent, { tenantId: tenant.id, userId: user.id, subjectId: user.id, type: 'google_linked', details: { identityId: identity.id, how }, createdAt: now });
  return identity;
}

const GOOGLE_FAILURES: ErrorCode[] = [
  'auth_google_token_invalid',
  'auth_google_email_unverified',
  'auth_google_account_not_allowed',
  'auth_google_link_required',
];

/** `nonce`: the token must carry it (the hosted sign-in's, bound to its interaction; SPEC §12). */
export async function loginWithGoogle(em: EntityManager, deps: GoogleDeps, input: { tenant: string; idToken: string; nonce?: string }, client: Client): Promise<AuthPayload> {
  return limited(deps.limiter, [['google_address', client.ip]], GOOGLE_FAILURES, () => signIn(em, deps, input, client));
}

async function signIn(em: EntityManager, deps: GoogleDeps, input: { tenant: string; idToken: string; nonce?: string }, client: Client): Promise<AuthPayload> {
  const identity = await deps.google.verify(input.idToken);
  if (input.nonce !== undefined && identity.nonce !== input.nonce) throw new AuthError('auth_google_token_invalid');
  if (!identity.emailVerified) throw new AuthError('auth_google_email_unverified');
  const tenant = await em.findOne(Tenant, { slug: input.tenant });
  if (!tenant || !admits(tenant, identity)) throw new AuthError('auth_google_account_not_allowed');
  await refuseWhereSsoEnforced(em, { id: tenant.id }, identity.email);

  let resolved: { user: User; claimed: boolean };
  try {
    resolved = await resolveUser(em, deps, tenant, identity);
  } catch (e) {
    if (!(e instanceof UniqueConstraintViolationException)) throw e;
    // Another first sign-in of the same account (or e-mail) won: its link decides.
    resolved = await resolveUser(em.fork(), deps, tenant, identity);
  }
  const { user } = resolved;
  if (resolved.claimed) {
    deps.sessions.forgetUser(user.id);
    deps.apiKeys.forgetUser(user.id);
  }
  const principal = await loadPrincipal(em, user.id);
  if (!principal) throw new AuthError('auth_google_account_not_allowed');
  if (principal.disabled) throw new AuthError('auth_login_account_disabled');
  // The user's own address decides too: a Google account linked to an enforced address is no way
  // around SSO (the same domain as the Google address was judged above).
  if (domainOf(principal.email) !== domainOf(identity.email)) await refuseWhereSsoEnforced(em, { id: tenant.id }, principal.email);
  const proof = { method: 'google' as const, amr: ['fed'], client };
  if (await hasActiveFactor(em, principal.userId)) await requireSecondStep(em, deps, principal, proof);
  return startSession(em, deps, principal, proof);
}

export interface LinkedIdentity {
  id: string;
  provider: 'google';
  subject: string;
  email: string;
  createdAt: Date;
}

const linked = (i: ExternalIdentity): LinkedIdentity => ({ id: i.id, provider: 'google', subject: i.subject, email: i.emailAtLink, createdAt: i.createdAt });

/**
 * Link a Google account to the signed-in user (a session with recent authentication): the
 * way in for an address Google is not authoritative for. Linking the same account again is
 * a no-op; an account linked to another user of the tenant is auth_google_link_conflict.
 */
export async function linkGoogle(em: EntityManager, deps: GoogleDeps & Pick<ServiceDeps, 'mailer'>, viewer: Viewer, idToken: string, client: Client): Promise<LinkedIdentity> {
  requireRecentAuthentication(deps, viewer);
  // A session restricted by mfa_required_roles may add only a strong first way in (a TOTP
  // factor or a passkey): a Google link would outlive a reset of the password it came from.
  if (viewer.mfaRequired) throw new AuthError('auth_reauthentication_required');
  await requireSecondFactorIfEnrolled(em, viewer);
  return limited(deps.limiter, [['google_address', client.ip]], [...GOOGLE_FAILURES, 'auth_google_link_conflict'], async () => {
    const identity = await deps.google.verify(idToken);
    if (!identity.emailVerified) throw new AuthError('auth_google_email_unverified');
    const user = await em.findOneOrFail(User, { id: viewer.userId }, { populate: ['tenant'] });
    if (!admits(user.tenant, identity)) throw new AuthError('auth_google_account_not_allowed');
    const existing = () => em.fork().findOne(ExternalIdentity, { tenant: user.tenant, issuer: GOOGLE_ISSUER, subject: identity.subject }, { populate: ['user'] });
    const decide = (found: ExternalIdentity) => {
      if (found.user.id !== user.id) throw new AuthError('auth_google_link_conflict');
      return linked(found);
    };
    const before = await existing();
    if (before) return decide(before);
    try {
      const made = await transactional(em, async (tx) => {
        const identityRow = link(tx, deps, user.tenant, tx.getReference(User, user.id), identity, 'explicit');
        // The owner hears of a new way in, whoever added it.
        await enqueueMail(tx, deps, { tenantId: user.tenant.id, ...wayInAddedMail(user.email, { id: user.tenant.id, name: user.tenant.name, app_url: user.tenant.appUrl }, { google: identity.email }) });
        return identityRow;
      });
      deps.mailer?.wake();
      return linked(made);
    } catch (e) {
      if (!(e instanceof UniqueConstraintViolationException)) throw e;
      // A concurrent link of the same account won.
      const winner = await existing();
      if (!winner) throw e;
      return decide(winner);
    }
  });
}
