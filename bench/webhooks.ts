// npm run bench -- --webhooks: delivery of 10,000 queued webhook messages to a receiver on this
// machine (events per second, by the gateway's own sender code, one instance and two at once),
// and the added cost on the operation that enqueues them: the audit statement that writes an
// event's messages, timed with no endpoint and with one subscribed (SPEC §13).
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../src/config.js';
import type { Db } from '../src/db/orm.js';
import { recordAudit } from '../src/services/shared/audit.js';
import { seal } from '../src/services/shared/secrets.js';
import { webhookSecretKey } from '../src/services/webhooks/endpoints.js';
import { webhookDelivery } from '../src/services/webhooks/sender.js';

const EVENTS = 10_000;
const TIMED_STATEMENTS = 2_000;

export async function webhookBench(orm: Db, url: string, log: (msg: string) => void): Promise<string[]> {
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: url, SECRET_KEY: randomBytes(32).toString('base64url'), WEBHOOK_TIMEOUT: '10' });
  const sql = (text: string, params: unknown[] = []) => orm.em.fork().getConnection().execute<Array<Record<string, unknown>>>(text, params, 'all');
  let received = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
  const target = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  try {
    const [tenant] = await sql("insert into tenants (id, slug, name, google_domains, default_roles, created_at) values (?, 'webhook-bench', 'Webhook bench', '{}', '{}', now()) on conflict (slug) do update set name = excluded.name returning id", [randomUUID()]);
    const tenantId = tenant.id as string;
    await sql('delete from webhook_endpoints where tenant_id = ?', [tenantId]);

    // The enqueueing statement with no endpoint, then with one subscribed.
    const timed = async () => {
      const t0 = performance.now();
      for (let i = 0; i < TIMED_STATEMENTS; i++) await recordAudit(orm.em.fork(), new Date(), { tenantId, userId: null, type: 'user_disabled' });
      return (performance.now() - t0) / TIMED_STATEMENTS;
    };
    log(`webhooks: timing ${TIMED_STATEMENTS} audit statements without and with a subscribed endpoint...`);
    const without = await timed();
    const endpointId = randomUUID();
    await sql("insert into webhook_endpoints (id, tenant_id, url, events, secret, created_at, updated_at) values (?, ?, ?, '{*}', ?, now(), now())", [
      endpointId,
      tenantId,
      target,
      seal(webhookSecretKey(config), `whsec_${randomBytes(32).toString('base64')}`),
    ]);
    const withOne = await timed();
    await sql('delete from webhook_messages where endpoint_id = ?', [endpointId]);

    const queue = async () =>
      sql(
        `insert into webhook_messages (id, tenant_id, endpoint_id, type, payload, next_attempt_at, created_at)
         select 'msg_' || replace(gen_random_uuid()::text, '-', ''), ?, ?, 'user.disabled', jsonb_build_object('type', 'user.disabled', 'n', i)::text, now(), now() from generate_series(1, ?) as i`,
        [tenantId, endpointId, EVENTS],
      );
    const drain = async (instances: number) => {
      received = 0;
      const senders = Array.from({ length: instances }, () => webhookDelivery({ config, orm, now: () => new Date(), log: { info: () => {}, warn: () => {} } }));
      const t0 = performance.now();
      await Promise.all(senders.map(async (s) => {
        while ((await s.pass(() => false)).claimed > 0);
      }));
      const seconds = (performance.now() - t0) / 1000;
      const [left] = await sql("select count(*)::int as n from webhook_messages where status = 'pending'");
      return { seconds, rate: EVENTS / seconds, left: Number(left.n), received };
    };
    const lines: string[] = [];
    for (const instances of [1, 2]) {
      await queue();
      log(`webhooks: delivering ${EVENTS} queued messages with ${instances} sender(s)...`);
      const r = await drain(instances);
      lines.push(`webhooks: ${EVENTS} messages delivered by ${instances} sender(s) in ${r.seconds.toFixed(1)} s: ${Math.round(r.rate)} events/s (receiver got ${r.received}, ${r.left} left pending)`);
    }
    lines.push(`webhooks: the enqueueing audit statement ${without.toFixed(2)} ms without an endpoint, ${withOne.toFixed(2)} ms with one subscribed (+${(withOne - without).toFixed(2)} ms per event)`);
    return lines;
  } finally {
    receiver.close();
  }
}
