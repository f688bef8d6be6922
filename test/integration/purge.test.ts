// The purge deletes exactly the expired and dead rows (challenges, rate-limit rows, mailed and mfa tokens, invitations, old API keys, never-verified sign-ups, dead sessions with their refresh tokens, old audit events, old sent and abandoned mail) in bounded batches, from several instances at once without errors, measured, and never a live session's rotated tokens.
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PurgeRun } from '../../src/services/purge/purge.js';
import { MAIL_RETENTION_MS, EXPIRED_LINKS_KEPT_MS, PURGE_CLOCK_SKEW_MS, PURGE_TABLES, type PurgeTable } from '../../src/services/purge/rules.js';
import { ACME, ADA, expectRestError, startTestGateway, type TestGateway } from '../helpers/gateway.js';

// Interval 0: no background runs, the tests trigger every run. Grace 0: presenting a rotated
// token twice is reuse at once. Small batches, so that runs take several.
// No mail sender polling: the mail rows of these tests are the test's own.
const ENV = { PURGE_INTERVAL_SECONDS: '0', PURGE_BATCH_SIZE: '10', REFRESH_REUSE_GRACE: '0', MAIL_POLL_INTERVAL_MS: '0' };
const MINUTE = 60_000;
const DAY = 86_400_000;

let gw: TestGateway;
/** Every distinct run of `gw` (the one whose /metrics the tests read). */
const runs = new Set<PurgeRun>();

beforeAll(async () => {
  gw = await startTestGateway({ env: ENV });
  await gw.seed(ACME);
});
afterAll(() => gw?.close());

const purge = async (g: TestGateway = gw) => {
  const run = await g.gateway.purge.runOnce();
  if (g === gw) runs.add(run);
  return run;
};
const ago = (ms: number) => new Date(Date.now() - ms);
/** How long a dead session is kept: until no token naming it can still verify by itself. */
const margin = () => (gw.config.accessTokenTtl + gw.config.refreshReuseGrace) * 1000 + PURGE_CLOCK_SKEW_MS;
const idle = () => gw.config.sessionIdleTimeout * 1000;
const count = async (sql: string, params: unknown[] = []) => (await gw.sql<{ n: number }>(`select count(*)::int as n from ${sql}`, params))[0].n;
const ids = async (sql: string, params: unknown[] = []) => (await gw.sql<{ id: string }>(sql, params)).map((r) => r.id);

const ada = ADA;
const refresh = (t: string) => gw.rest('POST', '/auth/refresh', { refresh_token: t });

/** A real session: a login and two refreshes, so its family holds two rotated tokens and the current one. */
async function family(): Promise<{ sid: string; tokens: string[] }> {
  const login = await gw.rest('POST', '/auth/login', ada);
  expect(login.status, JSON.stringify(login.body)).toBe(200);
  const tokens = [login.body.refresh_token as string];
  for (let i = 0; i < 2; i++) {
    const r = await refresh(tokens[tokens.length - 1]);
    expect(r.status).toBe(200);
    tokens.push(r.body.refresh_token);
  }
  return { sid: decodeJwt(login.body.access_token).sid as string, tokens };
}

/** `n` challenges, copies of a real one (made through the API) with their own challenge and expiry. */
async function challenges(n: number, expiresAt: Date): Promise<string[]> {
  const options = await gw.rest('POST', '/auth/webauthn/login/options', { tenant: 'acme' });
  expect(options.status).toBe(200);
  return ids(
    `insert into webauthn_challenges
     select (jsonb_populate_record(null::webauthn_challenges, to_jsonb(c) ||
             jsonb_build_object('id', gen_random_uuid(), 'challenge', gen_random_uuid()::text, 'expires_at', $2::timestamptz))).*
       from webauthn_challenges c, generate_series(1, $3) where c.challenge = $1
     returning id`,
    [options.body.challenge, expiresAt, n],
  );
}

async function rateLimitRows(n: number, expire: number | null): Promise<string[]> {
  const rows = await gw.sql<{ key: string }>(
    `insert into rate_limits (key, points, expire) select 'purge-test:' || gen_random_uuid(), 1, $1::bigint from generate_series(1, $2) returning key`,
    [expire, n],
  );
  return rows.map((r) => r.key);
}

async function auditEvents(n: number, createdAt: Date): Promise<string[]> {
  return ids(
    `insert into audit_events (id, tenant_id, type, details, created_at)
     select gen_random_uuid(), t.id, 'auth_refresh_reused', '{}', $1 from tenants t, generate_series(1, $2) where t.slug = 'acme' returning id`,
    [createdAt, n],
  );
}

/** `n` outbox rows in `status`, created at `createdAt` (pending ones due only tomorrow). */
async function mails(n: number, status: 'pending' | 'sent' | 'abandoned', createdAt: Date): Promise<string[]> {
  return ids(
    `insert into mail_outbox (id, tenant_id, kind, status, payload, attempts, next_attempt_at, created_at, sent_at)
     select gen_random_uuid(), null, 'verify_email', $1, null, 1, now() + interval '1 day', $2, case when $1 = 'sent' then $2::timestamptz end
       from generate_series(1, $3) returning id`,
    [status, createdAt, n],
  );
}

/** `n` webhook messages of a new endpoint of acme's in `status`, last due at `at` (finished ones: when they finished). */
async function webhookMessages(n: number, status: 'pending' | 'delivered' | 'failed', at: Date): Promise<string[]> {
  const [endpoint] = await gw.sql(
    "insert into webhook_endpoints (id, tenant_id, url, events, secret, created_at, updated_at) select gen_random_uuid(), id, 'http://127.0.0.1:9/x', '{*}', 'sealed', now(), now() from tenants where slug = 'acme' returning id",
  );
  return ids(
    `insert into webhook_messages (id, tenant_id, endpoint_id, type, payload, status, next_attempt_at, created_at)
     select 'msg_' || replace(gen_random_uuid()::text, '-', ''), e.tenant_id, e.id, 'user.disabled', '{}', $1, $2, $2 from webhook_endpoints e, generate_series(1, $3) where e.id = $4 returning id`,
    [status, at, n, endpoint.id],
  );
}

/**
 * `n` copies of session `template`, each with a family of three tokens (a chain of parents),
 * with `changes` applied to the sessions. Copies keep whatever columns sessions have.
 */
async function sessionCopies(template: string, n: number, changes: Record<string, unknown>): Promise<string[]> {
  const sids = await ids(
    `insert into sessions
     select (jsonb_populate_record(null::sessions, to_jsonb(s) || $2::jsonb || jsonb_build_object('id', gen_random_uuid()))).*
       from sessions s, generate_series(1, $3) where s.id = $1
     returning id`,
    [template, JSON.stringify(changes), n],
  );
  const [token] = await ids('select id from refresh_tokens where session_id = $1 limit 1', [template]);
  for (const sid of sids) {
    let parent: string | null = null;
    for (let i = 0; i < 3; i++) {
      [parent] = await ids(
        `insert into refresh_tokens
         select (jsonb_populate_record(null::refresh_tokens, to_jsonb(t) || jsonb_build_object(
                   'id', gen_random_uuid(), 'session_id', $2::uuid, 'parent_id', $3::uuid, 'token_hash', gen_random_uuid()::text))).*
           from refresh_tokens t where t.id = $1
         returning id`,
        [token, sid, parent],
      );
    }
  }
  return sids;
}

const ADA_ID = "(select u.id from users u join tenants t on t.id = u.tenant_id where t.slug = 'acme' and u.email = 'ada@acme.test')";
const ACME_ID = "(select id from tenants where slug = 'acme')";

async function emailTokens(n: number, expiresAt: Date): Promise<string[]> {
  return ids(
    `insert into email_tokens (id, tenant_id, user_id, kind, token_hash, created_at, expires_at)
     select gen_random_uuid(), ${ACME_ID}, ${ADA_ID}, 'reset_password', gen_random_uuid()::text, now(), $1 from generate_series(1, $2) returning id`,
    [expiresAt, n],
  );
}

async function mfaChallenges(n: number, expiresAt: Date): Promise<string[]> {
  return ids(
    `insert into mfa_challenges (id, tenant_id, user_id, token_hash, method, created_at, expires_at)
     select gen_random_uuid(), ${ACME_ID}, ${ADA_ID}, gen_random_uuid()::text, 'password', now(), $1 from generate_series(1, $2) returning id`,
    [expiresAt, n],
  );
}

/** An SSO connection of ACME's for the flows and codes below (made once). */
const CONNECTION = `(select id from sso_connections where name = 'purge-idp')`;
async function ssoConnection(): Promise<void> {
  await gw.sql(
    `insert into sso_connections (id, tenant_id, name, type, created_at, updated_at) select gen_random_uuid(), ${ACME_ID}, 'purge-idp', 'oidc', now(), now() on conflict do nothing`,
  );
}

async function ssoFlows(n: number, expiresAt: Date): Promise<string[]> {
  await ssoConnection();
  return ids(
    `insert into sso_flows (id, state_hash, connection_id, redirect_to, code_challenge, created_at, expires_at)
     select gen_random_uuid(), gen_random_uuid()::text, ${CONNECTION}, 'https://app.test/done', 'c', now(), $1 from generate_series(1, $2) returning id`,
    [expiresAt, n],
  );
}

async function ssoCodes(n: number, expiresAt: Date): Promise<string[]> {
  await ssoConnection();
  return ids(
    `insert into sso_codes (id, code_hash, user_id, connection_id, code_challenge, amr, created_at, expires_at)
     select gen_random_uuid(), gen_random_uuid()::text, ${ADA_ID}, ${CONNECTION}, 'c', '{fed}', now(), $1 from generate_series(1, $2) returning id`,
    [expiresAt, n],
  );
}

async function ssoAssertions(n: number, expiresAt: Date): Promise<string[]> {
  await ssoConnection();
  return ids(
    `insert into sso_assertions (id, connection_id, assertion_hash, expires_at)
     select gen_random_uuid(), ${CONNECTION}, gen_random_uuid()::text, $1 from generate_series(1, $2) returning id`,
    [expiresAt, n],
  );
}

async function oidcModels(n: number, expiresAt: Date): Promise<string[]> {
  return ids(
    `insert into oidc_models (tenant_id, model, id, payload, expires_at)
     select ${ACME_ID}, 'AccessToken', gen_random_uuid()::text, '{}', $1 from generate_series(1, $2) returning id`,
    [expiresAt, n],
  );
}

async function invitations(n: number, at: { expires: Date; accepted?: Date; revoked?: Date }): Promise<string[]> {
  return ids(
    `insert into invitations (id, tenant_id, email, token_hash, invited_by, created_at, expires_at, accepted_at, revoked_at)
     select gen_random_uuid(), ${ACME_ID}, 'invitee' || i || '@acme.test', gen_random_uuid()::text, ${ADA_ID}, $1::timestamptz - interval '7 days', $1, $2, $3
       from generate_series(1, $4) as i returning id`,
    [at.expires, at.accepted ?? null, at.revoked ?? null, n],
  );
}

async function apiKeys(n: number, at: { expires?: Date; revoked?: Date }): Promise<string[]> {
  return ids(
    `insert into api_keys (id, tenant_id, user_id, name, prefix, key_hash, scopes, created_at, expires_at, revoked_at)
     select gen_random_uuid(), ${ACME_ID}, ${ADA_ID}, 'k', 'agk_x', gen_random_uuid()::text, '{}', now() - interval '2 years', $1, $2 from generate_series(1, $3) returning id`,
    [at.expires ?? null, at.revoked ?? null, n],
  );
}

async function unverifiedUsers(n: number, createdAt: Date, verified = false): Promise<string[]> {
  return ids(
    `insert into users (id, tenant_id, email, password_hash, disabled, email_verified, created_at, updated_at)
     select gen_random_uuid(), ${ACME_ID}, 'signup' || gen_random_uuid() || '@acme.test', 'x', false, $3, $1, $1 from generate_series(1, $2) returning id`,
    [createdAt, n, verified],
  );
}

const tokensOf = (sids: string[]) => count('refresh_tokens where session_id = any($1)', [sids]);
const remaining = async (table: string, column: string, keys: string[]) =>
  (await gw.sql<{ k: string }>(`select ${column}::text as k from ${table} where ${column}::text = any($1)`, [keys])).map((r) => r.k);

describe('one run', () => {
  it('deletes exactly the expired and dead rows of every kind, and keeps the live ones', async () => {
    const skew = PURGE_CLOCK_SKEW_MS;
    // Sessions: a live one, dead ones past the margin, dead ones within it.
    const live = await family();
    const dead = { revoked: await family(), expired: await family(), idle: await family() };
    const recent = { revoked: await family(), expired: await family(), idle: await family() };
    const kill = async (s: { sid: string }, column: 'revoked_at' | 'expires_at' | 'last_used_at', at: Date) =>
      gw.sql(`update sessions set ${column} = $2 where id = $1`, [s.sid, at]);
    await kill(dead.revoked, 'revoked_at', ago(margin() + MINUTE));
    await kill(dead.expired, 'expires_at', ago(margin() + MINUTE));
    await kill(dead.idle, 'last_used_at', ago(idle() + margin() + MINUTE));
    await kill(recent.revoked, 'revoked_at', ago(margin() - MINUTE));
    await kill(recent.expired, 'expires_at', ago(margin() - MINUTE));
    await kill(recent.idle, 'last_used_at', ago(idle() + margin() - MINUTE));
    // The live session's rotated tokens are old: age alone must not get them purged.
    await gw.sql('update refresh_tokens set created_at = $2, rotated_at = $2 where session_id = $1 and rotated_at is not null', [live.sid, ago(idle() + margin() + DAY)]);
    const deadSids = Object.values(dead).map((s) => s.sid);
    const keptSids = [live.sid, ...Object.values(recent).map((s) => s.sid)];
    const deadTokens = await tokensOf(deadSids);
    const keptTokens = await tokensOf(keptSids);
    // The dead sessions' tokens already answer auth_refresh_invalid before the purge.
    expectRestError(await refresh(dead.revoked.tokens[2]), 'refresh', 'auth_refresh_invalid', 401);

    const oldChallenges = await challenges(3, ago(skew + MINUTE));
    const keptChallenges = [...(await challenges(2, ago(skew / 2))), ...(await challenges(2, new Date(Date.now() + MINUTE)))];
    const oldLimits = await rateLimitRows(3, Date.now() - skew - MINUTE);
    const keptLimits = [...(await rateLimitRows(2, Date.now() - skew / 2)), ...(await rateLimitRows(2, Date.now() + MINUTE)), ...(await rateLimitRows(1, null))];
    const retention = gw.config.purge.auditRetentionDays * DAY;
    const oldEvents = await auditEvents(3, ago(retention + DAY));
    const keptEvents = await auditEvents(2, ago(retention - DAY));

    const run = await purge();

    expect(run.failed).toEqual([]);
    expect(await ids('select id from sessions where id = any($1)', [deadSids])).toEqual([]);
    expect(await tokensOf(deadSids)).toBe(0);
    expect((await ids('select id from sessions where id = any($1)', [keptSids])).sort()).toEqual([...keptSids].sort());
    expect(await tokensOf(keptSids)).toBe(keptTokens);
    expect(await remaining('webauthn_challenges', 'id', oldChallenges)).toEqual([]);
    expect((await remaining('webauthn_challenges', 'id', keptChallenges)).sort()).toEqual([...keptChallenges].sort());
    expect(await remaining('rate_limits', 'key', oldLimits)).toEqual([]);
    expect((await remaining('rate_limits', 'key', keptLimits)).sort()).toEqual([...keptLimits].sort());
    expect(await remaining('audit_events', 'id', oldEvents)).toEqual([]);
    expect((await remaining('audit_events', 'id', keptEvents)).sort()).toEqual([...keptEvents].sort());
    // The run counted what it deleted (the database held nothing else expired).
    expect(run.deleted).toEqual({
      webauthn_challenges: oldChallenges.length,
      rate_limits: oldLimits.length,
      refresh_tokens: deadTokens,
      sessions: deadSids.length,
      audit_events: oldEvents.length,
      mail_outbox: 0,
      webhook_messages: 0,
      email_tokens: 0,
      mfa_challenges: 0,
      sso_flows: 0,
      sso_codes: 0,
      sso_assertions: 0,
      oidc_models: 0,
      invitations: 0,
      api_keys: 0,
      users: 0,
    });

    // A purged session's token answers what it answered before.
    expectRestError(await refresh(dead.revoked.tokens[2]), 'refresh', 'auth_refresh_invalid', 401);
    // Reuse detection still has the live session's rotated tokens: the current token works
    // once, and presenting it again is reuse, which ends the session.
    const next = await refresh(live.tokens[2]);
    expect(next.status).toBe(200);
    await sleep(5);
    expectRestError(await refresh(live.tokens[2]), 'refresh', 'auth_refresh_reused', 401);
    expect(await count("audit_events where session_id = $1 and type = 'auth_refresh_reused'", [live.sid])).toBe(1);
    // And an old rotated token of a live session is reuse too, not an unknown token.
    const other = await family();
    await gw.sql('update refresh_tokens set rotated_at = $2 where session_id = $1 and rotated_at is not null', [other.sid, ago(idle() + margin() + DAY)]);
    await purge();
    expectRestError(await refresh(other.tokens[0]), 'refresh', 'auth_refresh_reused', 401);

    // Rows kept only for a while would expire in the middle of the next tests: gone now.
    await gw.sql('delete from sessions where id = any($1)', [keptSids]);
    await gw.sql('delete from webauthn_challenges where id = any($1)', [keptChallenges]);
    await gw.sql('delete from rate_limits where key = any($1)', [keptLimits]);
  });

  it('deletes in bounded batches until a batch comes back short', async () => {
    const size = gw.config.purge.batchSize;
    const expired = await challenges(3 * size + 5, ago(PURGE_CLOCK_SKEW_MS + MINUTE));
    const run = await purge();
    expect(run.deleted.webauthn_challenges).toBe(expired.length);
    expect(run.batches.webauthn_challenges).toBe(Math.floor(expired.length / size) + 1);
    expect(await remaining('webauthn_challenges', 'id', expired)).toEqual([]);
    // Tables with nothing to delete cost one statement each.
    expect(run.batches.audit_events).toBe(1);
  });

  it('deletes sent and abandoned mail created more than a day ago, and never pending mail', async () => {
    const old = [...(await mails(12, 'sent', ago(MAIL_RETENTION_MS + MINUTE))), ...(await mails(3, 'abandoned', ago(MAIL_RETENTION_MS + MINUTE)))];
    const kept = [
      ...(await mails(2, 'pending', ago(MAIL_RETENTION_MS + DAY))),
      ...(await mails(2, 'sent', ago(MAIL_RETENTION_MS - MINUTE))),
      ...(await mails(1, 'abandoned', ago(MAIL_RETENTION_MS - MINUTE))),
    ];
    const run = await purge();
    expect(run.failed).toEqual([]);
    expect(run.deleted.mail_outbox).toBe(old.length);
    // More rows than a batch: bounded statements, the last one short.
    expect(run.batches.mail_outbox).toBe(Math.floor(old.length / gw.config.purge.batchSize) + 1);
    expect(await remaining('mail_outbox', 'id', old)).toEqual([]);
    expect((await remaining('mail_outbox', 'id', kept)).sort()).toEqual([...kept].sort());
    await gw.sql('delete from mail_outbox where id = any($1)', [kept]);
  });

  it('deletes expired mailed tokens, mfa tokens and pending invitations, history past the retention, and sign-ups never verified in UNVERIFIED_TTL', async () => {
    const skew = PURGE_CLOCK_SKEW_MS;
    // A mailed link is kept a while past its expiry, so that its page can say it expired.
    const link = EXPIRED_LINKS_KEPT_MS;
    const retention = gw.config.purge.auditRetentionDays * DAY;
    const unverified = gw.config.accounts.unverifiedTtl * 1000;
    const gone = {
      email_tokens: await emailTokens(3, ago(link + MINUTE)),
      mfa_challenges: await mfaChallenges(3, ago(skew + MINUTE)),
      sso_flows: await ssoFlows(2, ago(skew + MINUTE)),
      sso_codes: await ssoCodes(2, ago(skew + MINUTE)),
      sso_assertions: await ssoAssertions(2, ago(skew + MINUTE)),
      oidc_models: await oidcModels(2, ago(skew + MINUTE)),
      invitations: [
        ...(await invitations(2, { expires: ago(link + MINUTE) })),
        ...(await invitations(1, { expires: ago(link + MINUTE), revoked: ago(DAY) })),
        ...(await invitations(1, { expires: ago(retention + DAY), accepted: ago(retention + MINUTE) })),
      ],
      api_keys: [...(await apiKeys(2, { revoked: ago(retention + MINUTE) })), ...(await apiKeys(1, { expires: ago(retention + MINUTE) }))],
      users: await unverifiedUsers(3, ago(unverified + MINUTE)),
    };
    const kept = {
      email_tokens: [...(await emailTokens(1, ago(link - MINUTE))), ...(await emailTokens(1, new Date(Date.now() + MINUTE)))],
      mfa_challenges: [...(await mfaChallenges(1, ago(skew / 2))), ...(await mfaChallenges(1, new Date(Date.now() + MINUTE)))],
      sso_flows: [...(await ssoFlows(1, ago(skew / 2))), ...(await ssoFlows(1, new Date(Date.now() + MINUTE)))],
      sso_codes: [...(await ssoCodes(1, ago(skew / 2))), ...(await ssoCodes(1, new Date(Date.now() + MINUTE)))],
      sso_assertions: [...(await ssoAssertions(1, ago(skew / 2))), ...(await ssoAssertions(1, new Date(Date.now() + MINUTE)))],
      oidc_models: [...(await oidcModels(1, ago(skew / 2))), ...(await oidcModels(1, new Date(Date.now() + MINUTE)))],
      invitations: [
        ...(await invitations(1, { expires: new Date(Date.now() + DAY) })),
        ...(await invitations(1, { expires: ago(link - MINUTE) })),
        ...(await invitations(1, { expires: ago(retention - DAY), accepted: ago(retention - 2 * DAY) })),
      ],
      api_keys: [...(await apiKeys(1, {})), ...(await apiKeys(1, { revoked: ago(retention - DAY) })), ...(await apiKeys(1, { expires: ago(retention - DAY) }))],
      users: [...(await unverifiedUsers(1, ago(unverified - MINUTE))), ...(await unverifiedUsers(1, ago(unverified + DAY), true))],
    };
    // An unverified sign-up's own rows go with it.
    await gw.sql(
      `insert into email_tokens (id, tenant_id, user_id, kind, token_hash, created_at, expires_at) select gen_random_uuid(), tenant_id, id, 'verify_email', gen_random_uuid()::text, now(), now() + interval '1 hour' from users where id = any($1)`,
      [gone.users],
    );

    const run = await purge();

    expect(run.failed).toEqual([]);
    for (const [table, rows] of Object.entries(gone)) {
      expect(run.deleted[table as PurgeTable], table).toBe(rows.length);
      expect(await remaining(table, 'id', rows), table).toEqual([]);
    }
    for (const [table, rows] of Object.entries(kept)) expect((await remaining(table, 'id', rows)).sort(), table).toEqual([...rows].sort());
    expect(await count('email_tokens where user_id = any($1)', [gone.users])).toBe(0);
    for (const [table, rows] of Object.entries(kept)) await gw.sql(`delete from ${table} where id = any($1)`, [rows]);
  });

  it('has a rule for every table with an expiry column (a new table must say how it is bounded)', async () => {
    const expiring = await gw.sql<{ table_name: string }>(
      "select distinct table_name from information_schema.columns where table_schema = current_schema() and column_name in ('expires_at', 'expire') order by 1",
    );
    expect(expiring.length).toBeGreaterThan(5);
    for (const { table_name } of expiring) expect(PURGE_TABLES, `${table_name} has an expiry column but no purge rule`).toContain(table_name);
  });

  it('keeps audit events for AUDIT_RETENTION_DAYS', async () => {
    const retention = gw.config.purge.auditRetentionDays * DAY;
    const old = await auditEvents(2, ago(retention + MINUTE));
    const kept = await auditEvents(2, ago(retention - DAY));
    const run = await purge();
    expect(run.deleted.audit_events).toBe(old.length);
    expect(await remaining('audit_events', 'id', old)).toEqual([]);
    expect((await remaining('audit_events', 'id', kept)).sort()).toEqual([...kept].sort());
  });
});

describe('concurrent runs', () => {
  it('two calls at once in one process share one run', async () => {
    await challenges(5, ago(PURGE_CLOCK_SKEW_MS + MINUTE));
    const [a, b] = await Promise.all([purge(), purge()]);
    expect(a).toBe(b);
  });

  it('two instances on one database delete each row once, without errors', async () => {
    const gw2 = await startTestGateway({ env: ENV, databaseUrl: gw.databaseUrl });
    try {
      const template = (await family()).sid;
      const dead = await sessionCopies(template, 40, { revoked_at: ago(margin() + MINUTE), revoked_reason: 'logout' });
      const live = await sessionCopies(template, 5, {});
      const liveTokens = await tokensOf(live);
      const expected: Record<PurgeTable, number> = {
        webauthn_challenges: (await challenges(150, ago(PURGE_CLOCK_SKEW_MS + MINUTE))).length,
        rate_limits: (await rateLimitRows(150, Date.now() - PURGE_CLOCK_SKEW_MS - MINUTE)).length,
        refresh_tokens: await tokensOf(dead),
        sessions: dead.length,
        audit_events: (await auditEvents(150, ago(gw.config.purge.auditRetentionDays * DAY + MINUTE))).length,
        mail_outbox: (await mails(150, 'sent', ago(MAIL_RETENTION_MS + MINUTE))).length,
        webhook_messages: (await webhookMessages(150, 'delivered', ago(gw.config.webhooks.retentionDays * DAY + MINUTE))).length,
        email_tokens: (await emailTokens(30, ago(EXPIRED_LINKS_KEPT_MS + MINUTE))).length,
        mfa_challenges: (await mfaChallenges(30, ago(PURGE_CLOCK_SKEW_MS + MINUTE))).length,
        sso_flows: (await ssoFlows(30, ago(PURGE_CLOCK_SKEW_MS + MINUTE))).length,
        sso_codes: (await ssoCodes(30, ago(PURGE_CLOCK_SKEW_MS + MINUTE))).length,
        sso_assertions: (await ssoAssertions(30, ago(PURGE_CLOCK_SKEW_MS + MINUTE))).length,
        oidc_models: (await oidcModels(30, ago(PURGE_CLOCK_SKEW_MS + MINUTE))).length,
        invitations: (await invitations(30, { expires: ago(EXPIRED_LINKS_KEPT_MS + MINUTE) })).length,
        api_keys: (await apiKeys(30, { revoked: ago(gw.config.purge.auditRetentionDays * DAY + MINUTE) })).length,
        users: (await unverifiedUsers(30, ago(gw.config.accounts.unverifiedTtl * 1000 + MINUTE))).length,
      };

      const [a, b] = await Promise.all([purge(gw), purge(gw2)]);

      expect([a.failed, b.failed]).toEqual([[], []]);
      for (const table of PURGE_TABLES) expect(a.deleted[table] + b.deleted[table], table).toBe(expected[table]);
      expect(await count('sessions where id = any($1)', [dead])).toBe(0);
      expect(await tokensOf(dead)).toBe(0);
      expect(await tokensOf(live)).toBe(liveTokens);
      expect(gw.logs() + gw2.logs()).not.toContain('purge failed');
    } finally {
      await gw2.close();
    }
  });
});

describe('failures and measurement', () => {
  it('logs a database failure at warn and deletes the rows at the next run', async () => {
    const expired = await challenges(2, ago(PURGE_CLOCK_SKEW_MS + MINUTE));
    const locker = new pg.Client({ connectionString: gw.databaseUrl });
    await locker.connect();
    let failed: PurgeRun;
    try {
      // Held past the gateway's statement timeout: the purge of this one table fails.
      await locker.query('begin');
      await locker.query('lock table webauthn_challenges in access exclusive mode');
      failed = await purge();
    } finally {
      await locker.query('rollback').catch(() => {});
      await locker.end();
    }
    expect(failed.failed).toEqual(['webauthn_challenges']);
    const warn = gw
      .logs()
      .split('\n')
      .filter((l) => l.includes('purge failed'))
      .map((l) => JSON.parse(l));
    expect(warn).toHaveLength(1);
    expect(warn[0]).toMatchObject({ level: 40, failed_tables: ['webauthn_challenges'] });
    expect(warn[0].err).toBeDefined();
    const next = await purge();
    expect(next.failed).toEqual([]);
    expect(next.deleted.webauthn_challenges).toBe(expired.length);
  });

  it('exposes rows deleted per table, runs and their durations on /metrics, and logs one line per run that deleted rows', async () => {
    const text = String((await gw.rest('GET', '/metrics')).body);
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      expect(line, series).toBeDefined();
      return Number(line!.split(' ')[1]);
    };
    const all = [...runs];
    for (const table of PURGE_TABLES) {
      expect(value(`auth_purge_rows_deleted_total{table="${table}"}`)).toBe(all.reduce((n, r) => n + r.deleted[table], 0));
    }
    expect(value('auth_purge_duration_seconds_count')).toBe(all.length);
    expect(value('auth_purge_duration_seconds_sum')).toBeCloseTo(all.reduce((s, r) => s + r.durationMs / 1000, 0), 2);
    expect(value('auth_purge_runs_total{outcome="failure"}')).toBe(all.filter((r) => r.failed.length).length);
    expect(value('auth_purge_runs_total{outcome="success"}')).toBe(all.filter((r) => !r.failed.length).length);
    const lines = gw
      .logs()
      .split('\n')
      .filter((l) => l.includes('purge deleted expired rows'))
      .map((l) => JSON.parse(l));
    const deleting = all.filter((r) => Object.values(r.deleted).some((n) => n > 0));
    expect(lines).toHaveLength(deleting.length);
    expect(lines.map((l) => [l.level, l.purged, l.duration_ms])).toEqual(deleting.map((r) => [30, r.deleted, r.durationMs]));
  });
});

describe('the interval', () => {
  it('runs on its own every PURGE_INTERVAL_SECONDS, and stops with the app', async () => {
    const timed = await startTestGateway({ env: { ...ENV, PURGE_INTERVAL_SECONDS: '1' }, databaseUrl: gw.databaseUrl });
    let closed = false;
    try {
      const first = await challenges(1, ago(PURGE_CLOCK_SKEW_MS + MINUTE));
      await expect.poll(() => remaining('webauthn_challenges', 'id', first), { timeout: 5000, interval: 100 }).toEqual([]);
      const second = await challenges(1, ago(PURGE_CLOCK_SKEW_MS + MINUTE));
      await expect.poll(() => remaining('webauthn_challenges', 'id', second), { timeout: 5000, interval: 100 }).toEqual([]);
      await timed.close();
      closed = true;
      const after = await challenges(1, ago(PURGE_CLOCK_SKEW_MS + MINUTE));
      await sleep(2500);
      expect(await remaining('webauthn_challenges', 'id', after)).toEqual(after);
    } finally {
      if (!closed) await timed.close();
    }
  });
});
