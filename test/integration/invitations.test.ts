// Invitations: inviting mails a single-use link (read here from a real SMTP server), accepting
// through both doors makes a verified user with the invited roles (or adds them to a signed-in
// account of the address), and every refusal: no users:manage, escalation, another tenant's
// invitation, API keys, used, forged, expired and revoked tokens, concurrent acceptances, limits.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyedHash } from '../../src/services/shared/secrets.js';
import { linkIn, MailCatcher, type CaughtMail } from '../helpers/mail-catcher.js';
import { bearer, expectGqlError, expectRestError, signIn, startTestGateway, type HttpResult, type TestGateway, DOORS, type Door } from '../helpers/gateway.js';
import type { ImportDocument } from '../../src/services/operator/import.js';

let gw: TestGateway;
let mail: MailCatcher;
const APP_URL = 'https://app.acme.example';
const PASSWORD = 'invitation test passphrase 1';
const NEW_PASSWORD = 'a fresh passphrase 42';
const ROLES = [
  { name: 'boss', permissions: ['users:read', 'users:manage', 'api_keys:create', 'audit:read'] },
  { name: 'manager', permissions: ['users:read', 'users:manage'] },
  { name: 'reader', permissions: ['users:read'] },
  { name: 'member', permissions: ['api_keys:create'] },
];
const doc = (slug: string, users: Array<{ email: string; roles: string[] }>): ImportDocument['tenants'][number] => ({
  slug,
  name: slug.toUpperCase(),
  signup: 'open',
  app_url: APP_URL,
  roles: ROLES,
  users: users.map((u) => ({ ...u, password: PASSWORD })),
});

beforeAll(async () => {
  mail = await MailCatcher.start();
  gw = await startTestGateway({
    env: { SMTP_URL: mail.url, MAIL_POLL_INTERVAL_MS: '50', RATE_LIMIT_INVITATIONS_PER_INVITER: '1000', RATE_LIMIT_MAILS_PER_ADDRESS: '100000', RATE_LIMIT_MAILS_PER_ACCOUNT: '100000' },
  });
  await gw.seed({
    tenants: [
      doc('acme', [
        { email: 'boss@acme.test', roles: ['boss'] },
        { email: 'manny@acme.test', roles: ['manager'] },
        { email: 'rita@acme.test', roles: ['reader'] },
        { email: 'olga@acme.test', roles: ['member'] },
      ]),
      doc('globex', [{ email: 'gina@globex.test', roles: ['boss'] }]),
    ],
  });
});
afterAll(async () => {
  await gw?.close();
  await mail?.close();
});

let n = 0;
const fresh = () => `invitee${Date.now()}${n++}@acme.test`;
const at = async (email: string, tenant = 'acme', password = PASSWORD) => (await signIn(gw, { tenant, email, password })).access_token;
const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;

const INVITE = 'mutation($i: InviteUserInput!) { inviteUser(input: $i) { id email roles status expiresAt createdAt } }';
const invite = (token: string, email: string, roles: string[]) => gw.gql(INVITE, { i: { email, roles } }, bearer(token));
const LIST = 'query($status: InvitationStatus, $first: Int, $after: String) { invitations(status: $status, first: $first, after: $after) { edges { cursor node { id email roles status } } pageInfo { hasNextPage endCursor } } }';
const REVOKE = 'mutation($id: ID!) { revokeInvitation(id: $id) }';

/** Accept through a door; REST answers the token body, GraphQL the AuthPayload (normalised to the REST shape). */
async function accept(door: Door, token: string, password?: string, headers?: Record<string, string>): Promise<HttpResult> {
  const input = password === undefined ? { token } : { token, password };
  if (door === 'rest') return gw.rest('POST', '/auth/invitations/accept', input, headers);
  const res = await gw.gql('mutation($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { accessToken refreshToken refreshExpiresIn user { email roles } } }', { i: input }, headers);
  const payload = res.body.data?.acceptInvitation;
  return payload ? { ...res, body: { access_token: payload.accessToken, refresh_token: payload.refreshToken, refresh_expires_in: payload.refreshExpiresIn, user: payload.user } } : res;
}
const expectAcceptError = (door: Door, res: HttpResult, code: Parameters<typeof expectRestError>[2], status: number) =>
  door === 'rest' ? expectRestError(res, 'acceptInvitation', code, status) : expectGqlError(res, 'acceptInvitation', code, status);

/** The invitation mail to `email` (the newest), and the token of its link. */
async function invitationMail(email: string): Promise<{ message: CaughtMail; token: string }> {
  const message = await mail.waitFor((m) => m.to.includes(email) && /you are invited/.test(m.subject) && !seen.has(m));
  seen.add(message);
  const link = linkIn(message, '/accept-invitation');
  expect(link.url.startsWith(`${APP_URL}/accept-invitation?token=`)).toBe(true);
  return { message, token: link.token! };
}
const seen = new Set<CaughtMail>();

async function invited(email: string, roles = ['member'], inviter = 'boss@acme.test'): Promise<{ id: string; token: string; message: CaughtMail }> {
  const res = await invite(await at(inviter), email, roles);
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return { id: res.body.data.inviteUser.id, ...(await invitationMail(email)) };
}

describe('inviting', () => {
  it('answers the invitation, mails a link whose token is stored only as a keyed hash, and audits it', async () => {
    const email = fresh();
    const started = Date.now();
    const res = await invite(await at('boss@acme.test'), email.toUpperCase(), ['member', 'reader']);
    expect(res.body.errors).toBeUndefined();
    const inv = res.body.data.inviteUser;
    expect(inv).toMatchObject({ email, roles: ['member', 'reader'], status: 'PENDING' });
    const ttl = new Date(inv.expiresAt).getTime() - new Date(inv.createdAt).getTime();
    expect(ttl).toBe(7 * 86400 * 1000);
    expect(new Date(inv.createdAt).getTime()).toBeGreaterThanOrEqual(started - 1000);
    const { token, message } = await invitationMail(email);
    expect(message.text).toContain('boss@acme.test invited');
    const [row] = await gw.sql('select token_hash from invitations where id = $1', [inv.id]);
    expect(row.token_hash).toBe(keyedHash(gw.config.secretKey, token));
    expect(JSON.stringify(await gw.sql('select * from invitations'))).not.toContain(token);
    const [event] = await gw.sql("select type, user_id, details from audit_events where type = 'user_invited' and details->>'invitation' = $1", [inv.id]);
    expect(event.details).toMatchObject({ email, roles: ['member', 'reader'] });
    expect(event.user_id).toBe((await gw.sql("select id from users where email = 'boss@acme.test'"))[0].id);
  });

  it('answers and mails the same whether or not the address has an account', async () => {
    const boss = await at('boss@acme.test');
    const shape = (r: HttpResult) => {
      const { id, email, createdAt, expiresAt, ...rest } = r.body.data.inviteUser;
      return { ...rest, id: typeof id, email: typeof email, ttl: new Date(expiresAt).getTime() - new Date(createdAt).getTime() };
    };
    const newcomer = fresh();
    const a = await invite(boss, 'olga@acme.test', ['reader']);
    const b = await invite(boss, newcomer, ['reader']);
    expect(shape(a)).toEqual(shape(b));
    const strip = (m: CaughtMail, email: string) => m.text.replaceAll(email, 'X').replace(/token=[A-Za-z0-9_-]+/, 'token=T');
    expect(strip((await invitationMail('olga@acme.test')).message, 'olga@acme.test')).toBe(strip((await invitationMail(newcomer)).message, newcomer));
  });

  it('refuses without users:manage, beyond the inviter\'s permissions, unknown roles, bad addresses and control characters', async () => {
    const reader = await at('rita@acme.test');
    expectGqlError(await invite(reader, fresh(), ['member']), 'inviteUser', 'auth_forbidden', 403);
    expectGqlError(await gw.gql(LIST, {}, bearer(reader)), 'invitations', 'auth_forbidden', 403);
    const manager = await at('manny@acme.test');
    // A manager (users:read, users:manage) cannot invite a boss, nor a member (api_keys:create is not theirs).
    expectGqlError(await invite(manager, fresh(), ['boss']), 'inviteUser', 'auth_forbidden', 403);
    expectGqlError(await invite(manager, fresh(), ['member']), 'inviteUser', 'auth_forbidden', 403);
    const boss = await at('boss@acme.test');
    const unknownRole = await invite(boss, fresh(), ['no-such-role']);
    expectGqlError(unknownRole, 'inviteUser', 'auth_request_invalid', 422);
    // The remedy says the role is not one of the tenant's (not a malformed input).
    expect(unknownRole.body.errors[0].extensions.fields).toEqual([{ field: 'input.roles', rule: 'unknown' }]);
    expectGqlError(await invite(boss, 'not an address', ['member']), 'inviteUser', 'auth_request_invalid', 422);
    expectGqlError(await invite(boss, fresh(), ['mem\u0000ber']), 'inviteUser', 'auth_request_invalid', 422);
    expectGqlError(await invite(boss, `x\u0007${fresh()}`, ['member']), 'inviteUser', 'auth_request_invalid', 422);
    // A role of another tenant is not a role here.
    expect(await gw.sql("select count(*)::int as n from invitations where invited_by in (select id from users where email in ('rita@acme.test', 'manny@acme.test'))")).toEqual([{ n: 0 }]);
    // The manager may invite within their own permissions.
    expect((await invite(manager, fresh(), ['reader'])).body.data.inviteUser.status).toBe('PENDING');
  });

  it('lists the tenant\'s invitations newest first by status, in pages, never another tenant\'s', async () => {
    const boss = await at('boss@acme.test');
    const first = await invited(fresh());
    const second = await invited(fresh());
    const page = (await gw.gql(LIST, { status: 'PENDING', first: 1 }, bearer(boss))).body.data.invitations;
    expect(page.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([second.id]);
    const next = (await gw.gql(LIST, { status: 'PENDING', first: 1, after: page.pageInfo.endCursor }, bearer(boss))).body.data.invitations;
    expect(next.edges[0].node.id).toBe(first.id);
    const gina = await at('gina@globex.test', 'globex');
    expect((await invite(gina, fresh().replace('@acme.test', '@globex.test'), ['member'])).body.data.inviteUser.status).toBe('PENDING');
    const ginaIds = (await gw.gql(LIST, { first: 100 }, bearer(gina))).body.data.invitations.edges.map((e: { node: { id: string } }) => e.node.id);
    expect(ginaIds).toHaveLength(1);
    expect(ginaIds).not.toContain(first.id);
    const acmeIds = (await gw.gql(LIST, { first: 100 }, bearer(boss))).body.data.invitations.edges.map((e: { node: { id: string } }) => e.node.id);
    for (const id of ginaIds) expect(acmeIds).not.toContain(id);
  });

  it('revokes a pending invitation (its link stops working); another tenant\'s or a closed one is invalid', async () => {
    const email = fresh();
    const { id, token } = await invited(email);
    const gina = await at('gina@globex.test', 'globex');
    expectGqlError(await gw.gql(REVOKE, { id }, bearer(gina)), 'revokeInvitation', 'auth_invitation_invalid', 400);
    const boss = await at('boss@acme.test');
    expect((await gw.gql(REVOKE, { id }, bearer(boss))).body.data.revokeInvitation).toBe(true);
    expectGqlError(await gw.gql(REVOKE, { id }, bearer(boss)), 'revokeInvitation', 'auth_invitation_invalid', 400);
    expectGqlError(await gw.gql(REVOKE, { id: 'not-a-uuid' }, bearer(boss)), 'revokeInvitation', 'auth_invitation_invalid', 400);
    for (const door of DOORS) expectAcceptError(door, await accept(door, token, NEW_PASSWORD), 'auth_invitation_invalid', 400);
    const revoked = (await gw.gql(LIST, { status: 'REVOKED', first: 100 }, bearer(boss))).body.data.invitations.edges.map((e: { node: { id: string } }) => e.node.id);
    expect(revoked).toContain(id);
    expect(await gw.sql("select count(*)::int as n from audit_events where type = 'invitation_revoked' and details->>'invitation' = $1", [id])).toEqual([{ n: 1 }]);
  });

  it('a new invitation of an address voids its pending one', async () => {
    const email = fresh();
    const older = await invited(email);
    const newer = await invited(email, ['reader']);
    expectAcceptError('rest', await accept('rest', older.token, NEW_PASSWORD), 'auth_invitation_invalid', 400);
    const res = await accept('rest', newer.token, NEW_PASSWORD);
    expect(res.status).toBe(200);
    expect(res.body.user.roles).toEqual(['reader']);
  });
});

describe('accepting as a new user', () => {
  for (const door of DOORS) {
    it(`${door}: makes a verified user with the invited roles, signs them in, and the link works once`, async () => {
      const email = fresh();
      const { id, token } = await invited(email, ['member', 'reader']);
      const res = await accept(door, token, NEW_PASSWORD);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      if (door === 'rest') expect(res.headers.get('cache-control')).toContain('no-store');
      expect(res.body.user).toMatchObject({ email, roles: ['member', 'reader'] });
      expect(claims(res.body.access_token)).toMatchObject({ roles: ['member', 'reader'], acr: 'aal1' });
      const [user] = await gw.sql('select id, email_verified from users where email = $1', [email]);
      expect(user.email_verified).toBe(true);
      // The password works from now on; the tokens work.
      expect((await signIn(gw, { tenant: 'acme', email, password: NEW_PASSWORD })).user.roles).toEqual(['member', 'reader']);
      expect((await gw.rest('GET', '/auth/me', undefined, bearer(res.body.access_token))).body.email).toBe(email);
      // Used: both doors refuse it now.
      for (const d of DOORS) expectAcceptError(d, await accept(d, token, 'yet another passphrase 9'), 'auth_invitation_invalid', 400);
      const boss = await at('boss@acme.test');
      const accepted = (await gw.gql(LIST, { status: 'ACCEPTED', first: 100 }, bearer(boss))).body.data.invitations.edges.map((e: { node: { id: string } }) => e.node.id);
      expect(accepted).toContain(id);
      const events = await gw.sql("select type, user_id, details from audit_events where subject_id = $1 and type in ('invitation_accepted', 'session_started') order by type", [user.id]);
      expect(events.map((e: { type: string }) => e.type)).toEqual(['invitation_accepted', 'session_started', 'session_started']);
      expect(events[0].details).toMatchObject({ invitation: id, roles: ['member', 'reader'], new_user: true });
      expect(events[0].user_id).toBe(user.id);
    });
  }

  it('refuses a weak password and keeps the link usable', async () => {
    const email = fresh();
    const { token } = await invited(email);
    for (const door of DOORS) expectAcceptError(door, await accept(door, token, 'password'), 'auth_password_weak', 422);
    expect((await accept('graphql', token, NEW_PASSWORD)).status).toBe(200);
  });

  it('refuses forged, malformed and expired tokens, and control characters', async () => {
    const forged = 'A'.repeat(43);
    const { id, token } = await invited(fresh());
    await gw.sql("update invitations set expires_at = now() - interval '1 second' where id = $1", [id]);
    for (const door of DOORS) {
      expectAcceptError(door, await accept(door, forged, NEW_PASSWORD), 'auth_invitation_invalid', 400);
      expectAcceptError(door, await accept(door, 'short', NEW_PASSWORD), 'auth_invitation_invalid', 400);
      expectAcceptError(door, await accept(door, token, NEW_PASSWORD), 'auth_invitation_invalid', 400);
      expectAcceptError(door, await accept(door, `${forged}\u0000`, NEW_PASSWORD), 'auth_request_invalid', 422);
    }
    const boss = await at('boss@acme.test');
    const expired = (await gw.gql(LIST, { status: 'EXPIRED', first: 100 }, bearer(boss))).body.data.invitations.edges.map((e: { node: { id: string } }) => e.node.id);
    expect(expired).toContain(id);
  });

  it('ten concurrent acceptances through both doors: exactly one user, one success', async () => {
    const email = fresh();
    const { token } = await invited(email);
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => accept(DOORS[i % 2], token, `concurrent passphrase ${i}x`)));
    const ok = answers.filter((r) => r.status === 200 && r.body.access_token);
    expect(ok).toHaveLength(1);
    for (const r of answers.filter((a) => !a.body.access_token)) {
      const code = r.headers.get('x-error-code') ?? r.body.errors?.[0]?.extensions?.code;
      expect(code).toBe('auth_invitation_invalid');
    }
    expect(await gw.sql('select count(*)::int as n from users where email = $1', [email])).toEqual([{ n: 1 }]);
  });

  it('takes over an unverified sign-up of the address: the squatter\'s password stops working', async () => {
    const email = fresh();
    expect((await gw.rest('POST', '/auth/signup', { tenant: 'acme', email, password: 'squatter passphrase 1' })).status).toBe(202);
    const { token } = await invited(email, ['reader']);
    const res = await accept('rest', token, NEW_PASSWORD);
    expect(res.status).toBe(200);
    expect((await gw.rest('POST', '/auth/login', { tenant: 'acme', email, password: 'squatter passphrase 1' })).status).toBe(401);
    expect((await gw.rest('POST', '/auth/login', { tenant: 'acme', email, password: NEW_PASSWORD })).status).toBe(200);
  });

  it('never admits a disabled account, verified or not: the link is invalid and no tokens are made', async () => {
    const email = fresh();
    expect((await gw.rest('POST', '/auth/signup', { tenant: 'acme', email, password: 'squatter passphrase 1' })).status).toBe(202);
    await gw.sql('update users set disabled = true where email = $1', [email]);
    const { id, token } = await invited(email, ['reader']);
    const sessions = async () => (await gw.sql('select count(*)::int as n from sessions s join users u on u.id = s.user_id where u.email = $1', [email]))[0].n;
    for (const door of DOORS) expectAcceptError(door, await accept(door, token, NEW_PASSWORD), 'auth_invitation_invalid', 400);
    expect(await sessions()).toBe(0);
    expect((await gw.sql('select email_verified, accepted_at from users u, invitations i where u.email = $1 and i.id = $2', [email, id]))[0]).toEqual({ email_verified: false, accepted_at: null });
  });

  it('a sign-up that waited on the row while the address was verified does not replace the password', async () => {
    const email = fresh();
    expect((await gw.rest('POST', '/auth/signup', { tenant: 'acme', email, password: 'squatter passphrase 1' })).status).toBe(202);
    const { token } = await invited(email, ['reader']);
    // Hold the user's row as an acceptance does, while a second sign-up of the address arrives.
    const holder = new pg.Client({ connectionString: gw.databaseUrl });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query('select id from users where email = $1 for update', [email]);
      const racing = gw.rest('POST', '/auth/signup', { tenant: 'acme', email, password: 'squatter passphrase 2' });
      await expect.poll(async () => (await gw.sql("select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%with upsert as%'"))[0].n).toBe(1);
      // What the acceptance commits: the owner's password, verified.
      await holder.query('update users set password_hash = $1, email_verified = true where email = $2', [await gw.gateway.deps.passwords.hash(NEW_PASSWORD), email]);
      await holder.query('commit');
      expect((await racing).status).toBe(202);
    } finally {
      await holder.end();
    }
    expect((await gw.rest('POST', '/auth/login', { tenant: 'acme', email, password: NEW_PASSWORD })).status).toBe(200);
    expect((await gw.rest('POST', '/auth/login', { tenant: 'acme', email, password: 'squatter passphrase 2' })).status).toBe(401);
    // The real acceptance now finds a verified account: sign in first.
    expectAcceptError('rest', await accept('rest', token, 'another passphrase 77'), 'auth_unauthenticated', 401);
  });

  it('is invalid once the inviter may no longer grant the roles', async () => {
    const email = fresh();
    const inviterEmail = `inviter${fresh()}`;
    const boss = await at('boss@acme.test');
    // A second manager is made, invites, then loses users:manage.
    const made = await invited(inviterEmail, ['manager']);
    expect((await accept('rest', made.token, PASSWORD)).status).toBe(200);
    const { token } = await invited(email, ['reader'], inviterEmail);
    const inviterId = (await gw.sql('select id from users where email = $1', [inviterEmail]))[0].id;
    expect((await gw.gql('mutation($id: ID!) { setUserRoles(userId: $id, roles: ["reader"]) { roles } }', { id: inviterId }, bearer(boss))).body.data.setUserRoles.roles).toEqual(['reader']);
    expectAcceptError('graphql', await accept('graphql', token, NEW_PASSWORD), 'auth_invitation_invalid', 400);
    expect(await gw.sql('select count(*)::int as n from users where email = $1', [email])).toEqual([{ n: 0 }]);
  });
});

describe('accepting with an existing account', () => {
  for (const door of DOORS) {
    it(`${door}: a password is refused (sign in first); signed in, the roles are added and the session replaced`, async () => {
      const email = `exist-${door}-${fresh()}`;
      const made = await invited(email, ['member']);
      expect((await accept('rest', made.token, PASSWORD)).status).toBe(200);
      const { token } = await invited(email, ['reader']);
      expectAcceptError(door, await accept(door, token, NEW_PASSWORD), 'auth_unauthenticated', 401);
      // Nothing changed: the old password still works, the link is still usable.
      const session = await signIn(gw, { tenant: 'acme', email, password: PASSWORD });
      // The session has an hour left: the one replacing it gets no more.
      await gw.sql("update sessions set expires_at = now() + interval '1 hour' where id = $1", [claims(session.access_token).sid]);
      const res = await accept(door, token, undefined, bearer(session.access_token));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.user.roles).toEqual(['member', 'reader']);
      const before = claims(session.access_token);
      const after = claims(res.body.access_token);
      // The proof is not renewed by accepting: same method and authentication time.
      expect(after).toMatchObject({ sub: before.sub, auth_time: before.auth_time, amr: before.amr, roles: ['member', 'reader'] });
      expect(after.sid).not.toBe(before.sid);
      expect(res.body.refresh_expires_in).toBeLessThanOrEqual(3600);
      expect(res.body.refresh_expires_in).toBeGreaterThan(3500);
      const [started] = await gw.sql("select details from audit_events where type = 'session_started' and session_id = $1", [after.sid]);
      expect(started.details.replaces).toBe(before.sid);
      // The replaced session's refresh token is dead; the new one works.
      expect((await gw.rest('POST', '/auth/refresh', { refresh_token: session.refresh_token })).status).toBe(401);
      expect((await gw.rest('POST', '/auth/refresh', { refresh_token: res.body.refresh_token })).status).toBe(200);
      expectAcceptError(door, await accept(door, token, undefined, bearer(res.body.access_token)), 'auth_invitation_invalid', 400);
      const [event] = await gw.sql("select details from audit_events where type = 'invitation_accepted' and details->>'new_user' = 'false' and subject_id = (select id from users where email = $1)", [email]);
      expect(event.details.roles).toEqual(['reader']);
    });
  }

  it('refuses another user\'s session, an API key and no credential, and leaves the link usable', async () => {
    const email = fresh();
    const made = await invited(email, ['member']);
    const owner = await accept('rest', made.token, PASSWORD);
    expect(owner.status).toBe(200);
    const { token } = await invited(email, ['reader']);
    const olga = await at('olga@acme.test');
    const created = await gw.rest('POST', '/auth/api-key', { name: 'k', scopes: ['api_keys:create'] }, bearer(owner.body.access_token));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const apiKey: string = created.body.api_key;
    const gina = await at('gina@globex.test', 'globex');
    for (const door of DOORS) {
      expectAcceptError(door, await accept(door, token, undefined, bearer(olga)), 'auth_invitation_invalid', 400);
      expectAcceptError(door, await accept(door, token, undefined, bearer(gina)), 'auth_invitation_invalid', 400);
      expectAcceptError(door, await accept(door, token, undefined, bearer(apiKey)), 'auth_forbidden', 403);
      expectAcceptError(door, await accept(door, token, undefined, { 'x-api-key': apiKey }), 'auth_forbidden', 403);
      expectAcceptError(door, await accept(door, token), 'auth_unauthenticated', 401);
    }
    expect((await accept('graphql', token, undefined, bearer(owner.body.access_token))).status).toBe(200);
  });
});

describe('limits', () => {
  it('counts invitations per inviter and caps the pending ones per tenant', async () => {
    const limited = await startTestGateway({ env: { RATE_LIMIT_INVITATIONS_PER_INVITER: '4', INVITATIONS_MAX_PENDING: '3' } });
    try {
      const ACME_DOC: ImportDocument = { tenants: [doc('acme', [{ email: 'boss@acme.test', roles: ['boss'] }, { email: 'manny@acme.test', roles: ['manager'] }])] };
      await limited.seed(ACME_DOC);
      const sign = async (email: string) => (await signIn(limited, { tenant: 'acme', email, password: PASSWORD })).access_token;
      const boss = await sign('boss@acme.test');
      const inv = (token: string, email: string) => limited.gql(INVITE, { i: { email, roles: ['reader'] } }, bearer(token));
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await inv(boss, `p${i}@acme.test`)).body.data.inviteUser.id);
      // Three pending: the fourth waits for one to close.
      const capped = await inv(boss, 'p3@acme.test');
      expectGqlError(capped, 'inviteUser', 'auth_rate_limited', 429);
      expect(await limited.sql('select count(*)::int as n from invitations')).toEqual([{ n: 3 }]);
      expect((await limited.gql(REVOKE, { id: ids[0] }, bearer(boss))).body.data.revokeInvitation).toBe(true);
      // The boss has spent 4 of 4 (the capped attempt counted): another inviter still may.
      expectGqlError(await inv(boss, 'p4@acme.test'), 'inviteUser', 'auth_rate_limited', 429);
      const manny = await sign('manny@acme.test');
      expect((await inv(manny, 'p5@acme.test')).body.data.inviteUser.status).toBe('PENDING');
    } finally {
      await limited.close();
    }
  });
});
