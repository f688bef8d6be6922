// Passkeys through both doors: registration, login with and without an e-mail, and every check the library leaves to us.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUserDisabled } from '../../src/services/operator/commands.js';
import { SoftAuthenticator, UP, UV, type Tamper } from '../helpers/authenticator.js';
import { ACME, bearer, expectGqlError, expectRestError, startTestGateway, type HttpResult, type TestGateway, type Door } from '../helpers/gateway.js';

let gw: TestGateway;
let clock = Date.now();
const TTL = 120;

const DOC = structuredClone(ACME);
DOC.tenants[0].users!.push({ email: 'cy@acme.test', password: 'cy password 123', roles: ['viewer'] });
DOC.tenants[0].users!.push({ email: 'dee@acme.test', password: 'dee password 123', roles: ['viewer'] });

beforeAll(async () => {
  gw = await startTestGateway({ env: { WEBAUTHN_CHALLENGE_TTL: String(TTL) }, deps: { now: () => new Date(clock) } });
  await gw.seed(DOC);
});
afterAll(() => gw?.close());


async function signIn(tenant: string, email: string, password: string): Promise<string> {
  const res = await gw.rest('POST', '/auth/login', { tenant, email, password });
  expect(res.status).toBe(200);
  return res.body.access_token;
}

async function registerOptions(at: string, door: Door): Promise<any> {
  if (door === 'rest') {
    const res = await gw.rest('POST', '/auth/webauthn/register/options', {}, bearer(at));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }
  const res = await gw.gql('mutation { webauthnRegisterOptions }', undefined, bearer(at));
  expect(res.body.errors, JSON.stringify(res.body)).toBeUndefined();
  return res.body.data.webauthnRegisterOptions;
}

async function registerVerify(at: string, door: Door, response: unknown, name?: string): Promise<HttpResult> {
  return door === 'rest'
    ? gw.rest('POST', '/auth/webauthn/register/verify', { response, name }, bearer(at))
    : gw.gql('mutation($i: WebauthnRegisterVerifyInput!) { webauthnRegisterVerify(input: $i) { id name createdAt deviceType backedUp transports } }', { i: { response, name } }, bearer(at));
}

async function register(auth: SoftAuthenticator, at: string, door: Door = 'rest', name = 'laptop') {
  const res = await registerVerify(at, door, auth.create(await registerOptions(at, door)), name);
  if (door === 'rest') expect(res.status, JSON.stringify(res.body)).toBe(201);
  else expect(res.body.errors, JSON.stringify(res.body)).toBeUndefined();
  return door === 'rest' ? res.body : res.body.data.webauthnRegisterVerify;
}

async function loginOptions(door: Door, tenant: string, email?: string): Promise<any> {
  if (door === 'rest') {
    const res = await gw.rest('POST', '/auth/webauthn/login/options', email ? { tenant, email } : { tenant });
    expect(res.status).toBe(200);
    return res.body;
  }
  const res = await gw.gql('mutation($i: WebauthnLoginOptionsInput!) { webauthnLoginOptions(input: $i) }', { i: { tenant, email } });
  expect(res.body.errors, JSON.stringify(res.body)).toBeUndefined();
  return res.body.data.webauthnLoginOptions;
}

function loginVerify(door: Door, tenant: string, response: unknown): Promise<HttpResult> {
  return door === 'rest'
    ? gw.rest('POST', '/auth/webauthn/login/verify', { tenant, response })
    : gw.gql(
        'mutation($i: WebauthnLoginVerifyInput!) { webauthnLoginVerify(input: $i) { accessToken refreshToken user { email tenant roles permissions authMethod } } }',
        { i: { tenant, response } },
      );
}

/** Login verification fails with `code` through `door`. */
function expectLoginError(res: HttpResult, door: Door, code: 'auth_webauthn_verification_failed' | 'auth_webauthn_challenge_invalid' | 'auth_login_account_disabled', status: number) {
  if (door === 'rest') expectRestError(res, 'webauthnLoginVerify', code, status);
  else expectGqlError(res, 'webauthnLoginVerify', code, status);
}

const counterOf = async (credentialId: string) =>
  Number((await gw.sql('select counter from webauthn_credentials where credential_id = $1', [credentialId]))[0].counter);

let ada: SoftAuthenticator;
let adaToken: string;

beforeAll(async () => {
  ada = new SoftAuthenticator();
  adaToken = await signIn('acme', 'ada@acme.test', 'correct horse battery');
});

describe('registration', () => {
  it('still takes the deprecated response and name arguments over GraphQL, but not both forms at once', async () => {
    // A user of its own, so the other tests' passkey counts stay as they are.
    const dee = await signIn('acme', 'dee@acme.test', 'dee password 123');
    const response = new SoftAuthenticator().create(await registerOptions(dee, 'graphql'));
    const both = await gw.gql('mutation($r: JSONObject!) { webauthnRegisterVerify(input: {response: $r}, response: $r) { id } }', { r: response }, bearer(dee));
    expectGqlError(both, 'webauthnRegisterVerify', 'auth_request_invalid', 422);
    const neither = await gw.gql('mutation { webauthnRegisterVerify { id } }', undefined, bearer(dee));
    expectGqlError(neither, 'webauthnRegisterVerify', 'auth_request_invalid', 422);
    const old = await gw.gql('mutation($r: JSONObject!) { webauthnRegisterVerify(response: $r, name: "old style") { id name } }', { r: response }, bearer(dee));
    expect(old.body.errors, JSON.stringify(old.body)).toBeUndefined();
    expect(old.body.data.webauthnRegisterVerify.name).toBe('old style');
  });

  it('answers creation options for the signed-in user and stores the passkey over REST (201)', async () => {
    const options = await registerOptions(adaToken, 'rest');
    expect(options).toMatchObject({
      rp: { id: 'localhost' },
      user: { name: 'ada@acme.test' },
      attestation: 'none',
      excludeCredentials: [],
      authenticatorSelection: { userVerification: 'required' },
    });
    const res = await registerVerify(adaToken, 'rest', ada.create(options), 'laptop');
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['created_at', 'id', 'name']);
    expect(res.body.name).toBe('laptop');
    const [row] = await gw.sql('select c.*, t.slug from webauthn_credentials c join tenants t on t.id = c.tenant_id where c.id = $1', [res.body.id]);
    expect(row).toMatchObject({ slug: 'acme', credential_id: ada.credentials[0].id, transports: ['internal'], device_type: 'singleDevice', backed_up: false });
    expect(row.public_key.length).toBeGreaterThan(60);
    expect(row.user_handle).toBe(options.user.id);
    expect(Number(row.counter)).toBe(0);
  });

  it('excludes registered credentials from new options, and registers a second passkey over GraphQL', async () => {
    const options = await registerOptions(adaToken, 'graphql');
    expect(options.excludeCredentials.map((c: { id: string }) => c.id)).toEqual([ada.credentials[0].id]);
    const res = await registerVerify(adaToken, 'graphql', ada.create(options), 'phone');
    expect(res.body.data.webauthnRegisterVerify).toMatchObject({ name: 'phone', deviceType: 'singleDevice', backedUp: false, transports: ['internal'] });
  });

  it('lists and deletes the caller\'s passkeys through both doors', async () => {
    const list = await gw.rest('GET', '/auth/webauthn/credentials', undefined, bearer(adaToken));
    expect(list.body.credentials.map((c: { name: string }) => c.name)).toEqual(['laptop', 'phone']);
    const gql = await gw.gql('{ passkeys { id name } }', undefined, bearer(adaToken));
    expect(gql.body.data.passkeys.map((c: { name: string }) => c.name)).toEqual(['laptop', 'phone']);
    const phone = gql.body.data.passkeys[1].id;
    // Another user cannot delete it.
    const cy = await signIn('acme', 'cy@acme.test', 'cy password 123');
    expectRestError(await gw.rest('DELETE', `/auth/webauthn/credentials/${phone}`, undefined, bearer(cy)), 'deletePasskey', 'auth_webauthn_credential_not_found', 404);
    expect((await gw.gql('mutation($id: ID!) { deletePasskey(id: $id) }', { id: phone }, bearer(adaToken))).body.data.deletePasskey).toBe(true);
    expectGqlError(await gw.gql('mutation($id: ID!) { deletePasskey(id: $id) }', { id: phone }, bearer(adaToken)), 'deletePasskey', 'auth_webauthn_credential_not_found', 404);
    expect((await gw.rest('GET', '/auth/webauthn/credentials', undefined, bearer(adaToken))).body.credentials).toHaveLength(1);
    ada.credentials.splice(1, 1);
  });

  it('needs an access token', async () => {
    expectRestError(await gw.rest('POST', '/auth/webauthn/register/options', {}), 'webauthnRegisterOptions', 'auth_unauthenticated', 401);
    expectGqlError(await gw.gql('mutation { webauthnRegisterOptions }'), 'webauthnRegisterOptions', 'auth_unauthenticated', 401);
  });

  it('refuses a registration from another origin, and a replayed registration body', async () => {
    const auth = new SoftAuthenticator();
    const bad = await registerVerify(adaToken, 'rest', auth.create(await registerOptions(adaToken, 'rest'), { origin: 'https://evil.example' }));
    expectRestError(bad, 'webauthnRegisterVerify', 'auth_webauthn_verification_failed', 401);
    const body = auth.create(await registerOptions(adaToken, 'rest'));
    expect((await registerVerify(adaToken, 'rest', body)).status).toBe(201);
    expectRestError(await registerVerify(adaToken, 'rest', body), 'webauthnRegisterVerify', 'auth_webauthn_challenge_invalid', 400);
    await gw.sql('delete from webauthn_credentials where credential_id = $1', [auth.credentials[1].id]);
  });
});

describe('login', () => {
  for (const door of ['rest', 'graphql'] as const) {
    it(`with an e-mail (allowCredentials), over ${door}`, async () => {
      const options = await loginOptions(door, 'acme', 'ada@acme.test');
      expect(options.allowCredentials.map((c: { id: string }) => c.id)).toEqual([ada.credentials[0].id]);
      expect(options.userVerification).toBe('required');
      const res = await loginVerify(door, 'acme', ada.get(options));
      const payload = door === 'rest' ? res.body : res.body.data.webauthnLoginVerify;
      expect(payload.user).toMatchObject({ email: 'ada@acme.test', tenant: 'acme', roles: ['admin'], permissions: ['api_keys:create', 'users:read'] });
      const at = door === 'rest' ? payload.access_token : payload.accessToken;
      const me = await gw.rest('GET', '/auth/me', undefined, bearer(at));
      expect(me.body.auth_method).toBe('webauthn');
    });

    it(`without an e-mail (discoverable credential, userHandle), over ${door}`, async () => {
      const options = await loginOptions(door, 'acme');
      expect(options.allowCredentials ?? []).toEqual([]);
      const res = await loginVerify(door, 'acme', ada.get(options));
      const payload = door === 'rest' ? res.body : res.body.data.webauthnLoginVerify;
      expect(payload.user.email).toBe('ada@acme.test');
    });
  }

  it('stores the new counter after each success', async () => {
    const before = await counterOf(ada.credentials[0].id);
    await loginVerify('rest', 'acme', ada.get(await loginOptions('rest', 'acme', 'ada@acme.test')));
    expect(await counterOf(ada.credentials[0].id)).toBe(before + 1);
  });

  it('answers an unknown tenant or e-mail with options shaped like a known one\'s', async () => {
    const known = await loginOptions('rest', 'acme', 'ada@acme.test');
    const unknownUser = await loginOptions('rest', 'acme', 'nobody@acme.test');
    const unknownTenant = await loginOptions('rest', 'nowhere', 'ada@acme.test');
    for (const o of [unknownUser, unknownTenant]) {
      expect(Object.keys(o).sort()).toEqual(Object.keys(known).sort());
      // How decoys vary like real accounts is pinned in security-review.test.ts.
      expect(o.allowCredentials.length).toBeGreaterThanOrEqual(1);
    }
    expect((await loginOptions('rest', 'acme', 'nobody@acme.test')).allowCredentials).toEqual(unknownUser.allowCredentials);
  });
});

describe('refusals', () => {
  const tampering: Array<[string, Tamper]> = [
    ['another origin', { origin: 'https://evil.example' }],
    ['another RP ID', { rpId: 'evil.example' }],
    ['another type', { type: 'webauthn.create' }],
    ['no user verification', { flags: UP }],
    ['no user presence', { flags: UV }],
    ['a bad signature', { badSignature: true }],
    ['a userHandle of someone else', { userHandle: Buffer.alloc(16, 7).toString('base64url') }],
  ];

  for (const door of ['rest', 'graphql'] as const) {
    for (const [what, tamper] of tampering) {
      it(`${what} (${door}): verification fails and the counter does not move`, async () => {
        const before = await counterOf(ada.credentials[0].id);
        const options = await loginOptions(door, 'acme', 'ada@acme.test');
        const saved = ada.credentials[0].counter;
        const res = await loginVerify(door, 'acme', ada.get(options, tamper));
        ada.credentials[0].counter = saved;
        expectLoginError(res, door, 'auth_webauthn_verification_failed', 401);
        expect(await counterOf(ada.credentials[0].id)).toBe(before);
      });
    }
  }

  it('a replayed verify body: the challenge was consumed by its first use', async () => {
    for (const door of ['rest', 'graphql'] as const) {
      const body = ada.get(await loginOptions(door, 'acme', 'ada@acme.test'));
      expect((await loginVerify(door, 'acme', body)).status).toBe(200);
      expectLoginError(await loginVerify(door, 'acme', body), door, 'auth_webauthn_challenge_invalid', 400);
    }
  });

  it('a failed attempt consumes the challenge too', async () => {
    const options = await loginOptions('rest', 'acme', 'ada@acme.test');
    expectLoginError(await loginVerify('rest', 'acme', ada.get(options, { badSignature: true })), 'rest', 'auth_webauthn_verification_failed', 401);
    expectLoginError(await loginVerify('rest', 'acme', ada.get(options)), 'rest', 'auth_webauthn_challenge_invalid', 400);
  });

  it('an unknown challenge, and an expired one', async () => {
    const options = await loginOptions('rest', 'acme', 'ada@acme.test');
    expectLoginError(await loginVerify('rest', 'acme', ada.get(options, { challenge: 'bm90LWEtY2hhbGxlbmdl' })), 'rest', 'auth_webauthn_challenge_invalid', 400);
    const late = await loginOptions('graphql', 'acme', 'ada@acme.test');
    clock += (TTL + 1) * 1000;
    try {
      expectLoginError(await loginVerify('graphql', 'acme', ada.get(late)), 'graphql', 'auth_webauthn_challenge_invalid', 400);
    } finally {
      clock = Date.now();
    }
  });

  it('an unknown credential', async () => {
    const stranger = new SoftAuthenticator();
    stranger.create(await registerOptions(adaToken, 'rest')); // made, never sent: unknown to the gateway
    for (const door of ['rest', 'graphql'] as const) {
      const res = await loginVerify(door, 'acme', stranger.get(await loginOptions(door, 'acme')));
      expectLoginError(res, door, 'auth_webauthn_verification_failed', 401);
    }
  });

  it('user B\'s credential in user A\'s ceremony', async () => {
    const cyAuth = new SoftAuthenticator();
    await register(cyAuth, await signIn('acme', 'cy@acme.test', 'cy password 123'));
    for (const door of ['rest', 'graphql'] as const) {
      const options = await loginOptions(door, 'acme', 'ada@acme.test');
      const res = await loginVerify(door, 'acme', cyAuth.get(options, { credential: cyAuth.credentials[0] }));
      expectLoginError(res, door, 'auth_webauthn_verification_failed', 401);
    }
  });

  it('another tenant\'s credential', async () => {
    for (const door of ['rest', 'graphql'] as const) {
      const res = await loginVerify(door, 'globex', ada.get(await loginOptions(door, 'globex')));
      expectLoginError(res, door, 'auth_webauthn_verification_failed', 401);
      // Nor can options of one tenant be spent in another.
      const res2 = await loginVerify(door, 'globex', ada.get(await loginOptions(door, 'acme')));
      expectLoginError(res2, door, 'auth_webauthn_challenge_invalid', 400);
    }
  });

  it('a discoverable login whose authenticator gives no userHandle', async () => {
    const res = await loginVerify('rest', 'acme', ada.get(await loginOptions('rest', 'acme'), { userHandle: null }));
    expectLoginError(res, 'rest', 'auth_webauthn_verification_failed', 401);
  });

  it('a counter regression: refused, recorded as a possible cloned authenticator', async () => {
    const stored = await counterOf(ada.credentials[0].id);
    for (const door of ['rest', 'graphql'] as const) {
      const res = await loginVerify(door, 'acme', ada.get(await loginOptions(door, 'acme', 'ada@acme.test'), { counter: stored }));
      expectLoginError(res, door, 'auth_webauthn_verification_failed', 401);
    }
    expect(await counterOf(ada.credentials[0].id)).toBe(stored);
    const events = await gw.sql("select details from audit_events where type = 'webauthn_counter_regression'");
    expect(events).toHaveLength(2);
    expect(events[0].details).toMatchObject({ storedCounter: stored, presentedCounter: stored });
    expect(gw.logs()).toContain('"security_event":"webauthn_counter_regression"');
  });

  it('a disabled user, once the assertion is proven', async () => {
    const deeAuth = new SoftAuthenticator();
    await register(deeAuth, await signIn('acme', 'dee@acme.test', 'dee password 123'));
    await setUserDisabled(gw.orm.em.fork(), 'acme', 'dee@acme.test', true);
    for (const door of ['rest', 'graphql'] as const) {
      const res = await loginVerify(door, 'acme', deeAuth.get(await loginOptions(door, 'acme', 'dee@acme.test')));
      expectLoginError(res, door, 'auth_login_account_disabled', 403);
    }
  });

  it('a body without a response object is a request error', async () => {
    expectRestError(await gw.rest('POST', '/auth/webauthn/login/verify', { tenant: 'acme', response: 'x' }), 'webauthnLoginVerify', 'auth_request_invalid', 422);
    expectRestError(await gw.rest('POST', '/auth/webauthn/login/options', {}), 'webauthnLoginOptions', 'auth_request_invalid', 422);
  });
});
