// MikroORM wiring: every DB call is bounded (pool acquire, connect, statement and
// client-side query timeouts) so a dead or hung database becomes a *_db_error within
// a few seconds instead of a hung request (docs/resilience.md; test/integration/db-faults.test.ts keeps it true).
import { MikroORM, type Options, PostgreSqlDriver, type EntityManager } from '@mikro-orm/postgresql';
import { DriverException } from '@mikro-orm/core';
import type { Config } from '../config.js';
import { entities } from './entities/index.js';

export type Db = MikroORM;
export type { EntityManager };

export interface DbLog {
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

const silent: DbLog = { warn: () => {}, debug: () => {} };

export function ormOptions(databaseUrl: string, db: Config['db'], log: DbLog = silent): Options {
  return {
    driver: PostgreSqlDriver,
    clientUrl: databaseUrl,
    entities,
    discovery: { requireEntitiesArray: true },
    // rate-limiter-flexible's table: made by a migration, not described by an entity.
    schemaGenerator: { skipTables: ['rate_limits'] },
    allowGlobalContext: false,
    debug: false,
    pool: {
      min: 0,
      max: db.poolMax,
      acquireTimeoutMillis: db.acquireTimeoutMs,
      createTimeoutMillis: db.connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      reapIntervalMillis: 1000,
    },
    driverOptions: {
      // knex writes pool warnings ("Connection Error: ...") to the console unless given a logger.
      log: {
        warn: (message: unknown) => log.warn({ knex: String(message) }, 'database pool warning'),
        error: (message: unknown) => log.warn({ knex: String(message) }, 'database pool error'),
        debug: (message: unknown) => log.debug({ knex: String(message) }),
        deprecate: () => {},
        enableColors: false,
      },
      acquireConnectionTimeout: db.acquireTimeoutMs,
      connection: {
        connectionTimeoutMillis: db.connectTimeoutMs,
        statement_timeout: db.statementTimeoutMs,
        query_timeout: db.queryTimeoutMs,
        idle_in_transaction_session_timeout: db.idleInTransactionTimeoutMs,
        keepAlive: true,
        application_name: 'auth-gateway',
      },
    },
  };
}

export async function openDb(databaseUrl: string, db: Config['db'], log?: DbLog): Promise<Db> {
  // connect: false so that a database that is down at boot does not stop the gateway
  // from starting; requests then answer *_db_error until it comes back.
  return MikroORM.init({ ...ormOptions(databaseUrl, db, log), connect: false });
}

/**
 * Applies the pending migrations. The migrator and the migrations are loaded here, not with the
 * ORM: a gateway that does not migrate on start never holds them (issue #32).
 */
export async function migrate(orm: Db): Promise<string[]> {
  const [{ Migrator }, { migrationsList }] = await Promise.all([import('@mikro-orm/migrations'), import('./migrations/index.js')]);
  orm.config.set('migrations', { ...orm.config.get('migrations'), migrationsList, transactional: true, allOrNothing: true, snapshot: false, silent: true });
  Migrator.register(orm);
  const done = await orm.getMigrator().up();
  return done.map((m) => m.name);
}

const NOT_THROWN = Symbol('not thrown');

/**
 * em.transactional, with one rule added: anything thrown by BEGIN, COMMIT or the pool
 * (outside `fn`) is a database failure and is converted to the ORM's DriverException,
 * so the formatter can classify it by class.
 */
export async function transactional<T>(em: EntityManager, fn: (tx: EntityManager) => Promise<T>): Promise<T> {
  let inner: unknown = NOT_THROWN;
  try {
    return await em.transactional(async (tx) => {
      try {
        return await fn(tx);
      } catch (e) {
        inner = e;
        throw e;
      }
    });
  } catch (e) {
    if (e === inner || e instanceof DriverException) throw e;
    throw em.getDriver().convertException(e as Error);
  }
}

/** A cheap round trip for /readyz, bounded by `timeoutMs` whatever the pool does. */
export async function ping(orm: Db, timeoutMs = 2000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`database did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([orm.em.fork().execute('select 1'), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The knex (tarn) pool's state, for the pool gauges; undefined before the first connection. */
export function poolStats(orm: Db): { used: number; free: number; pendingAcquires: number; pendingCreates: number } | undefined {
  const pool = (orm.em.getConnection().getKnex().client as { pool?: TarnPool }).pool;
  if (!pool) return undefined;
  return { used: pool.numUsed(), free: pool.numFree(), pendingAcquires: pool.numPendingAcquires(), pendingCreates: pool.numPendingCreates() };
}

interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
}

/**
 * A text[] literal for a bound parameter (`?::text[]`): knex would spread a JS array binding
 * into a list of parameters.
 */
export const pgTextArray = (values: readonly string[]) => `{${values.map((v) => `"${v.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
