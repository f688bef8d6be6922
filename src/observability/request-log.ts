// One JSON log line per request, for both doors, and the metrics of that request. What a
// request did is gathered on its context while it runs (operations, tenant, failures) and
// written once, when the response has gone out. A 5xx line carries the cause as `err`,
// written by the logger's `err` serializer (error-log.ts: a database error's class,
// SQLSTATE and frames, never its SQL or values), and the SQLSTATE again as `sqlstate`.
import type { FastifyBaseLogger } from 'fastify';
import type { AuthError, Remedy } from '../errors/auth-error.js';
import { catalog, type CatalogEntry } from '../errors/catalog.js';
import { sqlstateOf } from './error-log.js';
import { classOf, SSO_FAILURE_REASONS, type Metrics, type Outcome, type SsoFailureReason, type Transport } from './metrics.js';

export interface Failure {
  code: string;
  operation: string;
  /** What the refusal said to fix (SPEC §16): field names and rules, never values. */
  remedy?: Remedy;
  /** Kept for 5xx only: the log line carries cause and stack (database errors without their SQL); client errors carry none. */
  cause?: unknown;
  /** auth_sso_failed: which check failed (a metric label). */
  ssoReason?: SsoFailureReason;
}

/** The check an auth_sso_failed failed, from the first words of its cause (services/sso: "state: ...", "claims: ...", "code exchange: ...", "signature: ..."). */
function ssoReasonOf(err: AuthError): SsoFailureReason | undefined {
  if (err.code !== 'auth_sso_failed') return undefined;
  const head = (err.cause instanceof Error ? err.cause.message : '').split(':')[0];
  if (head === 'code exchange') return 'exchange';
  return (SSO_FAILURE_REASONS as readonly string[]).includes(head) ? (head as SsoFailureReason) : 'other';
}

export interface RequestObservation {
  transport: Transport;
  /** The operations the request ran: a REST route's, or the root fields of a GraphQL document. */
  operations: string[];
  tenant?: string;
  failures: Failure[];
}

/** The label of a GraphQL request whose document never ran (parse, validation, HTTP-level errors). */
export const GRAPHQL_DOCUMENT = 'graphql_document';

export function newObservation(transport: Transport, operation?: string): RequestObservation {
  return { transport, operations: operation ? [operation] : [], failures: [] };
}

/** Note a failure of the request; security events are logged as they happen. */
export function recordFailure(obs: RequestObservation, log: FastifyBaseLogger, err: AuthError, operation: string): void {
  obs.failures.push({ code: err.code, operation, remedy: err.remedy, cause: err.status >= 500 ? (err.cause ?? err) : undefined, ssoReason: ssoReasonOf(err) });
  const entry: CatalogEntry = catalog[err.code];
  if (entry.securityEvent || err.event) {
    // A failed SSO answer says which check failed (signature, audience, state...), never the answer itself.
    const reason = err.code === 'auth_sso_failed' && err.cause instanceof Error ? { reason: err.cause.message.slice(0, 200) } : {};
    log.warn({ transport: obs.transport, operation, tenant: obs.tenant, code: err.code, security_event: err.event ?? true, ...reason }, catalog[err.code].message);
  }
}

/** A failure reported by code only (GraphQL document errors keep Apollo's codes). */
export function recordDocumentFailure(obs: RequestObservation, code: string): void {
  obs.failures.push({ code, operation: GRAPHQL_DOCUMENT });
}

export function finishRequest(
  log: FastifyBaseLogger,
  metrics: Metrics,
  obs: RequestObservation,
  request: { method: string; url: string; status: number; durationMs: number },
): void {
  const { status, durationMs } = request;
  const codes = [...new Set(obs.failures.map((f) => f.code))];
  const cause = obs.failures.find((f) => f.cause !== undefined)?.cause;
  const line = {
    transport: obs.transport,
    operation: obs.operations.join(',') || undefined,
    tenant: obs.tenant,
    method: request.method,
    url: request.url.split('?')[0],
    status,
    duration_ms: Math.round(durationMs * 1000) / 1000,
    code: codes[0],
    codes: codes.length > 1 ? codes : undefined,
    // Why a refusal was made, as the client was told (field names and rules, never values).
    ...obs.failures.find((f) => f.remedy)?.remedy,
    // The database's SQLSTATE, for queries and alerts by condition (57014, 55P03, 08006, ...).
    sqlstate: cause === undefined ? undefined : sqlstateOf(cause),
    // A GraphQL response is HTTP 200 even when a field failed with a 5xx-class code.
    err: cause,
  };
  if (status >= 500 || cause !== undefined) log.error(line, 'request failed');
  else log.info(line, 'request completed');

  // Metrics count auth operations (and GraphQL documents that never ran), not health checks.
  const ops = obs.operations.length ? obs.operations : obs.transport === 'graphql' || obs.failures.length ? [GRAPHQL_DOCUMENT] : [];
  if (ops.length === 0) return;
  for (const op of ops) {
    const first = obs.failures.find((f) => f.operation === op);
    const outcome: Outcome = first ? classOf(first.code) : status >= 500 ? 'server' : status >= 400 ? 'client' : 'success';
    metrics.request(op, obs.transport, outcome);
  }
  for (const f of obs.failures) {
    metrics.error(f.code, f.operation, obs.transport);
    if (f.ssoReason) metrics.ssoFailure(f.ssoReason);
  }
  metrics.duration(ops.length === 1 ? ops[0] : 'multiple', obs.transport, durationMs / 1000);
}
