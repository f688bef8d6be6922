// What both WebAuthn ceremonies share, beyond @simplewebauthn/server: challenges kept in the
// database and consumed atomically by the first verification attempt, the pinned origins,
// RP ID and user verification, and the user handle.
import { WebauthnChallenge, type ChallengeKind } from '../../db/entities/webauthn-challenge.entity.js';
import { Passkey } from '../../db/entities/passkey.entity.js';
import type { EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ErrorCode } from '../../errors/catalog.js';
import type { ServiceDeps } from '../deps.js';
import type { Client } from '../rate-limits/limiter.js';
import { lazy } from '../shared/lazy.js';

/** @simplewebauthn/server (about 5 MB of a process at rest), loaded by the first ceremony. */
export const webauthnLibrary = lazy(async () => ({ ...(await import('@simplewebauthn/server')), helpers: await import('@simplewebauthn/server/helpers') }));

/** The WebAuthn user handle: the 16 bytes of the user's UUID (no e-mail or other PII). */
export function userHandleOf(userId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(userId.replace(/-/g, ''), 'hex'));
}

/** What every ceremony must match: our challenge, our origins and RP ID, and user verification when required. */
export const pinned = (deps: Pick<ServiceDeps, 'config'>, challenge: string) => ({
  expectedChallenge: challenge,
  expectedOrigin: deps.config.webauthn.origins,
  expectedRPID: deps.config.webauthn.rpId,
  requireUserVerification: deps.config.webauthn.userVerification === 'required',
});

export const fail = (cause?: unknown, event?: string) => new AuthError('auth_webauthn_verification_failed', { cause, event });

/** What our challenges look like (base64url, as @simplewebauthn/server makes them). */
const CHALLENGE_FORMAT = /^[A-Za-z0-9_-]{16,128}$/;

/**
 * The challenge a response answers, read from its clientDataJSON. Anything that is not the
 * shape of one of ours is unknown without a lookup (a NUL smuggled inside the base64url
 * must not reach the database as a failed query).
 */
export function challengeOf(response: { response?: { clientDataJSON?: unknown } }): string {
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

export async function storeChallenge(
  em: EntityManager,
  deps: Pick<ServiceDeps, 'config' | 'now'>,
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

export async function consumeChallenge(em: EntityManager, deps: Pick<ServiceDeps, 'now'>, challenge: string, kind: ChallengeKind): Promise<ConsumedChallenge> {
  const rows: Array<{ tenant_id: string | null; user_id: string | null; expires_at: Date }> = await em.execute(
    'delete from webauthn_challenges where challenge = ? and kind = ? returning tenant_id, user_id, expires_at',
    [challenge, kind],
  );
  const row = rows[0];
  if (!row || new Date(row.expires_at) <= deps.now()) throw new AuthError('auth_webauthn_challenge_invalid');
  return { challenge, tenantId: row.tenant_id, userId: row.user_id };
}

export async function credentialsOf(em: EntityManager, userId: string): Promise<Passkey[]> {
  return em.find(Passkey, { user: userId }, { orderBy: { createdAt: 'asc' } });
}

/** Options store a challenge row each: every request counts against the address. */
export const countOptions = (deps: Pick<ServiceDeps, 'limiter'>, client: Client) => deps.limiter.consume([['webauthn_options_address', client.ip]]);

export const VERIFY_FAILURES: ErrorCode[] = ['auth_webauthn_verification_failed', 'auth_webauthn_challenge_invalid'];
