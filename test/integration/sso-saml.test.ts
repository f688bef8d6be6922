// Signing in through a tenant's SAML 2.0 connection (SPEC §11), against a SAML IdP in this
// process that signs real responses with its own key (scripts/local-saml-idp.ts, xml-crypto):
// the refusals first (unsigned, another key, two wrappings, audience, recipient, destination,
// issuer, time window, unknown InResponseTo, IdP-initiated, replay, another tenant's flow),
// each with auth_sso_failed and no session; then the flow through both doors, metadata and
// signed requests, linking, just-in-time users, the role map, multi-factor contexts and the
// opt-in IdP-initiated sign-in.
import { createPublicKey, createVerify, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idpUrlOf, pkce, ssoExchangeVia, ssoStartVia } from '../helpers/sso-flow.js';
import { DOORS, expectRestError, freePort, requestJson, signIn, startTestGateway, type Door, type HttpResult, type TestGateway } from '../helpers/gateway.js';
import { sharingEnv, spawnGateway } from '../helpers/process.js';
import { formOf, LocalSamlIdp, type AuthnRequestSeen, type ResponseOptions, type SamlAccount } from '../../scripts/local-saml-idp.js';

let gw: TestGateway;
let idp: LocalSamlIdp;
let publicUrl: string;
const APP = 'https://app.acme.example/sso/done';
const APP2 = 'https://app.acme.example/sso/other';
const GLOBEX_APP = 'https://app.globex.example/done';
const PASSWORD = 'sso saml passphrase 1';
const MFA_CONTEXT = 'urn:oasis:names:tc:SAML:2.0:ac:classes:MultiFactor';
const ids: Record<string, string> = {};

beforeAll(async () => {
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  idp = await LocalSamlIdp.start();
  gw = await startTestGateway({ port, env: { PUBLIC_URL: publicUrl } });
  const explicit = { idp_entity_id: idp.entityId, idp_sso_url: idp.ssoUrl, idp_certificate: idp.certificate };
  await gw.seed({
    tenants: [
      {
        slug: 'acme',
        name: 'Acme',
        redirect_urls: [APP, APP2],
        roles: [
          { name: 'member', permissions: [] },
          { name: 'admin', permissions: ['users:read', 'users:manage'] },
        ],
        users: [{ email: 'ada@acme-corp.example', password: PASSWORD, roles: [] }],
        sso_connections: [
          {
            name: 'adfs',
            type: 'saml',
            domains: ['acme-corp.example'],
            idp_metadata: idp.metadata(),
            jit: true,
            default_roles: ['member'],
            role_attribute: 'groups',
            role_map: { admins: ['admin'] },
            mfa_contexts: [MFA_CONTEXT],
          },
          { name: 'initiated', type: 'saml', domains: ['idp-init.example'], ...explicit, jit: true, allow_idp_initiated: true },
          { name: 'signed', type: 'saml', domains: ['signed.example'], ...explicit, jit: true, sign_requests: true },
          { name: 'strict', type: 'saml', domains: ['strict.example'], ...explicit, jit: false },
        ],
      },
      // Another tenant trusting the same IdP: an answer meant for acme never signs in here, nor the reverse.
      { slug: 'globex', name: 'Globex', redirect_urls: [GLOBEX_APP], roles: [], users: [], sso_connections: [{ name: 'adfs', type: 'saml', domains: ['globex-corp.example'], ...explicit, jit: true }] },
    ],
  } as never);
  for (const r of await gw.sql("select c.id, t.slug || '/' || c.name as name from sso_connections c join tenants t on t.id = c.tenant_id")) ids[r.name] = r.id;
}, 60_000);
afterAll(async () => {
  await gw?.close();
  await idp?.close();
});

const start = (door: Door, input: Record<string, unknown>) => ssoStartVia(gw, door, input);
const urlOf = idpUrlOf;

const exchange = (door: Door, code: string, verifier: string) => ssoExchangeVia(gw, door, code, verifier);

/** A flow begun at the gateway: the AuthnRequest the IdP receives (read off the redirect URL) and the app's verifier. */
async function begin(door: Door = 'rest', input: Record<string, unknown> = {}): Promise<{ request: AuthnRequestSeen; url: string; verifier: string }> {
  const { verifier, challenge } = pkce();
  const res = await start(door, { tenant: 'acme', connection: 'adfs', redirect_to: `${APP}?keep=1`, code_challenge: challenge, code_challenge_method: 'S256', ...input });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const url = urlOf(door, res);
  return { request: LocalSamlIdp.readRequest(url), url, verifier };
}

/** Posts the IdP's form to the gateway's ACS as a browser does; answers the response (303 or the 401 page). */
function postAcs(fields: Record<string, string | null>, accept = 'text/html'): Promise<HttpResult> {
  const body = new URLSearchParams(Object.entries(fields).filter((e): e is [string, string] => e[1] !== null)).toString();
  return requestJson(`${gw.url}/auth/sso/saml/acs`, 'POST', body, { 'content-type': 'application/x-www-form-urlencoded', accept });
}

/** The IdP answers `request` for `who`, bent by `options`; the answer is posted with the flow's RelayState. */
async function answer(flow: { request: AuthnRequestSeen }, who: SamlAccount | 'refuse', options: ResponseOptions = {}): Promise<HttpResult> {
  return postAcs({ SAMLResponse: idp.response(who, flow.request, options), RelayState: flow.request.relayState });
}
const location = (res: HttpResult) => (res.headers.get('location') ? new URL(res.headers.get('location')!) : undefined);

/** The whole leg through the IdP's own page (its auto-posting form), back at the app. */
async function throughIdp(door: Door, who: SamlAccount, input: Record<string, unknown> = {}) {
  const flow = await begin(door, input);
  idp.next = who;
  const page = await fetch(flow.url);
  const form = formOf(await page.text());
  expect(form.action).toBe(`${publicUrl}/auth/sso/saml/acs`);
  const res = await postAcs(form.fields);
  expect(res.status, JSON.stringify(res.body)).toBe(303);
  return { back: location(res)!, verifier: flow.verifier };
}

const usersNamed = async (email: string) => (await gw.sql('select count(*)::int as n from users where email = $1', [email]))[0].n;

describe('SAML refusals: each is auth_sso_failed and starts no session', () => {
  const mallory = { nameId: 'mallory@acme-corp.example' };

  const bent: Array<[string, ResponseOptions, string]> = [
    ['unsigned', { sign: 'none' }, 'signature'],
    ['signed by another key', { otherKey: true }, 'signature'],
    ['signed by another key, response and assertion', { otherKey: true, sign: 'both' }, 'signature'],
    ['wrapped: a second, unsigned assertion', { wrap: 'second' }, 'signature'],
    ['wrapped: the signed assertion hidden, an unsigned one in its place', { wrap: 'moved' }, 'signature'],
    ['wrapped with a signed response around them', { wrap: 'second', sign: 'response' }, 'signature'],
    ['whose Response signature is by another key, around a good signed assertion', { sign: 'both', otherKey: 'response' }, 'signature'],
    ['whose Assertion signature is by another key, inside a good signed Response', { sign: 'both', otherKey: 'assertion' }, 'signature'],
    ['with a status other than Success beside its assertion', { status: 'urn:oasis:names:tc:SAML:2.0:status:Requester', keepAssertion: true }, 'claims'],
    ['padded with more elements than any response has', { extensions: '<b/>'.repeat(20_000) }, 'other'],
    ['whose one element carries more attributes than any response has', { extensions: `<b ${Array.from({ length: 30_000 }, (_, i) => `a${i}="x"`).join(' ')}/>` }, 'other'],
    ['padded with processing instructions and text', { extensions: `<b>${'<?a?>x'.repeat(20_000)}</b>` }, 'other'],
    ['padded with comments', { extensions: '<!---->'.repeat(20_000) }, 'other'],
    ['nested deeper than any response is', { extensions: '<b>'.repeat(100) + '</b>'.repeat(100) }, 'other'],
    ['for another audience', { audience: 'https://sp.elsewhere.example/metadata' }, 'audience'],
    ['for another recipient', { recipient: 'https://sp.elsewhere.example/acs' }, 'recipient'],
    ['to another destination', { destination: 'https://sp.elsewhere.example/acs' }, 'recipient'],
    ['without a destination', { destination: null }, 'recipient'],
    ['from another issuer (signed by the right key)', { issuer: 'https://other-idp.example' }, 'claims'],
    ['expired', { notBefore: -600_000, notOnOrAfter: -120_000 }, 'time'],
    ['not yet valid', { notBefore: 120_000 }, 'time'],
  ];
  for (const [what, options, reason] of bent) {
    it(`a response ${what} goes back to the app with ?error=auth_sso_failed (reason ${reason})`, async () => {
      const flow = await begin();
      const res = await answer(flow, mallory, options);
      expect(res.status, JSON.stringify(res.body)).toBe(303);
      const back = location(res)!;
      expect([back.origin + back.pathname, back.searchParams.get('error'), back.searchParams.get('code'), back.searchParams.get('keep')]).toEqual([APP, 'auth_sso_failed', null, '1']);
      expect(await usersNamed('mallory@acme-corp.example')).toBe(0);
      expect(await usersNamed('mallory@evil.example')).toBe(0);
      const line = gw
        .logs()
        .split('\n')
        .filter((l) => l.includes('"operation":"ssoSamlAcs"') && l.includes('"code":"auth_sso_failed"') && l.includes('"reason"'))
        .at(-1);
      expect(JSON.parse(line!).reason.split(':')[0]).toBe(reason);
      // Never the assertion itself in the log.
      expect(gw.logs()).not.toContain('mallory@acme-corp.example');
    });
  }

  it('a response signed well but also valid keeps working (the bent ones above are refused for what they bend)', async () => {
    for (const sign of ['assertion', 'response', 'both'] as const) {
      const flow = await begin();
      const res = await answer(flow, { nameId: `well-${sign}@acme-corp.example` }, { sign });
      expect(location(res)!.searchParams.get('code'), `${sign}: ${location(res)}`).toBeTruthy();
    }
  });

  it('an unknown InResponseTo, an IdP-initiated response and a forged RelayState answer 401 themselves and redirect nowhere', async () => {
    const flow = await begin();
    const other = await postAcs({ SAMLResponse: idp.response(mallory, { ...flow.request, id: `_${randomBytes(16).toString('hex')}` }), RelayState: flow.request.relayState });
    expect([other.status, other.headers.get('location')]).toEqual([401, null]);
    expect(other.body).toContain('auth_sso_failed');

    const initiated = await postAcs({ SAMLResponse: idp.response(mallory, { ...flow.request, id: '' }, { inResponseTo: null }) }, 'application/json');
    expectRestError(initiated, 'ssoSamlAcs', 'auth_sso_failed', 401);
    const forged = await postAcs({ SAMLResponse: idp.response(mallory, flow.request), RelayState: randomBytes(32).toString('base64url') }, 'application/json');
    expectRestError(forged, 'ssoSamlAcs', 'auth_sso_failed', 401);
    expect(await usersNamed('mallory@acme-corp.example')).toBe(0);
  });

  it('a replayed response finds its flow spent; replayed into a new flow it answers another request', async () => {
    const flow = await begin();
    const form = { SAMLResponse: idp.response({ nameId: 'replay@acme-corp.example' }, flow.request), RelayState: flow.request.relayState };
    expect(location(await postAcs(form))!.searchParams.get('code')).toBeTruthy();
    const again = await postAcs(form);
    expect([again.status, again.headers.get('location')]).toEqual([401, null]);
    const fresh = await begin();
    const into = await postAcs({ ...form, RelayState: fresh.request.relayState });
    expect([into.status, into.headers.get('location')]).toEqual([401, null]);
  });

  it('a user refused at the IdP goes back to the app with ?error= and no code', async () => {
    const res = await answer(await begin(), 'refuse');
    expect(location(res)!.searchParams.get('error')).toBe('auth_sso_failed');
    expect(location(res)!.searchParams.get('code')).toBeNull();
  });

  it("another tenant's flow: an answer meant for acme's connection does not sign in at globex, nor globex's at acme", async () => {
    const acme = await begin();
    const { challenge } = pkce();
    const started = await start('rest', { tenant: 'globex', connection: 'adfs', redirect_to: GLOBEX_APP, code_challenge: challenge, code_challenge_method: 'S256' });
    const globex = LocalSamlIdp.readRequest(started.body.url);
    expect(globex.issuer).not.toBe(acme.request.issuer);
    // acme's answer (its audience, its request) posted into globex's flow.
    const crossed = await postAcs({ SAMLResponse: idp.response({ nameId: 'ada@acme-corp.example' }, acme.request), RelayState: globex.relayState });
    expect([crossed.status, crossed.headers.get('location')]).toEqual([401, null]);
    // globex's request answered with acme's audience.
    const next = LocalSamlIdp.readRequest((await start('rest', { tenant: 'globex', connection: 'adfs', redirect_to: GLOBEX_APP, code_challenge: challenge, code_challenge_method: 'S256' })).body.url);
    const audience = await postAcs({ SAMLResponse: idp.response({ nameId: 'ada@acme-corp.example' }, next, { audience: acme.request.issuer }), RelayState: next.relayState });
    expect(location(audience)!.searchParams.get('error')).toBe('auth_sso_failed');
    // globex's IdP asserting an address of the domain acme verified: never acme's ada, and no globex user either.
    const globexFlow = async () => LocalSamlIdp.readRequest((await start('rest', { tenant: 'globex', connection: 'adfs', redirect_to: GLOBEX_APP, code_challenge: challenge, code_challenge_method: 'S256' })).body.url);
    const asAda = await globexFlow();
    const refused = await postAcs({ SAMLResponse: idp.response({ nameId: 'ada@acme-corp.example' }, asAda), RelayState: asAda.relayState });
    expect(location(refused)!.searchParams.get('error')).toBe('auth_sso_user_not_provisioned');
    // Its own domain signs in, into globex.
    const own = await globexFlow();
    const ok = await postAcs({ SAMLResponse: idp.response({ nameId: 'gus@globex-corp.example' }, own), RelayState: own.relayState });
    expect(location(ok)!.searchParams.get('code')).toBeTruthy();
    expect(await gw.sql("select t.slug from users u join tenants t on t.id = u.tenant_id where u.email in ('gus@globex-corp.example', 'ada@acme-corp.example') order by t.slug")).toEqual([{ slug: 'acme' }, { slug: 'globex' }]);
  });

  it('a comment slipped into a signed NameID (canonicalization drops it) never shortens the name: no session as ada', async () => {
    const [ada] = await gw.sql("select id from users where email = 'ada@acme-corp.example'");
    const flow = await begin();
    const xml = Buffer.from(idp.response({ nameId: 'ada@acme-corp.example.evil.test' }, flow.request), 'base64').toString('utf8');
    const bent = xml.replace('>ada@acme-corp.example.evil.test<', '>ada@acme-corp.example<!---->.evil.test<');
    expect(bent).not.toBe(xml);
    const res = await postAcs({ SAMLResponse: Buffer.from(bent).toString('base64'), RelayState: flow.request.relayState });
    const code = location(res)?.searchParams.get('code');
    if (code) expect((await exchange('rest', code, flow.verifier)).body.user.id).not.toBe(ada.id);
    expect(await gw.sql("select count(*)::int as n from sso_identities where user_id = $1 and subject like 'ada@acme-corp.example%evil%'", [ada.id])).toEqual([{ n: 0 }]);
  });

  it('reads the status from one StatusCode of the protocol namespace: a look-alike or a second code is refused', async () => {
    const SUCCESS = '<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>';
    const RESPONDER = '<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"/>';
    for (const status of [`<x:StatusCode xmlns:x="urn:evil" Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>${RESPONDER}`, `${SUCCESS}${RESPONDER}`]) {
      const flow = await begin();
      const xml = Buffer.from(idp.response({ nameId: 'status@acme-corp.example' }, flow.request), 'base64').toString('utf8');
      expect(xml).toContain(SUCCESS);
      const res = await postAcs({ SAMLResponse: Buffer.from(xml.replace(SUCCESS, status)).toString('base64'), RelayState: flow.request.relayState });
      expect(location(res)!.searchParams.get('error'), status).toBe('auth_sso_failed');
    }
    expect(await usersNamed('status@acme-corp.example')).toBe(0);
  });

  it('refuses a response with a DOCTYPE (entities, internal or external) before parsing it', async () => {
    const flow = await begin();
    const xml = Buffer.from(idp.response({ nameId: 'doctype@acme-corp.example' }, flow.request), 'base64').toString('utf8');
    const bomb = xml.replace('<samlp:Response', '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><samlp:Response');
    const res = await postAcs({ SAMLResponse: Buffer.from(bomb).toString('base64'), RelayState: flow.request.relayState });
    expect(location(res)!.searchParams.get('error')).toBe('auth_sso_failed');
    expect(await usersNamed('doctype@acme-corp.example')).toBe(0);
  });

  it('refuses what is not a SAML response at all, and a body without SAMLResponse', async () => {
    const flow = await begin();
    // Not an answer to the flow's request (it names none): nothing ties it to the flow.
    const garbage = await postAcs({ SAMLResponse: Buffer.from('<not-saml/>').toString('base64'), RelayState: flow.request.relayState }, 'application/json');
    expect([garbage.status, garbage.headers.get('location')], JSON.stringify(garbage.body)).toEqual([401, null]);
    expectRestError(garbage, 'ssoSamlAcs', 'auth_sso_failed', 401);
    // Not even XML: the flow it came with hears of it.
    const broken = await postAcs({ SAMLResponse: '%%%', RelayState: (await begin()).request.relayState });
    expect(location(broken)!.searchParams.get('error')).toBe('auth_sso_failed');
    const missing = await postAcs({ RelayState: flow.request.relayState }, 'application/json');
    expectRestError(missing, 'ssoSamlAcs', 'auth_request_invalid', 422);
    const json = await gw.rest('POST', '/auth/sso/saml/acs', { SAMLResponse: 'x' });
    expectRestError(json, 'ssoSamlAcs', 'auth_request_invalid', 422);
  });
});

describe('SAML sign-in', () => {
  it('signs in through both doors: a just-in-time user with the default and mapped roles, auth_method sso, amr fed, acr aal1', async () => {
    for (const door of DOORS) {
      const email = `jit-${door}@acme-corp.example`;
      const { back, verifier } = await throughIdp(door, { nameId: email, groups: ['admins', 'unmapped'] });
      expect([back.origin + back.pathname, back.searchParams.get('keep')]).toEqual([APP, '1']);
      const res = await exchange(door, back.searchParams.get('code')!, verifier);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.user).toMatchObject({ email, tenant: 'acme', auth_method: 'sso' });
      expect([...res.body.user.roles].sort()).toEqual(['admin', 'member']);
      const claims = JSON.parse(Buffer.from(res.body.access_token.split('.')[1], 'base64url').toString());
      expect([claims.amr, claims.acr]).toEqual([['fed'], 'aal1']);
    }
    expect((await gw.sql("select count(*)::int as n from audit_events where type = 'sso_user_provisioned'"))[0].n).toBeGreaterThanOrEqual(2);
  });

  it('links an existing user of a verified domain; the role map follows the attribute at every sign-in, hand-granted roles stay', async () => {
    const [ada] = await gw.sql("select id from users where email = 'ada@acme-corp.example'");
    const first = await throughIdp('rest', { nameId: 'ada-persistent-id', format: 'persistent', email: 'ada@acme-corp.example', groups: ['admins'] });
    const one = await exchange('rest', first.back.searchParams.get('code')!, first.verifier);
    expect([one.body.user.id, [...one.body.user.roles].sort()]).toEqual([ada.id, ['admin']]);
    const second = await throughIdp('rest', { nameId: 'ada-persistent-id', format: 'persistent', email: 'ada@acme-corp.example', groups: [] });
    const two = await exchange('rest', second.back.searchParams.get('code')!, second.verifier);
    expect([two.body.user.id, two.body.user.roles]).toEqual([ada.id, []]);
    // The password still works for her (SSO is not enforced for the domain).
    expect((await signIn(gw, { tenant: 'acme', email: 'ada@acme-corp.example', password: PASSWORD })).user.id).toBe(ada.id);
  });

  it('a persistent NameID without an address is refused; the address comes from the email attribute', async () => {
    const none = await throughIdp('rest', { nameId: 'no-address', format: 'persistent' });
    expect(none.back.searchParams.get('error')).toBe('auth_sso_failed');
  });

  it('without jit an unknown address is not provisioned', async () => {
    const { back } = await throughIdp('rest', { nameId: 'new@strict.example' }, { connection: 'strict' });
    expect(back.searchParams.get('error')).toBe('auth_sso_user_not_provisioned');
    expect(await usersNamed('new@strict.example')).toBe(0);
  });

  it("an AuthnContextClassRef in the connection's mfa_contexts counts as multi-factor: amr fed+mfa, acr aal2", async () => {
    const { back, verifier } = await throughIdp('rest', { nameId: 'mfa@acme-corp.example', authnContext: MFA_CONTEXT });
    const claims = JSON.parse(Buffer.from((await exchange('rest', back.searchParams.get('code')!, verifier)).body.access_token.split('.')[1], 'base64url').toString());
    expect([claims.amr, claims.acr]).toEqual([['fed', 'mfa'], 'aal2']);
  });

  it('routes by the address domain as well as by name', async () => {
    const { back, verifier } = await throughIdp('graphql', { nameId: 'routed@acme-corp.example' }, { connection: undefined, email: 'routed@acme-corp.example' });
    expect((await exchange('graphql', back.searchParams.get('code')!, verifier)).body.user.email).toBe('routed@acme-corp.example');
  });
});

describe('SAML metadata and signed requests', () => {
  it('publishes each connection\'s SP metadata: its entity ID, the ACS, and its signing certificate when it signs requests', async () => {
    const plain = await requestJson(`${gw.url}/auth/sso/saml/metadata/${ids['acme/adfs']}`, 'GET');
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toContain('application/samlmetadata+xml');
    expect(plain.body).toContain(`entityID="${publicUrl}/auth/sso/saml/metadata/${ids['acme/adfs']}"`);
    expect(plain.body).toContain(`Location="${publicUrl}/auth/sso/saml/acs"`);
    expect(plain.body).not.toContain('X509Certificate');
    const signed = await requestJson(`${gw.url}/auth/sso/saml/metadata/${ids['acme/signed']}`, 'GET');
    expect(signed.body).toContain('X509Certificate');
    expect(signed.body).toContain('AuthnRequestsSigned="true"');
    for (const id of ['nope', '00000000-0000-4000-8000-000000000000']) expectRestError(await gw.rest('GET', `/auth/sso/saml/metadata/${id}`), 'ssoSamlMetadata', 'auth_sso_connection_not_found', 404);
  });

  it('signs the AuthnRequest of a connection that says so, with the key whose certificate its metadata names; the key is never returned', async () => {
    const flow = await begin('rest', { connection: 'signed', email: undefined });
    expect(flow.request.signed).toBe(true);
    const url = new URL(flow.url);
    const raw = url.search.slice(1).split('&');
    const part = (name: string) => raw.find((p) => p.startsWith(`${name}=`))!;
    const signedText = ['SAMLRequest', 'RelayState', 'SigAlg'].map(part).join('&');
    const metadata = (await requestJson(`${gw.url}/auth/sso/saml/metadata/${ids['acme/signed']}`, 'GET')).body as string;
    const der = /<(?:ds:)?X509Certificate>([^<]+)</.exec(metadata)![1].replace(/\s+/g, '');
    const key = createPublicKey(`-----BEGIN CERTIFICATE-----\n${der.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----`);
    expect(createVerify('RSA-SHA256').update(signedText).verify(key, url.searchParams.get('Signature')!, 'base64')).toBe(true);
    expect((await begin()).request.signed).toBe(false);
    // The sealed key is in the connection's secret column, never in its settings.
    const [row] = await gw.sql("select settings::text as s, client_secret from sso_connections where name = 'signed'");
    expect(row.s).not.toContain('PRIVATE KEY');
    expect(row.client_secret).not.toContain('PRIVATE KEY');
  });
});

describe('IdP-initiated sign-in (the connection opts in)', () => {
  const initiatedRequest = () => ({ id: '', acs: `${publicUrl}/auth/sso/saml/acs`, issuer: `${publicUrl}/auth/sso/saml/metadata/${ids['acme/initiated']}` });

  it('sends the browser to the RelayState when it is a redirect URL of the tenant (else the first one) with a code; a replay is refused', async () => {
    const response = idp.response({ nameId: 'pushed@idp-init.example' }, initiatedRequest(), { inResponseTo: null });
    const res = await postAcs({ SAMLResponse: response, RelayState: APP2 });
    expect(res.status, JSON.stringify(res.body)).toBe(303);
    const back = location(res)!;
    expect(back.origin + back.pathname).toBe(APP2);
    const session = await exchange('rest', back.searchParams.get('code')!, pkce().verifier);
    expect(session.body.user).toMatchObject({ email: 'pushed@idp-init.example', auth_method: 'sso' });

    const replay = await postAcs({ SAMLResponse: response, RelayState: APP2 });
    expect([replay.status, replay.headers.get('location')]).toEqual([401, null]);

    const elsewhere = await postAcs({ SAMLResponse: idp.response({ nameId: 'pushed@idp-init.example' }, initiatedRequest(), { inResponseTo: null }), RelayState: 'https://evil.example/' });
    expect(new URL(elsewhere.headers.get('location')!).origin + new URL(elsewhere.headers.get('location')!).pathname).toBe(APP);
  });

  it('still checks everything else: another key, an answer to a request, another audience', async () => {
    for (const options of [{ otherKey: true, inResponseTo: null }, { inResponseTo: '_made_up' }, { inResponseTo: null, sign: 'none' as const }]) {
      const res = await postAcs({ SAMLResponse: idp.response({ nameId: 'pushed@idp-init.example' }, initiatedRequest(), options) });
      expect([res.status, res.headers.get('location')], JSON.stringify(options)).toEqual([401, null]);
    }
  });
});

describe('SAML across gateway processes', () => {
  it('a flow begun on one process (a signed request) is finished by another: the request ID lives in PostgreSQL', async () => {
    const other = await spawnGateway(sharingEnv(gw));
    try {
      const { verifier, challenge } = pkce();
      const res = await requestJson(`${other.url}/auth/sso/start`, 'POST', { tenant: 'acme', connection: 'signed', redirect_to: APP, code_challenge: challenge, code_challenge_method: 'S256' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const request = LocalSamlIdp.readRequest(res.body.url);
      expect(request.signed).toBe(true);
      const back = await postAcs({ SAMLResponse: idp.response({ nameId: 'roaming@signed.example' }, request), RelayState: request.relayState });
      const code = location(back)!.searchParams.get('code');
      expect(code, String(location(back))).toBeTruthy();
      const session = await requestJson(`${other.url}/auth/sso/token`, 'POST', { code, code_verifier: verifier });
      expect([session.status, session.body.user?.email]).toEqual([200, 'roaming@signed.example']);
    } finally {
      other.kill();
      await other.exited;
    }
  }, 60_000);
});
