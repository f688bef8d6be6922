// The one formatter: any thrown value becomes an AuthError with a catalog code, and an
// AuthError becomes the REST body or the GraphQL extensions. Unknown errors are masked
// here; database errors are recognised by db/errors.ts (driver error class or SQLSTATE).
import { isDatabaseError } from '../db/errors.js';
import { CALLER_DB_CODES, catalog, hasOwnDbError, type ErrorCode } from './catalog.js';
import { AuthError, type Remedy } from './auth-error.js';

/** For failures outside any catalog operation (unknown GraphQL fields, health routes). */
export const OUTSIDE_OPERATIONS = { dbError: 'auth_internal_error', internalError: 'auth_internal_error' } as const;

/** Classify any thrown value for the given operation. Never returns the original text. */
export function toAuthError(err: unknown, op: { dbError: ErrorCode; internalError: ErrorCode }): AuthError {
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
  detail: { status: 'error'; code: ErrorCode; message: string; mfa_token?: string; methods?: string[] } & Remedy;
}

export function restErrorBody(err: AuthError): RestErrorBody {
  const detail: RestErrorBody['detail'] = { status: 'error', code: err.code, message: catalog[err.code].message };
  // auth_mfa_required: the second step's token and methods sit beside the code.
  if (err.mfa) Object.assign(detail, { mfa_token: err.mfa.mfaToken, methods: err.mfa.methods });
  // What to fix (SPEC §16): fields, rules or missing, as the error carries them.
  if (err.remedy) Object.assign(detail, err.remedy);
  return { detail };
}

export function restErrorHeaders(err: AuthError): Record<string, string> {
  const headers: Record<string, string> = { 'x-error-code': err.code };
  if (err.retryAfter !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfter)));
  return headers;
}

export function graphqlExtensions(err: AuthError): { code: ErrorCode; status: number; retryAfter?: number; mfaToken?: string; methods?: string[] } & Remedy {
  return {
    code: err.code,
    status: err.status,
    ...(err.retryAfter === undefined ? {} : { retryAfter: Math.max(1, Math.ceil(err.retryAfter)) }),
    ...(err.mfa ? { mfaToken: err.mfa.mfaToken, methods: err.mfa.methods } : {}),
    ...err.remedy,
  };
}

