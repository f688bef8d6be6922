// An unexpected failure becomes the operation's *_internal_error through both doors, with no internal text in the response, and writes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenService } from '../../src/services/sessions/access-tokens.js';
import { SoftAuthenticator } from '../helpers/authenticator.js';
import { ACME, ADA, expectGqlError, expectRestError, LOGIN, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const SECRET_DETAIL = 'signer exploded at /srv/keys/prod.pem with key material 0xdeadbeef';
let gw: TestGateway;
let realTokens: TokenService;

beforeAll(async () => {
  gw = await startTestGateway();
  await gw.seed(ACME);
  realTokens = gw.gateway.deps.tokens;
});
afterAll(() => gw?.close());

/** Run `fn` while the signer fails the way a broken key or HSM would: the collaborator is real, only its failure is forced. */
async function withBrokenSigner(fn: () => Promise<void>) {
  gw.gateway.deps.tokens = {
    ...realTokens,
    sign: async () => {
      throw new TypeError(SECRET_DETAIL);
    },
  };
  try {
    await fn();
  } finally {
    gw.gateway.deps.tokens = realTokens;
  }
}

const ada = ADA;
const sessions = async () => (await gw.sql('select count(*)::int as n from sessions'))[0].n;

describe('login', () => {
  it('answers auth_login_internal_error (500) on both doors, masked, writes no session, and keeps cause and stack for the log only', async () => {
    const before = await sessions();
    const logged = gw.logs().length;
    await withBrokenSigner(async () => {
      const rest = await gw.rest('POST', '/auth/login', ada);
      expectRestError(rest, 'login', 'auth_login_internal_error', 500);
      expect(JSON.stringify(rest.body)).not.toMatch(/exploded|TypeError|stack|at \//);
      const gql = await gw.gql(LOGIN, { input: ada });
      expectGqlError(gql, 'login', 'auth_login_internal_error', 500);
      expect(JSON.stringify(gql.body)).not.toContain('exploded');
      expect(gql.body.data).toBeNull();
    });
    expect(await sessions()).toBe(before);
    // This test's own lines only: the file's other tests may log the same code.
    await expect.poll(() => gw.logs().slice(logged).split('\n').filter((l) => l.includes('auth_login_internal_error')).length).toBe(2);
    const lines = gw.logs().slice(logged).split('\n').filter((l) => l.includes('auth_login_internal_error')).map((l) => JSON.parse(l));
    expect(lines.map((l) => l.transport).sort()).toEqual(['graphql', 'rest']);
    for (const line of lines) {
      expect(line.level).toBe(50);
      expect(line.err.message).toBe(SECRET_DETAIL);
      expect(line.err.stack).toContain('TypeError');
    }
  });
});

describe('refresh', () => {
  it('answers auth_refresh_internal_error on both doors and consumes nothing', async () => {
    const s = (await gw.rest('POST', '/auth/login', ada)).body;
    await withBrokenSigner(async () => {
      const rest = await gw.rest('POST', '/auth/refresh', { refresh_token: s.refresh_token });
      expectRestError(rest, 'refresh', 'auth_refresh_internal_error', 500);
      expect(JSON.stringify(rest.body)).not.toContain('exploded');
      const gql = await gw.gql('mutation($t: String!) { refresh(input: {refreshToken: $t}) { accessToken } }', { t: s.refresh_token });
      expectGqlError(gql, 'refresh', 'auth_refresh_internal_error', 500);
    });
    // The same token works afterwards, as a first use (not a reuse).
    const after = await gw.rest('POST', '/auth/refresh', { refresh_token: s.refresh_token });
    expect(after.status).toBe(200);
    expect((await gw.rest('POST', '/auth/refresh', { refresh_token: after.body.refresh_token })).status).toBe(200);
  });
});

describe('passkey login', () => {
  it('answers auth_webauthn_internal_error on both doors and advances no counter', async () => {
    const auth = new SoftAuthenticator();
    const at = { authorization: `Bearer ${(await gw.rest('POST', '/auth/login', ada)).body.access_token}` };
    const opts = (await gw.rest('POST', '/auth/webauthn/register/options', {}, at)).body;
    expect((await gw.rest('POST', '/auth/webauthn/register/verify', { response: auth.create(opts) }, at)).status).toBe(201);
    const options = async () => (await gw.rest('POST', '/auth/webauthn/login/options', { tenant: 'acme' })).body;
    const o1 = await options();
    const o2 = await options();
    await withBrokenSigner(async () => {
      const rest = await gw.rest('POST', '/auth/webauthn/login/verify', { tenant: 'acme', response: auth.get(o1) });
      expectRestError(rest, 'webauthnLoginVerify', 'auth_webauthn_internal_error', 500);
      expect(JSON.stringify(rest.body)).not.toContain('exploded');
      const gql = await gw.gql('mutation($i: WebauthnLoginVerifyInput!) { webauthnLoginVerify(input: $i) { accessToken } }', {
        i: { tenant: 'acme', response: auth.get(o2) },
      });
      expectGqlError(gql, 'webauthnLoginVerify', 'auth_webauthn_internal_error', 500);
    });
    const [row] = await gw.sql('select counter from webauthn_credentials where credential_id = $1', [auth.credentials[0].id]);
    expect(Number(row.counter)).toBe(0);
  });
});
