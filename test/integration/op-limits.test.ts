// The device grant's user codes are guessed online, so each one typed in takes a point of the
// address's failure budget before the provider checks it (SPEC §15): with a budget of 3, the
// fourth try from the address is refused whatever it says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, requestJson, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let issuer: string;

beforeAll(async () => {
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}/oidc/acme`;
  gw = await startTestGateway({ port, env: { PUBLIC_URL: `http://127.0.0.1:${port}`, RATE_LIMIT_ADDRESS_FAILURES: '3' } });
  await gw.seed({
    tenants: [{ slug: 'acme', name: 'Acme', roles: [], users: [], oauth_clients: [{ client_id: 'tv', name: 'Acme TV', public: true, grant_types: ['urn:ietf:params:oauth:grant-type:device_code'] }] }],
  } as never);
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

describe('device user codes', () => {
  it('each one typed in counts against the address: the fourth is auth_rate_limited (429) before the provider looks', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    for (let i = 0; i < 3; i++) {
      const res = await requestJson(`${issuer}/device`, 'POST', `user_code=WRONG-${i}&xsrf=x`, form);
      // Refused by the form's own check (no session cookie came): a page saying so, not a 500.
      expect([res.status, res.headers.get('x-error-code')], JSON.stringify(res.body)).toEqual([400, 'auth_oauth_invalid_request']);
    }
    const limited = await requestJson(`${issuer}/device`, 'POST', 'user_code=WRONG-4&xsrf=x', form);
    expect([limited.status, limited.headers.get('x-error-code')]).toEqual([429, 'auth_rate_limited']);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
