// With PASSWORD_BREACH_CHECK=hibp a breached password is refused, only 5 hex characters of its SHA-1 leave the gateway, and an unreachable API falls back to the offline list, counted.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectGqlError, expectRestError, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const BREACHED = 'summer holiday 2019 rocks';
const sha1 = (s: string) => createHash('sha1').update(s, 'utf8').digest('hex').toUpperCase();

/** The range API on loopback: the suffixes of the breached password's range, padded with others. */
class FakeHibp {
  paths: string[] = [];
  headers: http.IncomingHttpHeaders[] = [];
  down = false;
  private server = http.createServer((req, res) => {
    this.paths.push(req.url ?? '');
    this.headers.push(req.headers);
    if (this.down) {
      res.destroy();
      return;
    }
    const prefix = (req.url ?? '').split('/').pop() ?? '';
    const lines = Array.from({ length: 20 }, (_, i) => `${createHash('sha1').update(`pad${i}`).digest('hex').toUpperCase().slice(5)}:0`);
    if (sha1(BREACHED).startsWith(prefix)) lines.push(`${sha1(BREACHED).slice(5)}:4211`);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(lines.join('\r\n'));
  });
  url = '';
  async start() {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/range/`;
    return this;
  }
  close() {
    return new Promise((r) => this.server.close(r));
  }
}

let gw: TestGateway;
let hibp: FakeHibp;
beforeAll(async () => {
  hibp = await new FakeHibp().start();
  gw = await startTestGateway({ env: { PASSWORD_BREACH_CHECK: 'hibp', HIBP_URL: hibp.url, HIBP_TIMEOUT_MS: '500' } });
  await gw.seed({ tenants: [{ slug: 'openco', name: 'Open Co', signup: 'open', app_url: 'https://app.openco.example', roles: [], users: [] }] });
});
afterAll(async () => {
  await gw?.close();
  await hibp?.close();
});

const signUp = (email: string, password: string) => gw.rest('POST', '/auth/signup', { tenant: 'openco', email, password });
const metric = async (outcome: string) => {
  const m = new RegExp(`^auth_password_breach_checks_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(String((await gw.rest('GET', '/metrics')).body));
  return m ? Number(m[1]) : 0;
};

describe('Have I Been Pwned', () => {
  it('refuses a breached password through both doors, sending only the first 5 hex characters of its SHA-1', async () => {
    hibp.paths = [];
    expectRestError(await signUp('a@openco.example', BREACHED), 'signUp', 'auth_password_weak', 422);
    const gql = await gw.gql('mutation($i: SignUpInput!) { signUp(input: $i) }', { i: { tenant: 'openco', email: 'b@openco.example', password: BREACHED } });
    expectGqlError(gql, 'signUp', 'auth_password_weak', 422);
    expect(hibp.paths).toHaveLength(2);
    for (const p of hibp.paths) expect(p).toBe(`/range/${sha1(BREACHED).slice(0, 5)}`);
    expect(hibp.headers[0]['add-padding']).toBe('true');
    expect(await metric('breached')).toBe(2);
  });

  it('accepts a password the range does not list', async () => {
    const res = await signUp('c@openco.example', 'an unlisted passphrase 77');
    expect(res.status).toBe(202);
    expect(await metric('clean')).toBeGreaterThanOrEqual(1);
  });

  it('falls back to the offline list when the API cannot be reached, and counts it', async () => {
    hibp.down = true;
    try {
      const before = await metric('fallback');
      expect((await signUp('d@openco.example', BREACHED)).status).toBe(202);
      expectRestError(await signUp('e@openco.example', 'password123'), 'signUp', 'auth_password_weak', 422);
      expect(await metric('fallback')).toBe(before + 1);
    } finally {
      hibp.down = false;
    }
  });
});
