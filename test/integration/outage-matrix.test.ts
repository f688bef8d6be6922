// The outage matrix: every route, through both doors, under five real database faults, answers its code within the bound, writes nothing half-way, and succeeds again once the fault is gone.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { hasOwnDbError, type ErrorCode } from '../../src/errors/catalog.js';
import { operations, type OperationName } from '../../src/api/operations.js';
import { Secret, TOTP } from 'otpauth';
import { keyedHash } from '../../src/services/shared/secrets.js';
import { SoftAuthenticator } from '../helpers/authenticator.js';
import { CLIENT_ID, FakeGoogle } from '../helpers/fake-google.js';
import { MiniBrowser, TestIdp } from '../helpers/oidc-idp.js';
import { LocalSamlIdp } from '../../scripts/local-saml-idp.js';
import { providerTokens, relyingParty } from '../helpers/op-flow.js';
import { ACME, ADA, bearer, freePort, startTestGateway, type HttpResult, type TestGateway, type Door } from '../helpers/gateway.js';

// docs/resilience.md: a dead or hung database answers within 3 seconds.
const BOUND_MS = 3000;
const RESILIENCE_PAGE = path.resolve('docs/resilience.md');
/** Calls made at once under a fault that holds for the whole case list. */
const PARALLEL = 8;
type Call = () => Promise<HttpResult>;

let cluster: EmbeddedDatabase;
let gw: TestGateway;
let google: FakeGoogle;
let idp: TestIdp;
let samlIdp: LocalSamlIdp;
const ada = ADA;
const SSO_APP = 'https://app.acme.test/sso/done';
const OP_APP = 'https://app.acme.test/op/callback';
const OP_SECRET = 'matrix-client-secret-0123456789abcdef';
const opIssuer = () => `${gw.url}/oidc/acme`;
const opBasic = { authorization: `Basic ${Buffer.from(`web:${OP_SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' };

/** A fresh SSO sign-in of its own, driven through the IdP up to the gateway's callback: its URL and the app's verifier. */
async function ssoCallbackUrl(): Promise<{ url: string; verifier: string }> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const email = `sso-${randomUUID()}@sso.acme.test`;
  idp.next = { sub: email, email };
  const started = await gw.rest('POST', '/auth/sso/start', { tenant: 'acme', email, redirect_to: SSO_APP, code_challenge: challenge, code_challenge_method: 'S256' });
  expect(started.status, JSON.stringify(started.body)).toBe(200);
  const at = await new MiniBrowser().follow(started.body.url, (u) => u.pathname === '/auth/sso/oidc/callback');
  return { url: at.url.pathname + at.url.search, verifier };
}

/** A fresh SAML sign-in of its own up to the gateway's ACS: the form the IdP's page would post. */
async function samlForm(): Promise<URLSearchParams> {
  const challenge = createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');
  const started = await gw.rest('POST', '/auth/sso/start', { tenant: 'acme', connection: 'adfs', redirect_to: SSO_APP, code_challenge: challenge, code_challenge_method: 'S256' });
  expect(started.status, JSON.stringify(started.body)).toBe(200);
  const request = LocalSamlIdp.readRequest(started.body.url);
  return new URLSearchParams({ SAMLResponse: samlIdp.response({ nameId: `saml-${randomUUID()}@saml.acme.test` }, request), RelayState: request.relayState! });
}

beforeAll(async () => {
  // A PostgreSQL of this file's own, so it can be restarted without disturbing other files.
  const quiet = { info: () => {}, debug: () => {} };
  cluster = await startEmbeddedPostgres(mkdtempSync(path.join(os.tmpdir(), 'gw-matrix-')), quiet, 'pg');
  const admin = new pg.Client({ connectionString: cluster.adminUrl });
  await admin.connect();
  await admin.query('create database matrix');
  await admin.end();
  google = await FakeGoogle.start();
  const port = await freePort();
  idp = await TestIdp.start(`http://127.0.0.1:${port}/auth/sso/oidc/callback`);
  samlIdp = await LocalSamlIdp.start();
  gw = await startTestGateway({
    databaseUrl: cluster.urlFor('matrix'),
    migrate: true,
    proxy: true,
    port,
    env: {
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      // verifySsoDomain asks a DNS server that is not there (no record: the domain stays unverified).
      SSO_DNS_SERVERS: '127.0.0.1:9',
      DB_STATEMENT_TIMEOUT_MS: '700',
      DB_QUERY_TIMEOUT_MS: '1200',
      DB_ACQUIRE_TIMEOUT_MS: '1500',
      DB_CONNECT_TIMEOUT_MS: '800',
      // Every call made with a key checks it in the database.
      API_KEY_CACHE_TTL_MS: '0',
      GOOGLE_CLIENT_IDS: CLIENT_ID,
      GOOGLE_CERTS_URL: google.url,
      RATE_LIMIT_INVITATIONS_PER_INVITER: '1000',
    },
  });
  const doc = structuredClone(ACME);
  // Sign-up is open in acme; the reset and change routes get users of their own.
  doc.tenants[0].signup = 'open';
  for (const email of SPARE_USERS) doc.tenants[0].users!.push({ email, password: MFA_PASSWORD, roles: ['viewer'] });
  // The management routes' administrator.
  doc.tenants[0].roles!.push({ name: 'boss', permissions: ['users:read', 'users:manage', 'audit:read', 'sso:manage', 'clients:manage', 'webhooks:manage'] });
  doc.tenants[0].users!.push({ email: BOSS.email, password: BOSS.password, roles: ['boss'] });
  for (const door of ['rest', 'graphql']) {
    doc.tenants[0].users!.push({ email: `reset-${door}@acme.test`, password: 'reset passphrase 0', roles: ['viewer'] });
    doc.tenants[0].users!.push({ email: `change-${door}@acme.test`, password: 'change passphrase 1', roles: ['viewer'] });
  }
  // The SSO routes sign in through a real OpenID Provider.
  Object.assign(doc.tenants[0], {
    redirect_urls: [SSO_APP],
    sso_connections: [
      { name: 'okta', type: 'oidc', domains: ['sso.acme.test'], issuer: idp.issuer, client_id: idp.clientId, client_secret: idp.clientSecret, jit: true },
      { name: 'adfs', type: 'saml', domains: ['saml.acme.test'], idp_metadata: samlIdp.metadata(), jit: true },
    ],
  });
  // The tenant's OpenID Provider: a confidential client for the code flow and client credentials.
  Object.assign(doc.tenants[0], {
    oauth_clients: [{ client_id: 'web', client_secret: OP_SECRET, name: 'Web', redirect_uris: [OP_APP], grant_types: ['authorization_code', 'refresh_token', 'client_credentials'], first_party: true }],
  });
  // logoutAll ends every session of its user: it gets a user of its own.
  for (const door of ['rest', 'graphql']) doc.tenants[0].users!.push({ email: `lou-${door}@acme.test`, password: 'lou password 123', roles: ['viewer'] });
  await gw.seed(doc);
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await idp?.close();
  await samlIdp?.close();
  await google?.close();
  await cluster?.stop();
});

// ---- the routes, each prepared while the database is healthy ----

const gqlCall = (query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Call => () => gw.gql(query, variables, headers);

async function session(who = ada) {
  const res = await gw.rest('POST', '/auth/login', who);
  expect(res.status).toBe(200);
  return res.body as { access_token: string; refresh_token: string };
}

const auth = new SoftAuthenticator();
let passkeyReady = false;
async function ensurePasskey(at: string) {
  if (passkeyReady) return;
  const opts = (await gw.rest('POST', '/auth/webauthn/register/options', {}, bearer(at))).body;
  expect((await gw.rest('POST', '/auth/webauthn/register/verify', { response: auth.create(opts) }, bearer(at))).status).toBe(201);
  passkeyReady = true;
}

interface Route {
  op: OperationName;
  label?: string;
  /** The caller's credential is checked first: its store's code may answer instead of the operation's. */
  caller?: 'access_token' | 'api_key';
  /** The doors the operation has (GraphQL-only operations have one). */
  doors?: Door[];
  /** Its doors' preparations share state (one authenticator's counter): prepared in door order. */
  sequential?: boolean;
  /** It needs one query (round-trips.test.ts pins it), so it can finish before a reset at the second. */
  singleQuery?: boolean;
  /** Its one query writes (a refresh's rotation is one statement): a success under a fault is a whole write, not a half one. */
  writesInOneQuery?: boolean;
  /** A browser route: a failure may go back to the app as a 303 whose Location carries ?error=<code>. */
  redirects?: boolean;
  prepare(door: Door): Promise<Call>;
}

/** GraphQL-only routes of the administrator (BOSS), each prepared with a fresh session of theirs. */
function asBoss<Op extends OperationName>(ops: readonly Op[], call: (op: Op, auth: Record<string, string>) => Promise<Call>): Route[] {
  return ops.map((op) => ({ op, caller: 'access_token', doors: ['graphql'], prepare: async () => call(op, bearer((await session(BOSS)).access_token)) }));
}

/** An operation a fresh session calls without arguments: `rest` as [method, path, body], `query` its GraphQL document. */
function signedIn(op: OperationName, rest: [method: string, path: string, body?: unknown], query: string): Route {
  return {
    op,
    caller: 'access_token',
    prepare: async (d) => {
      const { access_token } = await session();
      return d === 'rest' ? () => gw.rest(rest[0], rest[1], rest[2], bearer(access_token)) : gqlCall(query, undefined, bearer(access_token));
    },
  };
}

const routes: Route[] = [
  { op: 'login', prepare: async (d) => (d === 'rest' ? () => gw.rest('POST', '/auth/login', ada) : gqlCall('mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { i: ada })) },
  {
    op: 'refresh',
    prepare: async (d) => {
      const { refresh_token } = await session();
      return d === 'rest' ? () => gw.rest('POST', '/auth/refresh', { refresh_token }) : gqlCall('mutation($t: String!) { refresh(input: {refreshToken: $t}) { accessToken } }', { t: refresh_token });
    },
    // The limit's spent check rides in the rotation's statement (failures count after the fact).
    singleQuery: true,
    writesInOneQuery: true,
  },
  {
    op: 'logout',
    prepare: async (d) => {
      const { refresh_token } = await session();
      return d === 'rest' ? () => gw.rest('POST', '/auth/logout', { refresh_token }) : gqlCall('mutation($t: String!) { logout(input: {refreshToken: $t}) }', { t: refresh_token });
    },
  },
  {
    op: 'logoutAll',
    caller: 'access_token',
    prepare: async (d) => {
      const { access_token } = await session({ tenant: 'acme', email: `lou-${d}@acme.test`, password: 'lou password 123' });
      return d === 'rest' ? () => gw.rest('POST', '/auth/logout/all', undefined, bearer(access_token)) : gqlCall('mutation { logoutAll }', undefined, bearer(access_token));
    },
  },
  { ...signedIn('me', ['GET', '/auth/me'], '{ me { id } }'), singleQuery: true },
  {
    op: 'verify',
    caller: 'access_token',
    doors: ['rest'],
    singleQuery: true,
    prepare: async () => {
      const { access_token } = await session();
      return () => gw.rest('GET', '/auth/verify/upstream/path?permission=users:read', undefined, bearer(access_token));
    },
  },
  {
    op: 'me',
    label: 'me (API key)',
    caller: 'api_key',
    prepare: async (d) => {
      const { access_token } = await session();
      const key = (await gw.rest('POST', '/auth/api-key', { name: 'matrix' }, bearer(access_token))).body.api_key;
      return d === 'rest' ? () => gw.rest('GET', '/auth/me', undefined, { 'x-api-key': key }) : gqlCall('{ me { id } }', undefined, { 'x-api-key': key });
    },
  },
  signedIn('webauthnRegisterOptions', ['POST', '/auth/webauthn/register/options', {}], 'mutation { webauthnRegisterOptions }'),
  {
    op: 'webauthnRegisterVerify',
    caller: 'access_token',
    prepare: async (d) => {
      const { access_token } = await session();
      const response = new SoftAuthenticator().create((await gw.rest('POST', '/auth/webauthn/register/options', {}, bearer(access_token))).body);
      return d === 'rest'
        ? () => gw.rest('POST', '/auth/webauthn/register/verify', { response }, bearer(access_token))
        : gqlCall('mutation($r: JSONObject!) { webauthnRegisterVerify(response: $r) { id } }', { r: response }, bearer(access_token));
    },
  },
  {
    op: 'webauthnLoginOptions',
    prepare: async (d) => (d === 'rest' ? () => gw.rest('POST', '/auth/webauthn/login/options', { tenant: 'acme' }) : gqlCall('mutation { webauthnLoginOptions(input: {tenant: "acme"}) }')),
  },
  {
    op: 'webauthnLoginVerify',
    sequential: true,
    prepare: async (d) => {
      await ensurePasskey((await session()).access_token);
      const response = auth.get((await gw.rest('POST', '/auth/webauthn/login/options', { tenant: 'acme' })).body);
      return d === 'rest'
        ? () => gw.rest('POST', '/auth/webauthn/login/verify', { tenant: 'acme', response })
        : gqlCall('mutation($i: WebauthnLoginVerifyInput!) { webauthnLoginVerify(input: $i) { accessToken } }', { i: { tenant: 'acme', response } });
    },
  },
  signedIn('passkeys', ['GET', '/auth/webauthn/credentials'], '{ passkeys { id } }'),
  {
    op: 'deletePasskey',
    caller: 'access_token',
    prepare: async (d) => {
      const { access_token } = await session();
      const opts = (await gw.rest('POST', '/auth/webauthn/register/options', {}, bearer(access_token))).body;
      const id = (await gw.rest('POST', '/auth/webauthn/register/verify', { response: new SoftAuthenticator().create(opts) }, bearer(access_token))).body.id;
      return d === 'rest'
        ? () => gw.rest('DELETE', `/auth/webauthn/credentials/${id}`, undefined, bearer(access_token))
        : gqlCall('mutation($id: ID!) { deletePasskey(id: $id) }', { id }, bearer(access_token));
    },
  },
  {
    op: 'loginWithGoogle',
    prepare: async (d) => {
      const idToken = await google.idToken({ sub: '424242', email: 'ada@acme.test' });
      return d === 'rest'
        ? () => gw.rest('POST', '/auth/login/google', { tenant: 'acme', id_token: idToken })
        : gqlCall('mutation($i: GoogleLoginInput!) { loginWithGoogle(input: $i) { accessToken } }', { i: { tenant: 'acme', idToken } });
    },
  },
  {
    op: 'linkGoogle',
    caller: 'access_token',
    prepare: async (d) => {
      const { access_token } = await session();
      // Linking the same account again is a no-op, so the call can be repeated after recovery.
      const idToken = await google.idToken({ email: 'ada.linked@acme.test' });
      return d === 'rest'
        ? () => gw.rest('POST', '/auth/login/google/link', { id_token: idToken }, bearer(access_token))
        : gqlCall('mutation($t: String!) { linkGoogle(input: {idToken: $t}) { id } }', { t: idToken }, bearer(access_token));
    },
  },
  {
    op: 'createApiKey',
    caller: 'access_token',
    prepare: async (d) => {
      const { access_token } = await session();
      return d === 'rest'
        ? () => gw.rest('POST', '/auth/api-key', { name: 'm' }, bearer(access_token))
        : gqlCall('mutation { createApiKey(input: {name: "m"}) { id } }', undefined, bearer(access_token));
    },
  },
  signedIn('apiKeys', ['GET', '/auth/api-keys'], '{ apiKeys { id } }'),
  {
    op: 'revokeApiKey',
    caller: 'access_token',
    prepare: async (d) => {
      const { access_token } = await session();
      const id = (await gw.rest('POST', '/auth/api-key', { name: 'to-revoke' }, bearer(access_token))).body.id;
      return d === 'rest' ? () => gw.rest('DELETE', `/auth/api-key/${id}`, undefined, bearer(access_token)) : gqlCall('mutation($id: ID!) { revokeApiKey(id: $id) }', { id }, bearer(access_token));
    },
  },
  {
    op: 'revokeApiKeys',
    caller: 'access_token',
    prepare: async (d) => {
      const { access_token } = await session();
      const id = (await gw.rest('POST', '/auth/api-key', { name: 'to-revoke' }, bearer(access_token))).body.id;
      return d === 'rest'
        ? () => gw.rest('POST', '/auth/api-keys/revoke', { ids: [id] }, bearer(access_token))
        : gqlCall('mutation($ids: [ID!]!) { revokeApiKeys(ids: $ids) }', { ids: [id] }, bearer(access_token));
    },
  },
  {
    op: 'signUp',
    prepare: async (d) => {
      const email = `new-${d}-${randomUUID()}@acme.test`;
      const input = { tenant: 'acme', email, password: 'a decent passphrase 42' };
      return d === 'rest' ? () => gw.rest('POST', '/auth/signup', input) : gqlCall('mutation($i: SignUpInput!) { signUp(input: $i) }', { i: input });
    },
  },
  {
    op: 'verifyEmail',
    prepare: async (d) => {
      // A user per door: using one link voids the user's other links of its kind.
      const token = await mailedToken(`reset-${d}@acme.test`, 'verify_email');
      return d === 'rest' ? () => gw.rest('POST', '/auth/email/verify', { token }) : gqlCall('mutation($t: String!) { verifyEmail(input: {token: $t}) }', { t: token });
    },
  },
  {
    op: 'resendVerification',
    prepare: async (d) =>
      d === 'rest'
        ? () => gw.rest('POST', '/auth/email/verify/resend', { tenant: 'acme', email: 'ada@acme.test' })
        : gqlCall('mutation { resendVerification(input: {tenant: "acme", email: "ada@acme.test"}) }'),
  },
  {
    op: 'forgotPassword',
    prepare: async (d) =>
      d === 'rest'
        ? () => gw.rest('POST', '/auth/password/forgot', { tenant: 'acme', email: 'ada@acme.test' })
        : gqlCall('mutation { forgotPassword(input: {tenant: "acme", email: "ada@acme.test"}) }'),
  },
  {
    op: 'resetPassword',
    prepare: async (d) => {
      const token = await mailedToken(`reset-${d}@acme.test`, 'reset_password');
      const input = { token, password: `reset passphrase ${randomUUID()}` };
      return d === 'rest' ? () => gw.rest('POST', '/auth/password/reset', input) : gqlCall('mutation($i: ResetPasswordInput!) { resetPassword(input: $i) }', { i: input });
    },
  },
  {
    op: 'changePassword',
    caller: 'access_token',
    prepare: async (d) => {
      // Its user's password changes with every success: it starts each fault from a known one.
      const email = `change-${d}@acme.test`;
      await gw.sql('update users set password_hash = $1 where email = $2', [await gw.gateway.deps.passwords.hash('change passphrase 1'), email]);
      const { access_token } = await session({ tenant: 'acme', email, password: 'change passphrase 1' });
      const input = { current_password: 'change passphrase 1', new_password: `change passphrase ${randomUUID()}` };
      return d === 'rest'
        ? () => gw.rest('POST', '/auth/password/change', input, bearer(access_token))
        : gqlCall('mutation($i: ChangePasswordInput!) { changePassword(input: $i) }', { i: { currentPassword: input.current_password, newPassword: input.new_password } }, bearer(access_token));
    },
  },
  {
    op: 'mfaTotpEnroll',
    caller: 'access_token',
    prepare: async (d) => {
      const { at } = await mfaUser(`enrol-${d}`, false);
      return d === 'rest' ? () => gw.rest('POST', '/auth/mfa/totp/enroll', {}, bearer(at)) : gqlCall('mutation { mfaTotpEnroll { secret } }', undefined, bearer(at));
    },
  },
  {
    op: 'mfaTotpActivate',
    caller: 'access_token',
    prepare: async (d) => {
      const { at } = await mfaUser(`activate-${d}`, false);
      const secret = (await gw.rest('POST', '/auth/mfa/totp/enroll', {}, bearer(at))).body.secret;
      const code = totp(secret);
      return d === 'rest'
        ? () => gw.rest('POST', '/auth/mfa/totp/activate', { code }, bearer(at))
        : gqlCall('mutation($c: String!) { mfaTotpActivate(code: $c) { recoveryCodes } }', { c: code }, bearer(at));
    },
  },
  {
    op: 'verifyMfa',
    prepare: async (d) => {
      const { email, secret } = await mfaUser(`verify-${d}`, true);
      const mfaToken = (await gw.rest('POST', '/auth/login', { tenant: 'acme', email, password: MFA_PASSWORD })).body.detail.mfa_token;
      // The next step's code: activation and the first sign-in took the earlier ones.
      const code = totp(secret, 1);
      return d === 'rest'
        ? () => gw.rest('POST', '/auth/mfa/verify', { mfa_token: mfaToken, code })
        : gqlCall('mutation($i: MfaVerifyInput!) { verifyMfa(input: $i) { accessToken } }', { i: { mfaToken, code } });
    },
  },
  {
    op: 'mfaRecoveryCodes',
    caller: 'access_token',
    prepare: async (d) => {
      const { at } = await mfaUser(`codes-${d}`, true);
      return d === 'rest' ? () => gw.rest('POST', '/auth/mfa/recovery-codes', {}, bearer(at)) : gqlCall('mutation { mfaRecoveryCodes { recoveryCodes } }', undefined, bearer(at));
    },
  },
  {
    op: 'mfaTotpDisable',
    caller: 'access_token',
    prepare: async (d) => {
      const { at, secret } = await mfaUser(`disable-${d}`, true);
      const code = totp(secret, 1);
      return d === 'rest' ? () => gw.rest('DELETE', '/auth/mfa/totp', { code }, bearer(at)) : gqlCall('mutation($c: String!) { mfaTotpDisable(code: $c) }', { c: code }, bearer(at));
    },
  },
  signedIn('sessions', ['GET', '/auth/sessions'], '{ sessions { id } }'),
  {
    op: 'revokeSession',
    caller: 'access_token',
    prepare: async (d) => {
      const { access_token } = await session();
      const other = await session();
      const id = (await gw.rest('GET', '/auth/sessions', undefined, bearer(other.access_token))).body.sessions.find((s: { current: boolean }) => s.current).id;
      return d === 'rest' ? () => gw.rest('DELETE', `/auth/sessions/${id}`, undefined, bearer(access_token)) : gqlCall('mutation($id: ID!) { revokeSession(id: $id) }', { id }, bearer(access_token));
    },
  },
  {
    op: 'identities',
    caller: 'access_token',
    doors: ['graphql'],
    prepare: async () => {
      const { access_token } = await session();
      return gqlCall('{ identities { password } }', undefined, bearer(access_token));
    },
  },
  {
    op: 'unlinkGoogle',
    caller: 'access_token',
    doors: ['graphql'],
    prepare: async () => {
      const { at } = await mfaUser('unlink', false);
      const id = (await gw.rest('POST', '/auth/login/google/link', { id_token: await google.idToken({ email: `unlink-${randomUUID()}@acme.test` }) }, bearer(at))).body.id;
      return gqlCall('mutation($id: ID!) { unlinkGoogle(id: $id) }', { id }, bearer(at));
    },
  },
  ...asBoss(['users', 'user', 'setUserRoles', 'disableUser', 'enableUser', 'revokeUserSessions', 'resetUserMfa', 'auditEvents'] as const, async (op, auth) => {
    const target = (await gw.sql('select id from users where email = $1', [SPARE_USERS[spare++]]))[0].id;
    const docs: Record<typeof op, string> = {
      users: '{ users(first: 5) { edges { node { id roles } } } }',
      user: 'query($id: ID!) { user(id: $id) { id roles } }',
      setUserRoles: 'mutation($id: ID!) { setUserRoles(userId: $id, roles: ["viewer"]) { id } }',
      disableUser: 'mutation($id: ID!) { disableUser(userId: $id) { id } }',
      enableUser: 'mutation($id: ID!) { enableUser(userId: $id) { id } }',
      revokeUserSessions: 'mutation($id: ID!) { revokeUserSessions(userId: $id) }',
      resetUserMfa: 'mutation($id: ID!) { resetUserMfa(userId: $id) { id } }',
      auditEvents: 'query($id: ID!) { auditEvents(first: 5, filter: { userId: $id }) { edges { node { id type } } } }',
    };
    return gqlCall(docs[op], op === 'users' ? undefined : { id: target }, auth);
  }),
  ...asBoss(['ssoConnections', 'createSsoConnection', 'updateSsoConnection', 'deleteSsoConnection', 'ssoDomainVerification', 'verifySsoDomain', 'ssoRedirectUrls', 'setSsoRedirectUrls'] as const, async (op, auth) => {
    const CREATE = 'mutation($i: SsoConnectionInput!) { createSsoConnection(input: $i) { id } }';
    const connection = () => {
      const tag = randomUUID().slice(0, 8);
      return { name: `idp-${tag}`, type: 'OIDC', domains: [`${tag}.acme.example`], issuer: 'https://idp.acme.example', clientId: 'gw', clientSecret: 'secret' };
    };
    /** A connection made while the database is healthy. */
    const made = async (i = connection()) => {
      const res = await gw.gql(CREATE, { i }, auth);
      expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
      return { id: res.body.data.createSsoConnection.id as string, domain: i.domains[0] };
    };
    if (op === 'ssoConnections') return gqlCall('{ ssoConnections { id domains { domain } } }', undefined, auth);
    if (op === 'ssoDomainVerification') return gqlCall('{ ssoDomainVerification { value } }', undefined, auth);
    if (op === 'ssoRedirectUrls') return gqlCall('{ ssoRedirectUrls }', undefined, auth);
    if (op === 'setSsoRedirectUrls') return gqlCall('mutation($u: [String!]!) { setSsoRedirectUrls(urls: $u) }', { u: [SSO_APP] }, auth);
    if (op === 'createSsoConnection') return gqlCall(CREATE, { i: connection() }, auth);
    const { id, domain } = await made();
    if (op === 'verifySsoDomain') return gqlCall('mutation($d: String!) { verifySsoDomain(domain: $d) { verified } }', { d: domain }, auth);
    return op === 'updateSsoConnection'
      ? gqlCall('mutation($id: ID!, $i: SsoConnectionInput!) { updateSsoConnection(id: $id, input: $i) { id } }', { id, i: connection() }, auth)
      : gqlCall('mutation($id: ID!) { deleteSsoConnection(id: $id) }', { id }, auth);
  }),
  ...asBoss(['oauthClients', 'createOAuthClient', 'updateOAuthClient', 'rotateOAuthClientSecret', 'deleteOAuthClient'] as const, async (op, auth) => {
    const i = { name: `app-${randomUUID().slice(0, 8)}`, redirectUris: ['https://app.acme.example/cb'] };
    const CREATE = 'mutation($i: OAuthClientInput!) { createOAuthClient(input: $i) { client { id } } }';
    if (op === 'oauthClients') return gqlCall('{ oauthClients { id clientId } }', undefined, auth);
    if (op === 'createOAuthClient') return gqlCall(CREATE, { i }, auth);
    const res = await gw.gql(CREATE, { i }, auth);
    expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
    const id = res.body.data.createOAuthClient.client.id as string;
    if (op === 'updateOAuthClient') return gqlCall('mutation($id: ID!, $i: OAuthClientInput!) { updateOAuthClient(id: $id, input: $i) { id } }', { id, i }, auth);
    if (op === 'rotateOAuthClientSecret') return gqlCall('mutation($id: ID!) { rotateOAuthClientSecret(id: $id) { clientSecret } }', { id }, auth);
    return gqlCall('mutation($id: ID!) { deleteOAuthClient(id: $id) }', { id }, auth);
  }),
  ...asBoss(['webhookEndpoints', 'createWebhookEndpoint', 'updateWebhookEndpoint', 'rotateWebhookSecret', 'deleteWebhookEndpoint', 'webhookDeliveries', 'redeliverWebhook'] as const, async (op, auth) => {
    // 127.0.0.1 is allowed outside production (WEBHOOK_ALLOW_PRIVATE's default there); nothing is delivered in this file.
    const i = { url: 'http://127.0.0.1:9/hook', events: ['user.disabled'] };
    const CREATE = 'mutation($i: WebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id } } }';
    if (op === 'webhookEndpoints') return gqlCall('{ webhookEndpoints { id url } }', undefined, auth);
    if (op === 'createWebhookEndpoint') return gqlCall(CREATE, { i }, auth);
    if (op === 'redeliverWebhook') {
      // A message of the tenant's (written as the audit statement writes them, for an endpoint made healthy).
      const res = await gw.gql(CREATE, { i }, auth);
      const id = res.body.data.createWebhookEndpoint.endpoint.id as string;
      const [m] = await gw.sql(
        "insert into webhook_messages (id, tenant_id, endpoint_id, type, payload, status, next_attempt_at, created_at) select 'msg_' || replace(gen_random_uuid()::text, '-', ''), tenant_id, id, 'user.disabled', '{}', 'failed', now(), now() from webhook_endpoints where id = $1 returning id",
        [id],
      );
      return gqlCall('mutation($m: String!) { redeliverWebhook(messageId: $m) }', { m: m.id }, auth);
    }
    const res = await gw.gql(CREATE, { i }, auth);
    expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
    const id = res.body.data.createWebhookEndpoint.endpoint.id as string;
    if (op === 'updateWebhookEndpoint') return gqlCall('mutation($id: ID!, $i: WebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $i) { id } }', { id, i }, auth);
    if (op === 'rotateWebhookSecret') return gqlCall('mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }', { id }, auth);
    if (op === 'webhookDeliveries') return gqlCall('query($id: ID!) { webhookDeliveries(endpointId: $id) { id } }', { id }, auth);
    return gqlCall('mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }', { id }, auth);
  }),
  ...(['oauthGrants', 'revokeOAuthGrant'] as const).map(
    (op): Route => ({
      op,
      caller: 'access_token',
      doors: ['graphql'],
      prepare: async () => {
        const who = { tenant: 'acme', email: SPARE_USERS[spare++], password: MFA_PASSWORD };
        // A grant of the user's to the provider's first-party client, made by a whole sign-in there.
        await providerTokens(await relyingParty(opIssuer(), 'web', OP_SECRET), OP_APP, opIssuer(), who);
        const auth = bearer((await session(who)).access_token);
        if (op === 'oauthGrants') return gqlCall('{ oauthGrants { id clientId } }', undefined, auth);
        const { id } = (await gw.gql('{ oauthGrants { id } }', undefined, auth)).body.data.oauthGrants[0];
        return gqlCall('mutation($id: ID!) { revokeOAuthGrant(id: $id) }', { id }, auth);
      },
    }),
  ),
  ...asBoss(['inviteUser', 'invitations', 'revokeInvitation'] as const, async (op, auth) => {
    const docs: Record<typeof op, [string, Record<string, unknown>?]> = {
      inviteUser: ['mutation($i: InviteUserInput!) { inviteUser(input: $i) { id status } }', { i: { email: `invited-${randomUUID()}@acme.test`, roles: ['viewer'] } }],
      invitations: ['{ invitations(first: 5, status: PENDING) { edges { node { id email } } } }'],
      revokeInvitation: ['mutation($id: ID!) { revokeInvitation(id: $id) }', { id: (await invitation(`revoked-${randomUUID()}@acme.test`)).id }],
    };
    return gqlCall(docs[op][0], docs[op][1], auth);
  }),
  {
    op: 'acceptInvitation',
    prepare: async (d) => {
      const { token } = await invitation(`accepted-${randomUUID()}@acme.test`);
      const input = { token, password: `accept passphrase ${randomUUID()}` };
      return d === 'rest' ? () => gw.rest('POST', '/auth/invitations/accept', input) : gqlCall('mutation($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { accessToken } }', { i: input });
    },
  },
  {
    op: 'ssoStart',
    prepare: async (d) => {
      const challenge = createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');
      const input = { tenant: 'acme', email: 'someone@sso.acme.test', redirect_to: SSO_APP, code_challenge: challenge, code_challenge_method: 'S256' };
      return d === 'rest'
        ? () => gw.rest('POST', '/auth/sso/start', input)
        : gqlCall('mutation($i: SsoStartInput!) { ssoStart(input: $i) { url } }', {
            i: { tenant: input.tenant, email: input.email, redirectTo: input.redirect_to, codeChallenge: input.code_challenge, codeChallengeMethod: 'S256' },
          });
    },
  },
  {
    op: 'ssoCallback',
    doors: ['rest'],
    // The browser comes back once: a flow is spent by the callback that takes it, so calling
    // again after the fault is a new sign-in. A failure after the flow was taken goes back to
    // the app (303 ?error=<code>).
    redirects: true,
    prepare: async () => {
      let first: string | undefined = (await ssoCallbackUrl()).url;
      return async () => {
        const url = first ?? (await ssoCallbackUrl()).url;
        first = undefined;
        return gw.rest('GET', url);
      };
    },
  },
  {
    op: 'ssoSamlAcs',
    doors: ['rest'],
    // As the OIDC callback: the IdP's form is posted once; a failure after the flow was taken goes back to the app.
    redirects: true,
    prepare: async () => {
      let first: URLSearchParams | undefined = await samlForm();
      return async () => {
        const form = first ?? (await samlForm());
        first = undefined;
        return gw.rest('POST', '/auth/sso/saml/acs', form.toString(), { 'content-type': 'application/x-www-form-urlencoded' });
      };
    },
  },
  {
    op: 'ssoSamlMetadata',
    doors: ['rest'],
    singleQuery: true,
    prepare: async () => {
      const [{ id }] = await gw.sql("select id from sso_connections where name = 'adfs'");
      return () => gw.rest('GET', `/auth/sso/saml/metadata/${id}`);
    },
  },
  {
    op: 'oidcToken',
    doors: ['rest'],
    prepare: async () => () => gw.rest('POST', '/oidc/acme/token', 'grant_type=client_credentials&scope=openid', opBasic),
  },
  {
    op: 'oidcAuthorize',
    doors: ['rest'],
    // A fault after the client was read goes back to the client as ?error=server_error (X-Error-Code says which).
    redirects: true,
    prepare: async () => {
      const challenge = createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');
      const query = new URLSearchParams({ client_id: 'web', response_type: 'code', redirect_uri: OP_APP, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', state: 'matrix' });
      return () => gw.rest('GET', `/oidc/acme/auth?${query}`);
    },
  },
  {
    op: 'oidcUserinfo',
    doors: ['rest'],
    prepare: async () => {
      const { access_token } = await providerTokens(await relyingParty(opIssuer(), 'web', OP_SECRET), OP_APP, opIssuer(), ada);
      return () => gw.rest('GET', '/oidc/acme/me', undefined, { authorization: `Bearer ${access_token}` });
    },
  },
  {
    op: 'oidcInteraction',
    doors: ['rest'],
    prepare: async () => {
      // A browser at the sign-in page: the interaction's URL and its cookie.
      const challenge = createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');
      const query = new URLSearchParams({ client_id: 'web', response_type: 'code', redirect_uri: OP_APP, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', state: 'matrix' });
      const started = await gw.rest('GET', `/oidc/acme/auth?${query}`);
      expect(started.status).toBe(303);
      const cookie = started.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      const page = new URL(started.headers.get('location')!, gw.url);
      return () => gw.rest('GET', page.pathname, undefined, { cookie, accept: 'text/html' });
    },
  },
  {
    op: 'ssoExchange',
    prepare: async (d) => {
      const { url, verifier } = await ssoCallbackUrl();
      const back = await gw.rest('GET', url);
      const code = new URL(back.headers.get('location')!).searchParams.get('code');
      expect(code, back.headers.get('location') ?? '').toBeTruthy();
      return d === 'rest'
        ? () => gw.rest('POST', '/auth/sso/token', { code, code_verifier: verifier })
        : gqlCall('mutation($i: SsoExchangeInput!) { ssoExchange(input: $i) { accessToken } }', { i: { code, codeVerifier: verifier } });
    },
  },
  {
    op: 'inspectLink',
    singleQuery: true,
    prepare: async (d) => {
      // A live reset link (looking spends nothing: a case needs no user of its own).
      const token = await mailedToken(ada.email, 'reset_password');
      return d === 'rest' ? () => gw.rest('POST', '/auth/links/inspect', { token }) : gqlCall('query($i: TokenInput!) { inspectLink(input: $i) { state } }', { i: { token } });
    },
  },
  {
    op: 'acceptInvitation',
    label: 'acceptInvitation (signed in)',
    caller: 'access_token',
    prepare: async (d) => {
      const email = SPARE_USERS[spare++];
      const { access_token } = await session({ tenant: 'acme', email, password: MFA_PASSWORD });
      const { token } = await invitation(email);
      return d === 'rest'
        ? () => gw.rest('POST', '/auth/invitations/accept', { token }, bearer(access_token))
        : gqlCall('mutation($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { accessToken } }', { i: { token } }, bearer(access_token));
    },
  },
];

/** A pending invitation from the administrator to `email` (role viewer), stored as the gateway stores them, and its token. */
async function invitation(email: string): Promise<{ id: string; token: string }> {
  const id = randomUUID();
  const token = randomBytes(32).toString('base64url');
  await gw.sql(
    `insert into invitations (id, tenant_id, email, roles, token_hash, invited_by, created_at, expires_at)
     select $1, u.tenant_id, $2, '{viewer}', $3, u.id, now(), now() + interval '1 day' from users u where u.email = 'boss@acme.test'`,
    [id, email, keyedHash(gw.config.secretKey, token)],
  );
  return { id, token };
}

const MFA_PASSWORD = 'mfa passphrase 12';
/** The management routes' administrator (users, audit, SSO connections). */
const BOSS = { tenant: 'acme', email: 'boss@acme.test', password: MFA_PASSWORD };
const totp = (secret: string, steps = 0) => new TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secret) }).generate({ timestamp: Date.now() + steps * 30_000 });

/** Users made up front for the routes that change a user's factors or links, one per case. */
const SPARE_USERS = Array.from({ length: 120 }, (_, i) => `spare-${i}@acme.test`);
let spare = 0;

/** A fresh user of its own for an MFA route (a factor changes with every success), signed in; with an active factor when asked. */
async function mfaUser(_tag: string, active: boolean): Promise<{ email: string; at: string; secret: string }> {
  const email = SPARE_USERS[spare++];
  const at = (await session({ tenant: 'acme', email, password: MFA_PASSWORD })).access_token;
  if (!active) return { email, at, secret: '' };
  const secret = (await gw.rest('POST', '/auth/mfa/totp/enroll', {}, bearer(at))).body.secret;
  // Activated with the previous step's code and signed in again with this step's (both factors,
  // acr aal2, which changing a factor needs): the next step's code is left for the case itself.
  expect((await gw.rest('POST', '/auth/mfa/totp/activate', { code: totp(secret, -1) }, bearer(at))).status).toBe(200);
  const mfaToken = (await gw.rest('POST', '/auth/login', { tenant: 'acme', email, password: MFA_PASSWORD })).body.detail.mfa_token;
  const verified = await gw.rest('POST', '/auth/mfa/verify', { mfa_token: mfaToken, code: totp(secret) });
  expect(verified.status, JSON.stringify(verified.body)).toBe(200);
  return { email, at: verified.body.access_token, secret };
}

/** A mailed token of `kind` for a user, stored as the gateway stores them (what a mail would carry). */
async function mailedToken(email: string, kind: 'verify_email' | 'reset_password'): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await gw.sql(
    `insert into email_tokens (id, tenant_id, user_id, kind, token_hash, created_at, expires_at)
     select $1, u.tenant_id, u.id, $2, $3, now(), now() + interval '1 hour' from users u join tenants t on t.id = u.tenant_id where t.slug = 'acme' and u.email = $4`,
    [randomUUID(), kind, keyedHash(gw.config.secretKey, token), email],
  );
  return token;
}

/**
 * Preparation runs on a healthy database, but on a loaded CI machine one of its calls can
 * still miss the tight test timeouts; it is not what the matrix measures, so it is retried.
 */
async function prepared(route: Route, door: Door): Promise<Call> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await route.prepare(door);
    } catch (e) {
      if (attempt >= 3) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const redirectError = (res: HttpResult) => (res.status === 303 ? (new URL(res.headers.get('location')!, 'http://relative.invalid').searchParams.get('error') ?? undefined) : undefined);
const codeOf = (res: HttpResult, door: Door): string | undefined =>
  door === 'rest' ? (res.headers.get('x-error-code') ?? redirectError(res)) : res.body?.errors?.[0]?.extensions?.code;
/** A success: 2xx (GraphQL without errors), or a browser route's 303 back to the app without ?error=. */
const succeeded = (res: HttpResult, door: Door) =>
  door === 'rest' ? (res.status >= 200 && res.status < 300) || (res.status === 303 && redirectError(res) === undefined) : res.status === 200 && !res.body.errors;

/** An operation with a database code of its own answers it whatever step failed; the others, their caller check's store's. */
function expectedCodes(route: Route): ErrorCode[] {
  const op = operations[route.op];
  if (route.caller === 'api_key' && !hasOwnDbError(op)) return ['auth_api_key_db_error'];
  return [op.dbError];
}

/** What must not change while calls fail: sessions, rotations, counters, keys, passkeys, revocations. */
const writes = () =>
  gw.sql(`select
    (select count(*) from sessions) as sessions,
    (select count(*) from sessions where revoked_at is not null) as revoked_sessions,
    (select count(*) from refresh_tokens) as refresh_tokens,
    (select count(*) from refresh_tokens where rotated_at is not null) as rotated,
    (select coalesce(sum(counter), 0) from webauthn_credentials) as counters,
    (select count(*) from webauthn_credentials) as passkeys,
    (select count(*) from api_keys) as api_keys,
    (select count(*) from api_keys where revoked_at is not null) as revoked_keys,
    (select count(*) from external_identities) as identities,
    (select count(*) from users) as users,
    (select count(*) from users where email_verified) as verified,
    (select md5(string_agg(password_hash, ',' order by id)) from users) as passwords,
    (select count(*) from email_tokens) as email_tokens,
    (select count(*) from mail_outbox) as mails,
    (select count(*) from mfa_factors) as factors,
    (select count(*) from mfa_factors where status = 'active') as active_factors,
    (select count(*) from mfa_recovery_codes) as recovery_codes,
    (select count(*) from mfa_challenges) as mfa_challenges,
    (select count(*) from users where disabled) as disabled_users,
    (select md5(string_agg(user_id::text || role_id::text, ',' order by user_id, role_id)) from user_roles) as grants,
    (select count(*) from invitations) as invitations,
    (select md5(coalesce(string_agg(id::text || name || updated_at::text, ',' order by id), '')) from sso_connections) as sso_connections,
    (select md5(coalesce(string_agg(domain || connection_id::text, ',' order by domain), '')) from sso_domains) as sso_domains,
    (select count(*) from invitations where accepted_at is not null or revoked_at is not null) as closed_invitations,
    (select count(*) from audit_events) as audit_events`);

interface Fault {
  name: string;
  begin(): Promise<void>;
  end(): Promise<void>;
  /** Armed before each call instead of once (the reset after a call's first query). */
  perCall?: boolean;
}

const ALL_TABLES = ['tenants', 'users', 'roles', 'permissions', 'role_permissions', 'user_roles', 'sessions', 'refresh_tokens', 'audit_events', 'webauthn_credentials', 'webauthn_challenges', 'external_identities', 'api_keys', 'rate_limits', 'email_tokens', 'mail_outbox', 'mfa_factors', 'mfa_recovery_codes', 'mfa_challenges', 'invitations', 'sso_connections', 'sso_domains', 'sso_flows', 'sso_codes', 'sso_identities', 'sso_role_grants', 'sso_assertions', 'oauth_clients', 'oidc_models', 'webhook_endpoints', 'webhook_messages', 'webhook_attempts'];
let locker: pg.Client | undefined;

const faults: Fault[] = [
  { name: 'connection refused', begin: () => gw.proxy!.refuse(), end: () => gw.proxy!.restore() },
  { name: 'TCP black hole', begin: async () => gw.proxy!.blackhole(), end: () => gw.proxy!.restore() },
  { name: 'reset after the first query', perCall: true, begin: async () => gw.proxy!.armResetAtQuery(2), end: () => gw.proxy!.restore() },
  {
    name: 'lock held past the statement timeout',
    begin: async () => {
      locker = new pg.Client({ connectionString: gw.databaseUrl });
      await locker.connect();
      await locker.query('begin');
      await locker.query(`lock table ${ALL_TABLES.join(', ')} in access exclusive mode`);
    },
    end: async () => {
      await locker!.query('rollback');
      await locker!.end();
    },
  },
  {
    name: 'database restarted',
    begin: () => cluster.stop(),
    end: async () => {
      await cluster.start();
      await expect.poll(async () => (await gw.rest('GET', '/readyz')).status, { timeout: 10_000, interval: 100 }).toBe(200);
    },
  },
];

const results: Array<{ fault: string; route: string; door: Door; code: string; ms: number }> = [];

describe('outage matrix', () => {
  it('has a row for every operation of the catalog, through each of its doors', () => {
    const covered = new Set(routes.flatMap((r) => (r.doors ?? ['rest', 'graphql']).map((d) => `${r.op} ${d}`)));
    const doorsOf = (op: OperationName) => [...(operations[op].rest ? ['rest'] : []), ...(operations[op].graphql ? ['graphql'] : [])];
    const wanted = (Object.keys(operations) as OperationName[]).flatMap((op) => doorsOf(op).map((d) => `${op} ${d}`));
    expect(wanted.filter((w) => !covered.has(w))).toEqual([]);
  });

  for (const fault of faults) {
    it(`${fault.name}: every route answers its db code in time, writes nothing, then works again`, async () => {
      const cases: Array<{ route: Route; door: Door; call: Call }> = [];
      const wanted = routes.flatMap((route) => (route.doors ?? (['rest', 'graphql'] as const)).map((door) => ({ route, door })));
      // Prepared a few at a time on the healthy database (each case has users and tokens of its own).
      const parallel = wanted.filter((w) => !w.route.sequential);
      for (let i = 0; i < parallel.length; i += PARALLEL) {
        cases.push(...(await Promise.all(parallel.slice(i, i + PARALLEL).map(async ({ route, door }) => ({ route, door, call: await prepared(route, door) })))));
      }
      for (const { route, door } of wanted.filter((w) => w.route.sequential)) cases.push({ route, door, call: await prepared(route, door) });
      let before = await writes();
      const run = async (c: (typeof cases)[number]) => {
        if (fault.perCall) await fault.begin();
        const started = performance.now();
        const res = await c.call();
        const ms = performance.now() - started;
        const label = `${c.route.label ?? c.route.op} (${c.door})`;
        if (fault.perCall) {
          const queries = gw.proxy!.queries;
          await fault.end();
          if (succeeded(res, c.door)) {
            // Only an operation that needs a single query can finish before the reset. The route
            // decides, not the proxy's count: that also counts a give-back an earlier case's
            // failure retries in the background (after 1, 5 and 15 s) if it lands meanwhile.
            expect(c.route.singleQuery, `${label} succeeded though it needs more than one query (${queries} sent meanwhile)`).toBe(true);
            results.push({ fault: fault.name, route: c.route.label ?? c.route.op, door: c.door, code: 'ok (one query)', ms });
            // Its statement committed whole (cases run one at a time under this fault): the new state
            // is the baseline, and its credential is spent (the check after the fault gets a fresh one).
            if (c.route.writesInOneQuery) {
              c.call = await prepared(c.route, c.door);
              before = await writes();
            }
            return;
          }
        }
        const code = codeOf(res, c.door);
        results.push({ fault: fault.name, route: c.route.label ?? c.route.op, door: c.door, code: code ?? String(res.status), ms });
        expect(expectedCodes(c.route), `${label} answered ${code} (${res.status})`).toContain(code);
        if (!(c.route.redirects && res.status === 303)) expect(res.status).toBe(c.door === 'rest' ? 503 : 200);
        expect(ms, `${label} took ${ms.toFixed(0)} ms`).toBeLessThan(BOUND_MS);
      };
      if (fault.perCall) {
        for (const c of cases) await run(c);
      } else {
        await fault.begin();
        try {
          // A few calls at a time (fewer than the pool's connections): each still meets the
          // fault on its own connection, and the file does not spend a minute waiting.
          for (let i = 0; i < cases.length; i += PARALLEL) await Promise.all(cases.slice(i, i + PARALLEL).map(run));
        } finally {
          await fault.end();
        }
      }
      // The only calls that can succeed under a fault are single-query ones: reads, or a write in one statement (counted above).
      expect(await writes(), 'nothing half-written').toEqual(before);
      for (const c of cases) {
        const res = await c.call();
        expect(succeeded(res, c.door), `${c.route.label ?? c.route.op} (${c.door}) after ${fault.name}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`).toBe(true);
      }
    }, 120_000);
  }

  it('docs/resilience.md shows the table these cases pin (WRITE_DOCS=1 rewrites it)', () => {
    // What a client sees, per route and fault: the code each case above asserts (a single-query
    // route may also finish before a reset). Measured times go to the log, not the page.
    const cell = (route: Route, fault: Fault) => {
      const codes = expectedCodes(route).map((c) => `\`${c}\``).join(' or ');
      return route.singleQuery && fault.perCall ? `${codes}, or ok (one query)` : codes;
    };
    const table = [
      `| route | doors | ${faults.map((f) => f.name).join(' | ')} |`,
      `|${'---|'.repeat(faults.length + 2)}`,
      ...routes.map((r) => `| ${r.label ?? r.op} | ${(r.doors ?? ['rest', 'graphql']).map((d) => (d === 'graphql' ? 'GraphQL' : 'REST')).join(', ')} | ${faults.map((f) => cell(r, f)).join(' | ')} |`),
    ].join('\n');
    const measured = new Map<string, string[]>();
    for (const r of results) measured.set(`${r.route} (${r.door})`, [...(measured.get(`${r.route} (${r.door})`) ?? []), `${r.fault}: ${r.code} ${Math.round(r.ms)} ms`]);
    console.log(`\nOutage matrix (bound ${BOUND_MS} ms):\n${[...measured].map(([k, v]) => `${k}: ${v.join('; ')}`).join('\n')}\n`);
    expect(results.length).toBe(faults.length * routes.reduce((n, r) => n + (r.doors ?? ['rest', 'graphql']).length, 0));

    const page = readFileSync(RESILIENCE_PAGE, 'utf8');
    const [start, end] = ['<!-- outage-table:start -->\n', '\n<!-- outage-table:end -->'];
    const from = page.indexOf(start) + start.length;
    const to = page.indexOf(end);
    expect(from >= start.length && to > from, `${RESILIENCE_PAGE} lacks the outage-table markers`).toBe(true);
    if (process.env.WRITE_DOCS === '1') writeFileSync(RESILIENCE_PAGE, page.slice(0, from) + table + page.slice(to));
    else expect(page.slice(from, to), 'docs/resilience.md is stale: run this file with WRITE_DOCS=1').toBe(table);
  });
});
