// Bounded tables (SPEC §7, §15; docs/resilience.md): every instance deletes expired and dead
// rows on an interval, in small batches, each batch one short statement of its own
// (autocommit), resting between full batches as long as the last one took (a backlog never
// takes more than half a database core). The rows a batch picks are locked FOR UPDATE SKIP
// LOCKED, so instances purging at once split the work, and a row a request holds waits.
//
// What goes (`now` is the instance's clock; SKEW allows for instances whose clocks disagree):
// - rows past their own expiry by more than SKEW: webauthn_challenges, rate_limits (the
//   limiter treats such a row as absent), email_tokens, mfa_challenges, pending invitations;
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
import type { Config } from '../../config.js';
import type { Db } from '../../db/orm.js';

export const PURGE_TABLES = [
  'webauthn_challenges',
  'rate_limits',
  'email_tokens',
  'mfa_challenges',
  'invitations',
  'api_keys',
  'users',
  'refresh_tokens',
  'sessions',
  'audit_events',
  'mail_outbox',
] as const;
export type PurgeTable = (typeof PURGE_TABLES)[number];

/** Allowance for instances whose clocks disagree. */
export const PURGE_CLOCK_SKEW_MS = 60_000;
/** The first run comes this long (plus up to as much again, spreading instances) after start. */
export const PURGE_FIRST_RUN_DELAY_MS = 5_000;
/** How long sent and abandoned mail rows are kept (for operators counting them). */
export const MAIL_RETENTION_MS = 86_400_000;
/** At most this many batches per table in one run; the rest waits for the next run. */
export const PURGE_MAX_BATCHES = 500;

export interface PurgeRun {
  /** Rows deleted, per table. */
  deleted: Record<PurgeTable, number>;
  /** Statements run, per table (the last one of a table deletes fewer rows than a batch). */
  batches: Record<PurgeTable, number>;
  durationMs: number;
  /** Tables whose purge failed (a database error); they are tried again next run. */
  failed: PurgeTable[];
}

export interface PurgeLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface PurgeOptions {
  config: Pick<Config, 'purge' | 'accessTokenTtl' | 'refreshReuseGrace' | 'sessionIdleTimeout'> & { accounts: Pick<Config['accounts'], 'unverifiedTtl'> };
  orm: Db;
  now: () => Date;
  log: PurgeLog;
  /** Told about every run (metrics). */
  observe?: (run: PurgeRun) => void;
  /** Told about every batch statement: its table(s), rows deleted and duration (the bench). */
  onBatch?: (tables: PurgeTable[], rows: number, ms: number) => void;
  maxBatches?: number;
}

export interface PurgeService {
  /** Schedule runs every PURGE_INTERVAL_SECONDS (no-op when 0); the timer never keeps the process alive. */
  start(): void;
  /** No further runs; a run in progress stops after its current batch, and is awaited. */
  stop(): Promise<void>;
  /** Run now. While a run is in progress, answers that run: never two at once in one process. */
  runOnce(): Promise<PurgeRun>;
}

// Each statement deletes at most `limit` rows it could lock, by primary key. The keys are
// collected first (`= any(array(...))`, an InitPlan), so the delete itself is a primary-key
// lookup: with `in (select ...)` the planner may hash the batch and seq-scan the table.
const batchOf = (table: string, where: string, key = 'id') => `
delete from ${table} where ${key} = any(array(
  select ${key} from ${table} where ${where} limit ? for update skip locked))`;

/** The cut-off times of one run, each a rule's parameter. */
interface Cutoffs {
  expired: Date;
  retained: Date;
  mail: Date;
  unverified: Date;
}

/** The tables purged by one statement each (their indexes: Migration20261207000000Bounds), and its parameters before the batch size. */
const RULES: Array<{ table: Exclude<PurgeTable, 'refresh_tokens' | 'sessions'>; sql: string; params(c: Cutoffs): unknown[] }> = [
  { table: 'webauthn_challenges', sql: batchOf('webauthn_challenges', 'expires_at < ?'), params: (c) => [c.expired] },
  { table: 'rate_limits', sql: batchOf('rate_limits', 'expire < ?', 'key'), params: (c) => [c.expired.getTime()] },
  { table: 'email_tokens', sql: batchOf('email_tokens', 'expires_at < ?'), params: (c) => [c.expired] },
  { table: 'mfa_challenges', sql: batchOf('mfa_challenges', 'expires_at < ?'), params: (c) => [c.expired] },
  // Pending ones once expired; accepted ones (history, like the audit) after the retention.
  { table: 'invitations', sql: batchOf('invitations', 'expires_at < ? and (accepted_at is null or accepted_at < ?)'), params: (c) => [c.expired, c.retained] },
  { table: 'api_keys', sql: batchOf('api_keys', 'expires_at < ? or revoked_at < ?'), params: (c) => [c.retained, c.retained] },
  { table: 'users', sql: batchOf('users', 'not email_verified and created_at < ?'), params: (c) => [c.unverified] },
  { table: 'audit_events', sql: batchOf('audit_events', 'created_at < ?'), params: (c) => [c.retained] },
  { table: 'mail_outbox', sql: batchOf('mail_outbox', "created_at < ? and status in ('sent', 'abandoned')"), params: (c) => [c.mail] },
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

const zero = (): Record<PurgeTable, number> => Object.fromEntries(PURGE_TABLES.map((t) => [t, 0])) as Record<PurgeTable, number>;

export function createPurgeService(options: PurgeOptions): PurgeService {
  const { config, orm, log } = options;
  const size = config.purge.batchSize;
  const maxBatches = options.maxBatches ?? PURGE_MAX_BATCHES;
  // setTimeout fires at once beyond 2^31-1 ms (about 24 days): longer intervals are capped there.
  const intervalMs = Math.min(config.purge.intervalSeconds * 1000, 2 ** 31 - 1);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<PurgeRun> | undefined;
  let started = false;
  let stopped = false;

  async function run(): Promise<PurgeRun> {
    const t0 = performance.now();
    const now = options.now().getTime();
    const result: PurgeRun = { deleted: zero(), batches: zero(), durationMs: 0, failed: [] };
    const errors: unknown[] = [];
    const connection = orm.em.fork().getConnection();

    // Between two batches the purge rests as long as the last one took: at most half of a
    // database core goes to it, whatever the backlog, and requests keep their latency.
    const rest = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 200)).unref());
    /** One batch: one statement, committed on its own. Answers the rows it deleted. */
    const batch = async (table: PurgeTable, sql: string, params: unknown[]): Promise<number> => {
      const t = performance.now();
      const res = await connection.execute<{ affectedRows: number }>(sql, [...params, size], 'run');
      const took = performance.now() - t;
      options.onBatch?.([table], res.affectedRows, took);
      if (res.affectedRows >= size) await rest(took);
      result.batches[table]++;
      result.deleted[table] += res.affectedRows;
      return res.affectedRows;
    };
    const guarded = async (tables: PurgeTable[], fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (e) {
        result.failed.push(...tables);
        errors.push(e);
      }
    };
    const drain = (table: PurgeTable, sql: string, params: unknown[]) =>
      guarded([table], async () => {
        for (let i = 0; i < maxBatches && !stopped; i++) if ((await batch(table, sql, params)) < size) break;
      });

    const cutoffs: Cutoffs = {
      expired: new Date(now - PURGE_CLOCK_SKEW_MS),
      retained: new Date(now - config.purge.auditRetentionDays * 86_400_000),
      mail: new Date(now - MAIL_RETENTION_MS),
      unverified: new Date(now - config.accounts.unverifiedTtl * 1000),
    };
    for (const rule of RULES) await drain(rule.table, rule.sql, rule.params(cutoffs));

    const margin = (config.accessTokenTtl + config.refreshReuseGrace) * 1000 + PURGE_CLOCK_SKEW_MS;
    const dead = [new Date(now - margin), new Date(now - margin), new Date(now - margin - config.sessionIdleTimeout * 1000)];
    await guarded(['refresh_tokens', 'sessions'], async () => {
      for (let i = 0; i < maxBatches && !stopped; i++) {
        const t = performance.now();
        const [row] = await connection.execute<Array<{ tokens: number; sessions: number }>>(FAMILIES, familiesParams(dead, size), 'all');
        const took = performance.now() - t;
        options.onBatch?.(['refresh_tokens', 'sessions'], row.tokens + row.sessions, took);
        if (row.tokens >= size || row.sessions >= size) await rest(took);
        for (const [table, n] of [['refresh_tokens', row.tokens], ['sessions', row.sessions]] as const) {
          result.batches[table]++;
          result.deleted[table] += n;
        }
        if (row.tokens < size && row.sessions < size) break;
      }
    });
    result.durationMs = Math.round((performance.now() - t0) * 10) / 10;
    const total = Object.values(result.deleted).reduce((a, b) => a + b, 0);
    if (total > 0) log.info({ purged: result.deleted, batches: result.batches, duration_ms: result.durationMs }, 'purge deleted expired rows');
    if (errors.length) {
      log.warn({ err: errors[0], failed_tables: result.failed, purged: result.deleted, duration_ms: result.durationMs }, 'purge failed; retried next interval');
    }
    options.observe?.(result);
    return result;
  }

  const runOnce = (): Promise<PurgeRun> => {
    running ??= run().finally(() => {
      running = undefined;
    });
    return running;
  };

  const schedule = (delayMs: number) => {
    timer = setTimeout(() => {
      timer = undefined;
      void runOnce()
        .catch((err) => log.warn({ err }, 'purge failed; retried next interval'))
        .finally(() => {
          if (!stopped) schedule(intervalMs);
        });
    }, delayMs);
    timer.unref();
  };

  return {
    start() {
      if (intervalMs === 0 || stopped || started) return;
      started = true;
      schedule(Math.min(intervalMs, PURGE_FIRST_RUN_DELAY_MS * (1 + Math.random())));
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      await running?.catch(() => {});
    },
    runOnce,
  };
}
