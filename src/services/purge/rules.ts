// What goes (`now` is the instance's clock; SKEW allows for instances whose clocks disagree):
// - rows past their own expiry by more than SKEW: webauthn_challenges, rate_limits (the
//   limiter treats such a row as absent), mfa_challenges, sso_flows, sso_codes and
//   sso_assertions (an assertion past its NotOnOrAfter is refused anyway), and the OpenID
//   Provider's objects (oidc_models: codes, grants, sessions, tokens, interactions);
// - mailed links (email_tokens, pending invitations) EXPIRED_LINKS_KEPT_MS past their expiry:
//   until then a link's page can say it expired (and name its tenant) instead of "unknown";
// - history past AUDIT_RETENTION_DAYS: audit_events, accepted invitations, API keys revoked or
//   expired that long ago;
// - sent and abandoned mail after MAIL_RETENTION_MS (its payload is already gone);
// - self-service sign-ups never verified within UNVERIFIED_TTL (their rows cascade);
// - sessions dead (expired, revoked, idle) for longer than ACCESS_TOKEN_TTL +
//   REFRESH_REUSE_GRACE + SKEW, by when every access token naming them has expired and every
//   refresh token of them already answers auth_refresh_invalid: deleting changes no answer.
//   Their refresh tokens go in the same statement, a batch at a time (never a live session's
//   rotated tokens: reuse detection needs them), under the session's row lock, the lock every
//   refresh takes first: a purge never waits on a refresh or deadlocks with one.
// A test fails when a table with an expiry column has no rule here.
export const PURGE_TABLES = [
  'webauthn_challenges',
  'rate_limits',
  'email_tokens',
  'mfa_challenges',
  'sso_flows',
  'sso_codes',
  'sso_assertions',
  'oidc_models',
  'invitations',
  'api_keys',
  'users',
  'refresh_tokens',
  'sessions',
  'audit_events',
  'mail_outbox',
  'webhook_messages',
] as const;
export type PurgeTable = (typeof PURGE_TABLES)[number];

/** Allowance for instances whose clocks disagree. */
export const PURGE_CLOCK_SKEW_MS = 60_000;
/** How long an expired mailed link is kept, so that its page can say it expired (inspectLink). */
export const EXPIRED_LINKS_KEPT_MS = 7 * 86_400_000;
/** How long sent and abandoned mail rows are kept (for operators counting them). */
export const MAIL_RETENTION_MS = 86_400_000;

// Each statement deletes at most `limit` rows it could lock, by primary key. The keys are
// collected first (`= any(array(...))`, an InitPlan), so the delete itself is a primary-key
// lookup: with `in (select ...)` the planner may hash the batch and seq-scan the table.
const batchOf = (table: string, where: string, key = 'id') => `
delete from ${table} where ${key} = any(array(
  select ${key} from ${table} where ${where} limit ? for update skip locked))`;

/** The cut-off times of one run, each a rule's parameter. */
export interface Cutoffs {
  expired: Date;
  expiredLink: Date;
  retained: Date;
  mail: Date;
  unverified: Date;
  webhooks: Date;
}

/** The tables purged by one statement each (their indexes: Migration20261207000000Bounds), and its parameters before the batch size. */
export const RULES: Array<{ table: Exclude<PurgeTable, 'refresh_tokens' | 'sessions'>; sql: string; params(c: Cutoffs): unknown[] }> = [
  { table: 'webauthn_challenges', sql: batchOf('webauthn_challenges', 'expires_at < ?'), params: (c) => [c.expired] },
  { table: 'rate_limits', sql: batchOf('rate_limits', 'expire < ?', 'key'), params: (c) => [c.expired.getTime()] },
  { table: 'email_tokens', sql: batchOf('email_tokens', 'expires_at < ?'), params: (c) => [c.expiredLink] },
  { table: 'mfa_challenges', sql: batchOf('mfa_challenges', 'expires_at < ?'), params: (c) => [c.expired] },
  { table: 'sso_flows', sql: batchOf('sso_flows', 'expires_at < ?'), params: (c) => [c.expired] },
  { table: 'sso_codes', sql: batchOf('sso_codes', 'expires_at < ?'), params: (c) => [c.expired] },
  { table: 'sso_assertions', sql: batchOf('sso_assertions', 'expires_at < ?'), params: (c) => [c.expired] },
  // Its key is (tenant_id, model, id): the batch is joined back on it.
  {
    table: 'oidc_models',
    sql: `delete from oidc_models m using (select tenant_id, model, id from oidc_models where expires_at < ? limit ? for update skip locked) d
      where m.tenant_id = d.tenant_id and m.model = d.model and m.id = d.id`,
    params: (c) => [c.expired],
  },
  // Pending ones as expired links; accepted ones (history, like the audit) after the retention.
  { table: 'invitations', sql: batchOf('invitations', 'expires_at < ? and (accepted_at is null or accepted_at < ?)'), params: (c) => [c.expiredLink, c.retained] },
  { table: 'api_keys', sql: batchOf('api_keys', 'expires_at < ? or revoked_at < ?'), params: (c) => [c.retained, c.retained] },
  { table: 'users', sql: batchOf('users', 'not email_verified and created_at < ?'), params: (c) => [c.unverified] },
  { table: 'audit_events', sql: batchOf('audit_events', 'created_at < ?'), params: (c) => [c.retained] },
  { table: 'mail_outbox', sql: batchOf('mail_outbox', "created_at < ? and status in ('sent', 'abandoned')"), params: (c) => [c.mail] },
  // Delivered and failed webhook messages (and their attempts) after WEBHOOK_RETENTION_DAYS; pending ones stay.
  { table: 'webhook_messages', sql: batchOf('webhook_messages', "status in ('delivered', 'failed') and next_attempt_at < ?"), params: (c) => [c.webhooks] },
];

// One batch of dead sessions with their refresh tokens, in one statement: lock up to `limit`
// dead sessions (SKIP LOCKED: the lock every refresh takes first, so the families are ours
// alone), delete up to `limit` of their tokens, session by session and newest first (no
// remaining token is left pointing at a deleted parent), and delete the locked sessions that
// have no token left. The ON DELETE CASCADE of refresh_tokens finds nothing left to do.
// The candidates come from each condition's own index (an ordered scan that stops after
// `limit` rows), never from a scan of the whole table: a million live sessions cost the last,
// empty batch nothing. The lock re-checks the conditions on the rows.
export const FAMILIES = `
with candidates as (
  (select id from sessions where expires_at < ? order by expires_at limit ?)
  union
  (select id from sessions where revoked_at < ? order by revoked_at limit ?)
  union
  (select id from sessions where last_used_at < ? order by last_used_at limit ?)
), doomed as (
  select s.id from sessions s
   where s.id = any(array(select id from candidates))
     and (s.expires_at < ? or s.revoked_at < ? or s.last_used_at < ?)
   limit ? for update skip locked
), batch as (
  select t.id, t.session_id from refresh_tokens t
   where t.session_id = any(array(select id from doomed))
   order by t.session_id, t.created_at desc
   limit ?
), tokens as (
  delete from refresh_tokens where id = any(array(select id from batch)) returning id
), emptied as (
  select d.id from doomed d
    left join (select session_id, count(*) as n from batch group by session_id) b on b.session_id = d.id
   where (select count(*) from refresh_tokens t where t.session_id = d.id) = coalesce(b.n, 0)
), gone as (
  delete from sessions where id = any(array(select id from emptied)) returning id
)
select (select count(*) from tokens)::int as tokens, (select count(*) from gone)::int as sessions`;

/** FAMILIES' parameters: the three dead-since times `[expired, revoked, idle]` and the batch size. */
export const familiesParams = ([expired, revoked, idle]: Date[], size: number) => [expired, size, revoked, size, idle, size, expired, revoked, idle, size, size];
