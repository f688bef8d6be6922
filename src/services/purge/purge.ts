// Bounded tables (SPEC §7, §15; docs/resilience.md): every instance deletes expired and dead
// rows on an interval, in small batches, each batch one short statement of its own
// (autocommit), resting between full batches as long as the last one took (a backlog never
// takes more than half a database core). The rows a batch picks are locked FOR UPDATE SKIP
// LOCKED, so instances purging at once split the work, and a row a request holds waits.
// What goes, table by table, is rules.ts; a test fails when a table with an expiry column has no rule there.
import type { Config } from '../../config.js';
import type { Db } from '../../db/orm.js';
import { FAMILIES, familiesParams, MAIL_RETENTION_MS, EXPIRED_LINKS_KEPT_MS, PURGE_CLOCK_SKEW_MS, PURGE_TABLES, RULES, type Cutoffs, type PurgeTable } from './rules.js';

/** The first run comes this long (plus up to as much again, spreading instances) after start. */
export const PURGE_FIRST_RUN_DELAY_MS = 5_000;

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
  config: Pick<Config, 'purge' | 'accessTokenTtl' | 'refreshReuseGrace' | 'sessionIdleTimeout'> & { accounts: Pick<Config['accounts'], 'unverifiedTtl'>; webhooks: Pick<Config['webhooks'], 'retentionDays'> };
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
      expiredLink: new Date(now - EXPIRED_LINKS_KEPT_MS),
      retained: new Date(now - config.purge.auditRetentionDays * 86_400_000),
      mail: new Date(now - MAIL_RETENTION_MS),
      unverified: new Date(now - config.accounts.unverifiedTtl * 1000),
      webhooks: new Date(now - config.webhooks.retentionDays * 86_400_000),
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
        // Done when a batch finds nothing. A short batch is not the end here: its candidates come
        // from index scans that stop after `size` rows, locked ones included, so while another
        // instance holds most of them a batch can come back short with dead sessions left beyond
        // them (both instances then stopped early, seen under load).
        if (row.tokens === 0 && row.sessions === 0) break;
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
