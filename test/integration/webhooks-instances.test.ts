// Webhooks across processes and faults (SPEC §13): a change committed by a gateway killed with
// SIGKILL before it delivered is delivered by another instance; two instances delivering at once
// send each message once; a database cut in the middle of a pass loses nothing; and at delivery,
// a name that resolves to a loopback address is refused where production's rules hold (no request
// reaches the receiver).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seal } from '../../src/services/shared/secrets.js';
import { webhookSecretKey } from '../../src/services/webhooks/endpoints.js';
import { webhookDelivery } from '../../src/services/webhooks/sender.js';
import { bearer, requestJson, signIn, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { sharingEnv, spawnGateway } from '../helpers/process.js';

let gw: TestGateway;
let receiver: Server;
let base: string;
const got: Array<{ id: string; body: string; headers: Record<string, string> }> = [];
const PASSWORD = 'webhook instances passphrase 1';
let secret: string;
let endpointId: string;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ id: String(req.headers['webhook-id']), body, headers: req.headers as Record<string, string> });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  gw = await startTestGateway({ proxy: true });
  await gw.seed({
    tenants: [
      {
        slug: 'acme',
        name: 'Acme',
        roles: [{ name: 'admin', permissions: ['webhooks:manage', 'users:manage', 'users:read'] }],
        users: [{ email: 'boss@acme.example', password: PASSWORD, roles: ['admin'] }, ...Array.from({ length: 3 }, (_, i) => ({ email: `u${i}@acme.example`, password: PASSWORD, roles: [] }))],
      },
    ],
  } as never);
  const boss = (await signIn(gw, { tenant: 'acme', email: 'boss@acme.example', password: PASSWORD })).access_token;
  const made = await gw.gql('mutation($i: WebhookEndpointInput!) { createWebhookEndpoint(input: $i) { secret endpoint { id } } }', { i: { url: `${base}/hook`, events: ['*'] } }, bearer(boss));
  ({ secret } = made.body.data.createWebhookEndpoint);
  endpointId = made.body.data.createWebhookEndpoint.endpoint.id;
}, 60_000);
afterAll(async () => {
  await gw?.close();
  receiver?.close();
});

/** `n` messages for the endpoint, as the audit statement writes them (a change reported each). */
async function queued(n: number): Promise<string[]> {
  const rows = await gw.sql(
    `insert into webhook_messages (id, tenant_id, endpoint_id, type, payload, next_attempt_at, created_at)
     select 'msg_' || replace(gen_random_uuid()::text, '-', ''), tenant_id, id, 'user.disabled', jsonb_build_object('type', 'user.disabled', 'n', i)::text, now(), now()
       from webhook_endpoints, generate_series(1, $2) as i where id = $1 returning id`,
    [endpointId, n],
  );
  return rows.map((r) => r.id as string);
}

describe('webhooks across instances and faults', () => {
  it('a change committed by a gateway killed (SIGKILL) before it delivered is delivered by another instance', async () => {
    // The other instance never polls by itself: whatever it commits waits in the database.
    const other = await spawnGateway({ ...sharingEnv(gw), WEBHOOK_POLL_INTERVAL_MS: '0' });
    const login = await requestJson(`${other.url}/auth/login`, 'POST', { tenant: 'acme', email: 'boss@acme.example', password: PASSWORD });
    const [u0] = await gw.sql("select id from users where email = 'u0@acme.example'");
    const res = await requestJson(`${other.url}/graphql`, 'POST', { query: 'mutation($id: ID!) { disableUser(userId: $id) { id } }', variables: { id: u0.id } }, bearer(login.body.access_token));
    expect(res.body.errors, JSON.stringify(res.body)).toBeUndefined();
    other.kill('SIGKILL');
    await other.exited;
    got.length = 0;
    await gw.gateway.webhooks.runOnce();
    const bodies = got.map((g) => new Webhook(secret).verify(g.body, g.headers) as { type: string; data: { user: { id: string } } });
    expect(bodies.filter((b) => b.type === 'user.disabled').map((b) => b.data.user.id)).toEqual([u0.id]);
  }, 60_000);

  it('two instances delivering at once send each message once', async () => {
    const second = await startTestGateway({ databaseUrl: gw.databaseUrl, env: { SECRET_KEY: gw.config.secretKey } });
    try {
      const ids = await queued(60);
      got.length = 0;
      await Promise.all([gw.gateway.webhooks.runOnce(), second.gateway.webhooks.runOnce(), gw.gateway.webhooks.runOnce(), second.gateway.webhooks.runOnce()]);
      const counts = new Map<string, number>();
      for (const g of got) counts.set(g.id, (counts.get(g.id) ?? 0) + 1);
      expect([...counts.keys()].sort()).toEqual([...ids].sort());
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
    } finally {
      await second.close();
    }
  }, 60_000);

  it('a database cut in the middle of a pass loses nothing: the next pass delivers what waits', async () => {
    const ids = await queued(30);
    got.length = 0;
    // The first claim goes through; the database goes away before the marks.
    gw.proxy!.armResetAtQuery(2);
    await gw.gateway.webhooks.runOnce().catch(() => undefined);
    gw.proxy!.restore();
    // A message claimed by the failed pass waits for its lease; move the clock past it rather than the test.
    await gw.sql("update webhook_messages set next_attempt_at = now() where status = 'pending'");
    await gw.gateway.webhooks.runOnce();
    const delivered = new Set(got.map((g) => g.id));
    for (const id of ids) expect(delivered.has(id), id).toBe(true);
    expect(await gw.sql("select count(*)::int as n from webhook_messages where status = 'pending'")).toEqual([{ n: 0 }]);
  }, 60_000);

  it("at delivery, production's rules refuse a name that resolves to a loopback address: nothing reaches it", async () => {
    const [endpoint] = await gw.sql(
      "insert into webhook_endpoints (id, tenant_id, url, events, secret, created_at, updated_at) select gen_random_uuid(), id, $1, '{*}', $2, now(), now() from tenants where slug = 'acme' returning id",
      [`https://localhost:${new URL(base).port}/rebound`, seal(webhookSecretKey(gw.config), `whsec_${Buffer.alloc(32, 1).toString('base64')}`)],
    );
    await gw.sql(
      "insert into webhook_messages (id, tenant_id, endpoint_id, type, payload, next_attempt_at, created_at) select 'msg_' || replace(gen_random_uuid()::text, '-', ''), tenant_id, id, 'user.disabled', '{}', now(), now() from webhook_endpoints where id = $1",
      [endpoint.id],
    );
    // Every other message is done; this pass, with production's outbound rules, meets only this one.
    const pass = webhookDelivery({ config: { ...gw.config, outbound: { allowPrivate: false, maxBytes: 65_536 } }, orm: gw.orm, now: () => new Date(), log: { info: () => {}, warn: () => {} } }).pass;
    got.length = 0;
    expect((await pass(() => false)).retried).toBe(1);
    expect(got).toEqual([]);
    const [attempt] = await gw.sql('select status_code, error from webhook_attempts where endpoint_id = $1', [endpoint.id]);
    expect(attempt.status_code).toBeNull();
    expect(attempt.error).toBeTruthy();
  });
});
