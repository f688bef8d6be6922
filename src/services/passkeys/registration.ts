// Registering a passkey: creation options for a signed-in user with recent authentication,
// then the authenticator's response verified and stored.
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { PublicKeyCredentialCreationOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { Tenant } from '../../db/entities/tenant.entity.js';
import { User } from '../../db/entities/user.entity.js';
import { Passkey } from '../../db/entities/passkey.entity.js';
import { transactional, type EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ServiceDeps } from '../deps.js';
import { limited, type Client } from '../rate-limits/limiter.js';
import { revokeSessions } from '../sessions/end.js';
import { requireFirstWayIn, requireRecentAuthentication, requireSecondFactorIfEnrolled } from '../sessions/caller.js';
import type { Viewer } from '../sessions/principal.js';
import { challengeOf, consumeChallenge, countOptions, credentialsOf, fail, pinned, storeChallenge, userHandleOf, VERIFY_FAILURES, webauthnLibrary } from './ceremony.js';
import { toPasskey, type PasskeyInfo } from './manage.js';
import { recordAudit } from '../shared/audit.js';
import { enqueueMail } from '../mail/outbox.js';
import { wayInAddedMail } from '../mail/messages.js';

/** What registering a passkey touches. */
type RegistrationDeps = Pick<ServiceDeps, 'config' | 'limiter' | 'now' | 'sessions' | 'mailer'>;

export async function registrationOptions(em: EntityManager, deps: RegistrationDeps, viewer: Viewer, client: Client): Promise<PublicKeyCredentialCreationOptionsJSON> {
  // Adding a way to sign in needs a recent proof: a stolen, long-lived session cannot plant a passkey.
  requireRecentAuthentication(deps, viewer);
  await requireSecondFactorIfEnrolled(em, viewer);
  await countOptions(deps, client);
  const { webauthn } = deps.config;
  const user = await em.findOneOrFail(User, { id: viewer.userId }, { populate: ['tenant'] });
  const existing = await credentialsOf(em, user.id);
  const { generateRegistrationOptions } = await webauthnLibrary();
  const options = await generateRegistrationOptions({
    rpName: webauthn.rpName,
    rpID: webauthn.rpId,
    userName: user.email,
    userDisplayName: user.email,
    userID: userHandleOf(user.id),
    timeout: webauthn.challengeTtl * 1000,
    attestationType: 'none',
    excludeCredentials: existing.map((c) => ({ id: c.credentialId, transports: c.transports })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: webauthn.userVerification },
  });
  await storeChallenge(em, deps, options.challenge, 'registration', { tenantId: user.tenant.id, userId: user.id });
  return options;
}

export async function verifyRegistration(
  em: EntityManager,
  deps: RegistrationDeps,
  viewer: Viewer,
  response: RegistrationResponseJSON,
  name: string | undefined,
  client: Client,
): Promise<PasskeyInfo> {
  return limited(deps.limiter, [['webauthn_verify_address', client.ip]], VERIFY_FAILURES, () => storeRegistration(em, deps, viewer, response, name));
}

async function storeRegistration(
  em: EntityManager,
  deps: RegistrationDeps,
  viewer: Viewer,
  response: RegistrationResponseJSON,
  name: string | undefined,
): Promise<PasskeyInfo> {
  // The options' rules hold when the ceremony ends too: a challenge fetched earlier carries no right.
  requireRecentAuthentication(deps, viewer);
  const challenge = await consumeChallenge(em, deps, challengeOf(response), 'registration');
  if (challenge.userId !== viewer.userId) throw new AuthError('auth_webauthn_challenge_invalid');

  const { verifyRegistrationResponse } = await webauthnLibrary();
  let verified;
  try {
    verified = await verifyRegistrationResponse({ response, ...pinned(deps, challenge.challenge) });
  } catch (e) {
    throw fail(e);
  }
  if (!verified.verified) throw fail();
  const info = verified.registrationInfo;
  const user = await em.findOneOrFail(User, { id: viewer.userId }, { populate: ['tenant'] });
  try {
    const added = await transactional(em, async (tx) => {
      await requireFirstWayIn(tx, viewer);
      const credential = tx.create(Passkey, {
        tenant: tx.getReference(Tenant, user.tenant.id),
        user: tx.getReference(User, user.id),
        credentialId: info.credential.id,
        publicKey: Buffer.from(info.credential.publicKey),
        counter: String(info.credential.counter),
        transports: info.credential.transports ?? response.response.transports ?? [],
        deviceType: info.credentialDeviceType,
        backedUp: info.credentialBackedUp,
        userHandle: Buffer.from(userHandleOf(user.id)).toString('base64url'),
        name: name?.trim() || 'passkey',
        createdAt: deps.now(),
      });
      await recordAudit(tx, deps.now(), { tenantId: user.tenant.id, userId: user.id, sessionId: viewer.sessionId, type: 'passkey_added', details: { passkeyId: credential.id, name: credential.name } });
      // For a holder of a role that needs two factors the passkey is that factor: as when a TOTP
      // factor is turned on, the other sessions opened with one factor end.
      if (viewer.mfaRequired) await revokeSessions(tx, { user: user.id }, 'mfa_enrolled', deps.now(), viewer.sessionId);
      await enqueueMail(tx, deps, { tenantId: user.tenant.id, ...wayInAddedMail(user.email, { id: user.tenant.id, name: user.tenant.name, app_url: user.tenant.appUrl ?? null }, 'passkey') });
      return toPasskey(credential);
    });
    if (viewer.mfaRequired) deps.sessions.forgetUser(user.id);
    deps.mailer?.wake();
    return added;
  } catch (e) {
    // The same authenticator credential registered twice in this tenant.
    if (e instanceof UniqueConstraintViolationException) throw fail(e);
    throw e;
  }
}

