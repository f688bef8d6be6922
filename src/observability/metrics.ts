// Prometheus metrics (prom-client), one registry per app. Every label value comes from a
// bounded set: catalog codes, Apollo's document-error codes, operation names and route
// patterns — never from user input.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { catalog, isErrorCode, type ErrorClass } from '../errors/catalog.js';
import { operations } from '../api/operations.js';

export type Transport = 'rest' | 'graphql';
export type Outcome = 'success' | ErrorClass;

// Apollo's codes for errors in the GraphQL document itself (kept as they are: docs/errors.md).
const APOLLO_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'INTERNAL_SERVER_ERROR',
]);

/** A code as a label: catalog and Apollo codes as they are, anything else folded into "other". */
export function codeLabel(code: string): string {
  return isErrorCode(code) || APOLLO_CODES.has(code) ? code : 'other';
}

/** The label of anything that is not one of the gateway's operations. */
export const OTHER_OPERATION = 'other';
// Operation labels: the catalog's operations, the public errorCodes field, GraphQL documents
// that never ran, and requests of several fields. Everything else (introspection, fragments,
// whatever a client sends) is folded into one label, so clients cannot grow /metrics.
const OPERATION_LABELS = new Set<string>([...Object.values(operations).map((o) => o.name), 'errorCodes', 'graphql_document', 'multiple']);

export function operationLabel(operation: string): string {
  return OPERATION_LABELS.has(operation) ? operation : OTHER_OPERATION;
}

export function classOf(code: string): ErrorClass {
  return isErrorCode(code) ? catalog[code].class : 'client';
}

export interface PoolStats {
  used: number;
  free: number;
  pendingAcquires: number;
  pendingCreates: number;
}

export interface Metrics {
  registry: Registry;
  request(operation: string, transport: Transport, outcome: Outcome): void;
  error(code: string, operation: string, transport: Transport): void;
  duration(operation: string, transport: Transport, seconds: number): void;
  passwordHash(kind: 'hash' | 'verify', seconds: number): void;
  /** A breach lookup of a new password: breached, clean, or fallback (HIBP unreachable: the offline list alone decided). */
  breachCheck(outcome: 'breached' | 'clean' | 'fallback'): void;
  /** One purge run: rows deleted per table (a bounded set of table names), its duration, whether every table went through. */
  purge(deleted: Record<string, number>, seconds: number, outcome: 'success' | 'failure'): void;
  /** One delivery of the mail outbox; kinds outside the ones the metrics were told are labelled 'other'. */
  mail(kind: string, outcome: 'sent' | 'retried' | 'abandoned'): void;
  /** A failed SSO answer (auth_sso_failed) by the check that failed. */
  ssoFailure(reason: SsoFailureReason): void;
  /** One webhook delivery attempt (SPEC §13): delivered, retried later, or failed for the last time. */
  webhook(outcome: 'delivered' | 'retried' | 'failed'): void;
}

/**
 * Which check of an IdP's answer failed: the state (no pending flow, an unknown InResponseTo),
 * the claims (issuer, subject, address, the user's refusal), OIDC's exchange with the IdP
 * (signature, issuer, audience, nonce), SAML's signature, audience, recipient (Recipient or
 * Destination), time window and replay (an assertion ID used before), or another.
 */
export const SSO_FAILURE_REASONS = ['state', 'claims', 'exchange', 'signature', 'audience', 'recipient', 'time', 'replay', 'other'] as const;
export type SsoFailureReason = (typeof SSO_FAILURE_REASONS)[number];

/** What the metrics are told of the mail outbox: its kinds (the label's values) and how to count what waits. */
export interface MailMetricsSource {
  kinds: readonly string[];
  pending(): Promise<number>;
}

/** Bound on the scrape's count of pending mail; past it the gauge keeps its last value. */
export const MAIL_PENDING_TIMEOUT_MS = 1000;

export function createMetrics(pool: () => PoolStats | undefined, mail?: MailMetricsSource, webhooks?: { pending(): Promise<number> }): Metrics {
  const mailKinds = new Set<string>(mail?.kinds ?? []);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'auth_requests_total',
    help: 'Auth operations by operation, transport and outcome (success, client, server, dependency).',
    labelNames: ['operation', 'transport', 'outcome'] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'auth_errors_total',
    help: 'Failures by catalog code (or Apollo document-error code), operation, transport and class.',
    labelNames: ['code', 'operation', 'transport', 'class'] as const,
    registers: [registry],
  });
  const durations = new Histogram({
    name: 'auth_request_duration_seconds',
    help: 'Request latency by operation and transport.',
    labelNames: ['operation', 'transport'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const hashing = new Histogram({
    name: 'auth_password_hash_duration_seconds',
    help: 'argon2id hash and verify durations.',
    labelNames: ['kind'] as const,
    buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
    registers: [registry],
  });
  const purgedRows = new Counter({
    name: 'auth_purge_rows_deleted_total',
    help: 'Expired or dead rows deleted by the purge, by table.',
    labelNames: ['table'] as const,
    registers: [registry],
  });
  const purgeRuns = new Counter({
    name: 'auth_purge_runs_total',
    help: 'Purge runs by outcome (failure: a table could not be purged; retried next interval).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const purgeDuration = new Histogram({
    name: 'auth_purge_duration_seconds',
    help: 'Duration of a purge run.',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const poolGauge = (name: string, help: string, pick: (s: PoolStats) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const stats = pool();
        this.set(stats ? pick(stats) : 0);
      },
    });
  poolGauge('auth_db_pool_connections_used', 'Database connections in use.', (s) => s.used);
  poolGauge('auth_db_pool_connections_free', 'Idle database connections in the pool.', (s) => s.free);
  poolGauge('auth_db_pool_pending_acquires', 'Requests waiting for a database connection.', (s) => s.pendingAcquires);
  poolGauge('auth_db_pool_pending_creates', 'Database connections being opened.', (s) => s.pendingCreates);
  const breachChecks = new Counter({
    name: 'auth_password_breach_checks_total',
    help: 'Have I Been Pwned lookups of new passwords by outcome (fallback: unreachable, the offline list alone decided).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const mailSent = new Counter({
    name: 'auth_mail_sent_total',
    help: 'Deliveries of the mail outbox by kind and outcome (sent; retried: failed, tried again later; abandoned: failed for the last time).',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  });
  const ssoFailures = new Counter({
    name: 'auth_sso_failures_total',
    help: "Failed SSO answers (auth_sso_failed) by the check that failed: state, claims, exchange (signature, issuer, audience, nonce, the user's refusal), other.",
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const webhookDeliveries = new Counter({
    name: 'auth_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome (delivered; retried: failed, tried again later; failed: the retry schedule is spent).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  /** A count of what waits in an outbox, made in the database at scrape time (bounded: past it the gauge keeps its last value). */
  const pendingGauge = (name: string, help: string, source?: { pending(): Promise<number> }) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        if (!source) return this.set(0);
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), MAIL_PENDING_TIMEOUT_MS)));
        const n = await Promise.race([source.pending().catch(() => undefined), late]).finally(() => clearTimeout(timer));
        if (n !== undefined) this.set(n);
      },
    });
  pendingGauge('auth_mail_outbox_pending', 'Mails of the outbox waiting to be sent (counted in the database at scrape time).', mail);
  pendingGauge('auth_webhook_pending', 'Webhook messages waiting to be delivered (counted in the database at scrape time).', webhooks);

  return {
    registry,
    request: (operation, transport, outcome) => requests.inc({ operation: operationLabel(operation), transport, outcome }),
    error: (code, operation, transport) => errors.inc({ code: codeLabel(code), operation: operationLabel(operation), transport, class: classOf(code) }),
    duration: (operation, transport, seconds) => durations.observe({ operation: operationLabel(operation), transport }, seconds),
    passwordHash: (kind, seconds) => hashing.observe({ kind }, seconds),
    breachCheck: (outcome) => breachChecks.inc({ outcome }),
    purge: (deleted, seconds, outcome) => {
      for (const [table, rows] of Object.entries(deleted)) purgedRows.inc({ table }, rows);
      purgeRuns.inc({ outcome });
      purgeDuration.observe(seconds);
    },
    mail: (kind, outcome) => mailSent.inc({ kind: mailKinds.has(kind) ? kind : 'other', outcome }),
    ssoFailure: (reason) => ssoFailures.inc({ reason }),
    webhook: (outcome) => webhookDeliveries.inc({ outcome }),
  };
}
