// API keys through both doors: scannable format with checksum, keyed-hash storage, scopes within the creator's permissions, tenant isolation, expiry, revocation within the cache bound.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey, isWellFormedApiKey } from '../../src/services/api-keys/format.js';
import { ACME, bearer, expectGqlError, expectRestError, ME, startTestGateway, type HttpResult, type TestGateway } from '../helpers/gateway.js';

const CACHE_TTL_MS = 500;
let clock = Date.now();
let gw: TestGateway;
let other: TestGateway; // a second instance on the same database

const DOC = structuredClone(ACME);
DOC.tenants[0].roles!.push({ name: 'keymaster', permissions: ['api_keys:create', 'api_keys:manage', 'users:read'] });
DOC.tenants[0].users!.push({ email: 'kim@acme.test', password: 'kim password 123', roles: ['keymaster'] });

beforeAll(async () => {
  const env = { API_KEY_CACHE_TTL_MS: String(CACHE_TTL_MS), API_KEY_LAST_USED_INTERVAL_MS: '60000' };
  gw = await startTestGateway({ proxy: true, env, deps: { now: () => new Date(clock) } });
  await gw.seed(DOC);
  other = await startTestGateway({ databaseUrl: gw.databaseUrl, env: { ...env, SECRET_KEY: gw.config.secretKey } });
});
afterAll(async () => {
  await other?.close();
  await gw?.close();
});

async function accessToken(tenant: string, email: string, password: string): Promise<string> {
  const res = await gw.rest('POST', '/auth/login', { tenant, email, password });
  expect(res.status).toBe(200);
  return res.body.access_token;
}
const ada = () => accessToken('acme', 'ada@acme.test', 'correct horse battery');
const kim = () => accessToken('acme', 'kim@acme.test', 'kim password 123');

const CREATE = 'mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { id name apiKey prefix scopes expiresAt createdAt } }';
async function create(at: string, body: Record<string, unknown> = { name: 'ci' }): Promise<any> {
  const res = await gw.rest('POST', '/auth/api-key', body, bearer(at));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}
const me = (gateway: TestGateway, headers: Record<string, string>) => gateway.rest('GET', '/auth/me', undefined, headers);

describe('create and use', () => {
  it('creates a key over REST (201), shown once, within the creator\'s permissions by default', async () => {
    const k = await create(await ada(), { name: 'ci', expires_in_days: 90 });
    expect(Object.keys(k).sort()).toEqual(['api_key', 'created_at', 'expires_at', 'id', 'name', 'prefix', 'scopes']);
    expect(k.api_key).toMatch(/^agk_[0-9A-Za-z]{38}$/);
    expect(k.api_key.startsWith(k.prefix)).toBe(true);
    expect(k.prefix.length).toBeLessThan(k.api_key.length / 2);
    expect(k.scopes).toEqual(['api_keys:create', 'users:read']);
    expect(new Date(k.expires_at).getTime() - new Date(k.created_at).getTime()).toBe(90 * 86_400_000);
    // Never shown again: the list has the prefix only.
    const list = await gw.rest('GET', '/auth/api-keys', undefined, bearer(await ada()));
    expect(JSON.stringify(list.body)).not.toContain(k.api_key);
  });

  it('creates a key over GraphQL with narrower scopes, and the key acts with those scopes only', async () => {
    const res = await gw.gql(CREATE, { i: { name: 'reader', scopes: ['users:read'] } }, bearer(await ada()));
    const k = res.body.data.createApiKey;
    expect(k.scopes).toEqual(['users:read']);
    expect(k.expiresAt).toBeNull();
    for (const headers of [bearer(k.apiKey), { 'x-api-key': k.apiKey }]) {
      const who = await me(gw, headers);
      expect(who.status).toBe(200);
      expect(who.body).toMatchObject({ email: 'ada@acme.test', tenant: 'acme', permissions: ['users:read'], roles: [], auth_method: 'api_key' });
    }
    const gql = await gw.gql(ME, undefined, { 'x-api-key': k.apiKey });
    expect(gql.body.data.me).toMatchObject({ email: 'ada@acme.test', authMethod: 'api_key', permissions: ['users:read'] });
  });

  it('stores no key in plaintext anywhere in the database', async () => {
    const k = await create(await ada(), { name: 'dump-check' });
    const tables = await gw.sql("select tablename from pg_tables where schemaname = 'public'");
    for (const { tablename } of tables) {
      const dump = JSON.stringify(await gw.sql(`select * from "${tablename}"`));
      expect(dump, tablename).not.toContain(k.api_key);
      expect(dump, tablename).not.toContain(k.api_key.slice(12));
    }
  });

  it('records the last-used time, without a write on every request', async () => {
    const k = await create(await ada(), { name: 'touch' });
    for (let i = 0; i < 5; i++) expect((await me(gw, bearer(k.api_key))).status).toBe(200);
    await expect.poll(async () => (await gw.sql('select last_used_at from api_keys where id = $1', [k.id]))[0].last_used_at, { timeout: 2000 }).not.toBeNull();
    const [{ last_used_at: first }] = await gw.sql('select last_used_at from api_keys where id = $1', [k.id]);
    for (let i = 0; i < 5; i++) await me(gw, bearer(k.api_key));
    await new Promise((r) => setTimeout(r, 100));
    const [{ last_used_at: later }] = await gw.sql('select last_used_at from api_keys where id = $1', [k.id]);
    expect(later).toEqual(first);
  });
});

describe('refusals', () => {
  it('scopes beyond the creator\'s permissions: auth_forbidden on both doors', async () => {
    const at = await ada();
    expectRestError(await gw.rest('POST', '/auth/api-key', { name: 'x', scopes: ['users:read', 'api_keys:manage'] }, bearer(at)), 'createApiKey', 'auth_forbidden', 403);
    expectGqlError(await gw.gql(CREATE, { i: { name: 'x', scopes: ['tenants:delete'] } }, bearer(at)), 'createApiKey', 'auth_forbidden', 403);
  });

  it('a creator without api_keys:create: auth_forbidden; no token: auth_unauthenticated', async () => {
    const cy = await accessToken('globex', 'ada@acme.test', 'another password'); // globex admin has api_keys:create
    expect((await gw.rest('POST', '/auth/api-key', { name: 'ok' }, bearer(cy))).status).toBe(201);
    const viewerDoc = structuredClone(DOC);
    viewerDoc.tenants[0].users!.push({ email: 'vic@acme.test', password: 'vic password 123', roles: ['viewer'] });
    await gw.seed(viewerDoc);
    const vic = await accessToken('acme', 'vic@acme.test', 'vic password 123');
    expectRestError(await gw.rest('POST', '/auth/api-key', { name: 'x' }, bearer(vic)), 'createApiKey', 'auth_forbidden', 403);
    expectGqlError(await gw.gql(CREATE, { i: { name: 'x' } }, bearer(vic)), 'createApiKey', 'auth_forbidden', 403);
    expectRestError(await gw.rest('POST', '/auth/api-key', { name: 'x' }), 'createApiKey', 'auth_unauthenticated', 401);
  });

  it('a key cannot create keys, even with api_keys:create in its scopes', async () => {
    const k = await create(await ada(), { name: 'breeder' });
    expect(k.scopes).toContain('api_keys:create');
    expectRestError(await gw.rest('POST', '/auth/api-key', { name: 'child' }, bearer(k.api_key)), 'createApiKey', 'auth_forbidden', 403);
  });

  it('invalid fields: auth_request_invalid', async () => {
    const at = await ada();
    expectRestError(await gw.rest('POST', '/auth/api-key', { name: '' }, bearer(at)), 'createApiKey', 'auth_request_invalid', 422);
    expectRestError(await gw.rest('POST', '/auth/api-key', { name: 'x', expires_in_days: '90' }, bearer(at)), 'createApiKey', 'auth_request_invalid', 422);
    expectGqlError(await gw.gql(CREATE, { i: { name: 'x', expiresInDays: 0 } }, bearer(at)), 'createApiKey', 'auth_request_invalid', 422);
  });

  it('a key with a typo is rejected by its checksum, without a database query', async () => {
    const k = await create(await ada(), { name: 'typo' });
    const i = 10;
    const typo = k.api_key.slice(0, i) + (k.api_key[i] === 'a' ? 'b' : 'a') + k.api_key.slice(i + 1);
    expect(isWellFormedApiKey(k.api_key)).toBe(true);
    expect(isWellFormedApiKey(typo)).toBe(false);
    // Prove "no DB query": the database is cut, yet the answer is the key's, not a db error.
    gw.proxy!.cut();
    try {
      expectRestError(await me(gw, bearer(typo)), 'me', 'auth_api_key_invalid', 401);
      expectGqlError(await gw.gql(ME, undefined, { 'x-api-key': typo }), 'me', 'auth_api_key_invalid', 401);
      expectRestError(await me(gw, { 'x-api-key': 'agk_short' }), 'me', 'auth_api_key_invalid', 401);
    } finally {
      await gw.proxy!.restore();
    }
  });

  it('an unknown well-formed key: auth_api_key_invalid', async () => {
    expectRestError(await me(gw, bearer(generateApiKey())), 'me', 'auth_api_key_invalid', 401);
  });

  it('a key in the query string is refused and never looked up', async () => {
    const k = await create(await ada(), { name: 'query' });
    expectRestError(await gw.rest('GET', `/auth/me?api_key=${k.api_key}`), 'me', 'auth_request_invalid', 422);
    expect(gw.logs()).not.toContain(k.api_key);
  });

  it('an expired key: auth_api_key_invalid', async () => {
    const k = await create(await ada(), { name: 'short', expires_in_days: 1 });
    expect((await me(gw, bearer(k.api_key))).status).toBe(200);
    clock += 86_400_000 + 1000;
    try {
      expectRestError(await me(gw, bearer(k.api_key)), 'me', 'auth_api_key_invalid', 401);
      expectGqlError(await gw.gql(ME, undefined, bearer(k.api_key)), 'me', 'auth_api_key_invalid', 401);
    } finally {
      clock = Date.now();
    }
  });
});

describe('tenants never cross', () => {
  it('a key of tenant A acts only in tenant A, and a manager lists and revokes only their tenant\'s keys', async () => {
    const globexKey = (await gw.rest('POST', '/auth/api-key', { name: 'globex-ci' }, bearer(await accessToken('globex', 'ada@acme.test', 'another password')))).body;
    expect((await me(gw, bearer(globexKey.api_key))).body.tenant).toBe('globex');
    const list = await gw.rest('GET', '/auth/api-keys', undefined, bearer(await kim()));
    const names = list.body.api_keys.map((k: { name: string }) => k.name);
    expect(names).toContain('ci');
    expect(names).not.toContain('globex-ci');
    expectRestError(await gw.rest('DELETE', `/auth/api-key/${globexKey.id}`, undefined, bearer(await kim())), 'revokeApiKey', 'auth_api_key_not_found', 404);
    expect((await me(gw, bearer(globexKey.api_key))).status).toBe(200);
  });
});

describe('list and revoke', () => {
  it('lists the caller\'s own keys, or the tenant\'s with api_keys:manage, with the documented fields', async () => {
    const mine = await gw.rest('GET', '/auth/api-keys', undefined, bearer(await ada()));
    expect(mine.status).toBe(200);
    for (const k of mine.body.api_keys) {
      expect(Object.keys(k).sort()).toEqual(['created_at', 'expires_at', 'id', 'last_used_at', 'name', 'prefix', 'revoked_at', 'scopes']);
    }
    const kimKey = await create(await kim(), { name: 'kims' });
    expect(mine.body.api_keys.map((k: { id: string }) => k.id)).not.toContain(kimKey.id);
    const all = await gw.gql('{ apiKeys { id name prefix scopes createdAt expiresAt lastUsedAt revokedAt } }', undefined, bearer(await kim()));
    const ids = all.body.data.apiKeys.map((k: { id: string }) => k.id);
    expect(ids).toContain(kimKey.id);
    expect(ids).toEqual(expect.arrayContaining(mine.body.api_keys.map((k: { id: string }) => k.id)));
  });

  it('revocation works at once on the instance that revoked, and within the cache bound on another', async () => {
    const k = await create(await ada(), { name: 'to-revoke' });
    // Both instances have the key cached.
    expect((await me(gw, bearer(k.api_key))).status).toBe(200);
    expect((await me(other, bearer(k.api_key))).status).toBe(200);
    const revokedAt = Date.now();
    expect((await gw.rest('DELETE', `/auth/api-key/${k.id}`, undefined, bearer(await ada()))).status).toBe(204);
    expectRestError(await me(gw, bearer(k.api_key)), 'me', 'auth_api_key_invalid', 401);
    let res: HttpResult;
    do {
      res = await me(other, bearer(k.api_key));
    } while (res.status === 200 && Date.now() - revokedAt < 5 * CACHE_TTL_MS);
    expectRestError(res, 'me', 'auth_api_key_invalid', 401);
    expect(Date.now() - revokedAt).toBeLessThanOrEqual(CACHE_TTL_MS + 250);
    const [row] = await gw.sql('select revoked_at from api_keys where id = $1', [k.id]);
    expect(row.revoked_at).not.toBeNull();
  });

  it('revokes over GraphQL; revoking again is fine; another user\'s key is not found', async () => {
    const k = await create(await ada(), { name: 'gql-revoke' });
    const REVOKE = 'mutation($id: ID!) { revokeApiKey(id: $id) }';
    const kimKey = await create(await kim(), { name: 'kim-own' });
    expectGqlError(await gw.gql(REVOKE, { id: kimKey.id }, bearer(await ada())), 'revokeApiKey', 'auth_api_key_not_found', 404);
    expect((await gw.gql(REVOKE, { id: k.id }, bearer(await ada()))).body.data.revokeApiKey).toBe(true);
    expect((await gw.gql(REVOKE, { id: k.id }, bearer(await ada()))).body.data.revokeApiKey).toBe(true);
    expectGqlError(await gw.gql(ME, undefined, bearer(k.api_key)), 'me', 'auth_api_key_invalid', 401);
    // A manager may revoke any key of the tenant.
    expect((await gw.rest('DELETE', `/auth/api-key/${kimKey.id}`, undefined, bearer(await kim()))).status).toBe(204);
  });
});

describe('a key revokes only itself (SPEC §15)', () => {
  it('without api_keys:manage a key cannot end its owner\'s other keys, through both doors; it can end itself; with the scope it manages the tenant\'s', async () => {
    const at = await ada();
    const [a, b] = [await create(at, { name: 'a' }), await create(at, { name: 'b' })];
    expectRestError(await gw.rest('DELETE', `/auth/api-key/${b.id}`, undefined, { 'x-api-key': a.api_key }), 'revokeApiKey', 'auth_forbidden', 403);
    expectGqlError(await gw.gql('mutation($id: ID!) { revokeApiKey(id: $id) }', { id: b.id }, { 'x-api-key': a.api_key }), 'revokeApiKey', 'auth_forbidden', 403);
    expect((await me(gw, { 'x-api-key': b.api_key })).status).toBe(200);
    // Itself, in any case of its id.
    expect((await gw.rest('DELETE', `/auth/api-key/${a.id.toUpperCase()}`, undefined, { 'x-api-key': a.api_key })).status).toBe(204);
    expectRestError(await me(gw, { 'x-api-key': a.api_key }), 'me', 'auth_api_key_invalid', 401);
    // A key that carries api_keys:manage revokes the tenant's keys, as its creator could.
    const manager = await create(await kim(), { name: 'manager', scopes: ['api_keys:manage'] });
    expect((await gw.gql('mutation($id: ID!) { revokeApiKey(id: $id) }', { id: b.id }, { 'x-api-key': manager.api_key })).body.data.revokeApiKey).toBe(true);
    expectRestError(await me(gw, { 'x-api-key': b.api_key }), 'me', 'auth_api_key_invalid', 401);
  });
});

describe('faults', () => {
  it('a database cut: checking a key answers auth_api_key_db_error, creating one too; then recovery', async () => {
    const at = await ada();
    const k = await create(at, { name: 'cut' });
    await new Promise((r) => setTimeout(r, CACHE_TTL_MS + 50)); // let the cache entry lapse
    gw.proxy!.cut();
    try {
      expectRestError(await me(gw, bearer(k.api_key)), 'me', 'auth_api_key_db_error', 503);
      expectGqlError(await gw.gql(ME, undefined, bearer(k.api_key)), 'me', 'auth_api_key_db_error', 503);
      // With an access token the session cannot be checked either: the operation's own code answers.
      expectRestError(await gw.rest('POST', '/auth/api-key', { name: 'x' }, bearer(at)), 'createApiKey', 'auth_api_key_db_error', 503);
      expectRestError(await gw.rest('GET', '/auth/api-keys', undefined, bearer(k.api_key)), 'apiKeys', 'auth_api_key_db_error', 503);
    } finally {
      await gw.proxy!.restore();
    }
    expect((await me(gw, bearer(k.api_key))).status).toBe(200);
    expect((await gw.rest('POST', '/auth/api-key', { name: 'after' }, bearer(at))).status).toBe(201);
  });

  it('a lock on the keys table past the statement timeout: creating answers auth_api_key_db_error, nothing half-created', async () => {
    const at = await ada();
    const count = async () => (await gw.sql('select count(*)::int as n from api_keys'))[0].n;
    const before = await count();
    const pg = (await import('pg')).default;
    const locker = new pg.Client({ connectionString: gw.databaseUrl });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table api_keys in access exclusive mode');
      expectRestError(await gw.rest('POST', '/auth/api-key', { name: 'locked' }, bearer(at)), 'createApiKey', 'auth_api_key_db_error', 503);
      expectGqlError(await gw.gql(CREATE, { i: { name: 'locked' } }, bearer(at)), 'createApiKey', 'auth_api_key_db_error', 503);
    } finally {
      await locker.query('rollback');
      await locker.end();
    }
    expect(await count()).toBe(before);
  });

  it('an unusable keyed hash: auth_api_key_internal_error, masked, nothing created', async () => {
    const at = await ada();
    const before = (await gw.sql('select count(*)::int as n from api_keys'))[0].n;
    const secret = gw.config.secretKey;
    // The keyed hash cannot work without its key: createHmac refuses an undefined key.
    (gw.config as { secretKey: unknown }).secretKey = undefined;
    try {
      const res = await gw.rest('POST', '/auth/api-key', { name: 'broken' }, bearer(at));
      expectRestError(res, 'createApiKey', 'auth_api_key_internal_error', 500);
      expectGqlError(await gw.gql(CREATE, { i: { name: 'broken' } }, bearer(at)), 'createApiKey', 'auth_api_key_internal_error', 500);
    } finally {
      (gw.config as { secretKey: unknown }).secretKey = secret;
    }
    expect((await gw.sql('select count(*)::int as n from api_keys'))[0].n).toBe(before);
  });
});
