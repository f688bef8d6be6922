// Which failures are the database's (or another store's) and not the request's: recognised by
// driver error class, SQLSTATE or socket error code, never by message text. The formatter
// turns these into the operation's *_db_error.
import { DriverException } from '@mikro-orm/core';
import { knex } from '@mikro-orm/postgresql';
import pg from 'pg';

/** A store the gateway depends on, other than PostgreSQL through the ORM, failed (Redis holding the limits). */
export class StoreError extends Error {
  constructor(
    readonly store: 'redis' | 'postgres',
    cause: unknown,
  ) {
    super(`${store} store failure`, { cause });
    this.name = 'StoreError';
  }
}

// SQLSTATE classes that mean "the database, not the request": connection exceptions,
// insufficient resources, operator intervention (admin shutdown, query canceled by
// statement_timeout), transaction rollback (serialization, deadlock), lock not available,
// system and internal errors.
const DB_SQLSTATE = /^(08|53|54|55|57|58|40|XX)[0-9A-Z]{3}$/;
// Node socket errors raised by the driver while talking to the database.
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

function* causes(err: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e != null && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    yield e;
  }
}

/** True for any failure raised by the database driver, the pool or the ORM's driver layer. */
export function isDatabaseError(err: unknown): boolean {
  for (const e of causes(err)) {
    if (e instanceof DriverException || e instanceof knex.KnexTimeoutError || e instanceof pg.DatabaseError || e instanceof StoreError) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (DB_SQLSTATE.test(code) || (SOCKET_ERRORS.has(code) && 'syscall' in (e as object)))) {
      return true;
    }
  }
  return false;
}

