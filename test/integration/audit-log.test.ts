// The audit log: each change of security state writes its event (actor, subject, address) in the change's transaction, listed for audit:read holders of the tenant, newest first, by cursor and filters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SoftAuthenticator } from '../helpers/authenticator.js';
import { bearer, expectGqlError, registerPasskey, signIn, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
const PASSWORD = 'audit test passphrase 1';
const ROLES = [
  { name: 'auditor', permissions: ['audit:read', 'users:read', 'users:manage', 'api_keys:create'] },
  { name: 'member', permissions: ['api_keys:create'] },
];

beforeAll(async () => {
  gw = await startTestGateway();
  await gw.seed({
    tenants: [
      { slug: 'acme', name: 'Acme', roles: ROLES, users: [{ email: 'aud@acme.test', password: PASSWORD, roles: ['auditor'] }, { email: 'mem@acme.test', password: PASSWORD, roles: ['member'] }] },
      { slug: 'globex', name: 'Globex', roles: ROLES, users: [{ email: 'gus@globex.test', password: PASSWORD, roles: ['auditor'] }] },
    ],
  });
});
afterAll(() => gw?.close());

const EVENTS = `query($first: Int, $after: String, $filter: AuditFilter) { auditEvents(first: $first, after: $after, filter: $filter) {
  edges { cursor node { id type actor { id email } subject { id email } ip userAgent createdAt details } } pageInfo { hasNextPage endCursor } } }`;

describe('audit log', () => {
  it('records sessions, keys, passkeys, logout everywhere and admin changes with actor and subject, listed newest first', async () => {
    const mem = (await gw.rest('POST', '/auth/login', { tenant: 'acme', email: 'mem@acme.test', password: PASSWORD }, { 'user-agent': 'Audit Agent/1' })).body;
    const key = (await gw.rest('POST', '/auth/api-key', { name: 'k' }, bearer(mem.access_token))).body;
    expect((await gw.rest('DELETE', `/auth/api-key/${key.id}`, undefined, bearer(mem.access_token))).status).toBe(204);
    const passkey = await registerPasskey(gw, new SoftAuthenticator(), mem.access_token);
    expect((await gw.rest('DELETE', `/auth/webauthn/credentials/${passkey}`, undefined, bearer(mem.access_token))).status).toBe(204);
    expect((await gw.rest('POST', '/auth/logout/all', undefined, bearer(mem.access_token))).status).toBe(204);
    const aud = (await signIn(gw, { tenant: 'acme', email: 'aud@acme.test', password: PASSWORD })).access_token;
    const memId = (await gw.sql("select id from users where email = 'mem@acme.test'"))[0].id;
    const off = await gw.gql('mutation($id: ID!) { disableUser(userId: $id) { id } }', { id: memId }, bearer(aud));
    expect(off.body.errors, JSON.stringify(off.body.errors)).toBeUndefined();

    const res = await gw.gql(EVENTS, { first: 50, filter: { userId: memId } }, bearer(aud));
    expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
    const nodes = res.body.data.auditEvents.edges.map((e: { node: unknown }) => e.node);
    const types = nodes.map((n: { type: string }) => n.type);
    expect(types).toEqual(expect.arrayContaining(['session_started', 'api_key_created', 'api_key_revoked', 'passkey_added', 'passkey_removed', 'logout_all', 'user_disabled']));
    const started = nodes.find((n: { type: string }) => n.type === 'session_started');
    expect(started).toMatchObject({ actor: { email: 'mem@acme.test' }, subject: { email: 'mem@acme.test' }, ip: '127.0.0.1', userAgent: 'Audit Agent/1', details: { method: 'password' } });
    const disabled = nodes.find((n: { type: string }) => n.type === 'user_disabled');
    expect(disabled).toMatchObject({ actor: { email: 'aud@acme.test' }, subject: { email: 'mem@acme.test' } });
    // Newest first.
    const times = nodes.map((n: { createdAt: string }) => Date.parse(n.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    // No secret in any event.
    expect(JSON.stringify(nodes)).not.toContain(key.api_key);
  });

  it('pages by cursor without duplicates, filters by type and time, and keeps tenants apart', async () => {
    const aud = (await signIn(gw, { tenant: 'acme', email: 'aud@acme.test', password: PASSWORD })).access_token;
    for (let i = 0; i < 5; i++) await signIn(gw, { tenant: 'acme', email: 'aud@acme.test', password: PASSWORD });
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: { edges: Array<{ node: { id: string; type: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string } } = (await gw.gql(EVENTS, { first: 3, after, filter: { type: 'session_started' } }, bearer(aud))).body.data.auditEvents;
      for (const e of page.edges) expect(e.node.type).toBe('session_started');
      seen.push(...page.edges.map((e) => e.node.id));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    const [{ n }] = await gw.sql("select count(*)::int as n from audit_events where type = 'session_started' and tenant_id = (select id from tenants where slug = 'acme')");
    expect(seen).toHaveLength(n);
    expect(new Set(seen).size).toBe(n);
    const future = await gw.gql(EVENTS, { filter: { since: new Date(Date.now() + 60_000).toISOString() } }, bearer(aud));
    expect(future.body.data.auditEvents.edges).toEqual([]);
    const gus = (await signIn(gw, { tenant: 'globex', email: 'gus@globex.test', password: PASSWORD })).access_token;
    const theirs = (await gw.gql(EVENTS, { first: 100 }, bearer(gus))).body.data.auditEvents.edges.map((e: { node: { actor: { email: string } } }) => e.node.actor?.email);
    expect(theirs.every((email: string) => email === 'gus@globex.test')).toBe(true);
  });

  it('needs audit:read, from the database', async () => {
    const mem = (await gw.sql("update users set disabled = false where email = 'mem@acme.test' returning id"), await signIn(gw, { tenant: 'acme', email: 'mem@acme.test', password: PASSWORD })).access_token;
    expectGqlError(await gw.gql(EVENTS, {}, bearer(mem)), 'auditEvents', 'auth_forbidden', 403);
  });
});
