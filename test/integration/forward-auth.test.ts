// Forward auth (SPEC §14), called directly as a proxy would: the refusals first (no credential,
// a forged token, a token only in the query, the X-Auth-Token itself, a permission or tenant not
// held, a revoked session or key within 5 s), then the headers for an access token and an API
// key, and the X-Auth-Token checked with the JWKS, its typ and its own audience.
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ACME, ADA, bearer, signIn, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
  await gw.seed(ACME);
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

const verify = (path = '/auth/verify', headers: Record<string, string> = {}, method = 'GET', body?: unknown) => gw.rest(method, path, body, headers);
const expectRefused = (res: { status: number; headers: Headers; body: any }, status: number, code: string) => {
  expect([res.status, res.headers.get('x-error-code'), res.body?.detail?.code], JSON.stringify(res.body)).toEqual([status, code, code]);
  expect(res.headers.get('cache-control')).toBe('no-store');
  if (status === 401) expect(res.headers.get('www-authenticate')).toBe('Bearer');
};

describe('/auth/verify refuses', () => {
  it('no credential, a forged token, a token only in the query, and its own X-Auth-Token', async () => {
    expectRefused(await verify(), 401, 'auth_unauthenticated');
    expectRefused(await verify('/auth/verify', bearer('eyJhbGciOiJFZERTQSJ9.e30.c2ln')), 401, 'auth_unauthenticated');
    const { access_token } = await signIn(gw, ADA);
    // Under the path-prefix form the query is the upstream's: a token there is no credential, and no refusal of the query either.
    expectRefused(await verify(`/auth/verify/api/things?access_token=${access_token}&page=2`), 401, 'auth_unauthenticated');
    const ok = await verify('/auth/verify', bearer(access_token));
    const upstreamToken = ok.headers.get('x-auth-token')!;
    expectRefused(await verify('/auth/verify', bearer(upstreamToken)), 401, 'auth_unauthenticated');
    expect((await gw.rest('GET', '/auth/me', undefined, bearer(upstreamToken))).status).toBe(401);
  });

  it('a permission or tenant the caller lacks: 403 auth_forbidden, naming the missing permissions', async () => {
    const { access_token } = await signIn(gw, ADA);
    const lacking = await verify('/auth/verify?permission=users:read&permission=audit:read', bearer(access_token));
    expectRefused(lacking, 403, 'auth_forbidden');
    expect(JSON.stringify(lacking.body)).toContain('audit:read');
    expectRefused(await verify('/auth/verify', { ...bearer(access_token), 'x-auth-require-permission': 'users:read, users:manage' }), 403, 'auth_forbidden');
    expectRefused(await verify('/auth/verify?tenant=globex', bearer(access_token)), 403, 'auth_forbidden');
    expect((await verify('/auth/verify?tenant=acme&permission=users:read', { ...bearer(access_token), 'x-auth-require-permission': 'api_keys:create' })).status).toBe(200);
  });

  it('a role losing a permission: refused within 5 s, and the X-Auth-Token made again without it', async () => {
    await gw.seed({ tenants: [{ slug: 'acme', name: 'Acme Corp', roles: [{ name: 'fwd-role', permissions: ['users:read', 'audit:read'] }], users: [{ email: 'fay@acme.test', password: 'fay password 123', roles: ['fwd-role'] }] }] } as never);
    const { access_token } = await signIn(gw, { tenant: 'acme', email: 'fay@acme.test', password: 'fay password 123' });
    const before = await verify('/auth/verify?permission=audit:read', bearer(access_token));
    expect(before.status).toBe(200);
    await gw.sql("delete from role_permissions where role_id = (select id from roles where name = 'fwd-role') and permission_id = (select id from permissions where name = 'audit:read')");
    await expect.poll(async () => (await verify('/auth/verify?permission=audit:read', bearer(access_token))).status, { timeout: 5000, interval: 100 }).toBe(403);
    const after = await verify('/auth/verify', bearer(access_token));
    expect(after.headers.get('x-auth-permissions')).toBe('users:read');
    expect(after.headers.get('x-auth-token')).not.toBe(before.headers.get('x-auth-token'));
    expect(JSON.parse(Buffer.from(after.headers.get('x-auth-token')!.split('.')[1], 'base64url').toString()).permissions).toEqual(['users:read']);
  });

  it('no request value is echoed back; odd bodies and content types are ignored; every answer under /auth/verify is never cached', async () => {
    const { access_token } = await signIn(gw, ADA);
    const odd = await verify('/auth/verify?permission=%3Cscript%3Ealert(1)%3C%2Fscript%3E', bearer(access_token));
    expect([odd.status, JSON.stringify(odd.body).includes('script')]).toEqual([403, false]);
    expect((await verify('/auth/verify', { ...bearer(access_token), 'content-type': 'a/b/c' }, 'POST', 'x')).status).toBe(200);
    const malformed = await verify('/auth/verify/%ff', bearer(access_token));
    expect(malformed.headers.get('cache-control')).toBe('no-store');
  });

  it('a revoked session and a revoked API key within 5 s', async () => {
    const s = await signIn(gw, ADA);
    const key = (await gw.rest('POST', '/auth/api-key', { name: 'fwd' }, bearer(s.access_token))).body.api_key as string;
    expect((await verify('/auth/verify', bearer(s.access_token))).status).toBe(200);
    expect((await verify('/auth/verify', { 'x-api-key': key })).status).toBe(200);
    const keyId = (await gw.rest('GET', '/auth/api-keys', undefined, bearer(s.access_token))).body.api_keys.find((k: { name: string }) => k.name === 'fwd').id;
    expect((await gw.rest('DELETE', `/auth/api-key/${keyId}`, undefined, bearer(s.access_token))).status).toBeLessThan(300);
    expect((await gw.rest('POST', '/auth/logout', { refresh_token: s.refresh_token })).status).toBeLessThan(300);
    const t0 = Date.now();
    await expect.poll(async () => (await verify('/auth/verify', bearer(s.access_token))).status, { timeout: 5000, interval: 100 }).toBe(401);
    await expect.poll(async () => (await verify('/auth/verify', { 'x-api-key': key })).status, { timeout: 5000, interval: 100 }).toBe(401);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('starts only with an upstream audience that is not the access tokens\' (FORWARD_AUTH_AUDIENCE)', () => {
    const env = { NODE_ENV: 'test', SECRET_KEY: 'x'.repeat(43), JWT_AUDIENCE: 'https://api.example', FORWARD_AUTH_AUDIENCE: 'https://api.example' };
    expect(() => loadConfig(env)).toThrow('FORWARD_AUTH_AUDIENCE');
  });
});

describe('/auth/verify answers', () => {
  it('for an access token: every identity header, and an X-Auth-Token of at most 60 s for the upstream, reused for the same credential', async () => {
    const { access_token, user } = await signIn(gw, ADA);
    // Any method, any path below, any body: the proxy forwards the original request's.
    const res = await verify('/auth/verify/orders/42?expand=1', { ...bearer(access_token), 'content-type': 'application/xml' }, 'POST', '<order/>');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const sid = JSON.parse(Buffer.from(access_token.split('.')[1], 'base64url').toString()).sid;
    const h = (n: string) => res.headers.get(n);
    expect([h('x-auth-user-id'), h('x-auth-email'), h('x-auth-tenant'), h('x-auth-roles'), h('x-auth-permissions'), h('x-auth-method'), h('x-auth-session-id'), h('cache-control')]).toEqual([
      user.id,
      'ada@acme.test',
      'acme',
      'admin',
      [...user.permissions].join(','),
      'password',
      sid,
      'no-store',
    ]);
    const jwks = createLocalJWKSet((await gw.rest('GET', '/.well-known/jwks.json')).body);
    const { payload, protectedHeader } = await jwtVerify(h('x-auth-token')!, jwks, { audience: gw.config.forwardAuth.audience, issuer: gw.config.jwt.issuer, typ: 'fwd+jwt' });
    expect(payload).toMatchObject({ sub: user.id, tenant: 'acme', roles: ['admin'], sid });
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(60);
    expect(protectedHeader.typ).toBe('fwd+jwt');
    expect((await verify('/auth/verify', bearer(access_token))).headers.get('x-auth-token')).toBe(h('x-auth-token'));
  });

  it("for an API key: no roles, the key's own permissions, no session id", async () => {
    const s = await signIn(gw, ADA);
    const key = (await gw.rest('POST', '/auth/api-key', { name: 'reader', scopes: ['users:read'] }, bearer(s.access_token))).body.api_key as string;
    const res = await verify('/auth/verify', { 'x-api-key': key });
    expect(res.status).toBe(200);
    expect([res.headers.get('x-auth-roles'), res.headers.get('x-auth-permissions'), res.headers.get('x-auth-method'), res.headers.get('x-auth-session-id')]).toEqual(['', 'users:read', 'api_key', null]);
  });
});
