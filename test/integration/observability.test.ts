// Every failure is countable by code: one log line per request with the response's request id and code, Prometheus counters by code, declared codes in OpenAPI, no secrets in logs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalog } from '../../src/errors/catalog.js';
import { operations, type OperationSpec } from '../../src/api/operations.js';
import { SoftAuthenticator } from '../helpers/authenticator.js';
import { ACME, ADA, assertDeclaredCodes, startTestGateway, type HttpResult, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
const ada = ADA;

beforeAll(async () => {
  gw = await startTestGateway({ proxy: true });
  await gw.seed(ACME);
});
afterAll(() => gw?.close());

/** The sample lines of one metric family, as {labels, value}. */
async function samples(name: string): Promise<Array<{ labels: Record<string, string>; value: number }>> {
  const text = String((await gw.rest('GET', '/metrics')).body);
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .map((l) => {
      const m = /^[^{ ]+(?:\{(.*)\})? (.+)$/.exec(l)!;
      const labels = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      return { labels, value: Number(m[2]) };
    });
}

const logLines = () =>
  gw
    .logs()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

describe('a scripted sequence: a login, a wrong password, a DB cut during login', () => {
  const responses: HttpResult[] = [];

  beforeAll(async () => {
    responses.push(await gw.rest('POST', '/auth/login', ada));
    responses.push(await gw.rest('POST', '/auth/login', { ...ada, password: 'wrong' }));
    gw.proxy!.cut();
    responses.push(await gw.rest('POST', '/auth/login', ada));
    await gw.proxy!.restore();
  });

  it('answers 200, 401 and 503', () => {
    expect(responses.map((r) => r.status)).toEqual([200, 401, 503]);
  });

  it('counts exactly those requests and errors, under the right codes', async () => {
    const requests = (await samples('auth_requests_total')).filter((s) => s.labels.operation === 'login');
    expect(requests.map((s) => [s.labels.transport, s.labels.outcome, s.value]).sort()).toEqual([
      ['rest', 'client', 1],
      ['rest', 'dependency', 1],
      ['rest', 'success', 1],
    ]);
    const errors = await samples('auth_errors_total');
    expect(errors.map((s) => [s.labels.code, s.labels.operation, s.labels.transport, s.labels.class, s.value]).sort()).toEqual([
      ['auth_login_db_error', 'login', 'rest', 'dependency', 1],
      ['auth_login_invalid_credentials', 'login', 'rest', 'client', 1],
    ]);
    const latency = (await samples('auth_request_duration_seconds_count')).find((s) => s.labels.operation === 'login');
    expect(latency?.value).toBe(3);
  });

  it('writes one log line per request, with the response\'s request id, status and code', () => {
    const lines = logLines().filter((l) => l.operation === 'login');
    expect(lines).toHaveLength(3);
    for (const [i, res] of responses.entries()) {
      const line = lines.find((l) => l.reqId === res.headers.get('x-request-id'));
      expect(line, `line of response ${i}`).toBeDefined();
      expect(line).toMatchObject({ transport: 'rest', tenant: 'acme', status: res.status, url: '/auth/login' });
      expect(line.code).toBe(res.headers.get('x-error-code') ?? undefined);
      expect(typeof line.duration_ms).toBe('number');
    }
  });

  it('puts cause and stack on the 5xx line only', () => {
    const lines = logLines().filter((l) => l.operation === 'login');
    const failed = lines.find((l) => l.status === 503);
    expect(failed.level).toBe(50);
    expect(failed.err.stack).toBeTruthy();
    expect(lines.find((l) => l.status === 401).err).toBeUndefined();
    expect(lines.find((l) => l.status === 401).level).toBe(30);
  });
});

describe('metrics', () => {
  it('count each error of a GraphQL response with several errors', async () => {
    // Every root field is non-null, so one failing field nulls the whole response; several
    // errors come from the document (here, three unknown fields).
    const res = await gw.gql('{ one { id } two { id } three { id } }');
    expect(res.body.errors).toHaveLength(3);
    const doc = (await samples('auth_errors_total')).find((s) => s.labels.code === 'GRAPHQL_VALIDATION_FAILED' && s.labels.transport === 'graphql');
    expect(doc?.value).toBe(3);
    const line = logLines().find((l) => l.reqId === res.headers.get('x-request-id'));
    expect(line).toMatchObject({ transport: 'graphql', code: 'GRAPHQL_VALIDATION_FAILED', status: 400 });
  });

  it('label a failed GraphQL field with its operation and catalog code', async () => {
    const res = await gw.gql('{ me { id } }');
    expect(res.body.errors[0].extensions.code).toBe('auth_unauthenticated');
    const unauth = (await samples('auth_errors_total')).find((s) => s.labels.code === 'auth_unauthenticated' && s.labels.transport === 'graphql');
    expect(unauth?.labels).toMatchObject({ operation: 'me', class: 'client' });
    const req = (await samples('auth_requests_total')).find((s) => s.labels.operation === 'me' && s.labels.transport === 'graphql');
    expect(req?.labels.outcome).toBe('client');
    const line = logLines().find((l) => l.reqId === res.headers.get('x-request-id'));
    expect(line).toMatchObject({ transport: 'graphql', operation: 'me', code: 'auth_unauthenticated', status: 200 });
  });

  it('label document errors with Apollo\'s code and a fixed operation, never with user input', async () => {
    await gw.gql('{ notAField_attacker_controlled }');
    const doc = (await samples('auth_errors_total')).find((s) => s.labels.code === 'GRAPHQL_VALIDATION_FAILED');
    expect(doc).toBeDefined();
    expect(doc?.labels.operation).toBe('graphql_document');
    const text = String((await gw.rest('GET', '/metrics')).body);
    expect(text).not.toContain('attacker_controlled');
  });

  it('expose DB pool gauges, password-hash durations and process defaults', async () => {
    const names = String((await gw.rest('GET', '/metrics')).body);
    for (const n of ['auth_db_pool_connections_used', 'auth_db_pool_connections_free', 'auth_db_pool_pending_acquires', 'process_cpu_user_seconds_total', 'nodejs_eventloop_lag_seconds']) {
      expect(names).toContain(n);
    }
    const verifies = (await samples('auth_password_hash_duration_seconds_count')).find((s) => s.labels.kind === 'verify');
    expect(verifies!.value).toBeGreaterThanOrEqual(2);
  });
});

describe('health', () => {
  it('/readyz answers 503 within its bound when the database hangs, and /healthz stays up', async () => {
    gw.proxy!.blackhole();
    try {
      const started = performance.now();
      const ready = await gw.rest('GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(performance.now() - started).toBeLessThan(3000);
      expect((await gw.rest('GET', '/healthz')).status).toBe(200);
    } finally {
      await gw.proxy!.restore();
    }
    expect((await gw.rest('GET', '/readyz')).status).toBe(200);
  });
});

describe('declared codes', () => {
  it('GET /openapi.json lists each route\'s declared codes by status, with the error body schema', async () => {
    const doc = (await gw.rest('GET', '/openapi.json')).body;
    for (const op of Object.values(operations) as OperationSpec[]) {
      if (!op.rest) continue; // GraphQL-only
      const { rest } = op;
      const path = rest.path.replace(/:(\w+)/g, '{$1}');
      const responses = doc.paths[path]?.[rest.method.toLowerCase()]?.responses;
      expect(responses, `${rest.method} ${rest.path}`).toBeDefined();
      for (const code of op.codes) {
        const r = responses[String(catalog[code].status)];
        expect(r.content['application/json'].schema.properties.detail.properties.code.enum, `${op.name} ${code}`).toContain(code);
      }
    }
  });

  it('the test harness refuses a code its operation does not declare', () => {
    const res = { status: 503, headers: new Headers({ 'x-error-code': 'auth_google_db_error' }), body: {} };
    expect(() => assertDeclaredCodes('POST', '/auth/login', res)).toThrow(/does not declare/);
    const gql = { status: 200, headers: new Headers(), body: { errors: [{ path: ['login'], extensions: { code: 'auth_refresh_reused' } }] } };
    expect(() => assertDeclaredCodes('POST', '/graphql', gql)).toThrow(/does not declare/);
    expect(() => assertDeclaredCodes('POST', '/auth/login', { ...res, headers: new Headers({ 'x-error-code': 'auth_login_db_error' }) })).not.toThrow();
  });
});

describe('logs', () => {
  it('never contain the passwords, tokens, keys or WebAuthn payloads of a full run', async () => {
    const secrets: string[] = [ada.password, 'wrong horse battery'];
    const login = (await gw.rest('POST', '/auth/login', ada)).body;
    await gw.gql('mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { i: { ...ada, password: 'wrong horse battery' } });
    const refreshed = (await gw.rest('POST', '/auth/refresh', { refresh_token: login.refresh_token })).body;
    secrets.push(login.access_token, login.refresh_token, refreshed.refresh_token, refreshed.access_token);
    const bearer = { authorization: `Bearer ${refreshed.access_token}` };
    const key = (await gw.rest('POST', '/auth/api-key', { name: 'log-check' }, bearer)).body.api_key;
    secrets.push(key);
    await gw.rest('GET', '/auth/me', undefined, { 'x-api-key': key });
    await gw.rest('GET', `/auth/me?access_token=${refreshed.access_token}`);
    const auth = new SoftAuthenticator();
    const reg = auth.create((await gw.rest('POST', '/auth/webauthn/register/options', {}, bearer)).body);
    await gw.rest('POST', '/auth/webauthn/register/verify', { response: reg }, bearer);
    const assertion = auth.get((await gw.rest('POST', '/auth/webauthn/login/options', { tenant: 'acme' })).body);
    expect((await gw.rest('POST', '/auth/webauthn/login/verify', { tenant: 'acme', response: assertion })).status).toBe(200);
    secrets.push(reg.response.attestationObject, assertion.response.signature, assertion.response.authenticatorData);
    const logs = gw.logs();
    for (const secret of secrets) expect(logs).not.toContain(secret);
  });
});
