// Refresh rotation (RFC 9700 4.14.2): every refresh marks the presented token rotated and
// issues its successor; a rotated token that comes back outside the grace rule revokes the
// whole session.
//
// Grace without plaintext: a successor is derived from its parent with a keyed hash,
// successor = HMAC(SECRET_KEY, "refresh-successor" || parent). Whoever presents the
// parent again can be handed the very same successor (two tabs, a lost response) without
// the database ever holding a usable token; without SECRET_KEY nobody can derive it.
import { randomUUID } from 'node:crypto';
import type { AuthMethod } from '../../db/entities/session.entity.js';
import { transactional, type EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import { executePrepared } from '../../db/prepared.js';
import type { ServiceDeps } from '../deps.js';
import { countedAfter, type CarriedCheck, type Client } from '../rate-limits/limiter.js';
import { isOpaqueToken, keyedHash, safeEqual } from '../shared/secrets.js';
import { GRANTS_SQL, principalOfRow, type AuthPayload, type PrincipalRow } from './principal.js';
import { tokenPayload } from './start.js';

export function deriveSuccessor(secretKey: string, parent: string): string {
  return keyedHash(secretKey, `refresh-successor\u0000${parent}`);
}


type RefreshDeps = Pick<ServiceDeps, 'config' | 'tokens' | 'limiter' | 'sessions' | 'now'>;

type RefreshOutcome = { kind: 'ok'; payload: AuthPayload } | { kind: 'reused'; sessionId: string };

/**
 * Exchange a refresh token for a new access token and its successor.
 * - First use: the token is marked rotated and its derived successor stored.
 * - Presented again within REFRESH_REUSE_GRACE while the successor is still current: the
 *   same successor again (nothing is written).
 * - Any other reuse: the whole session is revoked and recorded as a security event.
 * The first use is one statement (the rotation is conditional on the token being unrotated
 * and its session live, re-checked on the row after any wait). Anything else, and a first use
 * that lost a race, goes the careful way: a transaction that takes the session row's lock
 * first, so concurrent refreshes queue instead of conflicting, and see each other's rotation.
 */
export async function refreshSession(em: EntityManager, deps: RefreshDeps, presented: string, client: Client): Promise<AuthPayload> {
  return countedAfter(deps.limiter, [['refresh_address', client.ip]], ['auth_refresh_invalid', 'auth_refresh_reused'], (check) => rotate(em, deps, presented, client, check));
}

interface RefreshRow extends PrincipalRow {
  token_id: string;
  rotated_at: Date | null;
  token_expires_at: Date;
  session_id: string;
  revoked_at: Date | null;
  expires_at: Date;
  last_used_at: Date;
  auth_method: AuthMethod;
  auth_time: Date;
  amr: string[];
}

// A presented token with its session, user, tenant and grants.
const TOKEN_ROW = `
select t.id as token_id, t.rotated_at, t.expires_at as token_expires_at,
       s.id as session_id, s.revoked_at, s.expires_at, s.last_used_at, s.auth_method, s.auth_time, s.amr,
       u.id as user_id, u.email, u.disabled, te.id as tenant_id, te.slug,${GRANTS_SQL('u')}
  from refresh_tokens t
  join sessions s on s.id = t.session_id
  join users u on u.id = s.user_id
  join tenants te on te.id = s.tenant_id
 where t.token_hash = ?`;

// One round trip: the token row, its session and token locked (concurrent refreshes of a
// family queue here and then see each other's rotation), the grants reloaded so that a role
// change takes effect at the next refresh.
export const REFRESH_SELECT = `${TOKEN_ROW}
   for update of s, t`;

// The usual case in one round trip: the token row and, when the token is unrotated and its
// session live (re-checked on the rows after any wait: the update of an already rotated
// token, or of a session revoked meanwhile, changes nothing), the rotation itself.
// `rotated` says whether it happened. With the limits' spent check (`limits`: the
// `limit_spent` CTE, its parameters first), a spent address rotates nothing and `spent_until`
// says until when.
export const REFRESH_FIRST_USE = (limits?: string) => `
with ${limits ? `${limits},` : ''} cand as (${TOKEN_ROW}),
live as (
  select token_id, session_id from cand
   where rotated_at is null and revoked_at is null and not disabled and expires_at > ? and token_expires_at > ? and last_used_at > ?${limits ? '\n     and not exists (select 1 from limit_spent)' : ''}),
touched as (
  update sessions s set last_used_at = ?, ip = ?, user_agent = ? from live l
   where s.id = l.session_id and s.revoked_at is null returning s.id),
rotated as (
  update refresh_tokens t set rotated_at = ? from live l join touched x on x.id = l.session_id
   where t.id = l.token_id and t.rotated_at is null returning t.id, t.session_id),
successor as (
  insert into refresh_tokens (id, session_id, parent_id, token_hash, created_at, expires_at)
  select ?, r.session_id, r.id, ?, ?, cand.expires_at from rotated r join cand on cand.token_id = r.id returning id)
select cand.*, exists(select 1 from successor) as rotated${limits ? ', (select max(expire) from limit_spent) as spent_until' : ''} from cand`;

// Rotation in one statement: the token is marked, the session touched, the successor stored.
export const ROTATE = `
with rotated as (update refresh_tokens set rotated_at = ? where id = ?),
     touched as (update sessions set last_used_at = ?, ip = ?, user_agent = ? where id = ?)
insert into refresh_tokens (id, session_id, parent_id, token_hash, created_at, expires_at) values (?, ?, ?, ?, ?, ?)`;

// Reuse: the session (and with it every token of the family and its access tokens) ends, recorded.
const REVOKE_REUSED = `
with revoked as (update sessions set revoked_at = ?, revoked_reason = 'refresh_reused' where id = ?)
insert into audit_events (id, tenant_id, user_id, subject_id, session_id, type, details, created_at) values (?, ?, ?, ?, ?, 'auth_refresh_reused', ?, ?)`;

async function rotate(em: EntityManager, deps: RefreshDeps, presented: string, client: Client, limits?: CarriedCheck): Promise<AuthPayload> {
  const { config } = deps;
  if (!isOpaqueToken(presented)) throw new AuthError('auth_refresh_invalid');
  const tokenHash = keyedHash(config.secretKey, presented);
  const now = deps.now();

  const successor = deriveSuccessor(config.secretKey, presented);
  const successorHash = keyedHash(config.secretKey, successor);
  const idleSince = new Date(now.getTime() - config.sessionIdleTimeout * 1000);
  const [first] = await executePrepared<RefreshRow & { rotated: boolean; spent_until?: string | null }>(em, REFRESH_FIRST_USE(limits?.check.ctes), [
    ...(limits?.check.params ?? []),
    tokenHash,
    now,
    now,
    idleSince,
    now,
    client.ip,
    client.userAgent ?? null,
    now,
    randomUUID(),
    successorHash,
    now,
  ]);
  if (!first) throw new AuthError('auth_refresh_invalid');
  limits?.verdict(first.spent_until ?? null);
  if (first.rotated) {
    const session = { id: first.session_id, authMethod: first.auth_method, expiresAt: new Date(first.expires_at), authTime: new Date(first.auth_time), amr: first.amr };
    return tokenPayload(deps, principalOfRow(first), session, successor, now);
  }

  const outcome = await transactional<RefreshOutcome>(em, async (tx) => {
    const [row] = (await tx.execute(REFRESH_SELECT, [tokenHash])) as RefreshRow[];
    if (!row) throw new AuthError('auth_refresh_invalid');
    const expiresAt = new Date(row.expires_at);
    const idleUntil = new Date(row.last_used_at).getTime() + config.sessionIdleTimeout * 1000;
    // A dead token says nothing more, not even that its account is disabled.
    if (row.revoked_at || expiresAt <= now || new Date(row.token_expires_at) <= now || idleUntil <= now.getTime()) {
      throw new AuthError('auth_refresh_invalid');
    }
    if (row.disabled) throw new AuthError('auth_login_account_disabled');
    const principal = principalOfRow(row);
    const session = { id: row.session_id, authMethod: row.auth_method, expiresAt, authTime: new Date(row.auth_time), amr: row.amr };

    if (!row.rotated_at) {
      await tx.execute(ROTATE, [now, row.token_id, now, client.ip, client.userAgent ?? null, row.session_id, randomUUID(), row.session_id, row.token_id, successorHash, now, expiresAt]);
      return { kind: 'ok', payload: await tokenPayload(deps, principal, session, successor, now) };
    }

    const rotatedAt = new Date(row.rotated_at);
    const [child] = (await tx.execute('select rotated_at, expires_at, token_hash from refresh_tokens where parent_id = ?', [row.token_id])) as Array<{
      rotated_at: Date | null;
      expires_at: Date;
      token_hash: string;
    }>;
    const inGrace = now.getTime() - rotatedAt.getTime() <= config.refreshReuseGrace * 1000;
    if (inGrace && child && !child.rotated_at && new Date(child.expires_at) > now && safeEqual(child.token_hash, successorHash)) {
      return { kind: 'ok', payload: await tokenPayload(deps, principal, session, successor, now) };
    }

    // RFC 9700 4.14.2: a rotated refresh token came back; the family is compromised.
    const details = { tokenId: row.token_id, rotatedAt: rotatedAt.toISOString(), successorRotated: Boolean(child?.rotated_at) };
    await tx.execute(REVOKE_REUSED, [now, row.session_id, randomUUID(), row.tenant_id, row.user_id, row.user_id, row.session_id, JSON.stringify(details), now]);
    return { kind: 'reused', sessionId: row.session_id };
  });

  // Thrown after the commit, so the revocation and the audit event are kept.
  if (outcome.kind === 'reused') {
    deps.sessions.forgetSession(outcome.sessionId);
    throw new AuthError('auth_refresh_reused');
  }
  return outcome.payload;
}

