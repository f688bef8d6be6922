// The hosted sign-in's federated ways in (SPEC §12 with §11). Single sign-on: an address whose
// domain has one of the tenant's connections signs in at its IdP (oidc-provider in this process,
// over real HTTP) and comes back to the provider's interaction with the flow's one-time code;
// where the connection enforces SSO, the password form goes to the IdP by itself. Google: its
// ID-token flow against a Google on loopback, back through the return page. The refusals first:
// a domain without a connection, a forged or foreign code, an error from the flow, an ID token
// of another interaction or none.
import * as oc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_ID, FakeGoogle } from '../helpers/fake-google.js';
import { freePort, requestJson, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { MiniBrowser, TestIdp } from '../helpers/oidc-idp.js';
import { authorizationRequest, relyingParty } from '../helpers/op-flow.js';

let gw: TestGateway;
let idp: TestIdp;
let google: FakeGoogle;
let publicUrl: string;
const APP = 'https://app.acme.example/callback';
const SECRET = 'op-sso-client-secret-0123456789abcdef';
const PASSWORD = 'op sso passphrase 1';

beforeAll(async () => {
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  idp = await TestIdp.start(`${publicUrl}/auth/sso/oidc/callback`);
  google = await FakeGoogle.start();
  gw = await startTestGateway({ port, env: { PUBLIC_URL: publicUrl, GOOGLE_CLIENT_IDS: CLIENT_ID, GOOGLE_CERTS_URL: google.url, GOOGLE_AUTHORIZATION_URL: google.authorizationUrl } });
  const connection = (extra: Record<string, unknown>) => ({ type: 'oidc', issuer: idp.issuer, client_id: idp.clientId, client_secret: idp.clientSecret, jit: true, ...extra });
  const web = { client_id: 'web', client_secret: SECRET, name: 'Acme Web', redirect_uris: [APP] };
  await gw.seed({
    tenants: [
      {
        slug: 'acme',
        name: 'Acme',
        roles: [],
        users: [
          { email: 'ada@acme.example', password: PASSWORD, roles: [] },
          { email: 'lee@locked.example', password: PASSWORD, roles: [] },
          { email: 'pat@plain.example', password: PASSWORD, roles: [] },
        ],
        google_domains: ['acme.test'],
        sso_connections: [connection({ name: 'okta', domains: ['acme.example'] }), connection({ name: 'enforcer', domains: ['locked.example'], enforce: true })],
        oauth_clients: [web],
      },
      { slug: 'globex', name: 'Globex', roles: [], users: [], oauth_clients: [web] },
    ],
  } as never);
}, 60_000);
afterAll(async () => {
  await gw?.close();
  await idp?.close();
  await google?.close();
});

const onApp = (u: URL) => u.href.startsWith(APP);
const formAction = (html: string) => new URL(/<form method="post" action="([^"]+)"/.exec(html)![1], publicUrl).href;

/** A browser at the tenant's sign-in page for the web client. */
async function signInPage(tenant = 'acme') {
  const config = await relyingParty(`${publicUrl}/oidc/${tenant}`, 'web', SECRET);
  const request = await authorizationRequest(config, APP);
  const browser = new MiniBrowser();
  const page = await browser.follow(request.url.href, onApp);
  return { config, request, browser, page, action: formAction(page.body!) };
}

describe('single sign-on on the hosted sign-in page', () => {
  it('is offered where the tenant has a connection, not elsewhere', async () => {
    expect((await signInPage()).page.body).toContain('name="sso" value="yes"');
    expect((await signInPage('globex')).page.body).not.toContain('name="sso"');
  });

  it('refuses an address whose domain has no connection, on the page (auth_sso_connection_not_found)', async () => {
    const { browser, action } = await signInPage();
    const res = await browser.submit(action, { email: 'pat@plain.example', password: '', sso: 'yes' }, onApp);
    expect([res.status, res.body?.includes('auth_sso_connection_not_found'), res.body?.includes('name="password"')]).toEqual([404, true, true]);
  });

  it('a forged code, an error from the flow, or a code of another interaction stays on the sign-in page', async () => {
    const { browser, page } = await signInPage();
    const uid = /\/interaction\/([^/]+)\/login/.exec(page.body!)![1];
    const back = (query: string) => browser.follow(`${publicUrl}/oidc/acme/interaction/${uid}/sso?${query}`, onApp);
    const forged = await back('code=' + 'A'.repeat(43));
    expect([forged.status, forged.body?.includes('auth_sso_code_invalid')]).toEqual([400, true]);
    const refused = await back('error=auth_sso_failed');
    expect(refused.body).toContain('auth_sso_failed');
    const odd = await back('error=%3Cscript%3E');
    expect([odd.body?.includes('auth_sso_code_invalid'), odd.body?.includes('<script>')]).toEqual([true, false]);
    // Names inherited by every object, and server errors, are no refusal of the flow: never a 5xx here.
    for (const error of ['toString', '__proto__', 'constructor', 'auth_internal_error', 'auth_sso_db_error']) {
      const res = await back(`error=${error}`);
      expect([res.status, res.body?.includes('auth_sso_code_invalid')], error).toEqual([400, true]);
    }

    // A real code made for another browser's interaction: its verifier is not this one's.
    const other = await signInPage();
    idp.next = { sub: 'ada-at-idp', email: 'ada@acme.example', email_verified: true };
    const atIdp = await other.browser.submit(other.action, { email: 'ada@acme.example', password: '', sso: 'yes' }, (u) => u.pathname.endsWith('/sso'));
    const code = atIdp.url.searchParams.get('code')!;
    expect(code).toBeTruthy();
    const stolen = await back(`code=${encodeURIComponent(code)}`);
    expect([stolen.status, stolen.body?.includes('auth_sso_code_invalid')]).toEqual([400, true]);
  });

  it('signs in at the IdP and comes back to consent, then the app; the ID token is the tenant user\'s, signed in by SSO', async () => {
    const { config, request, browser, action } = await signInPage();
    idp.next = { sub: 'ada-at-idp', email: 'ada@acme.example', email_verified: true };
    const consent = await browser.submit(action, { email: 'ada@acme.example', password: '', sso: 'yes' }, onApp);
    expect(consent.body, consent.body?.slice(0, 300)).toContain('name="decision"');
    const at = await browser.submit(formAction(consent.body!), { decision: 'allow' }, onApp);
    const tokens = await oc.authorizationCodeGrant(config, at.url, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
    const [ada] = await gw.sql("select id from users where email = 'ada@acme.example'");
    expect([tokens.claims()!.sub, tokens.claims()!.email, tokens.claims()!.acr]).toEqual([ada.id, 'ada@acme.example', 'aal1']);
    // The provider's session is a gateway session of the SSO sign-in.
    expect(await gw.sql("select auth_method from sessions where user_id = $1 order by created_at desc limit 1", [ada.id])).toEqual([{ auth_method: 'sso' }]);
  });

  it('where the connection enforces SSO, the password form goes to the IdP without looking at the password', async () => {
    const { browser, action } = await signInPage();
    idp.next = { sub: 'lee-at-idp', email: 'lee@locked.example', email_verified: true };
    const res = await browser.submit(action, { email: 'lee@locked.example', password: 'whatever was typed' }, onApp);
    expect(res.body, res.body?.slice(0, 300)).toContain('name="decision"');
  });
});

describe('Google on the hosted sign-in page', () => {
  /** To Google and back: where Google sent the browser (the return page, the token in its fragment). */
  async function atGoogleReturn() {
    const at = await signInPage();
    const action = new URL(/<form method="post" action="([^"]+\/google)"/.exec(at.page.body!)![1], publicUrl).href;
    const back = await at.browser.submit(action, {}, (u) => u.pathname === '/auth/google/return');
    const fragment = new URLSearchParams(back.url.hash.slice(1));
    const uid = /\/interaction\/([^/]+)\/login/.exec(at.page.body!)![1];
    return { ...at, back, fragment, uid, post: (idToken: string) => at.browser.submit(`${publicUrl}/oidc/acme/interaction/${uid}/google/return`, { id_token: idToken }, onApp) };
  }

  it('refuses an ID token not made for this interaction (no nonce, another nonce) or none, on the page', async () => {
    const { post } = await atGoogleReturn();
    google.next = { email: 'gia@acme.test', hd: 'acme.test', sub: '100200300' };
    for (const token of [await google.idToken(google.next), await google.idToken({ ...google.next, nonce: 'another interaction' }), '']) {
      const res = await post(token);
      expect([res.status, res.body?.includes('auth_google_token_invalid'), res.body?.includes('name="password"')]).toEqual([401, true, true]);
    }
  });

  it('signs in through Google\'s ID-token flow and the return page, then consent and the app', async () => {
    google.next = { email: 'gia@acme.test', hd: 'acme.test', sub: '100200300' };
    const { config, request, back, fragment, uid, post, browser } = await atGoogleReturn();
    expect(fragment.get('state')).toBe(`acme.${uid}`);
    // The return page: its script (same origin) posts the token on; no third-party asset.
    const page = await requestJson(`${publicUrl}/auth/google/return`, 'GET', undefined, { accept: 'text/html' });
    expect(page.body).toContain('src="/assets/google-return.js"');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(back.url.pathname).toBe('/auth/google/return');
    // As the script does: the fragment's token to the interaction the state names.
    const consent = await post(fragment.get('id_token')!);
    expect(consent.body, /<p class="error"[^]*?<\/p>/.exec(consent.body ?? '')?.[0]).toContain('name="decision"');
    const at = await browser.submit(formAction(consent.body!), { decision: 'allow' }, onApp);
    const claims = (await oc.authorizationCodeGrant(config, at.url, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce })).claims()!;
    expect([claims.email, claims.amr]).toEqual(['gia@acme.test', ['fed']]);
  });
});
