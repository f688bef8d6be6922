// The hosted sign-in's single sign-on (SPEC §12 with §11): an address whose domain has one of the
// tenant's connections signs in at its IdP (oidc-provider in this process, over real HTTP) and
// comes back to the provider's interaction with the flow's one-time code; where the connection
// enforces SSO, the password form goes to the IdP by itself. The refusals first: a domain without
// a connection, a forged or foreign code, an error from the flow.
import * as oc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { MiniBrowser, TestIdp } from '../helpers/oidc-idp.js';
import { authorizationRequest, relyingParty } from '../helpers/op-flow.js';

let gw: TestGateway;
let idp: TestIdp;
let publicUrl: string;
const APP = 'https://app.acme.example/callback';
const SECRET = 'op-sso-client-secret-0123456789abcdef';
const PASSWORD = 'op sso passphrase 1';

beforeAll(async () => {
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  idp = await TestIdp.start(`${publicUrl}/auth/sso/oidc/callback`);
  gw = await startTestGateway({ port, env: { PUBLIC_URL: publicUrl } });
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
