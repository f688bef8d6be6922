// Signing in through a tenant's OpenID Connect connection (SPEC §11), against oidc-provider in
// this process over real HTTP: the refusals first (unknown connections, redirects the tenant
// did not list, no S256, a callback of no pending flow, replays, a user who says no, an
// unverified address, another tenant, a spent or mismatched code), then the flow through both
// doors, linking by verified domain, just-in-time users, the role map, the TOTP step, and a
// flow begun on one gateway and finished on another.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idpUrlOf, pkce, ssoExchangeVia, ssoStartVia } from '../helpers/sso-flow.js';
import { bearer, DOORS, expectGqlError, expectRestError, freePort, registerPasskey, requestJson, signIn, startTestGateway, type Door, type HttpResult, type TestGateway } from '../helpers/gateway.js';
import { MiniBrowser, TestIdp } from '../helpers/oidc-idp.js';
import { sharingEnv, spawnGateway } from '../helpers/process.js';
import { CLIENT_ID, FakeGoogle } from '../helpers/fake-google.js';
import { SoftAuthenticator } from '../helpers/authenticator.js';
import { keyedHash } from '../../src/services/shared/secrets.js';

let gw: TestGateway;
let idp: TestIdp;
let google: FakeGoogle;
const APP = 'https://app.acme.example/sso/done';
const PASSWORD = 'sso oidc passphrase 1';

beforeAll(async () => {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  idp = await TestIdp.start(`${publicUrl}/auth/sso/oidc/callback`);
  google = await FakeGoogle.start();
  gw = await startTestGateway({ port, env: { PUBLIC_URL: publicUrl, GOOGLE_CLIENT_IDS: CLIENT_ID, GOOGLE_CERTS_URL: google.url, SSO_IDP_TIMEOUT_SECONDS: '1' } });
  const connection = (extra: Record<string, unknown>) => ({ type: 'oidc', issuer: idp.issuer, client_id: idp.clientId, client_secret: idp.clientSecret, ...extra });
  await gw.seed({
    tenants: [
      {
        slug: 'acme',
        name: 'Acme',
        redirect_urls: [APP],
        roles: [
          { name: 'member', permissions: [] },
          { name: 'admin', permissions: ['users:read', 'users:manage'] },
          { name: 'auditor', permissions: ['audit:read'] },
          { name: 'breakglass', permissions: ['sso:bypass'] },
        ],
        users: [
          { email: 'ada@acme.example', password: PASSWORD, roles: ['auditor'] },
          { email: 'tia@acme.example', password: PASSWORD, roles: [] },
          { email: 'kai@acme.example', password: PASSWORD, roles: [] },
          { email: 'zed@elsewhere.example', password: PASSWORD, roles: [] },
          { email: 'lee@locked.example', password: PASSWORD, roles: [] },
          { email: 'root@locked.example', password: PASSWORD, roles: ['breakglass'] },
        ],
        sso_connections: [
          connection({ name: 'okta', domains: ['acme.example'], jit: true, default_roles: ['member'], role_claim: 'groups', role_map: { admins: ['admin'], auditors: ['auditor'] } }),
          connection({ name: 'strict', domains: ['strict.example'], jit: false }),
          connection({ name: 'enforcer', domains: ['locked.example'], jit: true, enforce: true }),
          // A second IdP connection of the tenant without domains of its own (the attack's "editor IdP").
          connection({ name: 'other', domains: [], jit: true }),
        ],
      },
      // Another tenant's user of the same domain: acme's connection enforces nothing here.
      { slug: 'globex', name: 'Globex', signup: 'open', redirect_urls: ['https://app.globex.example/done'], roles: [], users: [{ email: 'gus@locked.example', password: PASSWORD, roles: [] }] },
    ],
  } as never);
}, 60_000);
afterAll(async () => {
  await gw?.close();
  await idp?.close();
  await google?.close();
});

const start = (door: Door, input: Record<string, unknown>) => ssoStartVia(gw, door, input);
const urlOf = idpUrlOf;
const expectStartError = (door: Door, res: HttpResult, code: Parameters<typeof expectRestError>[2], status: number) =>
  door === 'rest' ? expectRestError(res, 'ssoStart', code, status) : expectGqlError(res, 'ssoStart', code, status);

const exchange = (door: Door, code: string, verifier: string) => ssoExchangeVia(gw, door, code, verifier);

const onApp = (u: URL) => u.origin === new URL(APP).origin;

/** The whole browser leg: start, the IdP, back at the app; answers where it ended and the verifier. */
async function signInAtIdp(door: Door, as: TestIdp['next'], start_: Record<string, unknown> = { email: typeof as === 'object' ? as.email : 'x@acme.example' }) {
  const { verifier, challenge } = pkce();
  idp.next = as;
  const res = await start(door, { tenant: 'acme', redirect_to: `${APP}?keep=1`, code_challenge: challenge, code_challenge_method: 'S256', ...start_ });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const back = await new MiniBrowser().follow(urlOf(door, res), onApp);
  return { back: back.url, verifier };
}

const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()) as Record<string, unknown>;

describe('SSO sign-in refusals', () => {
  it('refuses unknown tenants, connections and domains, redirects the tenant did not list, and anything but S256 (both doors)', async () => {
    const { challenge } = pkce();
    const base = { tenant: 'acme', email: 'someone@acme.example', redirect_to: APP, code_challenge: challenge, code_challenge_method: 'S256' };
    for (const door of DOORS) {
      for (const wrong of [{ tenant: 'nope' }, { email: 'someone@unknown.example' }, { email: undefined, connection: 'nope' }, { tenant: 'globex', redirect_to: 'https://app.globex.example/done' }]) {
        expectStartError(door, await start(door, { ...base, ...wrong }), 'auth_sso_connection_not_found', 404);
      }
      for (const redirect of ['https://evil.example/sso/done', 'https://app.acme.example/other', 'http://app.acme.example/sso/done', 'https://u:p@app.acme.example/sso/done', `${APP}#x`]) {
        expectStartError(door, await start(door, { ...base, redirect_to: redirect }), 'auth_sso_redirect_invalid', 400);
      }
      expectStartError(door, await start(door, { ...base, code_challenge_method: 'plain' }), 'auth_request_invalid', 422);
      expectStartError(door, await start(door, { ...base, code_challenge: 'short' }), 'auth_request_invalid', 422);
    }
    expect(await gw.sql('select count(*)::int as n from sso_flows')).toEqual([{ n: 0 }]);
  });

  it('a callback that belongs to no pending flow answers auth_sso_failed itself and redirects nowhere; a replayed one too', async () => {
    const forged = await new MiniBrowser().follow(`${gw.url}/auth/sso/oidc/callback?code=abc&state=${randomBytes(32).toString('base64url')}`, () => false);
    expect(forged.status).toBe(401);
    expect(forged.body).toContain('auth_sso_failed');
    const json = await gw.rest('GET', `/auth/sso/oidc/callback?code=abc&state=${randomBytes(32).toString('base64url')}`);
    expectRestError(json, 'ssoCallback', 'auth_sso_failed', 401);

    // A real callback, captured and replayed: the flow is spent by its first use.
    const { challenge } = pkce();
    idp.next = { sub: 'replay', email: 'replay@acme.example' };
    const url = urlOf('rest', await start('rest', { tenant: 'acme', email: 'replay@acme.example', redirect_to: APP, code_challenge: challenge, code_challenge_method: 'S256' }));
    const browser = new MiniBrowser();
    const atGateway = await browser.follow(url, (u) => u.pathname === '/auth/sso/oidc/callback');
    expect((await browser.follow(atGateway.url.href, onApp)).url.searchParams.get('code')).toBeTruthy();
    const again = await browser.follow(atGateway.url.href, onApp);
    expect(again.status).toBe(401);
    expect(again.body).toContain('auth_sso_failed');
  });

  it('a user who says no at the IdP, or an address the IdP has not verified, goes back to the app with ?error= and no code', async () => {
    const refused = await signInAtIdp('rest', 'refuse');
    expect([refused.back.searchParams.get('error'), refused.back.searchParams.get('code'), refused.back.searchParams.get('keep')]).toEqual(['auth_sso_failed', null, '1']);
    const unverified = await signInAtIdp('rest', { sub: 'unverified', email: 'unverified@acme.example', email_verified: false });
    expect(unverified.back.searchParams.get('error')).toBe('auth_sso_failed');
    expect(await gw.sql("select 1 from users where email = 'unverified@acme.example'")).toEqual([]);
  });

  it('a code works once, for its own verifier only (a wrong one spends it), and not after 60 s', async () => {
    for (const door of DOORS) {
      const first = await signInAtIdp(door, { sub: `once-${door}`, email: `once-${door}@acme.example` });
      const code = first.back.searchParams.get('code')!;
      const wrong = await exchange(door, code, pkce().verifier);
      door === 'rest' ? expectRestError(wrong, 'ssoExchange', 'auth_sso_code_invalid', 400) : expectGqlError(wrong, 'ssoExchange', 'auth_sso_code_invalid', 400);
      const spent = await exchange(door, code, first.verifier);
      door === 'rest' ? expectRestError(spent, 'ssoExchange', 'auth_sso_code_invalid', 400) : expectGqlError(spent, 'ssoExchange', 'auth_sso_code_invalid', 400);
    }
    const late = await signInAtIdp('rest', { sub: 'late', email: 'late@acme.example' });
    await gw.sql("update sso_codes set expires_at = now() - interval '1 second'");
    expectRestError(await exchange('rest', late.back.searchParams.get('code')!, late.verifier), 'ssoExchange', 'auth_sso_code_invalid', 400);
    expectRestError(await exchange('rest', 'A'.repeat(43), late.verifier), 'ssoExchange', 'auth_sso_code_invalid', 400);
  });

  it('without jit an unknown address is not provisioned; an address outside the verified domains is never linked by e-mail', async () => {
    const strict = await signInAtIdp('rest', { sub: 'strict-1', email: 'new@strict.example' });
    expect(strict.back.searchParams.get('error')).toBe('auth_sso_user_not_provisioned');
    // zed@elsewhere.example has a password account; the IdP vouches for the address, but the
    // connection is not authoritative for elsewhere.example: no link, and no second user.
    const zed = await signInAtIdp('rest', { sub: 'zed-at-idp', email: 'zed@elsewhere.example' }, { connection: 'okta' });
    expect(zed.back.searchParams.get('error')).toBe('auth_sso_user_not_provisioned');
    expect(await gw.sql("select count(*)::int as n from sso_identities i join users u on u.id = i.user_id where u.email = 'zed@elsewhere.example'")).toEqual([{ n: 0 }]);
  });
});

describe('SSO sign-in: what the outside attack found', () => {
  it('another connection cannot create a user in a domain the authoritative one verified, nor keep a way into it', async () => {
    const carol = await signInAtIdp('rest', { sub: 'carol-elsewhere', email: 'carol@acme.example' }, { connection: 'other' });
    expect(carol.back.searchParams.get('error')).toBe('auth_sso_user_not_provisioned');
    expect(await gw.sql("select 1 from users where email = 'carol@acme.example'")).toEqual([]);

    // Where no connection has verified the domain, it creates the user unverified; once the
    // domain's own connection proves the address, the account is taken clean: the other link goes.
    const first = await signInAtIdp('rest', { sub: 'dan-elsewhere', email: 'dan@future.example' }, { connection: 'other' });
    const dan = await exchange('rest', first.back.searchParams.get('code')!, first.verifier);
    expect(dan.status, JSON.stringify(dan.body)).toBe(200);
    expect((await gw.sql("select email_verified from users where email = 'dan@future.example'"))[0].email_verified).toBe(false);
    await gw.sql("insert into sso_domains (domain, connection_id, verified_at) select 'future.example', id, now() from sso_connections where name = 'okta'");
    const owner = await signInAtIdp('rest', { sub: 'dan-at-okta', email: 'dan@future.example' }, { connection: 'okta' });
    expect((await exchange('rest', owner.back.searchParams.get('code')!, owner.verifier)).body.user.id).toBe(dan.body.user.id);
    const again = await signInAtIdp('rest', { sub: 'dan-elsewhere', email: 'dan@future.example' }, { connection: 'other' });
    expect(again.back.searchParams.get('error')).toBe('auth_sso_user_not_provisioned');
    expect((await gw.sql("select count(*)::int as n from audit_events where type = 'account_claimed'"))[0].n).toBeGreaterThan(0);
  });

  it('an IdP that hangs, or answers without end, is auth_sso_idp_unavailable; a failed answer is logged with its reason', async () => {
    const hang = net.createServer(() => {}).listen(0, '127.0.0.1');
    await new Promise((r) => hang.once('listening', r));
    const [okta] = await gw.sql("select id from sso_connections where name = 'okta'");
    await gw.sql("update sso_connections set settings = jsonb_set(settings, '{issuer}', to_jsonb($1::text)), updated_at = now() where id = $2", [`http://127.0.0.1:${(hang.address() as net.AddressInfo).port}`, okta.id]);
    try {
      const { challenge } = pkce();
      expectStartError('rest', await start('rest', { tenant: 'acme', email: 'a@acme.example', redirect_to: APP, code_challenge: challenge, code_challenge_method: 'S256' }), 'auth_sso_idp_unavailable', 502);
    } finally {
      await gw.sql("update sso_connections set settings = jsonb_set(settings, '{issuer}', to_jsonb($1::text)), updated_at = now() where id = $2", [idp.issuer, okta.id]);
      hang.close();
    }
    // An IdP that answers without end: read up to the outbound limit (1 MiB), then refused.
    const huge = http.createServer((_req, res) => res.end(JSON.stringify({ issuer: 'x', pad: 'a'.repeat(2 * 1024 * 1024) })));
    await new Promise<void>((resolve) => huge.listen(0, '127.0.0.1', resolve));
    await gw.sql("update sso_connections set settings = jsonb_set(settings, '{issuer}', to_jsonb($1::text)), updated_at = now() where id = $2", [`http://127.0.0.1:${(huge.address() as net.AddressInfo).port}`, okta.id]);
    try {
      const { challenge } = pkce();
      expectStartError('rest', await start('rest', { tenant: 'acme', email: 'a@acme.example', redirect_to: APP, code_challenge: challenge, code_challenge_method: 'S256' }), 'auth_sso_idp_unavailable', 502);
    } finally {
      await gw.sql("update sso_connections set settings = jsonb_set(settings, '{issuer}', to_jsonb($1::text)), updated_at = now() where id = $2", [idp.issuer, okta.id]);
      huge.close();
    }
    // The limit, not the document's contents, stopped it.
    expect(gw.logs()).toContain('larger than 1048576 bytes');
    await signInAtIdp('rest', { sub: 'unverified-2', email: 'unverified2@acme.example', email_verified: false });
    const line = gw.logs().split('\n').filter((l) => l.includes('"code":"auth_sso_failed"') && l.includes('security_event')).pop();
    expect(JSON.parse(line!).reason).toBe('claims: email not verified');
    // Counted by the check that failed (the forged and replayed callbacks above: state).
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    for (const reason of ['claims', 'state', 'exchange']) expect(metrics, reason).toMatch(new RegExp(`auth_sso_failures_total\\{reason="${reason}"\\} [1-9]`));
  });
});

describe('SSO: what the attack on enforcement found', () => {
  it('pointing a connection at another IdP drops its links: the new IdP cannot assert an old subject and sign in as that user', async () => {
    const first = await signInAtIdp('rest', { sub: 'victim-sub', email: 'victim@acme.example' }, { connection: 'okta' });
    const victim = (await exchange('rest', first.back.searchParams.get('code')!, first.verifier)).body.user.id;
    const links = () => gw.sql("select 1 from sso_identities i join sso_connections c on c.id = i.connection_id where i.user_id = $1 and c.name = 'okta'", [victim]);
    expect(await links()).toHaveLength(1);
    // The operator's import points okta at another client (another IdP, as far as subjects go), then back.
    const okta = (client: { id: string; secret: string }) => ({
      tenants: [{ slug: 'acme', name: 'Acme', sso_connections: [{ name: 'okta', type: 'oidc', domains: ['acme.example'], issuer: idp.issuer, client_id: client.id, client_secret: client.secret, jit: true, default_roles: ['member'], role_claim: 'groups', role_map: { admins: ['admin'], auditors: ['auditor'] } }] }],
    });
    await gw.seed(okta({ id: 'another-client', secret: 'another secret' }) as never);
    expect(await links()).toEqual([]);
    await gw.seed(okta({ id: idp.clientId, secret: idp.clientSecret }) as never);
    // The same person comes back through the domain (verified again by the operator) and is linked anew.
    const again = await signInAtIdp('rest', { sub: 'victim-sub', email: 'victim@acme.example' }, { connection: 'okta' });
    expect((await exchange('rest', again.back.searchParams.get('code')!, again.verifier)).body.user.id).toBe(victim);
  });

  it('Google sign-in checks the enforced address of the user it leads to; an invitation is not accepted with a password there', async () => {
    // A Google account linked to lee (of the enforced domain) before the connection enforced.
    await gw.sql("update sso_connections set enforce = false where name = 'enforcer'");
    const lee = await signIn(gw, { tenant: 'acme', email: 'lee@locked.example', password: PASSWORD });
    const idToken = await google.idToken({ sub: 'lee-personal', email: 'lee.personal@gmail.com' });
    expect((await gw.rest('POST', '/auth/login/google/link', { id_token: idToken }, bearer(lee.access_token))).status).toBe(201);
    await gw.sql("update sso_connections set enforce = true where name = 'enforcer'");
    const refused = await gw.rest('POST', '/auth/login/google', { tenant: 'acme', id_token: idToken });
    expectRestError(refused, 'loginWithGoogle', 'auth_sso_required', 403);

    const token = randomBytes(32).toString('base64url');
    await gw.sql(
      `insert into invitations (id, tenant_id, email, roles, token_hash, invited_by, created_at, expires_at)
       select gen_random_uuid(), t.id, 'newbie@locked.example', '{member}', $1, u.id, now(), now() + interval '1 day' from tenants t join users u on u.tenant_id = t.id where t.slug = 'acme' and u.email = 'root@locked.example'`,
      [keyedHash(gw.config.secretKey, token)],
    );
    const accepted = await gw.rest('POST', '/auth/invitations/accept', { token, password: 'a fine new passphrase 9' });
    expectRestError(accepted, 'acceptInvitation', 'auth_sso_required', 403);
    expect(await gw.sql("select 1 from users where email = 'newbie@locked.example'")).toEqual([]);
  });
});

describe('SSO sign-in', () => {
  it('just in time: a verified user with the default and mapped roles, auth_method sso, amr fed (both doors)', async () => {
    for (const door of DOORS) {
      const email = `newcomer-${door}@acme.example`;
      const { back, verifier } = await signInAtIdp(door, { sub: `sub-${door}`, email, groups: ['admins'] });
      expect(back.searchParams.get('keep')).toBe('1');
      const res = await exchange(door, back.searchParams.get('code')!, verifier);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.user).toMatchObject({ email, tenant: 'acme', auth_method: 'sso' });
      expect([...res.body.user.roles].sort()).toEqual(['admin', 'member']);
      expect(claims(res.body.access_token)).toMatchObject({ amr: ['fed'], acr: 'aal1' });
      const [user] = await gw.sql('select email_verified, password_hash from users where email = $1', [email]);
      expect(user).toEqual({ email_verified: true, password_hash: null });
    }
    expect((await gw.sql("select count(*)::int as n from audit_events where type = 'sso_user_provisioned'"))[0].n).toBeGreaterThanOrEqual(2);
  });

  it('first sign-ins of one identity at once (two tabs, a double click) each get a code, linked once: a new user and an existing one', async () => {
    for (const who of [{ sub: 'race-new', email: 'race-new@acme.example' }, { sub: 'race-kai', email: 'kai@acme.example' }]) {
      const flows = await Promise.all(Array.from({ length: 6 }, () => signInAtIdp('rest', who)));
      for (const { back } of flows) expect([back.searchParams.get('error'), back.searchParams.has('code')]).toEqual([null, true]);
      const res = await exchange('rest', flows[0].back.searchParams.get('code')!, flows[0].verifier);
      expect(res.body.user.email).toBe(who.email);
      expect(await gw.sql('select count(*)::int as n from sso_identities where subject = $1', [who.sub])).toEqual([{ n: 1 }]);
      expect(await gw.sql('select count(*)::int as n from users where email = $1', [who.email])).toEqual([{ n: 1 }]);
    }
  });

  it('links an existing user of a verified domain once; afterwards the subject alone decides, whatever e-mail the IdP says', async () => {
    const [ada] = await gw.sql("select id from users where email = 'ada@acme.example'");
    const first = await signInAtIdp('rest', { sub: 'ada-at-idp', email: 'ada@acme.example' });
    const session = await exchange('rest', first.back.searchParams.get('code')!, first.verifier);
    expect(session.body.user.id).toBe(ada.id);
    const renamed = await signInAtIdp('rest', { sub: 'ada-at-idp', email: 'ada.lovelace@acme.example' });
    expect((await exchange('rest', renamed.back.searchParams.get('code')!, renamed.verifier)).body.user.id).toBe(ada.id);
  });

  it('the role map grants and takes back only its own roles; a role granted by hand stays', async () => {
    const as = (groups: string[]) => ({ sub: 'roles-sub', email: 'roles@acme.example', groups });
    const run = async (groups: string[]) => {
      const { back, verifier } = await signInAtIdp('rest', as(groups));
      return [...(await exchange('rest', back.searchParams.get('code')!, verifier)).body.user.roles].sort();
    };
    expect(await run(['admins', 'auditors'])).toEqual(['admin', 'auditor', 'member']);
    expect(await run(['auditors'])).toEqual(['auditor', 'member']);
    // ada held auditor by hand before any sign-in: the connection never takes it.
    const ada = { sub: 'ada-at-idp', email: 'ada@acme.example' };
    const { back, verifier } = await signInAtIdp('rest', { ...ada, groups: [] });
    expect((await exchange('rest', back.searchParams.get('code')!, verifier)).body.user.roles).toContain('auditor');
  });

  it('a user with TOTP takes the second step, unless the IdP asserted multi-factor', async () => {
    const tia = await signIn(gw, { tenant: 'acme', email: 'tia@acme.example', password: PASSWORD });
    const secret = (await gw.rest('POST', '/auth/mfa/totp/enroll', {}, bearer(tia.access_token))).body.secret;
    const { TOTP, Secret } = await import('otpauth');
    const code = new TOTP({ secret: Secret.fromBase32(secret) }).generate();
    expect((await gw.rest('POST', '/auth/mfa/totp/activate', { code }, bearer(tia.access_token))).status).toBe(200);
    const plain = await signInAtIdp('rest', { sub: 'tia-at-idp', email: 'tia@acme.example' });
    const stepped = await exchange('rest', plain.back.searchParams.get('code')!, plain.verifier);
    expect(stepped.status).toBe(401);
    expect(stepped.body.detail).toMatchObject({ code: 'auth_mfa_required', methods: ['totp', 'recovery_code'] });
    // The second step finishes it as a federated sign-in with a second factor.
    const next = new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: Date.now() + 30_000 });
    const verified = await gw.rest('POST', '/auth/mfa/verify', { mfa_token: stepped.body.detail.mfa_token, code: next });
    expect(verified.status, JSON.stringify(verified.body)).toBe(200);
    expect(verified.body.user.auth_method).toBe('sso');
    expect(claims(verified.body.access_token)).toMatchObject({ acr: 'aal2' });
    const strong = await signInAtIdp('rest', { sub: 'tia-at-idp', email: 'tia@acme.example', amr: ['mfa'] });
    const direct = await exchange('rest', strong.back.searchParams.get('code')!, strong.verifier);
    expect(direct.status).toBe(200);
    expect(claims(direct.body.access_token)).toMatchObject({ amr: ['fed', 'mfa'], acr: 'aal2' });
  });

  it('an SSO link is a way in: a user without a password or passkey may unlink their Google account', async () => {
    const { back, verifier } = await signInAtIdp('rest', { sub: 'gwen-sub', email: 'gwen@acme.example' });
    const session = (await exchange('rest', back.searchParams.get('code')!, verifier)).body;
    const linked = await gw.rest('POST', '/auth/login/google/link', { id_token: await google.idToken({ sub: 'gwen-google', email: 'gwen.home@gmail.com' }) }, bearer(session.access_token));
    expect(linked.status, JSON.stringify(linked.body)).toBe(201);
    const res = await gw.gql('mutation($id: ID!) { unlinkGoogle(id: $id) }', { id: linked.body.id }, bearer(session.access_token));
    expect(res.body, JSON.stringify(res.body)).toEqual({ data: { unlinkGoogle: true } });
  });

  it('a disabled user gets no session', async () => {
    const { back, verifier } = await signInAtIdp('rest', { sub: 'disabled-sub', email: 'disabled@acme.example' });
    await gw.sql("update users set disabled = true where email = 'disabled@acme.example'");
    expectRestError(await exchange('rest', back.searchParams.get('code')!, verifier), 'ssoExchange', 'auth_login_account_disabled', 403);
  });

  it('a flow begun on one gateway process finishes on another (the state lives in PostgreSQL)', async () => {
    // Another process on the same database and secrets: it starts the flow and trades the code;
    // the IdP sends the browser to PUBLIC_URL, which is this file's gateway.
    const other = await spawnGateway(sharingEnv(gw));
    try {
      const { verifier, challenge } = pkce();
      idp.next = { sub: 'roaming', email: 'roaming@acme.example' };
      const res = await requestJson(`${other.url}/auth/sso/start`, 'POST', { tenant: 'acme', email: 'roaming@acme.example', redirect_to: APP, code_challenge: challenge, code_challenge_method: 'S256' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const back = await new MiniBrowser().follow(res.body.url, onApp);
      const session = await requestJson(`${other.url}/auth/sso/token`, 'POST', { code: back.url.searchParams.get('code'), code_verifier: verifier });
      expect(session.status, JSON.stringify(session.body)).toBe(200);
      expect(session.body.user.email).toBe('roaming@acme.example');
    } finally {
      other.kill();
      await other.exited;
    }
  });

  it('an IdP that cannot be reached answers auth_sso_idp_unavailable at the start', async () => {
    const [okta] = await gw.sql("select id from sso_connections where name = 'okta'");
    const dead = `http://127.0.0.1:${await freePort()}`;
    await gw.sql("update sso_connections set settings = jsonb_set(settings, '{issuer}', to_jsonb($1::text)), updated_at = now() where id = $2", [dead, okta.id]);
    try {
      const { challenge } = pkce();
      for (const door of DOORS) expectStartError(door, await start(door, { tenant: 'acme', email: 'a@acme.example', redirect_to: APP, code_challenge: challenge, code_challenge_method: 'S256' }), 'auth_sso_idp_unavailable', 502);
      // The log says the IdP failed and how, not "database error".
      const line = gw.logs().split('\n').filter((l) => l.includes('"auth_sso_idp_unavailable"') && l.includes('"err"')).pop();
      expect(JSON.parse(line!).err.message).toMatch(/^discovery: /);
    } finally {
      await gw.sql("update sso_connections set settings = jsonb_set(settings, '{issuer}', to_jsonb($1::text)), updated_at = now() where id = $2", [idp.issuer, okta.id]);
    }
  });
});

describe('SSO enforcement', () => {
  const lee = { tenant: 'acme', email: 'lee@locked.example', password: PASSWORD };
  const root = { tenant: 'acme', email: 'root@locked.example', password: PASSWORD };
  const LOGIN = 'mutation($i: LoginInput!) { login(input: $i) { accessToken user { email } } }';
  const required = (door: Door, res: HttpResult, op: Parameters<typeof expectRestError>[1]) => {
    if (door === 'rest') {
      expectRestError(res, op, 'auth_sso_required', 403);
      expect(res.body.detail.connection).toBe('enforcer');
    } else {
      expectGqlError(res, op, 'auth_sso_required', 403);
      expect(res.body.errors[0].extensions.connection).toBe('enforcer');
    }
  };
  const login = (door: Door, who: Record<string, unknown>) =>
    door === 'rest' ? gw.rest('POST', '/auth/login', who) : gw.gql(LOGIN, { i: { tenant: who.tenant, email: who.email, password: who.password, breakGlass: who.break_glass } });

  it('password sign-in of the domain: refused before any password, right, wrong or unknown (both doors)', async () => {
    for (const door of DOORS) {
      for (const who of [lee, { ...lee, password: 'wrong password 1' }, { ...lee, email: 'nobody@locked.example' }, { ...lee, email: 'LEE@Locked.Example' }]) required(door, await login(door, who), 'login');
    }
  });

  it('the break-glass form: the password first, then sso:bypass; the sign-in is audited', async () => {
    for (const door of DOORS) {
      const wrong = await login(door, { ...root, password: 'wrong password 1', break_glass: true });
      door === 'rest' ? expectRestError(wrong, 'login', 'auth_login_invalid_credentials', 401) : expectGqlError(wrong, 'login', 'auth_login_invalid_credentials', 401);
      required(door, await login(door, { ...lee, break_glass: true }), 'login');
      const ok = await login(door, { ...root, break_glass: true });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(door === 'rest' ? ok.body.user.email : ok.body.data.login.user.email).toBe('root@locked.example');
    }
    const audit = await gw.sql("select details from audit_events where type = 'sso_break_glass' order by created_at");
    expect(audit.map((a: { details: { connection: string } }) => a.details.connection)).toEqual(['enforcer', 'enforcer']);
  });

  it('sign-up, forgot and reset of the domain are refused; another tenant is not bound by this one', async () => {
    required('rest', await gw.rest('POST', '/auth/signup', { tenant: 'acme', email: 'new@locked.example', password: 'a fine new passphrase 9' }), 'signUp');
    required('rest', await gw.rest('POST', '/auth/password/forgot', { tenant: 'acme', email: 'lee@locked.example' }), 'forgotPassword');
    required('graphql', await gw.gql('mutation { forgotPassword(input: {tenant: "acme", email: "lee@locked.example"}) }'), 'forgotPassword');
    // A reset link mailed before the connection enforced.
    const token = randomBytes(32).toString('base64url');
    await gw.sql(
      `insert into email_tokens (id, tenant_id, user_id, kind, token_hash, created_at, expires_at)
       select gen_random_uuid(), tenant_id, id, 'reset_password', $1, now(), now() + interval '1 hour' from users where email = 'lee@locked.example'`,
      [keyedHash(gw.config.secretKey, token)],
    );
    required('rest', await gw.rest('POST', '/auth/password/reset', { token, password: 'another fine passphrase 8' }), 'resetPassword');
    // globex's user of the same domain signs in with a password as before.
    expect((await gw.rest('POST', '/auth/login', { tenant: 'globex', email: 'gus@locked.example', password: PASSWORD })).status).toBe(200);
    expect((await gw.rest('POST', '/auth/signup', { tenant: 'globex', email: 'gina@locked.example', password: 'a fine new passphrase 9' })).status).toBe(202);
  });

  it('passkey and Google sign-in of the domain are refused too; SSO itself signs in', async () => {
    // A passkey registered before the connection enforced.
    await gw.sql("update sso_connections set enforce = false where name = 'enforcer'");
    const auth = new SoftAuthenticator(gw.config.webauthn.origins[0], gw.config.webauthn.rpId);
    await registerPasskey(gw, auth, (await signIn(gw, lee)).access_token);
    await gw.sql("update sso_connections set enforce = true where name = 'enforcer'");
    const options = (await gw.rest('POST', '/auth/webauthn/login/options', { tenant: 'acme', email: lee.email })).body;
    required('rest', await gw.rest('POST', '/auth/webauthn/login/verify', { tenant: 'acme', response: auth.get(options) }), 'webauthnLoginVerify');

    const idToken = await google.idToken({ sub: 'lee-google', email: lee.email, hd: 'locked.example' });
    required('rest', await gw.rest('POST', '/auth/login/google', { tenant: 'acme', id_token: idToken }), 'loginWithGoogle');

    const { back, verifier } = await signInAtIdp('rest', { sub: 'lee-at-idp', email: lee.email }, { connection: 'enforcer' });
    const session = await exchange('rest', back.searchParams.get('code')!, verifier);
    expect(session.status, JSON.stringify(session.body)).toBe(200);
    expect(session.body.user.email).toBe(lee.email);
  });
});
