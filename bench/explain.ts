// The plans of the hot statements, as the gateway sends them (the same SQL constants, bound by
// the same driver), on the bench's data: EXPLAIN without ANALYZE, so nothing is changed.
import { randomUUID } from 'node:crypto';
import type { Db } from '../src/db/orm.js';
import { KEY_SELECT } from '../src/services/api-keys/verifier.js';
import { CONSUME, SETTLE, SPENT_CTE, TAKE_CTE } from '../src/services/rate-limits/limiter.js';
import { FAMILIES, familiesParams } from '../src/services/purge/rules.js';
import { LOGIN_SELECT_TAKING } from '../src/services/passwords/login.js';
import { SESSION_STATE_SELECT } from '../src/services/sessions/caller.js';
import { REFRESH_FIRST_USE, REFRESH_SELECT, ROTATE } from '../src/services/sessions/refresh.js';
import { START_SESSION } from '../src/services/sessions/start.js';

/** Tables that grow with users and sessions: a sequential scan of one of these is a finding. */
const BIG = ['users', 'sessions', 'refresh_tokens', 'api_keys', 'rate_limits', 'audit_events', 'user_roles'];

export interface Plan {
  name: string;
  plan: string;
  /** Sequential scans of the big tables in the plan. */
  seqScans: string[];
}

export async function explainHot(db: Db, sample: { tenantId: string; userId: string; sessionId: string; tokenHash: string; keyHash: string }): Promise<Plan[]> {
  const now = new Date();
  const later = new Date(now.getTime() + 86_400_000);
  const id = randomUUID;
  const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);
  const statements: Array<[string, string, unknown[]]> = [
    [
      'login: the limits taken (both keys) with the user, hash and grants',
      LOGIN_SELECT_TAKING(TAKE_CTE),
      ['{"login_account:a","login_address:b"}', `{${now.getTime() + 900_000},${now.getTime() + 900_000}}`, now.getTime(), now.getTime(), 'bench.test', 'bench', 'bench', 'user5@bench.test'],
    ],
    [
      'login: session, audit event and first refresh token',
      START_SESSION(),
      [sample.userId, '$argon2id$v=19$m=19456,t=2,p=1$verified', '$argon2id$v=19$m=19456,t=2,p=1$verified', id(), sample.tenantId, sample.userId, 'password', '{pwd}', now, now, now, later, '127.0.0.1', 'bench', id(), sample.tenantId, sample.userId, sample.userId, id(), '{}', now, '127.0.0.1', 'bench', id(), id(), 'x'.repeat(43), now, later],
    ],
    ['limited operations (and a failed refresh, after the fact): limits taken', CONSUME, ['{"refresh_address:b"}', `{${now.getTime() + 900_000}}`, now.getTime(), now.getTime()]],
    ['login and other limited operations: limits settled (a point back to its window, the account cleared)', SETTLE, ['{"login_account:a","login_address:b"}', `{${now.getTime() + 900_000},${now.getTime() + 900_000}}`, '{t,f}']],
    [
      'refresh: the address\'s limit checked, the token row and its rotation in one statement',
      REFRESH_FIRST_USE(SPENT_CTE),
      ['{"refresh_address:b"}', '{100}', now.getTime(), sample.tokenHash, now, now, ago(1_209_600), now, '127.0.0.1', 'bench', now, id(), 'z'.repeat(43), now],
    ],
    ['refresh, a token presented again: token, session, user and grants, locked', REFRESH_SELECT, [sample.tokenHash]],
    ['refresh, a token presented again: rotation', ROTATE, [now, id(), now, '127.0.0.1', 'bench', sample.sessionId, id(), sample.sessionId, id(), 'y'.repeat(43), now, later]],
    ['me (access token, cache miss): session state', SESSION_STATE_SELECT, [sample.sessionId]],
    ['me (API key, cache miss): key, user and grants', KEY_SELECT, [sample.keyHash]],
    // As the purge binds them at the defaults: dead for ACCESS_TOKEN_TTL + REFRESH_REUSE_GRACE + the clock skew, or idle for SESSION_IDLE_TIMEOUT more.
    ['purge: a batch of dead sessions and their tokens', FAMILIES, familiesParams([ago(970), ago(970), ago(970 + 1_209_600)], 1000)],
  ];
  const plans: Plan[] = [];
  const connection = db.em.getConnection();
  for (const [name, sql, params] of statements) {
    const rows = (await connection.execute(`explain (costs off) ${sql}`, params)) as Array<{ 'QUERY PLAN': string }>;
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    const seqScans = BIG.filter((t) => new RegExp(`Seq Scan on ${t}\\b`).test(plan));
    plans.push({ name, plan, seqScans });
  }
  return plans;
}
