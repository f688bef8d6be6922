// The one formatter: any thrown value becomes an AuthError with a catalog code, and an
// AuthError becomes the REST body or the GraphQL extensions. Unknown errors are masked
// here; database errors are recognised here by driver error class or SQLSTATE.
import { DriverException } from '@mikro-orm/core';
import { knex } from '@mikro-orm/postgresql';
import pg from 'pg';
import { CALLER_DB_CODES, catalog, hasOwnDbError, type ErrorCode, type OperationSpec } from './catalog.js';
import { AuthError } from './auth-error.js';

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
    if (e instanceof DriverException || e instanceof knex.KnexTimeoutError || e instanceof pg.DatabaseError) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (DB_SQLSTATE.test(code) || (SOCKET_ERRORS.has(code) && 'syscall' in (e as object)))) {
      return true;
    }
  }
  return false;
}

/** For failures outside any catalog operation (unknown GraphQL fields, health routes). */
export const OUTSIDE_OPERATIONS = { dbError: 'auth_internal_error', internalError: 'auth_internal_error' } as const;

/** Classify any thrown value for the given operation. Never returns the original text. */
export function toAuthError(err: unknown, op: Pick<OperationSpec, 'dbError' | 'internalError'>): AuthError {
  if (err instanceof AuthError) {
    // An operation with a database code of its own answers it for any database failure,
    // the caller check's included; the session and key stores' codes are for the others.
    if (CALLER_DB_CODES.includes(err.code) && hasOwnDbError(op)) return new AuthError(op.dbError, { cause: err.cause });
    return err;
  }
  if (isDatabaseError(err)) return new AuthError(op.dbError, { cause: err });
  return new AuthError(op.internalError, { cause: err });
}

export interface RestErrorBody {
  detail: { status: 'error'; code: ErrorCode; message: string };
}

export function restErrorBody(err: AuthError): RestErrorBody {
  return { detail: { status: 'error', code: err.code, message: catalog[err.code].message } };
}

export function restErrorHeaders(err: AuthError): Record<string, string> {
  const headers: Record<string, string> = { 'x-error-code': err.code };
  if (err.retryAfter !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfter)));
  return headers;
}

export function graphqlExtensions(err: AuthError): { code: ErrorCode; status: number; retryAfter?: number } {
  return err.retryAfter === undefined
    ? { code: err.code, status: err.status }
    : { code: err.code, status: err.status, retryAfter: Math.max(1, Math.ceil(err.retryAfter)) };
}

