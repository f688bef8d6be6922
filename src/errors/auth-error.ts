import { catalog, type ErrorCode } from './catalog.js';

/** SPEC §16: what an input broke. Never the value. */
export const FIELD_RULES = [
  'required',
  'type',
  'format',
  'too_long',
  'too_short',
  'control_characters',
  'unknown_content_type',
  'malformed_json',
  'too_large',
  'credential_in_query',
  // A value that must be unique is another's already (an SSO connection's name or domain).
  'taken',
  // A name that must be one of the tenant's (a role) is not.
  'unknown',
] as const;
export type FieldRule = (typeof FIELD_RULES)[number];

/** An input that broke a rule: `field` is its JSON path (`email`, `input.password`, `body`). */
export interface FieldProblem {
  field: string;
  rule: FieldRule;
}

/** SPEC §16: the checks of the password policy a new password failed. */
export const PASSWORD_RULES = ['too_short', 'too_long', 'common', 'contains_email', 'breached', 'same_as_current'] as const;
export type PasswordRule = (typeof PASSWORD_RULES)[number];

/** What a refusal may say about fixing it (SPEC §16): beside the code in both doors and the log line. */
export type Remedy = {
  /** auth_request_invalid: the inputs and the rules they broke. */
  fields?: FieldProblem[];
  /** auth_password_weak: the checks the password failed. */
  rules?: PasswordRule[];
  /** auth_forbidden for a missing permission: the permissions the operation needs that the caller lacks. */
  missing?: string[];
  /** auth_sso_required: the name of the tenant's connection to sign in with instead. */
  connection?: string;
};

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
  /** What to fix (SPEC §16); absent where the refusal says nothing more. */
  readonly remedy?: Remedy;

  /** `status` may differ from the catalog's only where the contract allows it (413 for a body too large). */
  constructor(code: ErrorCode, options: { cause?: unknown; retryAfter?: number; status?: number; event?: string; mfa?: AuthError['mfa'] } & Remedy = {}) {
    super(catalog[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AuthError';
    this.code = code;
    this.status = options.status ?? catalog[code].status;
    this.retryAfter = options.retryAfter;
    this.event = options.event;
    this.mfa = options.mfa;
    const { fields, rules, missing, connection } = options;
    if (fields?.length || rules?.length || missing?.length || connection) {
      this.remedy = { ...(fields?.length ? { fields } : {}), ...(rules?.length ? { rules } : {}), ...(missing?.length ? { missing } : {}), ...(connection ? { connection } : {}) };
    }
  }

  /** The same refusal saying `remedy` instead (the GraphQL door names inputs by their argument paths). */
  withRemedy(remedy: Remedy): AuthError {
    return new AuthError(this.code, { cause: this.cause, status: this.status, retryAfter: this.retryAfter, event: this.event, mfa: this.mfa, ...remedy });
  }
}
