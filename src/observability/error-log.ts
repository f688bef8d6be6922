// How a failure's cause is written to the log: the `err` serializer of every line (the 5xx
// request line, the readiness warning, background-write warnings).
//
// A database error's text is not ours: knex prefixes the message with the statement and
// its parameter values inlined ("select ... where u.email = 'ada@acme.test' - canceling
// statement due to statement timeout"), MikroORM appends the server's `detail` ("Key
// (email)=(...) already exists") and `hint`, copies every field of pg's DatabaseError
// (`where`, `internalQuery`, ...) onto its DriverException, and the stack's first lines
// repeat the message. So a database error is written from fields that cannot hold values:
// its class, its SQLSTATE (with the condition's name), the socket error code, the schema
// names it involves, and the stack frames only. Anything else (our own errors, library
// bugs) keeps pino's standard form: class, message, stack and own fields.
import pino from 'pino';
import { isDatabaseError } from '../db/errors.js';

export interface LoggedDatabaseError {
  type: string;
  /** A fixed text: the SQLSTATE's condition name, or a known driver phrase; never the driver's message. */
  message: string;
  /** Stack frames only, under a header rebuilt from `type` and `message`. */
  stack?: string;
  sqlstate?: string;
  /** The socket error code (ECONNRESET, ...), when the failure is one. */
  code?: string;
  table?: string;
  column?: string;
  constraint?: string;
  cause?: LoggedDatabaseError;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

// PostgreSQL's condition names (Appendix A) for the states a gateway meets; any other state
// is named by its class.
const CONDITIONS: Record<string, string> = {
  '08000': 'connection_exception',
  '08001': 'sqlclient_unable_to_establish_sqlconnection',
  '08003': 'connection_does_not_exist',
  '08004': 'sqlserver_rejected_establishment_of_sqlconnection',
  '08006': 'connection_failure',
  '08P01': 'protocol_violation',
  '22001': 'string_data_right_truncation',
  '22003': 'numeric_value_out_of_range',
  '22007': 'invalid_datetime_format',
  '22021': 'character_not_in_repertoire',
  '22P02': 'invalid_text_representation',
  '23502': 'not_null_violation',
  '23503': 'foreign_key_violation',
  '23505': 'unique_violation',
  '23514': 'check_violation',
  '23P01': 'exclusion_violation',
  '25006': 'read_only_sql_transaction',
  '25P02': 'in_failed_sql_transaction',
  '25P03': 'idle_in_transaction_session_timeout',
  '28000': 'invalid_authorization_specification',
  '28P01': 'invalid_password',
  '3D000': 'invalid_catalog_name',
  '40001': 'serialization_failure',
  '40P01': 'deadlock_detected',
  '42501': 'insufficient_privilege',
  '42601': 'syntax_error',
  '42703': 'undefined_column',
  '42883': 'undefined_function',
  '42P01': 'undefined_table',
  '53000': 'insufficient_resources',
  '53100': 'disk_full',
  '53200': 'out_of_memory',
  '53300': 'too_many_connections',
  '54000': 'program_limit_exceeded',
  '55006': 'object_in_use',
  '55P03': 'lock_not_available',
  '57014': 'query_canceled',
  '57P01': 'admin_shutdown',
  '57P02': 'crash_shutdown',
  '57P03': 'cannot_connect_now',
  '57P04': 'database_dropped',
  '57P05': 'idle_session_timeout',
  '58000': 'system_error',
  '58030': 'io_error',
  XX000: 'internal_error',
  XX001: 'data_corrupted',
  XX002: 'index_corrupted',
};

const CLASSES: Record<string, string> = {
  '08': 'connection_exception',
  '0A': 'feature_not_supported',
  '21': 'cardinality_violation',
  '22': 'data_exception',
  '23': 'integrity_constraint_violation',
  '25': 'invalid_transaction_state',
  '28': 'invalid_authorization_specification',
  '3D': 'invalid_catalog_name',
  '3F': 'invalid_schema_name',
  '40': 'transaction_rollback',
  '42': 'syntax_error_or_access_rule_violation',
  '53': 'insufficient_resources',
  '54': 'program_limit_exceeded',
  '55': 'object_not_in_prerequisite_state',
  '57': 'operator_intervention',
  '58': 'system_error',
  F0: 'config_file_error',
  P0: 'plpgsql_error',
  XX: 'internal_error',
};

// Fixed phrases of the driver, the pool and knex for failures that have no SQLSTATE. Only
// the phrase itself is written, never the text around it (where knex puts the statement).
const KNOWN_PHRASES = [
  'Connection terminated due to connection timeout',
  'Connection terminated unexpectedly',
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
  'Knex: Timeout acquiring a connection',
  'Knex: Timeout acquiring a connection. The pool is probably full.',
];
KNOWN_PHRASES.sort((a, b) => b.length - a.length);

// A stack frame line ("    at fn (/path/file.js:1:2)"). Quotes never occur in frames; they
// do in SQL literals, so a line with one is not a frame whatever it starts with.
const FRAME = /^\s+at [^'"`]+$/;

const fieldOf = (e: object, key: string): unknown => (e as Record<string, unknown>)[key];
const stringField = (e: object, key: string): string | undefined => {
  const v = fieldOf(e, key);
  return typeof v === 'string' && v !== '' ? v : undefined;
};

function typeOf(e: unknown): string {
  if (typeof e !== 'object' || e === null) return typeof e;
  const ctor = (e as { constructor?: unknown }).constructor;
  if (typeof ctor === 'function' && ctor.name && ctor.name !== 'Object') return ctor.name;
  return stringField(e, 'name') ?? 'Error';
}

/** The SQLSTATE a driver error carries (pg's `code`, copied by MikroORM; `sqlState` elsewhere). */
function ownSqlstate(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  // Node's socket errors also have a string `code` (EPIPE would pass the pattern); they
  // carry `syscall` and a numeric `errno`, driver errors do not.
  if ('syscall' in e || typeof fieldOf(e, 'errno') === 'number') return undefined;
  for (const key of ['code', 'sqlState']) {
    const v = fieldOf(e, key);
    if (typeof v === 'string' && SQLSTATE.test(v)) return v;
  }
  return undefined;
}

function* chain(err: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e != null && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    yield e;
  }
}

/** The SQLSTATE of a failure's cause chain, if a database error in it has one. */
export function sqlstateOf(err: unknown): string | undefined {
  for (const e of chain(err)) {
    const s = ownSqlstate(e);
    if (s) return s;
  }
  return undefined;
}

function safeMessage(e: unknown, sqlstate: string | undefined, code: string | undefined): string {
  if (sqlstate) return CONDITIONS[sqlstate] ?? CLASSES[sqlstate.slice(0, 2)] ?? 'database_error';
  const text = typeof e === 'object' && e !== null ? stringField(e, 'message') : undefined;
  const phrase = text === undefined ? undefined : KNOWN_PHRASES.find((p) => text.includes(p));
  return phrase ?? (code ? `socket error ${code}` : 'database error');
}

/** The frames of a stack, under a header that is ours; message lines (and so SQL) dropped. */
function framesOnly(e: object, header: string): string | undefined {
  let stack = stringField(e, 'stack');
  if (stack === undefined) return undefined;
  // Drop the header V8 wrote ("Name: message", the message possibly spanning many lines)
  // where it is recognisable, then keep frame lines only.
  const message = stringField(e, 'message');
  const name = stringField(e, 'name');
  if (message !== undefined && name !== undefined && stack.startsWith(`${name}: ${message}`)) {
    stack = stack.slice(name.length + 2 + message.length);
  }
  const frames = stack
    .split('\n')
    .map((l) => (FRAME.test(l) ? l : ''))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return frames ? `${header}\n    ${frames}` : header;
}

function serializeDatabaseError(e: unknown, depth = 0): LoggedDatabaseError {
  const type = typeOf(e);
  const sqlstate = ownSqlstate(e);
  const obj = typeof e === 'object' && e !== null ? e : undefined;
  const rawCode = obj ? stringField(obj, 'code') : undefined;
  const code = obj && rawCode !== undefined && rawCode !== sqlstate && /^E[A-Z0-9_]+$/.test(rawCode) ? rawCode : undefined;
  const message = safeMessage(e, sqlstate, code);
  const out: LoggedDatabaseError = { type, message };
  if (sqlstate) out.sqlstate = sqlstate;
  if (code) out.code = code;
  if (obj) {
    // Schema names, not values.
    for (const key of ['table', 'column', 'constraint'] as const) {
      const v = stringField(obj, key);
      if (v !== undefined && /^[\w$.]{1,128}$/.test(v)) out[key] = v;
    }
    const stack = framesOnly(obj, `${type}: ${message}${sqlstate ? ` (SQLSTATE ${sqlstate})` : ''}`);
    if (stack) out.stack = stack;
    const cause = fieldOf(obj, 'cause');
    if (cause != null && depth < 5) out.cause = serializeDatabaseError(cause, depth + 1);
  }
  return out;
}

/** What an `err` field holds: pino's form for errors (type, message, stack, own fields). */
export interface LoggedError {
  [key: string]: unknown;
  type: string;
  message: string;
  stack: string;
}

/**
 * The `err` serializer: database failures (anywhere in the cause chain) without their
 * text, everything else as pino writes errors. The first SQLSTATE of the chain is hoisted
 * to `err.sqlstate`.
 */
export function serializeError(err: unknown): LoggedError {
  // Not an error (pino keeps such values as they are), or not the database's: pino's form.
  if (typeof err !== 'object' || err === null || !isDatabaseError(err)) return pino.stdSerializers.err(err as Error);
  // An identity provider's failure (services/sso/oidc.ts) holds no SQL: a socket error in its
  // causes is the IdP's, and its message says what failed.
  if ((err as Error).name === 'IdpError') return pino.stdSerializers.err(err as Error);
  const out = serializeDatabaseError(err);
  out.sqlstate ??= sqlstateOf(err);
  return { ...out, stack: out.stack ?? `${out.type}: ${out.message}` };
}
