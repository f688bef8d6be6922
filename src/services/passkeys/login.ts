// Signing in with a passkey: request options (with an e-mail, or discoverable), decoys for
// accounts without passkeys, and the assertion verified against the tenant's credential; the
// new counter is stored only with the session, and a regression is recorded as a clone.
import { createHmac } from 'node:crypto';
import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { AuditEvent } from '../../db/entities/audit-event.entity.js';
import { Tenant } from '../../db/entities/tenant.entity.js';
import { Passkey } from '../../db/entities/passkey.entity.js';
import type { EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ServiceDeps } from '../deps.js';
import { limited, type Client } from '../rate-limits/limiter.js';
import { hasActiveFactor, loadPrincipal, type AuthPayload } from '../sessions/principal.js';
import { startSession } from '../sessions/start.js';
import { refuseWhereSsoEnforced } from '../sso/enforce.js';
import { requireSecondStep } from '../mfa/second-step.js';
import { normaliseEmail } from '../shared/identifiers.js';
import { challengeOf, consumeChallenge, countOptions, fail, pinned, storeChallenge, VERIFY_FAILURES, webauthnLibrary } from './ceremony.js';

/** What a passkey sign-in touches. */
type PasskeyLoginDeps = Pick<ServiceDeps, 'config' | 'limiter' | 'tokens' | 'now'>;

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
  deps: PasskeyLoginDeps,
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
  const { generateAuthenticationOptions } = await webauthnLibrary();
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
  deps: PasskeyLoginDeps,
  input: { tenant: string; response: AuthenticationResponseJSON },
  client: Client,
): Promise<AuthPayload> {
  return limited(deps.limiter, [['webauthn_verify_address', client.ip]], VERIFY_FAILURES, () => assertionLogin(em, deps, input, client));
}

async function assertionLogin(
  em: EntityManager,
  deps: PasskeyLoginDeps,
  input: { tenant: string; response: AuthenticationResponseJSON },
  client: Client,
): Promise<AuthPayload> {
  const { response } = input;
  const challenge = await consumeChallenge(em, deps, challengeOf(response), 'authentication');
  const tenant = await em.findOne(Tenant, { slug: input.tenant });
  // Options asked for one tenant cannot be spent in another.
  if (!tenant || challenge.tenantId !== tenant.id) throw new AuthError('auth_webauthn_challenge_invalid');
  if (typeof response.id !== 'string' || response.id === '') throw fail();

  const credential = await em.findOne(Passkey, { tenant, credentialId: response.id }, { populate: ['user'] });
  if (!credential) throw fail();
  // The e-mail flow names its user: another user's credential cannot answer it.
  if (challenge.userId !== null && credential.user.id !== challenge.userId) throw fail();
  const handle = response.response?.userHandle;
  if (handle !== undefined && handle !== null && handle !== credential.userHandle) throw fail();
  // A discoverable login has no e-mail: the authenticator must say whose credential it is.
  if (challenge.userId === null && !handle) throw fail();

  const { verifyAuthenticationResponse } = await webauthnLibrary();
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
  const principal = await loadPrincipal(em, credential.user.id);
  if (!principal) throw fail();
  if (principal.disabled) throw new AuthError('auth_login_account_disabled');
  await refuseWhereSsoEnforced(em, { id: principal.tenantId }, principal.email);

  const { newCounter, userVerified } = verified.authenticationInfo;
  // RFC 8176: a hardware-bound key, and the user verified on it (PIN or biometric).
  const amr = userVerified ? ['hwk', 'user'] : ['hwk'];
  // Stored only with what the assertion earns (a session, or the second step): a failed login
  // advances nothing. Another login with the same counter won the race: this one is a replay.
  const storeCounter = async (tx: EntityManager) => {
    const updated = await tx.nativeUpdate(Passkey, { id: credential.id, counter: credential.counter }, { counter: String(newCounter), lastUsedAt: deps.now() });
    if (updated !== 1) throw fail();
  };
  // Without user verification a passkey is one factor: a user with a second factor takes the
  // TOTP step, as after a password (SPEC §15).
  if (!userVerified && (await hasActiveFactor(em, principal.userId))) {
    await storeCounter(em);
    await requireSecondStep(em, deps, principal, { method: 'webauthn', amr });
  }
  return startSession(em, deps, principal, { method: 'webauthn', amr, client }, storeCounter);
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
  deps: PasskeyLoginDeps,
  credential: Passkey,
  response: AuthenticationResponseJSON,
  challenge: string,
  cause: Error,
): Promise<boolean> {
  const { verifyAuthenticationResponse, helpers } = await webauthnLibrary();
  let counter: number;
  try {
    counter = helpers.parseAuthenticatorData(helpers.isoBase64URL.toBuffer(response.response.authenticatorData)).counter;
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
    tenantId: credential.tenant.id,
    userId: credential.user.id,
    subjectId: credential.user.id,
    type: 'webauthn_counter_regression',
    details: { credentialId: credential.id, storedCounter: stored, presentedCounter: counter, reason: cause.message },
    createdAt: deps.now(),
  });
  await em.flush();
  return true;
}

