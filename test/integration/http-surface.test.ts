// What every answer carries whatever the route: the catalog's body for URLs the router cannot decode, and no-store on token responses.
import { describe, expect, it } from 'vitest';
import { bearer } from '../helpers/gateway.js';
import { gw, ada, useReviewGateway } from '../helpers/review-fixture.js';

useReviewGateway();

describe('the HTTP surface', () => {
  it('URLs the router cannot decode, or path parameters over the limit, get the catalog\'s body', async () => {
    for (const url of ['/auth/webauthn/credentials/%ff', `/auth/api-key/${'a'.repeat(5000)}`]) {
      const res = await gw.rest('DELETE', url);
      expect(res.body, url).toMatchObject({ detail: { status: 'error', code: 'auth_request_invalid' } });
      expect(res.headers.get('x-error-code')).toBe('auth_request_invalid');
      expect(JSON.stringify(res.body)).not.toContain('FST_');
    }
  });

  it('token responses carry Cache-Control: no-store through both doors', async () => {
    const s = await ada();
    const login = await gw.rest('POST', '/auth/login', { tenant: 'acme', email: 'ada@acme.test', password: 'correct horse battery' });
    expect(login.headers.get('cache-control')).toBe('no-store');
    expect((await gw.rest('POST', '/auth/refresh', { refresh_token: s.refresh_token })).headers.get('cache-control')).toBe('no-store');
    const key = await gw.rest('POST', '/auth/api-key', { name: 'ns' }, bearer(s.access_token));
    expect(key.headers.get('cache-control')).toBe('no-store');
    const gql = await gw.gql('mutation { login(input: {tenant: "acme", email: "ada@acme.test", password: "correct horse battery"}) { accessToken } }');
    expect(gql.headers.get('cache-control')).toBe('no-store');
  });
});
