// The server's public surface: the error catalog document, JWKS, health, request ids, Sandbox outside production, GraphQL hardening in production.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogDocument } from '../../src/api/error-reference.js';
import { OWASP_ENV, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let prod: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
  prod = await startTestGateway({ env: { NODE_ENV: 'production', WEBAUTHN_RP_ID: 'auth.test.example', ...OWASP_ENV } });
});
afterAll(async () => {
  await gw?.close();
  await prod?.close();
});

describe('GET /auth/error-codes', () => {
  it('serves the catalog with the documented fields', async () => {
    const res = await gw.rest('GET', '/auth/error-codes');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(JSON.parse(JSON.stringify(catalogDocument())));
    for (const c of res.body.codes) {
      for (const f of ['code', 'status', 'class', 'retryable', 'routes', 'graphql_fields', 'meaning', 'action', 'since']) expect(c).toHaveProperty(f);
    }
  });

  it('is the same catalog as query errorCodes', async () => {
    const res = await gw.gql('{ errorCodes { code status graphqlFields } }');
    const rest = await gw.rest('GET', '/auth/error-codes');
    expect(res.body.data.errorCodes.map((c: any) => [c.code, c.status])).toEqual(rest.body.codes.map((c: any) => [c.code, c.status]));
  });
});

describe('health and request ids', () => {
  it('healthz and readyz answer 200 with a database', async () => {
    expect((await gw.rest('GET', '/healthz')).status).toBe(200);
    expect((await gw.rest('GET', '/readyz')).body).toEqual({ status: 'ok' });
  });

  it('keeps a sane X-Request-Id and replaces an unsafe one', async () => {
    const kept = await gw.rest('GET', '/healthz', undefined, { 'x-request-id': 'abc.DEF-123_x' });
    expect(kept.headers.get('x-request-id')).toBe('abc.DEF-123_x');
    const replaced = await gw.rest('GET', '/healthz', undefined, { 'x-request-id': 'bad id <script>' + 'x'.repeat(200) });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown routes as FastAPI does', async () => {
    const res = await gw.rest('GET', '/auth/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ detail: 'Not Found' });
  });
});

describe('GraphQL outside production', () => {
  it('shows Apollo Sandbox as the landing page', async () => {
    const res = await gw.rest('GET', '/graphql', undefined, { accept: 'text/html' });
    expect(res.status).toBe(200);
    expect(String(res.body)).toContain('embeddable-sandbox');
  });

  it('allows introspection', async () => {
    const res = await gw.gql('{ __schema { queryType { name } } }');
    expect(res.body.data.__schema.queryType.name).toBe('Query');
  });

  it('blocks simple cross-site GET requests (CSRF prevention)', async () => {
    const res = await gw.rest('GET', `/graphql?query=${encodeURIComponent('{ errorCodes { code } }')}`);
    expect(res.status).toBe(400);
    const allowed = await gw.rest('GET', `/graphql?query=${encodeURIComponent('{ errorCodes { code } }')}`, undefined, { 'apollo-require-preflight': 'true' });
    expect(allowed.status).toBe(200);
  });

  it('answers a malformed HTTP body with the GraphQL envelope, HTTP 400 and BAD_REQUEST (GraphQL over HTTP)', async () => {
    const res = await gw.rest('POST', '/graphql', '{"query": ', { 'content-type': 'application/json' });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions.code).toBe('BAD_REQUEST');
  });
});

describe('the demo page', () => {
  it('is served outside production, with a CSP that allows only its own scripts, and not in production', async () => {
    const page = await gw.rest('GET', '/demo');
    expect(page.status).toBe(200);
    expect(String(page.body)).toContain('/assets/simplewebauthn-browser.js');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await gw.rest('GET', '/assets/simplewebauthn-browser.js')).status).toBe(200);
    const icon = await gw.rest('GET', '/favicon.ico');
    expect([icon.status, icon.headers.get('content-type')]).toEqual([200, 'image/svg+xml']);
    expect((await prod.rest('GET', '/demo')).status).toBe(404);
  });
});

describe('GraphQL in production', () => {
  it('has no landing page and no introspection', async () => {
    const page = await prod.rest('GET', '/graphql', undefined, { accept: 'text/html' });
    expect(String(page.body)).not.toContain('embeddable-sandbox');
    const res = await prod.gql('{ __schema { queryType { name } } }');
    expect(res.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.body.data).toBeUndefined();
  });

  it('gives no field suggestions', async () => {
    const res = await prod.gql('{ errorCode { code } }');
    expect(res.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.body.errors[0].message).not.toMatch(/Did you mean/);
    const dev = await startTestGateway({ databaseUrl: gw.databaseUrl, env: { NODE_ENV: 'development' } });
    try {
      expect((await dev.gql('{ errorCode { code } }')).body.errors[0].message).toMatch(/Did you mean/);
      // Outside development (here: test) no suggestions either.
      expect((await gw.gql('{ errorCode { code } }')).body.errors[0].message).not.toMatch(/Did you mean/);
    } finally {
      await dev.close();
    }
  });
});
