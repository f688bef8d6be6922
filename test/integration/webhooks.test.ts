// Webhooks (SPEC §13) to a receiver in this process that verifies every delivery with the
// Standard Webhooks reference library (`standardwebhooks`). The refusals first (no permission,
// URLs the gateway will not call, unknown events and ids, production's addresses), then: a
// change's message written in its transaction (a rolled-back one sends nothing), the body and
// signature, retries with the same webhook-id and fresh timestamps, a timeout, a reset
// connection, a redirect not followed, the schedule spent then a redelivery, a rotated secret
// (both sign for 24 h), and an endpoint disabled after failing for WEBHOOK_DISABLE_AFTER.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { transactional } from '../../src/db/orm.js';
import { recordAudit } from '../../src/services/shared/audit.js';
import { setUserDisabled } from '../../src/services/operator/commands.js';
import { checkWebhookUrl } from '../../src/services/webhooks/endpoints.js';
import { bearer, signIn, startTestGateway, type TestGateway } from '../helpers/gateway.js';

type Got = { path: string; headers: Record<string, string>; body: string };
let gw: TestGateway;
let receiver: Server;
let base: string;
let got: Got[] = [];
/** How the receiver answers the next requests (one behaviour each, then 204). */
let next: Array<(res: ServerResponse) => void> = [];
let boss: string;
const PASSWORD = 'webhook test passphrase 1';

beforeAll(async () => {
  receiver = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ path: req.url ?? '', headers: req.headers as Record<string, string>, body });
      (next.shift() ?? ((r) => r.writeHead(204).end()))(res);
    });
  });
  await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  gw = await startTestGateway({ env: { WEBHOOK_RETRY_SCHEDULE: '1,1', WEBHOOK_TIMEOUT: '1', WEBHOOK_DISABLE_AFTER: '2' } });
  await gw.seed({
    tenants: [
      {
        slug: 'acme',
        name: 'Acme',
        roles: [
          { name: 'admin', permissions: ['webhooks:manage', 'users:manage', 'users:read'] },
          { name: 'member', permissions: ['users:read'] },
        ],
        users: [
          { email: 'boss@acme.example', password: PASSWORD, roles: ['admin'] },
          { email: 'ada@acme.example', password: PASSWORD, roles: ['member'] },
        ],
      },
      { slug: 'globex', name: 'Globex', roles: [{ name: 'admin', permissions: ['webhooks:manage'] }], users: [{ email: 'gus@globex.example', password: PASSWORD, roles: ['admin'] }] },
    ],
  } as never);
  boss = (await signIn(gw, { tenant: 'acme', email: 'boss@acme.example', password: PASSWORD })).access_token;
}, 60_000);
afterAll(async () => {
  await gw?.close();
  receiver?.close();
});
beforeEach(() => {
  got = [];
  next = [];
});

const CREATE = 'mutation($i: WebhookEndpointInput!) { createWebhookEndpoint(input: $i) { secret endpoint { id url events disabled } } }';
const codeOf = (res: { body: any }) => res.body.errors?.[0]?.extensions?.code;
const create = async (events: string[] = ['*'], path = '/hook', token = boss) => {
  const res = await gw.gql(CREATE, { i: { url: `${base}${path}`, events } }, bearer(token));
  expect(res.body.errors, JSON.stringify(res.body)).toBeUndefined();
  return res.body.data.createWebhookEndpoint as { secret: string; endpoint: { id: string } };
};
const remove = (id: string) => gw.gql('mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }', { id }, bearer(boss));
const userId = async (email: string) => (await gw.sql('select id from users where email = $1', [email]))[0].id as string;
/** A change that reports user.disabled / user.enabled: Ada disabled or enabled by the admin. */
const setDisabled = async (disabled: boolean) => {
  const res = await gw.gql(`mutation($id: ID!) { ${disabled ? 'disableUser' : 'enableUser'}(userId: $id) { id } }`, { id: await userId('ada@acme.example') }, bearer(boss));
  expect(res.body.errors, JSON.stringify(res.body)).toBeUndefined();
};
const deliver = () => gw.gateway.webhooks.runOnce();
const deliveries = async (endpointId: string) =>
  (await gw.gql('query($id: ID!) { webhookDeliveries(endpointId: $id) { messageId eventType statusCode error durationMs } }', { id: endpointId }, bearer(boss))).body.data.webhookDeliveries as Array<{
    messageId: string;
    eventType: string;
    statusCode: number | null;
    error: string | null;
  }>;

describe('webhook endpoints: what is refused', () => {
  it('needs webhooks:manage; refuses URLs it will not call, unknown events, and ids not of the tenant', async () => {
    const ada = (await signIn(gw, { tenant: 'acme', email: 'ada@acme.example', password: PASSWORD })).access_token;
    expect(codeOf(await gw.gql(CREATE, { i: { url: `${base}/x` } }, bearer(ada)))).toBe('auth_forbidden');
    for (const url of ['not a url', 'ftp://example.com/hook', `http://user:pw@127.0.0.1:1/x`, `${base}/x#frag`]) {
      expect(codeOf(await gw.gql(CREATE, { i: { url } }, bearer(boss))), url).toBe('auth_webhook_url_invalid');
    }
    // Control and formatting characters: refused by field, never stored.
    for (const [i, field] of [
      [{ url: `${base}/x\u0000` }, 'input.url'],
      [{ url: `${base}/x`, description: 'pay\u202eroll' }, 'input.description'],
      [{ url: `${base}/x`, events: ['user.created\u0007'] }, 'input.events'],
    ] as const) {
      const res = await gw.gql(CREATE, { i }, bearer(boss));
      expect(res.body.errors?.[0]?.extensions?.fields, JSON.stringify(i)).toEqual([{ field, rule: 'control_characters' }]);
    }
    const unknown = await gw.gql(CREATE, { i: { url: `${base}/x`, events: ['user.exploded'] } }, bearer(boss));
    expect(unknown.body.errors?.[0]?.extensions?.fields).toEqual([{ field: 'input.events', rule: 'format' }]);
    const gus = (await signIn(gw, { tenant: 'globex', email: 'gus@globex.example', password: PASSWORD })).access_token;
    const theirs = (await gw.gql(CREATE, { i: { url: `${base}/globex` } }, bearer(gus))).body.data.createWebhookEndpoint.endpoint.id;
    for (const id of [theirs, '00000000-0000-4000-8000-000000000000', 'nope']) {
      expect(codeOf(await remove(id)), id).toBe('auth_webhook_not_found');
    }
    expect(codeOf(await gw.gql('mutation { redeliverWebhook(messageId: "msg_00000000000000000000000000000000") }', undefined, bearer(boss)))).toBe('auth_webhook_not_found');
    // Globex's own endpoint goes: its messages must not mix with the later tests' deliveries.
    expect((await gw.gql('mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }', { id: theirs }, bearer(gus))).body.errors).toBeUndefined();
  });

  it('in production: https only, and names and addresses that are not public (localhost resolves to 127.0.0.1) are refused', async () => {
    const prod = { production: true, outbound: { allowPrivate: false, maxBytes: 1 } };
    for (const url of ['http://example.com/hook', 'https://127.0.0.1/hook', 'https://localhost/hook', 'https://10.1.2.3/hook', 'https://[::1]/hook', 'https://169.254.169.254/x', 'https://[::ffff:127.0.0.1]/x', 'https://100.64.0.1/x', 'https://[::ffff:0:7f00:1]/x', 'https://[100::1]/x', 'https://[2001:db8::1]/x', 'https://192.0.2.1/x', 'https://192.88.99.1/x']) {
      await expect(checkWebhookUrl(url, prod), url).rejects.toMatchObject({ code: 'auth_webhook_url_invalid' });
    }
    expect(await checkWebhookUrl('https://93.184.216.34/hook', prod)).toBe('https://93.184.216.34/hook');
  });
});

describe('deliveries', () => {
  it('a committed change is delivered, signed per Standard Webhooks; the secret is shown once and sealed at rest', async () => {
    const { secret, endpoint } = await create(['user.disabled']);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(JSON.stringify((await gw.gql('{ webhookEndpoints { id url events } }', undefined, bearer(boss))).body)).not.toContain(secret);
    expect((await gw.sql('select secret from webhook_endpoints where id = $1', [endpoint.id]))[0].secret).not.toContain(secret.slice(6));
    await setDisabled(true);
    await setDisabled(false); // user.enabled: not subscribed
    expect((await deliver()).delivered).toBe(1);
    expect(got).toHaveLength(1);
    const payload = new Webhook(secret).verify(got[0].body, got[0].headers) as any;
    expect(payload).toMatchObject({ type: 'user.disabled', data: { tenant: 'acme', user: { id: await userId('ada@acme.example'), email: 'ada@acme.example' } } });
    expect(new Date(payload.timestamp).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(got[0].headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(got[0].body).not.toMatch(/password|secret|token/i);
    await remove(endpoint.id);
  });

  it('a rolled-back change sends nothing: the message is in its transaction', async () => {
    const { endpoint } = await create();
    const [acme] = await gw.sql("select id from tenants where slug = 'acme'");
    await expect(
      transactional(gw.orm.em.fork(), async (tx) => {
        await recordAudit(tx, new Date(), { tenantId: acme.id, userId: await userId('ada@acme.example'), type: 'user_disabled' });
        throw new Error('the change failed after its audit event');
      }),
    ).rejects.toThrow('the change failed');
    expect(await gw.sql('select count(*)::int as n from webhook_messages where endpoint_id = $1', [endpoint.id])).toEqual([{ n: 0 }]);
    await remove(endpoint.id);
  });

  it('retries with the same webhook-id and a fresh timestamp after a 500, a timeout, a reset connection and a redirect (not followed)', async () => {
    const { secret, endpoint } = await create(['user.enabled'], '/retry');
    next = [
      (r) => r.writeHead(500).end(),
      (r) => r.writeHead(302, { location: `${base}/elsewhere` }).end(),
    ];
    await setDisabled(true);
    await setDisabled(false);
    await deliver();
    await new Promise((r) => setTimeout(r, 1100));
    await deliver();
    await new Promise((r) => setTimeout(r, 1100));
    // Third attempt: the last of the schedule (1,1): delivered.
    await deliver();
    expect(got.map((g) => g.path)).toEqual(['/retry', '/retry', '/retry']);
    expect(new Set(got.map((g) => g.headers['webhook-id'])).size).toBe(1);
    const stamps = got.map((g) => Number(g.headers['webhook-timestamp']));
    expect(stamps[1]).toBeGreaterThan(stamps[0]);
    for (const g of got) expect(new Webhook(secret).verify(g.body, g.headers)).toMatchObject({ type: 'user.enabled' });
    const list = await deliveries(endpoint.id);
    expect(list.map((d) => [d.statusCode, d.error])).toEqual([
      [204, null],
      [302, 'Redirect'],
      [500, 'HTTP 500'],
    ]);

    // A timeout and a reset connection: no status, the failure named; the schedule spent, failed; then redelivered.
    got = [];
    next = [(r) => setTimeout(() => r.writeHead(204).end(), 1500), (r) => r.socket?.destroy(), (r) => r.socket?.destroy()];
    await setDisabled(true);
    await setDisabled(false);
    for (let i = 0; i < 3; i++) {
      await deliver();
      await new Promise((r) => setTimeout(r, 1100));
    }
    const failed = (await deliveries(endpoint.id)).slice(0, 3);
    expect(failed.map((d) => d.statusCode)).toEqual([null, null, null]);
    expect(failed.at(-1)!.error).toBe('Timeout');
    expect(failed[0].error).toBeTruthy();
    const messageId = failed[0].messageId;
    expect(await gw.sql('select status from webhook_messages where id = $1', [messageId])).toEqual([{ status: 'failed' }]);
    // Failing for longer than WEBHOOK_DISABLE_AFTER (2 s here) disabled it: the operator enables it again, then redelivers.
    const update = 'mutation($id: ID!, $i: WebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $i) { disabled } }';
    expect((await gw.gql(update, { id: endpoint.id, i: { url: `${base}/retry`, events: ['user.enabled'] } }, bearer(boss))).body.data.updateWebhookEndpoint.disabled).toBe(false);
    const again = await gw.gql('mutation($m: String!) { redeliverWebhook(messageId: $m) }', { m: messageId }, bearer(boss));
    expect(again.body.errors).toBeUndefined();
    got = [];
    await deliver();
    expect(got.map((g) => g.headers['webhook-id'])).toEqual([messageId]);
    expect(await gw.sql('select status from webhook_messages where id = $1', [messageId])).toEqual([{ status: 'delivered' }]);
    await remove(endpoint.id);
  }, 30_000);

  it('the import document writes endpoints (replaced by URL) whose secret it gives; its refusals name the field', async () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const doc = (url: string, extra: Record<string, unknown> = {}) => ({ tenants: [{ slug: 'acme', name: 'Acme', roles: [], users: [], webhooks: [{ url, events: ['user.disabled'], secret, ...extra }] }] });
    await gw.seed(doc(`${base}/imported`) as never);
    const first = await gw.sql('select id, updated_at from webhook_endpoints where url = $1', [`${base}/imported`]);
    // The same document again changes nothing (not even a disabled endpoint's state).
    await gw.sql('update webhook_endpoints set disabled_at = now() where id = $1', [first[0].id]);
    await gw.seed(doc(`${base}/imported`) as never);
    const rows = await gw.sql('select id, updated_at, disabled_at is not null as disabled from webhook_endpoints where url = $1', [`${base}/imported`]);
    expect(rows).toEqual([{ ...first[0], disabled: true }]);
    await gw.sql('update webhook_endpoints set disabled_at = null where id = $1', [first[0].id]);
    await setDisabled(true);
    await setDisabled(false);
    await deliver();
    const imported = got.find((g) => g.path === '/imported')!;
    expect(new Webhook(secret).verify(imported.body, imported.headers)).toMatchObject({ type: 'user.disabled' });
    await expect(gw.seed(doc('ftp://example.com/x') as never)).rejects.toThrow('tenants[0].webhooks[0].url');
    await expect(gw.seed(doc(`${base}/x`, { secret: 'plain text' }) as never)).rejects.toThrow('tenants[0].webhooks[0].secret');
    await expect(gw.seed(doc(`${base}/x`, { events: ['nope'] }) as never)).rejects.toThrow('tenants[0].webhooks[0].events: format');
    await remove(rows[0].id);
  });

  it('user.created (here by the import document) and session.created (a sign-in), with the user and the session in the body', async () => {
    const { secret, endpoint } = await create(['user.created', 'session.created'], '/lifecycle');
    const email = `new-${Date.now()}@acme.example`;
    await gw.seed({ tenants: [{ slug: 'acme', name: 'Acme', roles: [], users: [{ email, password: PASSWORD, roles: [] }] }] } as never);
    const { access_token } = await signIn(gw, { tenant: 'acme', email, password: PASSWORD });
    const sid = JSON.parse(Buffer.from(access_token.split('.')[1], 'base64url').toString()).sid;
    await deliver();
    const bodies = got.map((g) => new Webhook(secret).verify(g.body, g.headers) as any).sort((a, b) => a.type.localeCompare(b.type));
    const user = { id: await userId(email), email };
    expect(bodies.map((b) => [b.type, b.data])).toEqual([
      ['session.created', { tenant: 'acme', user, session: { id: sid, method: 'password' } }],
      ['user.created', { tenant: 'acme', user, via: 'import' }],
    ]);
    await remove(endpoint.id);
  });

  it('session.revoked at a logout and a logout of every session; the operator\'s CLI paths report theirs too', async () => {
    const { secret, endpoint } = await create(['session.revoked', 'user.disabled', 'user.enabled'], '/ends');
    const one = await signIn(gw, { tenant: 'acme', email: 'ada@acme.example', password: PASSWORD });
    await signIn(gw, { tenant: 'acme', email: 'ada@acme.example', password: PASSWORD });
    const sid = JSON.parse(Buffer.from(one.access_token.split('.')[1], 'base64url').toString()).sid;
    expect((await gw.rest('POST', '/auth/logout', { refresh_token: one.refresh_token })).status).toBeLessThan(300);
    const all = await signIn(gw, { tenant: 'acme', email: 'ada@acme.example', password: PASSWORD });
    expect((await gw.gql('mutation { logoutAll }', undefined, bearer(all.access_token))).body.errors).toBeUndefined();
    await setUserDisabled(gw.orm.em.fork(), 'acme', 'ada@acme.example', true);
    await setUserDisabled(gw.orm.em.fork(), 'acme', 'ada@acme.example', false);
    await deliver();
    const data = got.map((g) => new Webhook(secret).verify(g.body, g.headers) as any).map((b) => [b.type, b.data.session ?? null, b.data.by ?? b.data.via]);
    expect(data).toEqual(
      expect.arrayContaining([
        ['session.revoked', { id: sid }, 'logout'],
        ['session.revoked', null, 'logout_all'],
        ['user.disabled', null, 'cli'],
        ['user.enabled', null, 'cli'],
      ]),
    );
    await remove(endpoint.id);
  });

  it('a 2xx with a large body delivers (the body is never read); an endpoint deleted during its attempt does not fail the pass', async () => {
    const { endpoint } = await create(['user.disabled'], '/big');
    next = [(r) => r.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(300_000))];
    await setDisabled(true);
    await setDisabled(false);
    expect((await deliver()).delivered).toBe(1);
    // Deleted while the receiver holds the attempt: the pass ends without an error.
    next = [(r) => setTimeout(() => r.writeHead(204).end(), 400)];
    await setDisabled(true);
    await setDisabled(false);
    const pass = deliver();
    await new Promise((r) => setTimeout(r, 150));
    await remove(endpoint.id);
    await expect(pass).resolves.toMatchObject({ claimed: 1 });
    expect(gw.logs()).not.toContain('webhook sender: database failed');
  });

  it("a tenant whose endpoints hang holds only its share of the sender: another tenant's message is delivered meanwhile", async () => {
    // Acme: 40 endpoints that answer only after the timeout. Globex: one that answers at once.
    const hung = [];
    for (let i = 0; i < 40; i++) hung.push((await create(['user.disabled'], `/hang-${i}`)).endpoint.id);
    const gus = (await signIn(gw, { tenant: 'globex', email: 'gus@globex.example', password: PASSWORD })).access_token;
    const quick = (await gw.gql(CREATE, { i: { url: `${base}/globex-quick`, events: ['session.created'] } }, bearer(gus))).body.data.createWebhookEndpoint.endpoint.id;
    next = Array.from({ length: 40 }, () => () => {}); // never answered: each attempt times out (WEBHOOK_TIMEOUT 1 s)
    await setDisabled(true);
    await signIn(gw, { tenant: 'globex', email: 'gus@globex.example', password: PASSWORD });
    const t0 = Date.now();
    const pass = deliver();
    await expect.poll(() => got.some((g) => g.path === '/globex-quick'), { timeout: 900, interval: 20 }).toBe(true);
    expect(Date.now() - t0).toBeLessThan(900);
    await pass;
    for (const id of hung) await remove(id);
    await gw.gql('mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }', { id: quick }, bearer(gus));
    await setDisabled(false);
  }, 30_000);

  it('after a rotation both secrets sign for 24 h: either verifies', async () => {
    const { secret: old, endpoint } = await create(['user.disabled'], '/rotated');
    const rotated = await gw.gql('mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }', { id: endpoint.id }, bearer(boss));
    const fresh = rotated.body.data.rotateWebhookSecret.secret as string;
    expect(fresh).not.toBe(old);
    await setDisabled(true);
    await setDisabled(false);
    await deliver();
    const mine = got.filter((g) => g.path === '/rotated');
    expect(mine).toHaveLength(1);
    expect(mine[0].headers['webhook-signature'].split(' ')).toHaveLength(2);
    for (const s of [old, fresh]) expect(new Webhook(s).verify(mine[0].body, mine[0].headers)).toMatchObject({ type: 'user.disabled' });
    await remove(endpoint.id);
  });

  it('an endpoint whose deliveries all fail for WEBHOOK_DISABLE_AFTER is disabled, audited; an update enables it again', async () => {
    const { endpoint } = await create(['user.disabled'], '/down');
    next = Array.from({ length: 10 }, () => (r: ServerResponse) => r.writeHead(503).end());
    for (let i = 0; i < 3; i++) {
      await setDisabled(true);
      await setDisabled(false);
      await deliver();
      await new Promise((r) => setTimeout(r, 1100));
    }
    expect(await gw.sql('select disabled_at is not null as disabled from webhook_endpoints where id = $1', [endpoint.id])).toEqual([{ disabled: true }]);
    expect((await gw.sql("select count(*)::int as n from audit_events where type = 'webhook_endpoint_disabled'"))[0].n).toBeGreaterThan(0);
    // A disabled endpoint gets no new messages.
    await setDisabled(true);
    expect(await gw.sql("select count(*)::int as n from webhook_messages where endpoint_id = $1 and status = 'pending' and created_at > now() - interval '1 second'", [endpoint.id])).toEqual([{ n: 0 }]);
    await setDisabled(false);
    const res = await gw.gql('mutation($id: ID!, $i: WebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $i) { disabled } }', { id: endpoint.id, i: { url: `${base}/down`, events: ['user.disabled'] } }, bearer(boss));
    expect(res.body.data.updateWebhookEndpoint.disabled).toBe(false);
    await remove(endpoint.id);
  }, 30_000);
});
