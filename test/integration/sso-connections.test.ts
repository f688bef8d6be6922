// SSO connections as tenant data (SPEC §11): GraphQL management with sso:manage, the import
// document, and the refusals first: no permission, an API key, another tenant's id, bad
// issuers and certificates, control characters, a domain of another tenant, roles beyond the
// editor's; the client secret sealed at rest and never read back.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectGqlError, signIn, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { TestDns } from '../helpers/dns-server.js';

let gw: TestGateway;
let dns: TestDns;
const PASSWORD = 'sso connections passphrase 1';
const SECRET = 'oidc-client-secret-that-must-never-come-back-9f3a';

const tenant = (slug: string, extra: Record<string, unknown> = {}) => ({
  slug,
  name: slug.toUpperCase(),
  roles: [
    { name: 'owner', permissions: ['sso:manage', 'users:read', 'users:manage', 'api_keys:create'] },
    { name: 'sso-editor', permissions: ['sso:manage'] },
    { name: 'member', permissions: [] },
    { name: 'reader', permissions: ['users:read'] },
  ],
  users: [
    { email: `owner@${slug}.test`, password: PASSWORD, roles: ['owner'] },
    { email: `editor@${slug}.test`, password: PASSWORD, roles: ['sso-editor'] },
    { email: `member@${slug}.test`, password: PASSWORD, roles: ['member'] },
  ],
  ...extra,
});

beforeAll(async () => {
  dns = await TestDns.start();
  gw = await startTestGateway({ env: { SSO_DNS_SERVERS: dns.address, SSO_IDP_TIMEOUT_SECONDS: '1' } });
  await gw.seed({ tenants: [tenant('acme'), tenant('globex')] } as never);
});
afterAll(async () => {
  await gw?.close();
  await dns?.close();
});

const token = async (who: string) => (await signIn(gw, { tenant: who.split('@')[1].split('.')[0], email: who, password: PASSWORD })).access_token;

const FIELDS = 'id name type enforce jit defaultRoles roleClaim roleMap issuer clientId scopes trustEmail hasClientSecret idpEntityId idpSsoUrl idpCertificate allowIdpInitiated mfaContexts domains { domain verified verifiedAt }';
const CREATE = `mutation($i: SsoConnectionInput!) { createSsoConnection(input: $i) { ${FIELDS} } }`;
const UPDATE = `mutation($id: ID!, $i: SsoConnectionInput!) { updateSsoConnection(id: $id, input: $i) { ${FIELDS} } }`;
const DELETE = 'mutation($id: ID!) { deleteSsoConnection(id: $id) }';
const LIST = `{ ssoConnections { ${FIELDS} } }`;

let n = 0;
const oidc = (extra: Record<string, unknown> = {}) => ({
  name: `okta-${n++}`,
  type: 'OIDC',
  domains: [`corp${n}.acme.example`],
  issuer: 'https://idp.acme.example',
  clientId: 'gateway',
  clientSecret: SECRET,
  defaultRoles: ['member'],
  roleClaim: 'groups',
  roleMap: { readers: ['reader'] },
  jit: true,
  ...extra,
});

/** A self-signed certificate made by openssl, as an IdP's signing certificate (its key beside it). */
let certFile = '';
function certificate(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-sso-cert-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`, '-days', '2', '-subj', '/CN=idp.test'], { stdio: 'ignore' });
  certFile = `${dir}/cert.pem`;
  return readFileSync(certFile, 'utf8');
}

const fieldsOf = (res: { body: any }) => res.body.errors?.[0]?.extensions?.fields;

describe('SSO connection refusals', () => {
  it('needs sso:manage (naming it), a session rather than an API key, and never reaches another tenant', async () => {
    const member = await token('member@acme.test');
    for (const [query, vars, op] of [
      [LIST, undefined, 'ssoConnections'],
      [CREATE, { i: oidc() }, 'createSsoConnection'],
    ] as const) {
      const res = await gw.gql(query, vars, bearer(member));
      expectGqlError(res, op, 'auth_forbidden', 403);
      expect(res.body.errors[0].extensions.missing).toEqual(['sso:manage']);
    }

    const owner = await token('owner@acme.test');
    const key = (await gw.rest('POST', '/auth/api-key', { name: 'sso' }, bearer(owner))).body.api_key;
    expect(key).toBeTruthy();
    for (const [query, vars, op] of [
      [CREATE, { i: oidc() }, 'createSsoConnection'],
      [DELETE, { id: '00000000-0000-4000-8000-000000000000' }, 'deleteSsoConnection'],
    ] as const) {
      const res = await gw.gql(query, vars, { 'x-api-key': key });
      expectGqlError(res, op, 'auth_forbidden', 403);
      expect(res.body.errors[0].extensions.missing).toBeUndefined();
    }

    const globex = await token('owner@globex.test');
    const theirs = (await gw.gql(CREATE, { i: oidc({ domains: ['globex-corp.example'] }) }, bearer(globex))).body.data.createSsoConnection;
    for (const id of [theirs.id, '00000000-0000-4000-8000-000000000000', 'not-an-id']) {
      expectGqlError(await gw.gql(UPDATE, { id, i: oidc() }, bearer(owner)), 'updateSsoConnection', 'auth_sso_connection_not_found', 404);
      expectGqlError(await gw.gql(DELETE, { id }, bearer(owner)), 'deleteSsoConnection', 'auth_sso_connection_not_found', 404);
    }
    // Not listed either, and still there for its own tenant.
    expect((await gw.gql(LIST, undefined, bearer(owner))).body.data.ssoConnections.map((c: { id: string }) => c.id)).not.toContain(theirs.id);
    expect((await gw.gql(LIST, undefined, bearer(globex))).body.data.ssoConnections.map((c: { id: string }) => c.id)).toContain(theirs.id);

    // Two tenants claiming one domain at the same moment: one has it, the other is told it is taken.
    const [a, b] = await Promise.all([gw.gql(CREATE, { i: oidc({ domains: ['contested.example'] }) }, bearer(owner)), gw.gql(CREATE, { i: oidc({ domains: ['contested.example'] }) }, bearer(globex))]);
    expect([a, b].filter((r) => !r.body.errors).length).toBe(1);
    expect(fieldsOf([a, b].find((r) => r.body.errors)!)).toEqual([{ field: 'input.domains', rule: 'taken' }]);
    const winner = a.body.errors ? { res: b, as: globex } : { res: a, as: owner };
    expect((await gw.gql(DELETE, { id: winner.res.body.data.createSsoConnection.id }, bearer(winner.as))).body.data.deleteSsoConnection).toBe(true);

    // A domain of another tenant's connection is taken (a domain routes to one connection of the gateway).
    const taken = await gw.gql(CREATE, { i: oidc({ domains: ['GLOBEX-corp.example.'] }) }, bearer(owner));
    expectGqlError(taken, 'createSsoConnection', 'auth_request_invalid', 422);
    expect(fieldsOf(taken)).toEqual([{ field: 'input.domains', rule: 'taken' }]);
  });

  it('refuses what a connection may not say, naming the input and rule, never the value', async () => {
    const owner = await token('owner@acme.test');
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ name: 'bad\u0007name' }, 'input.name', 'control_characters'],
      [{ issuer: 'http://idp.acme.example' }, 'input.issuer', 'format'],
      [{ issuer: 'https://user:pw@idp.acme.example' }, 'input.issuer', 'format'],
      [{ issuer: null }, 'input.issuer', 'required'],
      [{ clientSecret: null }, 'input.clientSecret', 'required'],
      [{ scopes: ['email'] }, 'input.scopes', 'format'],
      [{ domains: ['not a domain'] }, 'input.domains', 'format'],
      [{ domains: ['10.0.0.1'] }, 'input.domains', 'format'],
      [{ domains: ['localhost'] }, 'input.domains', 'format'],
      [{ defaultRoles: ['no-such-role'] }, 'input.defaultRoles', 'unknown'],
      [{ roleMap: { admins: ['no-such-role'] } }, 'input.roleMap', 'unknown'],
      [{ roleMap: { admins: 'owner' } }, 'input.roleMap', 'type'],
      [{ type: 'SAML', idpCertificate: 'not a certificate', idpEntityId: 'https://idp', idpSsoUrl: 'https://idp.acme.example/sso' }, 'input.idpCertificate', 'format'],
      // What another URL parser would read differently, and an issuer with a query.
      [{ issuer: 'https://idp.acme.example\\@evil.example' }, 'input.issuer', 'format'],
      [{ issuer: ' https://idp.acme.example' }, 'input.issuer', 'format'],
      [{ issuer: 'https:idp.acme.example' }, 'input.issuer', 'format'],
      [{ issuer: 'https://idp.acme.example/?tenant=1' }, 'input.issuer', 'format'],
      // Names that read as other names, and a "domain" that is an address.
      [{ name: 'evil\u202eatko' }, 'input.name', 'control_characters'],
      [{ name: 'nbsp\u0085' }, 'input.name', 'control_characters'],
      [{ domains: ['0x7f.1'] }, 'input.domains', 'format'],
      // A field left out is named as the input's.
      [{ clientId: undefined }, 'input.clientId', 'required'],
    ];
    for (const [extra, field, rule] of cases) {
      const res = await gw.gql(CREATE, { i: oidc(extra) }, bearer(owner));
      expectGqlError(res, 'createSsoConnection', 'auth_request_invalid', 422);
      expect(fieldsOf(res), JSON.stringify(extra)).toEqual([{ field, rule }]);
      expect(JSON.stringify(res.body)).not.toContain(SECRET);
    }
    expect((await gw.gql(LIST, undefined, bearer(owner))).body.data.ssoConnections).toEqual([]);
  });

  it('never grants more than the editor holds: roles with permissions beyond theirs are refused, on create, update and delete', async () => {
    const editor = await token('editor@acme.test');
    for (const extra of [{ defaultRoles: ['reader'] }, { roleMap: { x: ['owner'] } }]) {
      expectGqlError(await gw.gql(CREATE, { i: oidc(extra) }, bearer(editor)), 'createSsoConnection', 'auth_forbidden', 403);
    }
    // The owner's connection grants `reader`: the editor (no users:read) may neither replace nor delete it.
    const owner = await token('owner@acme.test');
    const made = (await gw.gql(CREATE, { i: oidc() }, bearer(owner))).body.data.createSsoConnection;
    expectGqlError(await gw.gql(UPDATE, { id: made.id, i: oidc({ defaultRoles: ['member'], roleMap: {} }) }, bearer(editor)), 'updateSsoConnection', 'auth_forbidden', 403);
    expectGqlError(await gw.gql(DELETE, { id: made.id }, bearer(editor)), 'deleteSsoConnection', 'auth_forbidden', 403);
    // Within its own permissions it may.
    const own = await gw.gql(CREATE, { i: oidc({ defaultRoles: ['member'], roleMap: {} }) }, bearer(editor));
    expect(own.body.errors).toBeUndefined();
    expect((await gw.gql(DELETE, { id: own.body.data.createSsoConnection.id }, bearer(editor))).body.data.deleteSsoConnection).toBe(true);
    expect((await gw.gql(DELETE, { id: made.id }, bearer(owner))).body.data.deleteSsoConnection).toBe(true);
  });
});

describe('SSO connections: what the outside attack found', () => {
  it('pointing a connection at another IdP unverifies its domains and needs a new client secret; the same IdP keeps both', async () => {
    const doc = { tenants: [tenant('hooli', { sso_connections: [{ name: 'okta', type: 'oidc', domains: ['hooli.example'], issuer: 'https://hooli.okta.example', client_id: 'gw', client_secret: SECRET }] })] };
    await gw.seed(doc as never);
    const editor = await token('editor@hooli.test');
    const [c] = (await gw.gql(LIST, undefined, bearer(editor))).body.data.ssoConnections;
    expect(c.domains).toEqual([expect.objectContaining({ domain: 'hooli.example', verified: true })]);
    const same = { name: 'okta', type: 'OIDC', domains: ['hooli.example'], issuer: 'https://hooli.okta.example', clientId: 'gw' };
    // The same IdP: the secret and the verification stay.
    const kept = await gw.gql(UPDATE, { id: c.id, i: { ...same, jit: true } }, bearer(editor));
    expect(kept.body.data.updateSsoConnection).toMatchObject({ hasClientSecret: true, domains: [{ domain: 'hooli.example', verified: true }] });
    // Another issuer (or client, or certificate): the old secret may not go there.
    for (const change of [{ issuer: 'https://attacker.example' }, { clientId: 'other' }, { trustEmail: true }]) {
      const refused = await gw.gql(UPDATE, { id: c.id, i: { ...same, ...change } }, bearer(editor));
      expect(fieldsOf(refused), JSON.stringify(change)).toEqual([{ field: 'input.clientSecret', rule: 'required' }]);
    }
    const moved = await gw.gql(UPDATE, { id: c.id, i: { ...same, issuer: 'https://attacker.example', clientSecret: 'attacker secret' } }, bearer(editor));
    expect(moved.body.data.updateSsoConnection.domains).toEqual([{ domain: 'hooli.example', verified: false, verifiedAt: null }]);
    const audit = await gw.sql("select details from audit_events where type = 'sso_connection_updated' and details->>'connection' = $1 order by created_at", [c.id]);
    expect(audit.map((a: { details: { new_idp: boolean } }) => a.details.new_idp)).toEqual([false, true]);
    // The operator's import verifies it again (and needs the secret for its own IdP back).
    await gw.seed(doc as never);
    expect((await gw.gql(LIST, undefined, bearer(editor))).body.data.ssoConnections[0].domains[0].verified).toBe(true);
  });

  it('an unverified claim on a domain never blocks the operator; a verified one does', async () => {
    const globex = await token('owner@globex.test');
    const squat = await gw.gql(CREATE, { i: oidc({ name: 'squat', domains: ['umbrella.example'] }) }, bearer(globex));
    expect(squat.body.errors).toBeUndefined();
    const doc = { tenants: [tenant('umbrella', { sso_connections: [{ name: 'okta', type: 'oidc', domains: ['umbrella.example'], issuer: 'https://umbrella.okta.example', client_id: 'gw', client_secret: SECRET }] })] };
    await gw.seed(doc as never);
    const [domain] = await gw.sql("select c.name, d.verified_at from sso_domains d join sso_connections c on c.id = d.connection_id where d.domain = 'umbrella.example'");
    expect(domain.name).toBe('okta');
    expect(domain.verified_at).not.toBeNull();
    expect((await gw.gql(LIST, undefined, bearer(globex))).body.data.ssoConnections.find((x: { name: string }) => x.name === 'squat').domains).toEqual([]);
    // Now verified: another tenant's import cannot take it.
    const other = { tenants: [tenant('initrode', { sso_connections: [{ name: 'okta', type: 'oidc', domains: ['umbrella.example'], issuer: 'https://x.example', client_id: 'gw', client_secret: SECRET }] })] };
    await expect(gw.seed(other as never)).rejects.toThrow(/tenants\[0\]\.sso_connections\[0\]\.domains: taken/);
  });

  it('an update and a delete of one connection at once: one after the other, never a deleted connection back; opposite domain orders never deadlock', async () => {
    const owner = await token('owner@acme.test');
    const editor = await token('editor@acme.test');
    for (let i = 0; i < 6; i++) {
      const made = (await gw.gql(CREATE, { i: oidc({ defaultRoles: ['member'], roleMap: {} }) }, bearer(owner))).body.data.createSsoConnection;
      const [updated, deleted] = await Promise.all([
        gw.gql(UPDATE, { id: made.id, i: oidc({ name: made.name, defaultRoles: ['member'], roleMap: { admins: ['reader'] } }) }, bearer(owner)),
        gw.gql(DELETE, { id: made.id }, bearer(editor)),
      ]);
      const rows = await gw.sql('select id from sso_connections where id = $1', [made.id]);
      if (deleted.body.data?.deleteSsoConnection) {
        // The delete went first: the update found nothing. Or the update went first: then the
        // connection grants reader, which the editor does not hold, and the delete is refused.
        expect(rows).toEqual([]);
        expect(updated.body.errors?.[0]?.extensions?.code).toBe('auth_sso_connection_not_found');
      } else {
        expect(deleted.body.errors[0].extensions.code).toBe('auth_forbidden');
        expect(rows).toHaveLength(1);
        await gw.gql(DELETE, { id: made.id }, bearer(owner));
      }
    }
    const globex = await token('owner@globex.test');
    for (let i = 0; i < 3; i++) {
      const [x, y] = [`race-a${i}.example`, `race-b${i}.example`];
      const answers = await Promise.all([gw.gql(CREATE, { i: oidc({ domains: [x, y] }) }, bearer(owner)), gw.gql(CREATE, { i: oidc({ domains: [y, x] }) }, bearer(globex))]);
      for (const [j, res] of answers.entries()) {
        if (res.body.errors) expect(fieldsOf(res)).toEqual([{ field: 'input.domains', rule: 'taken' }]);
        else await gw.gql(DELETE, { id: res.body.data.createSsoConnection.id }, bearer(j === 0 ? owner : globex));
      }
    }
  });

  it('keeps URLs and certificates as parsed: lower-cased hosts, one certificate and never a key', async () => {
    const owner = await token('owner@acme.test');
    const made = await gw.gql(CREATE, { i: oidc({ issuer: 'HTTPS://IDP.ACME.EXAMPLE' }) }, bearer(owner));
    expect(made.body.data.createSsoConnection.issuer).toBe('https://idp.acme.example');
    const cert = certificate();
    const saml = (extra: Record<string, unknown>) => ({ name: `saml-${n++}`, type: 'SAML', idpEntityId: 'urn:idp', idpSsoUrl: 'https://idp.acme.example/sso?x=1', ...extra });
    const key = readFileSync(path.join(path.dirname(certFile), 'key.pem'), 'utf8');
    for (const bad of [`${key}${cert}`, `${cert}${cert}`, `hello\n${cert}`]) {
      expect(fieldsOf(await gw.gql(CREATE, { i: saml({ idpCertificate: bad }) }, bearer(owner)))).toEqual([{ field: 'input.idpCertificate', rule: 'format' }]);
    }
    const ok = await gw.gql(CREATE, { i: saml({ idpCertificate: `\n${cert}\n` }) }, bearer(owner));
    expect(ok.body.data.createSsoConnection.idpCertificate).toBe(cert);
    for (const c of [made, ok]) await gw.gql(DELETE, { id: (c.body.data.createSsoConnection as { id: string }).id }, bearer(owner));
  });

  it("takes a SAML IdP's metadata (entity ID, HTTP-Redirect SSO URL, signing certificate); refuses metadata that is not one IdP entity, and any DOCTYPE", async () => {
    const owner = await token('owner@acme.test');
    const cert = certificate();
    const der = cert.replace(/-----[^-]+-----|\s/g, '');
    const metadata = (entity: string, sso = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', extra = '') => `<?xml version="1.0"?>${extra}
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${entity}">
\t<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
\t\t<md:KeyDescriptor use="encryption"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>AAAA</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
\t\t<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>\n${der}\n</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
\t\t<md:SingleSignOnService Binding="${sso}" Location="https://idp.meta.example/sso"/>
\t</md:IDPSSODescriptor>
</md:EntityDescriptor>`;
    const saml = (extra: Record<string, unknown>) => ({ name: `meta-${n++}`, type: 'SAML', ...extra });
    const made = await gw.gql(CREATE, { i: saml({ idpMetadata: metadata('urn:meta:idp') }) }, bearer(owner));
    expect(made.body.data.createSsoConnection, JSON.stringify(made.body)).toMatchObject({ idpEntityId: 'urn:meta:idp', idpSsoUrl: 'https://idp.meta.example/sso', idpCertificate: cert });
    // A field given apart wins over the metadata's.
    const over = await gw.gql(CREATE, { i: saml({ idpMetadata: metadata('urn:meta:idp'), idpEntityId: 'urn:given' }) }, bearer(owner));
    expect(over.body.data.createSsoConnection.idpEntityId).toBe('urn:given');
    const refusals = [
      metadata('urn:meta:idp', 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST'),
      metadata('urn:meta:idp', undefined, '<!DOCTYPE md:EntityDescriptor [<!ENTITY x SYSTEM "file:///etc/passwd">]>'),
      metadata('urn:meta:idp').replace('md:EntityDescriptor xmlns', 'md:EntitiesDescriptor xmlns').replace('</md:EntityDescriptor>', '</md:EntitiesDescriptor>'),
      metadata('urn:meta:idp').replace('</md:IDPSSODescriptor>', '</md:IDPSSODescriptor><md:IDPSSODescriptor/>'),
      '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"><unclosed>',
      metadata('urn:meta:idp').replace(der, 'bm90IGEgY2VydGlmaWNhdGU='),
    ];
    for (const bad of refusals) expect(fieldsOf(await gw.gql(CREATE, { i: saml({ idpMetadata: bad }) }, bearer(owner))), bad.slice(0, 200)).toEqual([{ field: 'input.idpMetadata', rule: 'format' }]);
    for (const c of [made, over]) await gw.gql(DELETE, { id: (c.body.data.createSsoConnection as { id: string }).id }, bearer(owner));
  });

  it('the import refuses redirect URLs with users or plain http elsewhere than loopback, and a connection that is not an object', async () => {
    for (const url of ['http://evil.example/x', 'https://u:p@x.example/cb', 'https://x.example/cb#f', 'https://x.example/cb?next=1']) {
      await expect(gw.seed({ tenants: [tenant('acme', { redirect_urls: [url] })] } as never)).rejects.toThrow(/redirect_urls\[0\]/);
    }
    await gw.seed({ tenants: [tenant('acme', { redirect_urls: ['http://localhost:3000/done', 'https://app.acme.example/done'] })] } as never);
    await expect(gw.seed({ tenants: [tenant('acme', { sso_connections: [null] })] } as never)).rejects.toThrow(/sso_connections\[0\] must be an object/);
  });
});

describe('SSO connections', () => {
  it('are created, listed, replaced and deleted; the secret is sealed at rest and never returned; domains start unverified; each change is audited', async () => {
    const owner = await token('owner@acme.test');
    const created = await gw.gql(CREATE, { i: oidc({ name: 'okta', domains: ['Acme.Example'] }) }, bearer(owner));
    expect(created.body.errors).toBeUndefined();
    const c = created.body.data.createSsoConnection;
    expect(c).toMatchObject({ name: 'okta', type: 'OIDC', issuer: 'https://idp.acme.example', clientId: 'gateway', scopes: ['openid', 'email', 'profile'], hasClientSecret: true, jit: true, enforce: false });
    expect(c.domains).toEqual([{ domain: 'acme.example', verified: false, verifiedAt: null }]);
    expect(JSON.stringify(created.body)).not.toContain(SECRET);
    const [stored] = await gw.sql('select client_secret, settings::text as settings from sso_connections where id = $1', [c.id]);
    expect(stored.client_secret).toBeTruthy();
    expect(stored.client_secret).not.toContain(SECRET);
    expect(stored.settings).not.toContain(SECRET);

    // Replaced without a secret: the stored one stays, untouched.
    const updated = await gw.gql(UPDATE, { id: c.id, i: oidc({ name: 'okta-prod', clientSecret: undefined, domains: ['acme.example', 'acme-labs.example'], enforce: true }) }, bearer(owner));
    expect(updated.body.errors).toBeUndefined();
    expect(updated.body.data.updateSsoConnection).toMatchObject({ name: 'okta-prod', hasClientSecret: true, enforce: true });
    expect((await gw.sql('select client_secret from sso_connections where id = $1', [c.id]))[0].client_secret).toBe(stored.client_secret);

    // A second connection of the tenant may not take the name.
    const twin = await gw.gql(CREATE, { i: oidc({ name: 'okta-prod' }) }, bearer(owner));
    expect(fieldsOf(twin)).toEqual([{ field: 'input.name', rule: 'taken' }]);

    // A SAML connection with a real certificate.
    const cert = certificate();
    const saml = await gw.gql(CREATE, { i: { name: 'adfs', type: 'SAML', domains: ['acme-corp.example'], idpEntityId: 'https://adfs.acme.example', idpSsoUrl: 'https://adfs.acme.example/sso', idpCertificate: cert, mfaContexts: ['urn:mfa'] } }, bearer(owner));
    expect(saml.body.errors).toBeUndefined();
    expect(saml.body.data.createSsoConnection).toMatchObject({ type: 'SAML', idpCertificate: cert, hasClientSecret: false, issuer: null, scopes: [] });

    const listed = (await gw.gql(LIST, undefined, bearer(owner))).body.data.ssoConnections;
    expect(listed.map((x: { name: string }) => x.name)).toEqual(['adfs', 'okta-prod']);
    expect(JSON.stringify(listed)).not.toContain(SECRET);

    expect((await gw.gql(DELETE, { id: c.id }, bearer(owner))).body.data.deleteSsoConnection).toBe(true);
    expect(await gw.sql("select domain from sso_domains where domain in ('acme.example', 'acme-labs.example')")).toEqual([]);
    const audit = await gw.sql("select type from audit_events where type like 'sso_connection_%' and details->>'connection' = $1 order by created_at", [c.id]);
    expect(audit.map((a: { type: string }) => a.type)).toEqual(['sso_connection_created', 'sso_connection_updated', 'sso_connection_deleted']);
  });

  it('the import document writes connections by name with verified domains, and the tenant\'s redirect_urls', async () => {
    const doc = {
      tenants: [
        tenant('initech', {
          redirect_urls: ['https://app.initech.example/sso/done'],
          sso_connections: [{ name: 'okta', type: 'oidc', domains: ['initech.example'], issuer: 'https://initech.okta.example', client_id: 'gw', client_secret: SECRET, jit: true, default_roles: ['member'] }],
        }),
      ],
    };
    await gw.seed(doc as never);
    const owner = await token('owner@initech.test');
    const [c] = (await gw.gql(LIST, undefined, bearer(owner))).body.data.ssoConnections;
    expect(c).toMatchObject({ name: 'okta', hasClientSecret: true, domains: [{ domain: 'initech.example', verified: true }] });
    expect((await gw.sql("select redirect_urls from tenants where slug = 'initech'"))[0].redirect_urls).toEqual(['https://app.initech.example/sso/done']);
    // Again: the same connection (by name), not a second one.
    await gw.seed(doc as never);
    expect((await gw.gql(LIST, undefined, bearer(owner))).body.data.ssoConnections.map((x: { id: string }) => x.id)).toEqual([c.id]);
    // A document naming a role the tenant lacks is refused as a whole, saying where.
    const bad = structuredClone(doc);
    (bad.tenants[0].sso_connections as Array<Record<string, unknown>>)[0].default_roles = ['nope'];
    await expect(gw.seed(bad as never)).rejects.toThrow(/tenants\[0\]\.sso_connections\[0\] names a role/);
  });
});

describe('verifying a domain by DNS', () => {
  const VERIFY = 'mutation($d: String!) { verifySsoDomain(domain: $d) { domain verified verifiedAt verificationRecord } }';
  const VALUE = '{ ssoDomainVerification { recordPrefix value } }';

  it('refuses without sso:manage, with an API key, and for a domain of another tenant or of none', async () => {
    const member = await token('member@acme.test');
    const refused = await gw.gql(VERIFY, { d: 'acme.example' }, bearer(member));
    expectGqlError(refused, 'verifySsoDomain', 'auth_forbidden', 403);
    expectGqlError(await gw.gql(VALUE, undefined, bearer(member)), 'ssoDomainVerification', 'auth_forbidden', 403);
    const owner = await token('owner@acme.test');
    const key = (await gw.rest('POST', '/auth/api-key', { name: 'dns' }, bearer(owner))).body.api_key;
    expectGqlError(await gw.gql(VERIFY, { d: 'acme.example' }, { 'x-api-key': key }), 'verifySsoDomain', 'auth_forbidden', 403);
    const globex = await token('owner@globex.test');
    const theirs = (await gw.gql(CREATE, { i: oidc({ name: 'dns-g', domains: ['globex-dns.example'] }) }, bearer(globex))).body.data.createSsoConnection;
    for (const d of ['globex-dns.example', 'nobody.example']) expectGqlError(await gw.gql(VERIFY, { d }, bearer(owner)), 'verifySsoDomain', 'auth_sso_connection_not_found', 404);
    await gw.gql(DELETE, { id: theirs.id }, bearer(globex));
  });

  it("verifies only when the TXT record holds the tenant's own value", async () => {
    const owner = await token('owner@acme.test');
    const made = (await gw.gql(CREATE, { i: oidc({ name: 'dns-a', domains: ['dns.acme.example'] }) }, bearer(owner))).body.data.createSsoConnection;
    expect(made.domains[0].verified).toBe(false);
    const { recordPrefix, value } = (await gw.gql(VALUE, undefined, bearer(owner))).body.data.ssoDomainVerification;
    expect(recordPrefix).toBe('_auth-gateway-verify');
    const record = `${recordPrefix}.dns.acme.example`;
    // No record, then another tenant's value: still unverified.
    expect((await gw.gql(VERIFY, { d: 'dns.acme.example' }, bearer(owner))).body.data.verifySsoDomain).toMatchObject({ verified: false, verificationRecord: record });
    const globexValue = (await gw.gql(VALUE, undefined, bearer(await token('owner@globex.test')))).body.data.ssoDomainVerification.value;
    expect(globexValue).not.toBe(value);
    dns.txt.set(record, [globexValue, 'v=spf1 -all']);
    expect((await gw.gql(VERIFY, { d: 'DNS.acme.example.' }, bearer(owner))).body.data.verifySsoDomain.verified).toBe(false);
    dns.txt.set(record, ['v=spf1 -all', value]);
    const verified = (await gw.gql(VERIFY, { d: 'dns.acme.example' }, bearer(owner))).body.data.verifySsoDomain;
    expect(verified).toMatchObject({ domain: 'dns.acme.example', verified: true });
    expect((await gw.gql(LIST, undefined, bearer(owner))).body.data.ssoConnections.find((c: { id: string }) => c.id === made.id).domains[0].verified).toBe(true);
    expect(await gw.sql("select details->>'domain' as domain from audit_events where type = 'sso_domain_verified'")).toEqual([{ domain: 'dns.acme.example' }]);
    await gw.gql(DELETE, { id: made.id }, bearer(owner));
  });
});

describe("a tenant's redirect URLs", () => {
  const GET = '{ ssoRedirectUrls }';
  const SET = 'mutation($u: [String!]!) { setSsoRedirectUrls(urls: $u) }';

  it('are read and replaced with sso:manage, never with an API key, and only as https (http on loopback) without user, query or fragment', async () => {
    const member = await token('member@acme.test');
    expectGqlError(await gw.gql(GET, undefined, bearer(member)), 'ssoRedirectUrls', 'auth_forbidden', 403);
    expectGqlError(await gw.gql(SET, { u: ['https://app.acme.example/done'] }, bearer(member)), 'setSsoRedirectUrls', 'auth_forbidden', 403);
    const owner = await token('owner@acme.test');
    const key = (await gw.rest('POST', '/auth/api-key', { name: 'urls' }, bearer(owner))).body.api_key;
    expectGqlError(await gw.gql(SET, { u: [] }, { 'x-api-key': key }), 'setSsoRedirectUrls', 'auth_forbidden', 403);
    for (const bad of ['http://app.acme.example/done', 'https://u:p@app.acme.example/done', 'https://app.acme.example/done?x=1', 'https://app.acme.example/done#f', 'javascript:alert(1)', 'https://app.acme.example/\\evil']) {
      const res = await gw.gql(SET, { u: ['https://app.acme.example/ok', bad] }, bearer(owner));
      expectGqlError(res, 'setSsoRedirectUrls', 'auth_request_invalid', 422);
      expect(fieldsOf(res), bad).toEqual([{ field: 'urls', rule: 'format' }]);
    }
    expectGqlError(await gw.gql(SET, { u: Array.from({ length: 21 }, (_, i) => `https://app.acme.example/${i}`) }, bearer(owner)), 'setSsoRedirectUrls', 'auth_request_invalid', 422);
    const set = await gw.gql(SET, { u: ['https://app.acme.example/done', 'http://localhost:3000/done', 'https://app.acme.example/done'] }, bearer(owner));
    expect(set.body.data.setSsoRedirectUrls).toEqual(['https://app.acme.example/done', 'http://localhost:3000/done']);
    expect((await gw.gql(GET, undefined, bearer(owner))).body.data.ssoRedirectUrls).toEqual(['https://app.acme.example/done', 'http://localhost:3000/done']);
    // Another tenant's are its own.
    expect((await gw.gql(GET, undefined, bearer(await token('owner@globex.test')))).body.data.ssoRedirectUrls).toEqual([]);
    expect(await gw.sql("select count(*)::int as n from audit_events where type = 'sso_redirect_urls_changed'")).toEqual([{ n: 1 }]);
  });
});
