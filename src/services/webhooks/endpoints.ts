// A tenant's webhook endpoints (SPEC §13, permission webhooks:manage; a session, never an API
// key, changes them): listed, created (the secret made here and shown once), replaced, their
// secret rotated (the old one signs beside the new for 24 h), deleted. Secrets are sealed at
// rest. In production a URL must be https:// and its name resolve to public addresses only,
// checked here and again where each delivery connects (shared/outbound.ts).
import { randomBytes, randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Config } from '../../config.js';
import { transactional, pgTextArray, type EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ServiceDeps } from '../deps.js';
import type { Client } from '../rate-limits/limiter.js';
import { managedTarget, type Viewer } from '../sessions/principal.js';
import { recordAudit } from '../shared/audit.js';
import { canonicalId } from '../shared/identifiers.js';
import { refuse, text, texts } from '../shared/input.js';
import { isPublicAddress } from '../shared/outbound.js';
import { derivedKey, seal } from '../shared/secrets.js';
import { WEBHOOK_EVENTS } from '../shared/webhook-events.js';

export interface WebhookEndpointInput {
  url: string;
  events?: string[] | null;
  description?: string | null;
}

export interface WebhookEndpointInfo {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  disabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export const webhookSecretKey = (config: Pick<Config, 'secretKey'>) => derivedKey(config.secretKey, 'webhook-secret v1');
/** `whsec_` and the base64 of 32 random bytes (Standard Webhooks' secret form). */
const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
const notFound = () => new AuthError('auth_webhook_not_found');
/** A rotated secret keeps signing beside the new one this long. */
export const ROTATION_OVERLAP_MS = 24 * 3600_000;

/** The URL an endpoint may have: absolute http(s) without credentials or fragment; in production https to public addresses only. */
export async function checkWebhookUrl(value: unknown, config: Pick<Config, 'production' | 'outbound'>): Promise<string> {
  const raw = text('url', value, 2048)!;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AuthError('auth_webhook_url_invalid');
  }
  if (!['https:', 'http:'].includes(url.protocol) || url.username || url.password || url.hash) throw new AuthError('auth_webhook_url_invalid');
  if (config.outbound.allowPrivate) return url.href;
  if (config.production && url.protocol !== 'https:') throw new AuthError('auth_webhook_url_invalid');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : await lookup(host, { all: true }).then((all) => all.map((a) => a.address), () => []);
  if (!addresses.length || addresses.some((a) => !isPublicAddress(a))) throw new AuthError('auth_webhook_url_invalid');
  return url.href;
}

export function checkEvents(value: unknown): string[] {
  const events = value === undefined || value === null ? ['*'] : texts('events', value, 64);
  if (!events.length || events.some((e) => e !== '*' && !(WEBHOOK_EVENTS as readonly string[]).includes(e))) refuse('events', 'format');
  return events;
}

type Row = { id: string; url: string; events: string[]; description: string | null; disabled_at: Date | null; created_at: Date; updated_at: Date };
const SELECT = 'select id, url, events, description, disabled_at, created_at, updated_at from webhook_endpoints';
const info = (r: Row): WebhookEndpointInfo => ({
  id: r.id,
  url: r.url,
  events: r.events,
  description: r.description,
  disabled: r.disabled_at !== null,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

async function one(em: EntityManager, tenantId: string, id: string, lock = false): Promise<WebhookEndpointInfo> {
  const [row] = (await em.execute(`${SELECT} where tenant_id = ? and id = ?${lock ? ' for update' : ''}`, [tenantId, id])) as Row[];
  if (!row) throw notFound();
  return info(row);
}

export async function listWebhookEndpoints(em: EntityManager, viewer: Viewer): Promise<WebhookEndpointInfo[]> {
  const { tenantId } = await managedTarget(em, viewer, 'webhooks:manage', undefined, notFound);
  return ((await em.execute(`${SELECT} where tenant_id = ? order by created_at, id`, [tenantId])) as Row[]).map(info);
}

type EditDeps = Pick<ServiceDeps, 'config' | 'now'>;

export async function createWebhookEndpoint(em: EntityManager, deps: EditDeps, viewer: Viewer, input: WebhookEndpointInput, client: Client): Promise<{ endpoint: WebhookEndpointInfo; secret: string }> {
  const { tenantId } = await managedTarget(em, viewer, 'webhooks:manage', undefined, notFound);
  const url = await checkWebhookUrl(input.url, deps.config);
  const events = checkEvents(input.events);
  const description = text('description', input.description, 500, false);
  const secret = newSecret();
  const id = randomUUID();
  await transactional(em, async (tx) => {
    const now = deps.now();
    await tx.execute('insert into webhook_endpoints (id, tenant_id, url, events, description, secret, created_at, updated_at) values (?, ?, ?, ?::text[], ?, ?, ?, ?)', [
      id,
      tenantId,
      url,
      pgTextArray(events),
      description,
      seal(webhookSecretKey(deps.config), secret),
      now,
      now,
    ]);
    await recordAudit(tx, now, { tenantId, userId: viewer.userId, sessionId: viewer.sessionId, type: 'webhook_endpoint_created', details: { endpoint: id }, client });
  });
  return { endpoint: await one(em, tenantId, id), secret };
}

/** Replaces an endpoint's URL, events and description (its secret stays); a disabled endpoint is enabled again. */
export async function updateWebhookEndpoint(em: EntityManager, deps: EditDeps, viewer: Viewer, id: string, input: WebhookEndpointInput, client: Client): Promise<WebhookEndpointInfo> {
  const { tenantId, id: endpointId } = await managedTarget(em, viewer, 'webhooks:manage', id, notFound);
  const url = await checkWebhookUrl(input.url, deps.config);
  const events = checkEvents(input.events);
  const description = text('description', input.description, 500, false);
  await transactional(em, async (tx) => {
    await one(tx, tenantId, endpointId, true);
    const now = deps.now();
    await tx.execute('update webhook_endpoints set url = ?, events = ?::text[], description = ?, disabled_at = null, failing_since = null, updated_at = ? where id = ?', [url, pgTextArray(events), description, now, endpointId]);
    await recordAudit(tx, now, { tenantId, userId: viewer.userId, sessionId: viewer.sessionId, type: 'webhook_endpoint_updated', details: { endpoint: endpointId }, client });
  });
  return one(em, tenantId, endpointId);
}

/** A new secret, shown once; for 24 h the old one signs too (two signatures in the header). */
export async function rotateWebhookSecret(em: EntityManager, deps: EditDeps, viewer: Viewer, id: string, client: Client): Promise<{ endpoint: WebhookEndpointInfo; secret: string }> {
  const { tenantId, id: endpointId } = await managedTarget(em, viewer, 'webhooks:manage', id, notFound);
  const secret = newSecret();
  await transactional(em, async (tx) => {
    await one(tx, tenantId, endpointId, true);
    const now = deps.now();
    await tx.execute('update webhook_endpoints set previous_secret = secret, previous_secret_until = ?, secret = ?, updated_at = ? where id = ?', [
      new Date(now.getTime() + ROTATION_OVERLAP_MS),
      seal(webhookSecretKey(deps.config), secret),
      now,
      endpointId,
    ]);
    await recordAudit(tx, now, { tenantId, userId: viewer.userId, sessionId: viewer.sessionId, type: 'webhook_secret_rotated', details: { endpoint: endpointId }, client });
  });
  return { endpoint: await one(em, tenantId, endpointId), secret };
}

/** Deletes an endpoint and its undelivered messages and history. */
export async function deleteWebhookEndpoint(em: EntityManager, deps: EditDeps, viewer: Viewer, id: string, client: Client): Promise<void> {
  const { tenantId, id: endpointId } = await managedTarget(em, viewer, 'webhooks:manage', id, notFound);
  await transactional(em, async (tx) => {
    await one(tx, tenantId, endpointId, true);
    await tx.execute('delete from webhook_endpoints where id = ?', [endpointId]);
    await recordAudit(tx, deps.now(), { tenantId, userId: viewer.userId, sessionId: viewer.sessionId, type: 'webhook_endpoint_deleted', details: { endpoint: endpointId }, client });
  });
}

export interface WebhookDeliveryInfo {
  id: string;
  messageId: string;
  eventType: string;
  attemptedAt: Date;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

/** An endpoint's attempts, newest first: `first` of them after the attempt `after` (its id). */
export async function listWebhookDeliveries(em: EntityManager, viewer: Viewer, endpointId: string, first = 50, after?: string | null): Promise<WebhookDeliveryInfo[]> {
  const { tenantId, id } = await managedTarget(em, viewer, 'webhooks:manage', endpointId, notFound);
  await one(em, tenantId, id);
  const limit = Math.min(Math.max(Math.trunc(first), 1), 200);
  const cursor = after ? canonicalId(after) : undefined;
  if (after && !cursor) throw notFound();
  const rows = (await em.execute(
    `select a.id, a.message_id, m.type, a.attempted_at, a.status_code, a.duration_ms, a.error
       from webhook_attempts a join webhook_messages m on m.id = a.message_id
      where a.endpoint_id = ?${cursor ? ' and (a.attempted_at, a.id) < (select attempted_at, id from webhook_attempts where id = ? and endpoint_id = ?)' : ''}
      order by a.attempted_at desc, a.id desc limit ?`,
    cursor ? [id, cursor, id, limit] : [id, limit],
  )) as Array<{ id: string; message_id: string; type: string; attempted_at: Date; status_code: number | null; duration_ms: number; error: string | null }>;
  return rows.map((r) => ({ id: r.id, messageId: r.message_id, eventType: r.type, attemptedAt: new Date(r.attempted_at), statusCode: r.status_code, durationMs: r.duration_ms, error: r.error }));
}

/** Sends a message again (its webhook-id stays): due now, with a fresh retry schedule. */
export async function redeliverWebhook(em: EntityManager, deps: EditDeps, viewer: Viewer, messageId: string, client: Client): Promise<void> {
  const { tenantId } = await managedTarget(em, viewer, 'webhooks:manage', undefined, notFound);
  if (typeof messageId !== 'string' || !/^msg_[0-9a-f]{32}$/.test(messageId)) throw notFound();
  await transactional(em, async (tx) => {
    const rows = (await tx.execute(
      `update webhook_messages set status = 'pending', attempts = 0, next_attempt_at = ?, finished_at = null where id = ? and tenant_id = ? returning endpoint_id`,
      [deps.now(), messageId, tenantId],
    )) as Array<{ endpoint_id: string }>;
    if (!rows.length) throw notFound();
    await recordAudit(tx, deps.now(), { tenantId, userId: viewer.userId, sessionId: viewer.sessionId, type: 'webhook_redelivered', details: { endpoint: rows[0].endpoint_id, message: messageId }, client });
  });
}

