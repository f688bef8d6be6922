// The sending side of webhooks (SPEC §13), on every instance, as the mail outbox is sent: a pass
// claims due messages in one autocommit statement (FOR UPDATE SKIP LOCKED, the attempt counted
// and next_attempt_at pushed out by a lease, so no two instances hold one message), POSTs each
// signed per Standard Webhooks (the reference library `standardwebhooks` signs: one signature per
// live secret, space-separated), and marks it fenced by the attempt it claimed: delivered on a
// 2xx within WEBHOOK_TIMEOUT; else retried after the next wait of WEBHOOK_RETRY_SCHEDULE, or
// failed when the schedule is spent. Redirects are not followed; the connection goes to the
// address checked (shared/outbound.ts). An endpoint failing for WEBHOOK_DISABLE_AFTER is disabled
// (audited). Log lines name the message, endpoint, status and duration: never a body or secret.
import { randomUUID } from 'node:crypto';
import { ForeignKeyConstraintViolationException } from '@mikro-orm/core';
import { Webhook } from 'standardwebhooks';
import type { Config } from '../../config.js';
import type { Db } from '../../db/orm.js';
import { recordAudit } from '../shared/audit.js';
import { passWorker, type PassWorker } from '../shared/passes.js';
import { outboundFetch } from '../shared/outbound.js';
import { unseal } from '../shared/secrets.js';
import { webhookSecretKey } from './endpoints.js';

/** Attempts in flight at once in one instance. */
export const WEBHOOK_CONCURRENCY = 64;
/**
 * Attempts in flight for one tenant in one instance (less than twice this): a tenant whose
 * endpoints hang holds at most these slots, and the other tenants' messages go on.
 */
export const WEBHOOK_TENANT_SLOTS = 16;
/** How long a claim keeps a message from other instances (it must outlast a batch's timeouts). */
const LEASE_MS = 120_000;

const CLAIM = `
update webhook_messages m set attempts = m.attempts + 1, next_attempt_at = ?
  from webhook_endpoints e
 where m.id = any(array(
         select id from webhook_messages where status = 'pending' and next_attempt_at <= ? and tenant_id <> all(?::uuid[])
          order by next_attempt_at limit ? for update skip locked))
   and m.status = 'pending' and e.id = m.endpoint_id
returning m.id, m.tenant_id, m.endpoint_id, m.payload, m.attempts, e.url, e.secret, e.previous_secret, e.previous_secret_until, e.disabled_at, e.failing_since`;

interface Claimed {
  id: string;
  tenant_id: string;
  endpoint_id: string;
  payload: string;
  attempts: number;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: Date | null;
  disabled_at: Date | null;
  failing_since: Date | null;
}

export type WebhookOutcome = 'delivered' | 'retried' | 'failed';
export type WebhookPass = Record<WebhookOutcome | 'claimed', number>;

export interface WebhookLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface WebhookSenderOptions {
  config: Pick<Config, 'webhooks' | 'outbound' | 'secretKey'>;
  orm: Db;
  now: () => Date;
  log: WebhookLog;
  /** Told of every attempt's outcome (auth_webhook_deliveries_total). */
  observe?: (outcome: WebhookOutcome) => void;
}

/** The signature header of `payload` for every secret that signs now (the rotated one for 24 h). */
export function signatures(secrets: string[], id: string, at: Date, payload: string): string {
  return secrets.map((s) => new Webhook(s).sign(id, at, payload)).join(' ');
}

/** Messages waiting to be delivered, for the gauge auth_webhook_pending. */
export async function countPendingWebhooks(orm: Db): Promise<number> {
  const [row] = await orm.em.fork().getConnection().execute<Array<{ n: number }>>(`select count(*)::int as n from webhook_messages where status = 'pending'`, [], 'all');
  return row.n;
}

export function webhookDelivery(options: WebhookSenderOptions) {
  const { config, orm, log } = options;
  const settings = config.webhooks;
  // Only the status counts: the answer's body is never read (a 2xx with a large body delivers).
  const post = outboundFetch({ allowPrivate: config.outbound.allowPrivate, maxBytes: 0 });
  const connection = () => orm.em.fork().getConnection();

  /** One attempt: the HTTP status, or the failure's class when no answer came. */
  async function attempt(row: Claimed, at: Date): Promise<{ status?: number; error?: string }> {
    if (row.disabled_at) return { error: 'EndpointDisabled' };
    const key = webhookSecretKey(config);
    const secrets = [unseal(key, row.secret), ...(row.previous_secret && row.previous_secret_until && new Date(row.previous_secret_until) > at ? [unseal(key, row.previous_secret)] : [])];
    try {
      const res = await post(row.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(settings.timeoutSeconds * 1000),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'auth-gateway-webhooks',
          'webhook-id': row.id,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': signatures(secrets, row.id, at, row.payload),
        },
        body: row.payload,
      });
      return res.status >= 200 && res.status < 300 ? { status: res.status } : { status: res.status, error: res.status >= 300 && res.status < 400 ? 'Redirect' : `HTTP ${res.status}` };
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      return { error: err.name === 'TimeoutError' || err.name === 'AbortError' ? 'Timeout' : (err.cause?.code ?? err.name) };
    }
  }

  async function deliver(row: Claimed): Promise<WebhookOutcome> {
    const at = options.now();
    const t0 = performance.now();
    const result = await attempt(row, at);
    const durationMs = Math.round(performance.now() - t0);
    const done = options.now();
    // The attempt's row and the message's mark in one statement (one round trip per attempt).
    const attemptRow = `with a as (insert into webhook_attempts (id, message_id, endpoint_id, attempted_at, status_code, duration_ms, error) values (?, ?, ?, ?, ?, ?, ?))`;
    const attemptParams = [randomUUID(), row.id, row.endpoint_id, at, result.status ?? null, durationMs, result.error ?? null];
    const facts = { webhook_id: row.id, endpoint: row.endpoint_id, attempt: row.attempts, status: result.status, duration_ms: durationMs };
    try {
      return await mark(row, result, attemptRow, attemptParams, facts, done);
    } catch (e) {
      // Its endpoint was deleted during the attempt (the message went with it): nothing to mark.
      if (e instanceof ForeignKeyConstraintViolationException || (e as { code?: string }).code === '23503') return 'failed';
      throw e;
    }
  }

  async function mark(row: Claimed, result: { status?: number; error?: string }, attemptRow: string, attemptParams: unknown[], facts: object, done: Date): Promise<WebhookOutcome> {
    const db = connection();
    let outcome: WebhookOutcome;
    if (!result.error) {
      outcome = 'delivered';
      await db.execute(
        `${attemptRow}, e as (update webhook_endpoints set failing_since = null where id = ? and failing_since is not null)
         update webhook_messages set status = 'delivered', finished_at = ?, last_error = null where id = ? and attempts = ? and status = 'pending'`,
        [...attemptParams, row.endpoint_id, done, row.id, row.attempts],
        'run',
      );
      log.info(facts, 'webhook delivered');
    } else {
      const wait = row.disabled_at ? undefined : settings.retryScheduleSeconds[row.attempts - 1];
      outcome = wait === undefined ? 'failed' : 'retried';
      if (wait === undefined) {
        await db.execute(`${attemptRow} update webhook_messages set status = 'failed', finished_at = ?, last_error = ? where id = ? and attempts = ? and status = 'pending'`, [...attemptParams, done, result.error, row.id, row.attempts], 'run');
      } else {
        await db.execute(`${attemptRow} update webhook_messages set next_attempt_at = ?, last_error = ? where id = ? and attempts = ? and status = 'pending'`, [
          ...attemptParams,
          new Date(done.getTime() + wait * 1000),
          result.error,
          row.id,
          row.attempts,
        ], 'run');
      }
      if (!row.disabled_at) await failing(row, done);
      log.warn({ ...facts, webhook_error: result.error, retry_in_s: wait }, wait === undefined ? 'webhook failed: its retries are spent' : 'webhook delivery failed; retried later');
    }
    options.observe?.(outcome);
    return outcome;
  }

  /** The endpoint fails since its first failure after a success; past WEBHOOK_DISABLE_AFTER it is disabled (audited). */
  async function failing(row: Claimed, at: Date): Promise<void> {
    const db = connection();
    const [disabled] = await db.execute<Array<{ id: string }>>(
      `update webhook_endpoints set failing_since = coalesce(failing_since, ?),
              disabled_at = case when coalesce(failing_since, ?) <= ? then ? else disabled_at end
        where id = ? and disabled_at is null returning case when disabled_at is not null then id end as id`,
      [at, at, new Date(at.getTime() - settings.disableAfterSeconds * 1000), at, row.endpoint_id],
      'all',
    );
    if (!disabled?.id) return;
    await recordAudit(orm.em.fork(), at, { tenantId: row.tenant_id, userId: null, type: 'webhook_endpoint_disabled', details: { endpoint: row.endpoint_id, failing_since: row.failing_since ?? at } });
    log.warn({ endpoint: row.endpoint_id }, 'webhook endpoint disabled: its deliveries have failed for WEBHOOK_DISABLE_AFTER');
  }

  /**
   * One pass: a window of WEBHOOK_CONCURRENCY attempts, refilled by claims of at most
   * WEBHOOK_TENANT_SLOTS messages whenever half of it is free; a tenant holding its slots is left
   * out of the next claims. It ends when nothing is due and nothing is in flight.
   */
  async function pass(stopped: () => boolean): Promise<WebhookPass> {
    const result: WebhookPass = { claimed: 0, delivered: 0, retried: 0, failed: 0 };
    const inFlight = new Set<Promise<void>>();
    const perTenant = new Map<string, number>();
    let failure: { error: unknown } | undefined;
    for (let round = 0; round < 10_000 && !stopped() && !failure; round++) {
      const free = WEBHOOK_CONCURRENCY - inFlight.size;
      if (free < WEBHOOK_CONCURRENCY / 2) {
        await Promise.race(inFlight);
        continue;
      }
      const now = options.now();
      const full = [...perTenant].filter(([, n]) => n >= WEBHOOK_TENANT_SLOTS).map(([t]) => t);
      const rows = await connection().execute<Claimed[]>(CLAIM, [new Date(now.getTime() + LEASE_MS), now, `{${full.join(',')}}`, Math.min(free, WEBHOOK_TENANT_SLOTS)], 'all');
      result.claimed += rows.length;
      for (const row of rows) {
        perTenant.set(row.tenant_id, (perTenant.get(row.tenant_id) ?? 0) + 1);
        // A failed mark leaves its message leased: it comes due again after the lease (and may be sent again: at least once).
        const attempt: Promise<void> = deliver(row)
          .then((o) => void result[o]++, (error: unknown) => void (failure ??= { error }))
          .finally(() => {
            inFlight.delete(attempt);
            perTenant.set(row.tenant_id, perTenant.get(row.tenant_id)! - 1);
          });
        inFlight.add(attempt);
      }
      if (rows.length === 0) {
        if (!inFlight.size) break;
        await Promise.race(inFlight);
      }
    }
    await Promise.allSettled(inFlight);
    if (failure) throw failure.error;
    return result;
  }

  return { pass };
}

export type WebhookSender = PassWorker<WebhookPass>;

/** The instance's sender: a pass every WEBHOOK_POLL_INTERVAL_MS (and when woken), never two at once. */
export function createWebhookSender(options: WebhookSenderOptions): WebhookSender {
  return passWorker({ pollIntervalMs: options.config.webhooks.pollIntervalMs, stopWaitMs: 5000, pass: webhookDelivery(options).pass, log: options.log, name: 'webhook sender' });
}
