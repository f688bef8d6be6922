// The import document's `webhooks` of a tenant (SPEC §13): `url`, `events`, `secret` (whsec_...),
// checked as GraphQL checks them, the secret sealed; an endpoint is replaced by its URL, and left
// as it is (disabled or not) when the document says what it already holds.
import { randomUUID } from 'node:crypto';
import type { Config } from '../../config.js';
import { pgTextArray, type EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import { importRefusal, sameSet } from '../shared/input.js';
import { seal, unseal } from '../shared/secrets.js';
import { checkEvents, checkWebhookUrl, webhookSecretKey } from './endpoints.js';

/** A webhook endpoint as the import document writes it (SPEC §13): replaced by its URL. */
export interface WebhookImportInput {
  url: string;
  events?: string[] | null;
  secret: string;
}

/** Writes the import document's endpoints of a tenant (created, or replaced by URL); `fail` turns a refusal into the import's message. */
export async function importWebhooks(
  tx: EntityManager,
  deps: { config: Pick<Config, 'production' | 'outbound' | 'secretKey'>; now: () => Date },
  tenantId: string,
  list: WebhookImportInput[],
  where: string,
  fail: (message: string) => never,
): Promise<{ created: number; updated: number; unchanged: number }> {
  const counts = { created: 0, updated: 0, unchanged: 0 };
  for (const [i, input] of list.entries()) {
    const at = `${where}.webhooks[${i}]`;
    if (!input || typeof input !== 'object') fail(`${at} must be an object`);
    let url: string;
    let events: string[];
    try {
      url = await checkWebhookUrl(input.url, deps.config);
      events = checkEvents(input.events);
    } catch (e) {
      if (e instanceof AuthError && e.code === 'auth_webhook_url_invalid') return fail(`${at}.url: not a URL the gateway will call (in production: https, public addresses only)`);
      return importRefusal(e, at, fail);
    }
    if (typeof input.secret !== 'string' || !/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/.test(input.secret)) fail(`${at}.secret must be whsec_ and the base64 of at least 24 bytes`);
    const key = webhookSecretKey(deps.config);
    const now = deps.now();
    const [stored] = (await tx.execute('select id, events, secret from webhook_endpoints where tenant_id = ? and url = ? for update', [tenantId, url])) as Array<{ id: string; events: string[]; secret: string }>;
    if (stored) {
      // The same document twice changes nothing (and re-enables nothing the sender disabled).
      if (sameSet(stored.events, events) && unseal(key, stored.secret) === input.secret) {
        counts.unchanged++;
        continue;
      }
      await tx.execute('update webhook_endpoints set events = ?::text[], secret = ?, updated_at = ? where id = ?', [pgTextArray(events), seal(key, input.secret), now, stored.id]);
      counts.updated++;
      continue;
    }
    const sealed = seal(key, input.secret);
    await tx.execute('insert into webhook_endpoints (id, tenant_id, url, events, secret, created_at, updated_at) values (?, ?, ?, ?::text[], ?, ?, ?)', [randomUUID(), tenantId, url, pgTextArray(events), sealed, now, now]);
    counts.created++;
  }
  return counts;
}
