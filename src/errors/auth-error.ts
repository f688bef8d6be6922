import { catalog, type ErrorCode } from './catalog.js';

/**
 * The one error type services throw. It carries a catalog code; the optional cause is
 * for the log only and is never serialised into a response.
 */
export class AuthError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Seconds a client should wait (auth_rate_limited). */
  readonly retryAfter?: number;
  /** A security event to log with this failure (e.g. a cloned-authenticator suspicion). */
  readonly event?: string;
  /** What the client needs to go on (auth_mfa_required: the mfa token and the methods); sent beside the code. */
  readonly mfa?: { mfaToken: string; methods: string[] };

  /** `status` may differ from the catalog's only where the contract allows it (413 for a body too large). */
  constructor(code: ErrorCode, options: { cause?: unknown; retryAfter?: number; status?: number; event?: string; mfa?: AuthError['mfa'] } = {}) {
    super(catalog[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AuthError';
    this.code = code;
    this.status = options.status ?? catalog[code].status;
    this.retryAfter = options.retryAfter;
    this.event = options.event;
    this.mfa = options.mfa;
  }
}
