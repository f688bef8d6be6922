// inspectLink: a mailed link's page asks what the link is before anything is spent. Links are
// read from a real SMTP server as a user's mail client would; each state is reached the way a
// user reaches it (followed, replaced, accepted, withdrawn) or, for expiry, by moving the row's
// clock. Through both doors, with the refusals first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkIn, MailCatcher } from '../helpers/mail-catcher.js';
import { bearer, DOORS, expectRestError, signIn, startTestGateway, type Door, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let mail: MailCatcher;
const PASSWORD = 'links test passphrase 1';
const TENANT = { slug: 'acme', name: 'Acme Rockets' };

beforeAll(async () => {
  mail = await MailCatcher.start();
  gw = await startTestGateway({
    env: { SMTP_URL: mail.url, MAIL_POLL_INTERVAL_MS: '50', RATE_LIMIT_MAILS_PER_ADDRESS: '100000', RATE_LIMIT_MAILS_PER_ACCOUNT: '100000' },
  });
  await gw.seed({
    tenants: [
      {
        ...TENANT,
        signup: 'open',
        app_url: 'https://app.acme.example',
        roles: [
          { name: 'boss', permissions: ['users:read', 'users:manage'] },
          { name: 'member', permissions: [] },
        ],
        users: [
          { email: 'boss@acme.test', password: PASSWORD, roles: ['boss'] },
          { email: 'kim@acme.test', password: PASSWORD, roles: ['member'] },
        ],
      },
    ],
  });
});
afterAll(async () => {
  await gw?.close();
  await mail?.close();
});

const QUERY = 'query($i: TokenInput!) { inspectLink(input: $i) { kind state tenant { slug name } email invitedBy roles expiresAt } }';

/** inspectLink through a door, in the REST body's shape. */
async function inspect(door: Door, token: string): Promise<Record<string, unknown>> {
  if (door === 'rest') {
    const res = await gw.rest('POST', '/auth/links/inspect', { token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    return res.body;
  }
  const res = await gw.gql(QUERY, { i: { token } });
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  const l = res.body.data.inspectLink;
  return { kind: l.kind?.toLowerCase() ?? null, state: l.state.toLowerCase(), tenant: l.tenant, email: l.email, invited_by: l.invitedBy, roles: l.roles, expires_at: l.expiresAt };
}

const UNKNOWN = { kind: null, state: 'unknown', tenant: null, email: null, invited_by: null, roles: [], expires_at: null };
let n = 0;
const fresh = (tag: string) => `${tag}-${Date.now()}-${n++}@acme.test`;

/** The token of the newest mail to `email` whose link has `path`. */
async function mailedToken(email: string, path: string): Promise<string> {
  const message = await mail.waitFor((m) => m.to.includes(email) && m.text.includes(`/${path}?token=`));
  return linkIn(message, `/${path}`).token!;
}

describe('inspectLink refusals', () => {
  it('a forged, ill-shaped or empty-looking token is unknown, and nothing else is said (both doors)', async () => {
    for (const door of DOORS) {
      for (const token of ['A'.repeat(43), 'not a token', 'x']) expect(await inspect(door, token)).toEqual(UNKNOWN);
    }
  });

  it('refuses a missing token and a wrong type, naming the field and never the value', async () => {
    const cases: Array<[unknown, string, string]> = [
      [{}, 'token', 'required'],
      [{ token: 42 }, 'token', 'type'],
      [{ token: 'abc\u0007def' }, 'token', 'control_characters'],
    ];
    for (const [body, field, rule] of cases) {
      const res = await gw.rest('POST', '/auth/links/inspect', body);
      expectRestError(res, 'inspectLink', 'auth_request_invalid', 422);
      expect(res.body.detail.fields).toEqual([{ field, rule }]);
      expect(JSON.stringify(res.body)).not.toContain('abc');
    }
    // GraphQL coerces variables by the schema first (Apollo's BAD_USER_INPUT); what the schema
    // lets through is checked by the field's rules.
    const gql = await gw.gql(QUERY, { i: { token: 'abc\u0007def' } });
    expect(gql.body.errors?.[0]?.extensions?.code, JSON.stringify(gql.body)).toBe('auth_request_invalid');
    expect(gql.body.errors[0].extensions.fields).toEqual([{ field: 'input.token', rule: 'control_characters' }]);
    expect(JSON.stringify(gql.body)).not.toContain('abc');
  });

  it('over GraphQL: never over GET (the token would sit in the URL), and one per document', async () => {
    const token = 'B'.repeat(43);
    const url = `${gw.url}/graphql?query=${encodeURIComponent(QUERY)}&variables=${encodeURIComponent(JSON.stringify({ i: { token } }))}`;
    const viaGet = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
    expect(viaGet.status).toBe(400);
    const body = await viaGet.json();
    expect(body.errors?.[0]?.extensions?.code, JSON.stringify(body)).toBe('auth_request_invalid');
    expect(body.errors[0].extensions.fields).toEqual([{ field: 'query', rule: 'credential_in_query' }]);
    expect(JSON.stringify(body)).not.toContain(token);
    expect(body.data?.inspectLink ?? null).toBeNull();
    // The log line and the metric carry the catalog code and what to fix, never the token.
    const line = gw.logs().split('\n').filter((l) => l.includes('"transport":"graphql"') && l.includes('credential_in_query')).pop();
    expect(line, 'a log line with the refusal').toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ code: 'auth_request_invalid' });
    expect(gw.logs()).not.toContain(token);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/auth_errors_total\{[^}]*code="auth_request_invalid"[^}]*operation="graphql_document"/);
    // A query without such a field still runs over GET.
    const me = await fetch(`${gw.url}/graphql?query=${encodeURIComponent('{ errorCodes { code } }')}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect((await me.json()).errors).toBeUndefined();

    const batch = await gw.gql(`{ a: inspectLink(input: {token: "${token}"}) { state } b: inspectLink(input: {token: "${token}"}) { state } }`);
    expect(batch.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('a verification link', () => {
  it('is valid, names its tenant and address, and stays unspent however often it is looked at; once followed it is unknown', async () => {
    const email = fresh('signup');
    expect((await gw.rest('POST', '/auth/signup', { tenant: 'acme', email, password: PASSWORD })).status).toBe(202);
    const token = await mailedToken(email, 'verify-email');
    for (const door of DOORS) {
      const info = await inspect(door, token);
      expect(info).toMatchObject({ kind: 'verify_email', state: 'valid', tenant: TENANT, email, invited_by: null, roles: [] });
      expect(new Date(info.expires_at as string).getTime()).toBeGreaterThan(Date.now());
    }
    expect((await gw.rest('POST', '/auth/email/verify', { token })).status).toBe(204);
    for (const door of DOORS) expect(await inspect(door, token)).toEqual(UNKNOWN);
  });
});

describe('a reset link', () => {
  it('is valid; a newer mail makes it unknown; an expired one names the tenant (to ask again) but not the address', async () => {
    const email = 'kim@acme.test';
    const ask = async () => expect((await gw.rest('POST', '/auth/password/forgot', { tenant: 'acme', email })).status).toBe(202);
    await ask();
    const first = await mailedToken(email, 'reset-password');
    for (const door of DOORS) expect(await inspect(door, first)).toMatchObject({ kind: 'reset_password', state: 'valid', tenant: TENANT, email });

    await ask();
    const second = await mailedTokenOtherThan(email, first);
    for (const door of DOORS) expect(await inspect(door, first)).toEqual(UNKNOWN);

    await gw.sql("update email_tokens set expires_at = now() - interval '1 second' where kind = 'reset_password'");
    for (const door of DOORS) {
      const info = await inspect(door, second);
      expect(info).toMatchObject({ kind: 'reset_password', state: 'expired', tenant: TENANT, email: null, roles: [] });
      expect(info.expires_at).not.toBeNull();
    }
    // What the page says is what the reset does.
    expectRestError(await gw.rest('POST', '/auth/password/reset', { token: second, password: 'another passphrase 77' }), 'resetPassword', 'auth_email_token_invalid', 400);
  });
});

/** The newest reset token mailed to `email` that is not `not`. */
async function mailedTokenOtherThan(email: string, not: string): Promise<string> {
  const message = await mail.waitFor((m) => m.to.includes(email) && m.text.includes('/reset-password?token=') && linkIn(m, '/reset-password').token !== not);
  return linkIn(message, '/reset-password').token!;
}

describe('an invitation link', () => {
  const INVITE = 'mutation($i: InviteUserInput!) { inviteUser(input: $i) { id } }';
  const invite = async (boss: string, email: string) => {
    const res = await gw.gql(INVITE, { i: { email, roles: ['member'] } }, bearer(boss));
    expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
    return { id: res.body.data.inviteUser.id as string, token: await mailedToken(email, 'accept-invitation') };
  };

  it('names the tenant, the inviter, the invitee and the roles; accepted it is used, withdrawn revoked, late expired with its inviter', async () => {
    const boss = (await signIn(gw, { tenant: 'acme', email: 'boss@acme.test', password: PASSWORD })).access_token;
    const invitee = fresh('invitee');
    const { token } = await invite(boss, invitee);
    for (const door of DOORS) {
      expect(await inspect(door, token)).toMatchObject({ kind: 'invitation', state: 'valid', tenant: TENANT, email: invitee, invited_by: 'boss@acme.test', roles: ['member'] });
    }
    expect((await gw.rest('POST', '/auth/invitations/accept', { token, password: 'invited passphrase 5' })).status).toBe(200);
    for (const door of DOORS) expect(await inspect(door, token)).toEqual({ ...UNKNOWN, kind: 'invitation', state: 'used' });

    const withdrawn = await invite(boss, fresh('withdrawn'));
    expect((await gw.gql('mutation($id: ID!) { revokeInvitation(id: $id) }', { id: withdrawn.id }, bearer(boss))).body.data.revokeInvitation).toBe(true);
    for (const door of DOORS) expect(await inspect(door, withdrawn.token)).toEqual({ ...UNKNOWN, kind: 'invitation', state: 'revoked' });

    const late = await invite(boss, fresh('late'));
    await gw.sql("update invitations set expires_at = now() - interval '1 second' where id = $1", [late.id]);
    for (const door of DOORS) {
      expect(await inspect(door, late.token)).toMatchObject({ kind: 'invitation', state: 'expired', tenant: TENANT, email: null, invited_by: 'boss@acme.test', roles: [] });
    }
  });
});
