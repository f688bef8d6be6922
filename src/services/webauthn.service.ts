// Passkeys with @simplewebauthn/server, plus the checks the library leaves to us:
// challenges kept in the database and consumed atomically by the first verification
// attempt; the credential must belong to the tenant (and to the user the options were
// for), userHandle must match; the new counter is stored only after success, and a
// counter regression is refused and recorded as a possible cloned authenticator.
import { createHmac } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { isoBase64URL, parseAuthenticatorData } from '@simplewebauthn/server/helpers';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { transactional, type EntityManager } from '../db/orm.js';
import { AuditEvent } from '../db/entities/audit-event.entity.js';
import { Tenant } from '../db/entities/tenant.entity.js';
import { User } from '../db/entities/user.entity.js';
import { WebauthnChallenge, type ChallengeKind } from '../db/entities/webauthn-challenge.entity.js';
import { WebauthnCredential } from '../db/entities/webauthn-credential.entity.js';
import { AuthError } from '../errors/auth-error.js';
import type { ServiceDeps } from './deps.js';
import { normaliseEmail } from './login.service.js';
import { limited, type Client } from './rate-limit.service.js';
import { principalOf, requireRecentAuthentication, startSession, type AuthPayload, type Viewer } from './session.service.js';

export interface Passkey {
  id: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  deviceType: string;
  backedUp: boolean;
  transports: string[];
}

const toPasskey = (c: WebauthnCredential): Passkey => ({
  id: c.id,
  name: c.name,
  createdAt: c.createdAt,
  lastUsedAt: c.lastUsedAt,
  deviceType: c.deviceType,
  backedUp: c.backedUp,
  transports: c.transports,
});

/** The WebAuthn user handle: the 16 bytes of the user's UUID (no e-mail or other PII). */
export function userHandleOf(userId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(userId.replace(/-/g, ''), 'hex'));
}

/** What every ceremony must match: our challenge, our origins and RP ID, and user verification when required. */
const pinned = (deps: ServiceDeps, challenge: string) => ({
  expectedChallenge: challenge,
  expectedOrigin: deps.config.webauthn.origins,
  expectedRPID: deps.config.webauthn.rpId,
  requireUserVerification: deps.config.webauthn.userVerification === 'required',
});

const fail = (cause?: unknown, event?: string) => new AuthError('auth_webauthn_verification_failed', { cause, event });

/** What our challenges look like (base64url, as @simplewebauthn/server makes them). */
const CHALLENGE_FORMAT = /^[A-Za-z0-9_-]{16,128}$/;

/**
 * The challenge a response answers, read from its clientDataJSON. Anything that is not the
 * shape of one of ours is unknown without a lookup (a NUL smuggled inside the base64url
 * must not reach the database as a failed query).
 */
function challengeOf(response: { response?: { clientDataJSON?: unknown } }): string {
  let challenge: unknown;
  try {
    challenge = JSON.parse(Buffer.from(String(response.response?.clientDataJSON), 'base64url').toString('utf8')).challenge;
  } catch {
    throw fail();
  }
  if (typeof challenge !== 'string' || challenge === '') throw fail();
  if (!CHALLENGE_FORMAT.test(challenge)) throw new AuthError('auth_webauthn_challenge_invalid');
  return challenge;
}

async function storeChallenge(
  em: EntityManager,
  deps: ServiceDeps,
  challenge: string,
  kind: ChallengeKind,
  owner: { tenantId: string | null; userId: string | null },
): Promise<void> {
  const now = deps.now();
  em.create(WebauthnChallenge, {
    challenge,
    kind,
    ...owner,
    createdAt: now,
    expiresAt: new Date(now.getTime() + deps.config.webauthn.challengeTtl * 1000),
  });
  await em.flush();
}

/**
 * Single use: DELETE ... RETURNING in its own statement, so the first verification
 * attempt consumes the challenge whatever happens next, and two attempts cannot both get it.
 */
interface ConsumedChallenge {
  challenge: string;
  tenantId: string | null;
  userId: string | null;
}

async function consumeChallenge(em: EntityManager, deps: ServiceDeps, challenge: string, kind: ChallengeKind): Promise<ConsumedChallenge> {
  const rows: Array<{ tenant_id: string | null; user_id: string | null; expires_at: Date }> = await em.execute(
    'delete from webauthn_challenges where challenge = ? and kind = ? returning tenant_id, user_id, expires_at',
    [challenge, kind],
  );
  const row = rows[0];
  if (!row || new Date(row.expires_at) <= deps.now()) throw new AuthError('auth_webauthn_challenge_invalid');
  return { challenge, tenantId: row.tenant_id, userId: row.user_id };
}

async function credentialsOf(em: EntityManager, userId: string): Promise<WebauthnCredential[]> {
  return em.find(WebauthnCredential, { user: userId }, { orderBy: { createdAt: 'asc' } });
}

/** Options store a challenge row each: every request counts against the address. */
const countOptions = (deps: ServiceDeps, client: Client) => deps.limiter.consume([['webauthn_options_address', client.ip]]);

const VERIFY_FAILURES = ['auth_webauthn_verification_failed', 'auth_webauthn_challenge_invalid'];

export async function registrationOptions(em: EntityManager, deps: ServiceDeps, viewer: Viewer, client: Client): Promise<PublicKeyCredentialCreationOptionsJSON> {
  // Adding a way to sign in needs a recent proof: a stolen, long-lived session cannot plant a passkey.
  requireRecentAuthentication(deps, viewer);
  await countOptions(deps, client);
  const { webauthn } = deps.config;
  const user = await em.findOneOrFail(User, { id: viewer.id }, { populate: ['tenant'] });
  const existing = await credentialsOf(em, user.id);
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
  deps: ServiceDeps,
  viewer: Viewer,
  response: RegistrationResponseJSON,
  name: string | undefined,
  client: Client,
): Promise<Passkey> {
  return limited(deps.limiter, [['webauthn_verify_address', client.ip]], VERIFY_FAILURES, () => storeRegistration(em, deps, viewer, response, name));
}

async function storeRegistration(
  em: EntityManager,
  deps: ServiceDeps,
  viewer: Viewer,
  response: RegistrationResponseJSON,
  name: string | undefined,
): Promise<Passkey> {
  const challenge = await consumeChallenge(em, deps, challengeOf(response), 'registration');
  if (challenge.userId !== viewer.id) throw new AuthError('auth_webauthn_challenge_invalid');

  let verified;
  try {
    verified = await verifyRegistrationResponse({ response, ...pinned(deps, challenge.challenge) });
  } catch (e) {
    throw fail(e);
  }
  if (!verified.verified) throw fail();
  const info = verified.registrationInfo;
  const user = await em.findOneOrFail(User, { id: viewer.id }, { populate: ['tenant'] });
  try {
    return await transactional(em, async (tx) => {
      const credential = tx.create(WebauthnCredential, {
        tenant: tx.getReference(Tenant, user.tenant.id),
        user: tx.getReference(User, user.id),
        credentialId: info.credential.id,
        publicKey: Buffer.from(info.credential.publicKey),
        counter: String(info.credential.counter),
        transports: info.credential.transports ?? response.response.transports ?? [],
        deviceType: info.credentialDeviceType,
        backedUp: info.credentialBackedUp,
        userHandle: isoBase64URL.fromBuffer(userHandleOf(user.id)),
        name: name?.trim() || 'passkey',
        createdAt: deps.now(),
      });
      return toPasskey(credential);
    });
  } catch (e) {
    // The same authenticator credential registered twice in this tenant.
    if (e instanceof UniqueConstraintViolationException) throw fail(e);
    throw e;
  }
}

// One query whatever the account: the tenant, the user and their credentials, or nothing.
// Known, unknown and discoverable requests cost the same round trips (this one, then the
// challenge's insert), so timing does not tell them apart either.
const OPTIONS_SELECT = `
select t.id as tenant_id, u.id as user_id, c.credential_id, c.transports
  from (select 1) as one
  left join tenants t on t.slug = ?
  left join users u on u.tenant_id = t.id and u.email = ?
  left join webauthn_credentials c on c.user_id = u.id
 order by c.created_at`;

// Decoys are drawn from what real accounts look like: most hold one passkey, some two or
// three; ids of 16 bytes (platform authenticators), 32, 48 or 64 (security keys); transports
// as browsers report them (sorted).
const DECOY_COUNTS = [1, 1, 1, 1, 1, 2, 2, 3];
const DECOY_ID_BYTES = [16, 16, 32, 32, 32, 48, 64];
const DECOY_TRANSPORTS = [['hybrid', 'internal'], ['internal'], ['hybrid', 'internal'], ['usb'], ['nfc', 'usb'], ['hybrid'], ['hybrid', 'usb'], ['internal']];

/** Credentials for an account that has none (or does not exist): stable per address, varied across addresses. */
export function decoyCredentials(secretKey: string, tenant: string, email: string): Array<{ id: string; transports: string[] }> {
  const draw = (label: string) => createHmac('sha256', secretKey).update(`webauthn-decoy\u0000${label}\u0000${tenant}\u0000${email}`).digest();
  const shape = draw('shape');
  const count = DECOY_COUNTS[shape[0] % DECOY_COUNTS.length];
  return Array.from({ length: count }, (_, i) => {
    const bytes = DECOY_ID_BYTES[shape[1 + i] % DECOY_ID_BYTES.length];
    const id = Buffer.concat([draw(`id-${i}-a`), draw(`id-${i}-b`)]).subarray(0, bytes).toString('base64url');
    return { id, transports: DECOY_TRANSPORTS[shape[8 + i] % DECOY_TRANSPORTS.length] };
  });
}

/**
 * Options for a passkey login. With an e-mail: allowCredentials of that user. Without:
 * a discoverable-credential request. An unknown tenant or e-mail, or an account without
 * passkeys, gets decoy credentials shaped like a real account's (the same every time for the
 * same address), so options never tell whether an account exists.
 */
export async function loginOptions(
  em: EntityManager,
  deps: ServiceDeps,
  input: { tenant: string; email?: string | null },
  client: Client,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  await countOptions(deps, client);
  const { webauthn, secretKey } = deps.config;
  const email = input.email ? normaliseEmail(input.email) : null;
  const rows = (await em.execute(OPTIONS_SELECT, [input.tenant, email])) as Array<{
    tenant_id: string | null;
    user_id: string | null;
    credential_id: string | null;
    transports: string[] | null;
  }>;
  const tenantId = rows[0]?.tenant_id ?? null;
  const userId = email ? (rows[0]?.user_id ?? null) : null;
  let allow: Array<{ id: string; transports?: string[] }> | undefined;
  if (email) {
    const real = rows.filter((r) => r.credential_id !== null).map((r) => ({ id: r.credential_id!, transports: r.transports ?? [] }));
    allow = real.length ? real : decoyCredentials(secretKey, input.tenant, email);
  }
  const options = await generateAuthenticationOptions({
    rpID: webauthn.rpId,
    allowCredentials: allow as Parameters<typeof generateAuthenticationOptions>[0]['allowCredentials'],
    userVerification: webauthn.userVerification,
    timeout: webauthn.challengeTtl * 1000,
  });
  await storeChallenge(em, deps, options.challenge, 'authentication', { tenantId, userId });
  return options;
}

export async function verifyLogin(
  em: EntityManager,
  deps: ServiceDeps,
  input: { tenant: string; response: AuthenticationResponseJSON },
  client: Client,
): Promise<AuthPayload> {
  return limited(deps.limiter, [['webauthn_verify_address', client.ip]], VERIFY_FAILURES, () => assertionLogin(em, deps, input));
}

async function assertionLogin(em: EntityManager, deps: ServiceDeps, input: { tenant: string; response: AuthenticationResponseJSON }): Promise<AuthPayload> {
  const { response } = input;
  const challenge = await consumeChallenge(em, deps, challengeOf(response), 'authentication');
  const tenant = await em.findOne(Tenant, { slug: input.tenant });
  // Options asked for one tenant cannot be spent in another.
  if (!tenant || challenge.tenantId !== tenant.id) throw new AuthError('auth_webauthn_challenge_invalid');
  if (typeof response.id !== 'string' || response.id === '') throw fail();

  const credential = await em.findOne(
    WebauthnCredential,
    { tenant, credentialId: response.id },
    { populate: ['user', 'user.tenant', 'user.roles.permissions'] },
  );
  if (!credential) throw fail();
  // The e-mail flow names its user: another user's credential cannot answer it.
  if (challenge.userId !== null && credential.user.id !== challenge.userId) throw fail();
  const handle = response.response?.userHandle;
  if (handle !== undefined && handle !== null && handle !== credential.userHandle) throw fail();
  // A discoverable login has no e-mail: the authenticator must say whose credential it is.
  if (challenge.userId === null && !handle) throw fail();

  let verified;
  try {
    verified = await verifyAuthenticationResponse({
      response,
      ...pinned(deps, challenge.challenge),
      credential: {
        id: credential.credentialId,
        publicKey: new Uint8Array(credential.publicKey),
        counter: Number(credential.counter),
        transports: credential.transports,
      },
    });
  } catch (e) {
    const regressed = await recordCounterRegression(em, deps, credential, response, challenge.challenge, e as Error);
    throw fail(e, regressed ? 'webauthn_counter_regression' : undefined);
  }
  if (!verified.verified) throw fail();
  const user = credential.user;
  if (user.disabled) throw new AuthError('auth_login_account_disabled');

  const { newCounter, userVerified } = verified.authenticationInfo;
  // RFC 8176: a hardware-bound key, and the user verified on it (PIN or biometric).
  const amr = userVerified ? ['hwk', 'user'] : ['hwk'];
  return startSession(em, deps, principalOf(user), { method: 'webauthn', amr }, async (tx) => {
    // Stored only now, with the session: a failed login advances nothing.
    const updated = await tx.nativeUpdate(
      WebauthnCredential,
      { id: credential.id, counter: credential.counter },
      { counter: String(newCounter), lastUsedAt: deps.now() },
    );
    // Another login with the same counter won the race: treat this one as a replay.
    if (updated !== 1) throw fail();
  });
}

/**
 * The library refuses a counter that did not grow; we also keep an audit record, since
 * that is how a cloned authenticator shows itself. Answers whether it was that. The library
 * checks the counter before the signature, so the assertion is verified again without the
 * counter: only a correctly signed assertion from the credential's key (a clone) is recorded,
 * never an unsigned one that anybody could send to write audit rows and raise alarms.
 */
async function recordCounterRegression(
  em: EntityManager,
  deps: ServiceDeps,
  credential: WebauthnCredential,
  response: AuthenticationResponseJSON,
  challenge: string,
  cause: Error,
): Promise<boolean> {
  let counter: number;
  try {
    counter = parseAuthenticatorData(isoBase64URL.toBuffer(response.response.authenticatorData)).counter;
  } catch {
    return false;
  }
  const stored = Number(credential.counter);
  if (!((counter > 0 || stored > 0) && counter <= stored)) return false;
  try {
    const signed = await verifyAuthenticationResponse({
      response,
      ...pinned(deps, challenge),
      credential: { id: credential.credentialId, publicKey: new Uint8Array(credential.publicKey), counter: 0, transports: credential.transports },
    });
    if (!signed.verified) return false;
  } catch {
    return false;
  }
  em.create(AuditEvent, {
    tenantId: credential.user.tenant.id,
    userId: credential.user.id,
    type: 'webauthn_counter_regression',
    details: { credentialId: credential.id, storedCounter: stored, presentedCounter: counter, reason: cause.message },
    createdAt: deps.now(),
  });
  await em.flush();
  return true;
}

export async function listPasskeys(em: EntityManager, viewer: Viewer): Promise<Passkey[]> {
  return (await credentialsOf(em, viewer.id)).map(toPasskey);
}

export async function deletePasskey(em: EntityManager, viewer: Viewer, id: string): Promise<void> {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const deleted = uuid.test(id) ? await em.nativeDelete(WebauthnCredential, { id, user: viewer.id }) : 0;
  if (deleted === 0) throw new AuthError('auth_webauthn_credential_not_found');
}
