// The account lifecycle through both doors, with real mail: sign-up, verification, resend, forgotten password, reset and change, and every refusal.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportDocument } from '../../src/services/operator/import.js';
import { keyedHash } from '../../src/services/shared/secrets.js';
import { linkIn, MailCatcher } from '../helpers/mail-catcher.js';
import { bearer, expectGqlError, expectRestError, holdingUserRow, signIn, startTestGateway, type HttpResult, type TestGateway, DOORS, type Door } from '../helpers/gateway.js';

let gw: TestGateway;
let mail: MailCatcher;
const APP_URL = 'https://app.openco.example';
const DOC: ImportDocument = {
  tenants: [
    {
      slug: 'openco',
      name: 'Open Co',
      signup: 'open',
      default_roles: ['member'],
      app_url: APP_URL,
      roles: [{ name: 'member', permissions: ['api_keys:create'] }],
      users: [{ email: 'olga@openco.example', password: 'olga password 123', roles: ['member'] }],
    },
    { slug: 'closedco', name: 'Closed Co', roles: [], users: [] },
    { slug: 'domainco', name: 'Domain Co', signup: 'domains', signup_domains: ['good.example'], app_url: 'https://domainco.example/app', roles: [], users: [] },
  ],
};

beforeAll(async () => {
  mail = await MailCatcher.start();
  gw = await startTestGateway({
    env: { SMTP_URL: mail.url, MAIL_POLL_INTERVAL_MS: '50', RATE_LIMIT_MAILS_PER_ADDRESS: '100000', RATE_LIMIT_MAILS_PER_ACCOUNT: '100000' },
  });
  await gw.seed(DOC);
});
afterAll(async () => {
  await gw?.close();
  await mail?.close();
});

let n = 0;
const fresh = (domain = 'openco.example') => `user${Date.now()}${n++}@${domain}`;
const PASSWORD = 'a decent passphrase 42';

const gqlBool = (field: string, type: string, input: Record<string, unknown>, headers?: Record<string, string>) =>
  gw.gql(`mutation($i: ${type}!) { ${field}(input: $i) }`, { i: input }, headers);

const signUp = (door: Door, tenant: string, email: string, password = PASSWORD) =>
  door === 'rest' ? gw.rest('POST', '/auth/signup', { tenant, email, password }) : gqlBool('signUp', 'SignUpInput', { tenant, email, password });
const verify = (door: Door, token: string) => (door === 'rest' ? gw.rest('POST', '/auth/email/verify', { token }) : gqlBool('verifyEmail', 'TokenInput', { token }));
const resend = (door: Door, tenant: string, email: string) =>
  door === 'rest' ? gw.rest('POST', '/auth/email/verify/resend', { tenant, email }) : gqlBool('resendVerification', 'EmailInput', { tenant, email });
const forgot = (door: Door, tenant: string, email: string) =>
  door === 'rest' ? gw.rest('POST', '/auth/password/forgot', { tenant, email }) : gqlBool('forgotPassword', 'EmailInput', { tenant, email });
const reset = (door: Door, token: string, password: string) =>
  door === 'rest' ? gw.rest('POST', '/auth/password/reset', { token, password }) : gqlBool('resetPassword', 'ResetPasswordInput', { token, password });
const change = (door: Door, at: string, currentPassword: string, newPassword: string) =>
  door === 'rest'
    ? gw.rest('POST', '/auth/password/change', { current_password: currentPassword, new_password: newPassword }, bearer(at))
    : gqlBool('changePassword', 'ChangePasswordInput', { currentPassword, newPassword }, bearer(at));
const login = (tenant: string, email: string, password: string) => gw.rest('POST', '/auth/login', { tenant, email, password });

/** The answer of sign-up, resend and forgot: 202 and one fixed body (REST), true (GraphQL). */
function expectAccepted(res: HttpResult, door: Door) {
  if (door === 'rest') {
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toEqual({ status: 'accepted' });
  } else {
    expect(res.body.errors, JSON.stringify(res.body)).toBeUndefined();
    expect(Object.values(res.body.data)).toEqual([true]);
  }
}
function expectDone(res: HttpResult, door: Door) {
  if (door === 'rest') expect(res.status, JSON.stringify(res.body)).toBe(204);
  else expect(res.body.errors, JSON.stringify(res.body)).toBeUndefined();
}

const mailTo = (to: string, subject: RegExp) => mail.waitFor((m) => m.to.includes(to) && subject.test(m.subject));
const usersNamed = async (email: string) => (await gw.sql('select count(*)::int as n from users where email = $1', [email]))[0].n;

describe('sign-up, verification and sign-in', () => {
  for (const door of DOORS) {
    it(`signs up, mails a link on the tenant's app_url, refuses sign-in until the link is followed (${door})`, async () => {
      const email = fresh();
      expectAccepted(await signUp(door, 'openco', email), door);
      const message = await mailTo(email, /confirm your e-mail address/);
      expect(message.subject).toContain('Open Co');
      const link = linkIn(message, '/verify-email');
      expect(new URL(link.url).origin).toBe(new URL(APP_URL).origin);
      expect(new URL(link.url).pathname).toBe('/verify-email');

      // The right password says "not verified"; a wrong one says nothing more than ever.
      expectRestError(await login('openco', email, PASSWORD), 'login', 'auth_email_not_verified', 403);
      expectGqlError(await gw.gql('mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { i: { tenant: 'openco', email, password: PASSWORD } }), 'login', 'auth_email_not_verified', 403);
      expectRestError(await login('openco', email, 'not the password at all'), 'login', 'auth_login_invalid_credentials', 401);

      expectDone(await verify(door, link.token), door);
      const signedIn = await login('openco', email, PASSWORD);
      expect(signedIn.status).toBe(200);
      expect(signedIn.body.user.roles).toEqual(['member']);
      // The link works once.
      const again = await verify(door, link.token);
      if (door === 'rest') expectRestError(again, 'verifyEmail', 'auth_email_token_invalid', 400);
      else expectGqlError(again, 'verifyEmail', 'auth_email_token_invalid', 400);
      const [event] = await gw.sql("select count(*)::int as n from audit_events a join users u on u.id = a.user_id where a.type = 'email_verified' and u.email = $1", [email]);
      expect(event.n).toBe(1);
    });
  }

  it('stores the token only as a keyed hash', async () => {
    const email = fresh();
    await signUp('rest', 'openco', email);
    const { token } = linkIn(await mailTo(email, /confirm/), '/verify-email');
    const rows = await gw.sql('select token_hash from email_tokens t join users u on u.id = t.user_id where u.email = $1', [email]);
    expect(rows).toEqual([{ token_hash: keyedHash(gw.config.secretKey, token) }]);
    expect(JSON.stringify(await gw.sql('select * from email_tokens'))).not.toContain(token);
    expect(JSON.stringify(await gw.sql('select * from mail_outbox'))).not.toContain(token);
  });

  for (const door of DOORS) {
    it(`a taken address: the same answer, its owner is told, nothing is created or changed (${door})`, async () => {
      const before = await usersNamed('olga@openco.example');
      expectAccepted(await signUp(door, 'openco', 'olga@openco.example', 'some other passphrase 9'), door);
      const notice = await mailTo('olga@openco.example', /someone tried to sign up/);
      expect(notice.text).not.toMatch(/token=/);
      expect(await usersNamed('olga@openco.example')).toBe(before);
      expect((await login('openco', 'olga@openco.example', 'olga password 123')).status).toBe(200);
      expect((await login('openco', 'olga@openco.example', 'some other passphrase 9')).status).toBe(401);
    });
  }

  for (const door of DOORS) {
    it(`a pending sign-up is not replaced: a second one changes nothing and mails a set-password link; the first link still activates the first password (${door})`, async () => {
      const owner = fresh();
      expectAccepted(await signUp(door, 'openco', owner, 'owner chosen passphrase 2'), door);
      const first = linkIn(await mailTo(owner, /confirm/), '/verify-email');
      // A stranger signs up the same address afterwards: the same answer, nothing changes.
      expectAccepted(await signUp(door, 'openco', owner, 'attacker planted pass 1'), door);
      const notice = await mailTo(owner, /already waiting/);
      expect(linkIn(notice, '/reset-password').url.startsWith(`${APP_URL}/reset-password?token=`)).toBe(true);
      expect(mail.messages.filter((m) => m.to.includes(owner) && /confirm/.test(m.subject))).toHaveLength(1);
      expectDone(await verify(door, first.token), door);
      expect((await login('openco', owner, 'attacker planted pass 1')).status).toBe(401);
      expect((await login('openco', owner, 'owner chosen passphrase 2')).status).toBe(200);
    });
  }

  it('a squatter signs up first: the owner\'s own sign-up mails a set-password link, which takes the address clean and voids the squatter\'s link', async () => {
    const victim = fresh();
    expectAccepted(await signUp('rest', 'openco', victim, 'attacker planted pass 1'), 'rest');
    const squatters = linkIn(await mailTo(victim, /confirm/), '/verify-email');
    expectAccepted(await signUp('graphql', 'openco', victim, 'owner chosen passphrase 2'), 'graphql');
    const setPassword = linkIn(await mailTo(victim, /already waiting/), '/reset-password');
    // The owner's own password did not replace the squatter's: nothing changes without the mailbox.
    expectRestError(await login('openco', victim, 'owner chosen passphrase 2'), 'login', 'auth_login_invalid_credentials', 401);
    expectDone(await reset('graphql', setPassword.token, 'owner final passphrase 3'), 'graphql');
    expect((await login('openco', victim, 'owner final passphrase 3')).status).toBe(200);
    expect((await login('openco', victim, 'attacker planted pass 1')).status).toBe(401);
    expectRestError(await verify('rest', squatters.token), 'verifyEmail', 'auth_email_token_invalid', 400);
    const [event] = await gw.sql("select a.details from audit_events a join users u on u.id = a.user_id where a.type = 'account_claimed' and u.email = $1", [victim]);
    expect(event.details).toEqual({ how: 'reset' });
  });

  it('refuses addresses a mailer would rewrite into other recipients, on both doors', async () => {
    for (const email of ['a@evil.test,openco.test', '"<b>hi</b>"@ex.test', 'alice@openco.test;', 'alice@openco.test(x)', 'a b@openco.test', 'a@localhost']) {
      expectRestError(await signUp('rest', 'openco', email), 'signUp', 'auth_request_invalid', 422);
      expectGqlError(await signUp('graphql', 'openco', email), 'signUp', 'auth_request_invalid', 422);
    }
  });

  it('a new password over MAX_PASSWORD_LENGTH is the policy\'s refusal (auth_password_weak)', async () => {
    const long = 'x'.repeat(gw.config.maxPasswordLength + 1);
    expectRestError(await signUp('rest', 'openco', fresh(), long), 'signUp', 'auth_password_weak', 422);
    expectGqlError(await signUp('graphql', 'openco', fresh(), long), 'signUp', 'auth_password_weak', 422);
  });

  for (const door of DOORS) {
    it(`refuses sign-up where the tenant does not admit it: closed, unknown, or a domain not admitted (${door})`, async () => {
      const expectNotAllowed = (res: HttpResult) =>
        door === 'rest' ? expectRestError(res, 'signUp', 'auth_signup_not_allowed', 403) : expectGqlError(res, 'signUp', 'auth_signup_not_allowed', 403);
      expectNotAllowed(await signUp(door, 'closedco', fresh('closedco.example')));
      expectNotAllowed(await signUp(door, 'nowhere', fresh()));
      const outsider = fresh('bad.example');
      expectNotAllowed(await signUp(door, 'domainco', outsider));
      expect(await usersNamed(outsider)).toBe(0);
      const insider = fresh('good.example');
      expectAccepted(await signUp(door, 'domainco', insider), door);
      expect(linkIn(await mailTo(insider, /confirm/), '/verify-email').url.startsWith('https://domainco.example/app/verify-email?')).toBe(true);
    });
  }

  for (const door of DOORS) {
    it(`refuses a weak password before anything else (${door}): short, common, the address or its local part`, async () => {
      const email = fresh();
      for (const weak of ['short1', 'password123', email, email.split('@')[0]]) {
        const res = await signUp(door, 'openco', email, weak);
        if (door === 'rest') expectRestError(res, 'signUp', 'auth_password_weak', 422);
        else expectGqlError(res, 'signUp', 'auth_password_weak', 422);
      }
      expect(await usersNamed(email)).toBe(0);
    });
  }

  for (const door of DOORS) {
    it(`a resend after a second sign-up met the pending one mails the set-password link, never a link that activates the first password (${door})`, async () => {
      const victim = fresh();
      expectAccepted(await signUp('rest', 'openco', victim, 'attacker planted pass 1'), 'rest');
      await mailTo(victim, /confirm/);
      expectAccepted(await signUp('rest', 'openco', victim, 'owner chosen passphrase 2'), 'rest');
      await mailTo(victim, /already waiting/);
      // The owner, unsure which mail to follow, asks for a new confirmation link.
      const before = mail.messages.length;
      expectAccepted(await resend(door, 'openco', victim), door);
      await expect.poll(() => mail.messages.length).toBe(before + 1);
      const resent = mail.messages.at(-1)!;
      expect(resent.to).toContain(victim);
      expect(resent.subject).toMatch(/set your password to finish signing up/);
      expect(resent.text).not.toContain('/verify-email');
      const link = linkIn(resent, '/reset-password');
      // Following it sets the owner's password and takes the address clean; the squatter's is gone.
      expectDone(await reset(door, link.token, 'owner final passphrase 3'), door);
      expect((await login('openco', victim, 'owner final passphrase 3')).status).toBe(200);
      expectRestError(await login('openco', victim, 'attacker planted pass 1'), 'login', 'auth_login_invalid_credentials', 401);
      const [event] = await gw.sql("select a.details from audit_events a join users u on u.id = a.user_id where a.type = 'account_claimed' and u.email = $1", [victim]);
      expect(event.details).toEqual({ how: 'reset' });
    });
  }

  it('two sign-ups of one address at the same moment: one is the sign-up, the other the contest (a set-password notice, the mark that turns resends into set-password mails)', async () => {
    for (let round = 0; round < 8; round++) {
      const email = fresh();
      const [a, b] = await Promise.all([
        gw.rest('POST', '/auth/signup', { tenant: 'openco', email, password: 'first racer passphrase 1' }, { 'x-forwarded-for': '198.51.100.1' }),
        gw.rest('POST', '/auth/signup', { tenant: 'openco', email, password: 'second racer passphrase 2' }, { 'x-forwarded-for': '203.0.113.2' }),
      ]);
      expectAccepted(a, 'rest');
      expectAccepted(b, 'rest');
      await mailTo(email, /confirm/);
      await mailTo(email, /already waiting/);
      const [row] = await gw.sql('select count(*)::int as n, bool_and(signup_contested_at is not null) as contested from users where email = $1', [email]);
      expect(row, `round ${round}`).toEqual({ n: 1, contested: true });
    }
  });

  it('a resend that meets a contesting sign-up waits for it, then mails the set-password link, not a verify link', async () => {
    const email = fresh();
    expectAccepted(await signUp('rest', 'openco', email, 'first sign-up passphrase 1'), 'rest');
    await mailTo(email, /confirm/);
    // The user's row is held; the contesting sign-up queues for it first, the resend second.
    await holdingUserRow(gw, { email }, async ({ queued, release }) => {
      const contest = signUp('rest', 'openco', email, 'second sign-up passphrase 2');
      await expect.poll(queued).toBe(1);
      expectAccepted(await resend('rest', 'openco', email), 'rest'); // answered at once; the mail is decided after the answer
      await expect.poll(queued).toBe(2);
      await release();
      expectAccepted(await contest, 'rest');
    });
    await mailTo(email, /already waiting/);
    await mailTo(email, /set your password to finish signing up/);
    expect(mail.messages.filter((m) => m.to.includes(email) && /confirm/.test(m.subject))).toHaveLength(1);
  });

  it('following the verification link and a set-password link of one address at once: one wins, never a 5xx', async () => {
    for (let round = 0; round < 20; round++) {
      const email = fresh();
      expectAccepted(await signUp('rest', 'openco', email, 'first sign-up passphrase 1'), 'rest');
      const verifyLink = linkIn(await mailTo(email, /confirm/), '/verify-email');
      expectAccepted(await signUp('rest', 'openco', email, 'second sign-up passphrase 2'), 'rest');
      const setLink = linkIn(await mailTo(email, /already waiting/), '/reset-password');
      // The reset hashes the new password before its transaction: the verification is sent a
      // little later each round, so that some round meets the reset inside its transaction.
      const [r, v] = await Promise.all([reset('rest', setLink.token, 'owner final passphrase 3'), new Promise((ok) => setTimeout(ok, round % 10)).then(() => verify('rest', verifyLink.token))]);
      for (const res of [v, r]) expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
      expect(r.status).toBe(204);
      expect((await login('openco', email, 'owner final passphrase 3')).status).toBe(200);
    }
  });

  it('a used link voids every other link of its kind to the same user (two asked at once can both be issued)', async () => {
    const email = fresh();
    await signUp('rest', 'openco', email);
    const link = linkIn(await mailTo(email, /confirm/), '/verify-email').token;
    // A second live link, as two resends answered at once leave (stored as the gateway stores them).
    const other = randomBytes(32).toString('base64url');
    await gw.sql(
      `insert into email_tokens (id, tenant_id, user_id, kind, token_hash, created_at, expires_at)
       select gen_random_uuid(), u.tenant_id, u.id, 'verify_email', $1, now(), now() + interval '1 hour' from users u where u.email = $2`,
      [keyedHash(gw.config.secretKey, other), email],
    );
    expectDone(await verify('rest', link), 'rest');
    expectRestError(await verify('rest', other), 'verifyEmail', 'auth_email_token_invalid', 400);
    expect((await gw.sql('select count(*)::int as n from email_tokens t join users u on u.id = t.user_id where u.email = $1', [email]))[0].n).toBe(0);
  });

  it('resends a verification link only to an unverified address, answering the same for any other', async () => {
    const email = fresh();
    await signUp('rest', 'openco', email);
    const first = linkIn(await mailTo(email, /confirm/), '/verify-email');
    for (const door of DOORS) expectAccepted(await resend(door, 'openco', email), door);
    const count = () => mail.messages.filter((m) => m.to.includes(email)).length;
    await expect.poll(count).toBe(3);
    // A new link voids the older ones.
    expectRestError(await verify('rest', first.token), 'verifyEmail', 'auth_email_token_invalid', 400);
    // The two resent mails may arrive in either order: the newer link verifies, the older one no longer does.
    const resent = mail.messages.filter((m) => m.to.includes(email)).slice(1).map((m) => linkIn(m, '/verify-email').token);
    const outcomes = [];
    for (const token of resent) outcomes.push((await verify('rest', token)).status);
    expect(outcomes.sort()).toEqual([204, 400]);
    // Verified, unknown, or another tenant: the same answer, and no mail.
    const sent = mail.messages.length;
    for (const [tenant, address] of [['openco', email], ['openco', fresh()], ['nowhere', email]]) expectAccepted(await resend('rest', tenant, address), 'rest');
    await new Promise((r) => setTimeout(r, 300));
    expect(mail.messages.length).toBe(sent);
  });
});

describe('forgotten passwords and resets', () => {
  async function verifiedUser(): Promise<string> {
    const email = fresh();
    await signUp('rest', 'openco', email);
    expectDone(await verify('rest', linkIn(await mailTo(email, /confirm/), '/verify-email').token), 'rest');
    return email;
  }

  for (const door of DOORS) {
    it(`forgot → mail → reset: the old sessions end, the new password signs in, a notice is mailed (${door})`, async () => {
      const email = await verifiedUser();
      const old = await signIn(gw, { tenant: 'openco', email, password: PASSWORD });
      expectAccepted(await forgot(door, 'openco', email), door);
      const link = linkIn(await mailTo(email, /reset your password/), '/reset-password');
      expect(new URL(link.url).origin).toBe(new URL(APP_URL).origin);
      const next = 'a brand new passphrase 7';
      expectDone(await reset(door, link.token, next), door);
      expectRestError(await gw.rest('POST', '/auth/refresh', { refresh_token: old.refresh_token }), 'refresh', 'auth_refresh_invalid', 401);
      expectRestError(await gw.rest('GET', '/auth/me', undefined, bearer(old.access_token)), 'me', 'auth_unauthenticated', 401);
      expect((await login('openco', email, PASSWORD)).status).toBe(401);
      expect((await login('openco', email, next)).status).toBe(200);
      await mailTo(email, /your password was changed/);
      const again = await reset(door, link.token, 'yet another passphrase 8');
      if (door === 'rest') expectRestError(again, 'resetPassword', 'auth_email_token_invalid', 400);
      else expectGqlError(again, 'resetPassword', 'auth_email_token_invalid', 400);
      const [event] = await gw.sql("select count(*)::int as n from audit_events a join users u on u.id = a.user_id where a.type = 'password_reset' and u.email = $1", [email]);
      expect(event.n).toBe(1);
    });
  }

  it('a reset revokes the API keys minted before it (a lost or stolen password)', async () => {
    const email = await verifiedUser();
    const s = await signIn(gw, { tenant: 'openco', email, password: PASSWORD });
    const key = (await gw.rest('POST', '/auth/api-key', { name: 'before' }, bearer(s.access_token))).body.api_key;
    expect((await gw.rest('GET', '/auth/me', undefined, { 'x-api-key': key })).status).toBe(200);
    await forgot('rest', 'openco', email);
    expectDone(await reset('rest', linkIn(await mailTo(email, /reset your password/), '/reset-password').token, 'recovered passphrase 5'), 'rest');
    expectRestError(await gw.rest('GET', '/auth/me', undefined, { 'x-api-key': key }), 'me', 'auth_api_key_invalid', 401);
  });

  for (const door of DOORS) {
    it(`refuses a forged, expired, voided or verification token, and a weak new password keeps the link usable (${door})`, async () => {
      const email = await verifiedUser();
      const expectInvalid = (res: HttpResult) =>
        door === 'rest' ? expectRestError(res, 'resetPassword', 'auth_email_token_invalid', 400) : expectGqlError(res, 'resetPassword', 'auth_email_token_invalid', 400);
      expectInvalid(await reset(door, 'A'.repeat(43), 'a fine passphrase 99'));
      expectInvalid(await reset(door, 'not-even-the-shape', 'a fine passphrase 99'));
      await forgot(door, 'openco', email);
      const first = linkIn(await mailTo(email, /reset your password/), '/reset-password');
      await forgot(door, 'openco', email);
      await expect.poll(() => mail.messages.filter((m) => m.to.includes(email) && /reset your password/.test(m.subject)).length).toBe(2);
      const second = linkIn(mail.messages.filter((m) => m.to.includes(email) && /reset your password/.test(m.subject)).at(-1)!, '/reset-password');
      expectInvalid(await reset(door, first.token, 'a fine passphrase 99'));
      const weak = await reset(door, second.token, 'password123');
      if (door === 'rest') expectRestError(weak, 'resetPassword', 'auth_password_weak', 422);
      else expectGqlError(weak, 'resetPassword', 'auth_password_weak', 422);
      await gw.sql("update email_tokens set expires_at = now() - interval '1 second' where token_hash = $1", [keyedHash(gw.config.secretKey, second.token)]);
      expectInvalid(await reset(door, second.token, 'a fine passphrase 99'));
      expect((await login('openco', email, PASSWORD)).status).toBe(200);
    });
  }

  it('answers the same for an unknown address or tenant, and mails nothing', async () => {
    const sent = mail.messages.length;
    for (const door of DOORS) {
      expectAccepted(await forgot(door, 'openco', fresh()), door);
      expectAccepted(await forgot(door, 'nowhere', 'olga@openco.example'), door);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(mail.messages.length).toBe(sent);
  });
});

describe('password change', () => {
  for (const door of DOORS) {
    it(`changes the password: other sessions end, this one goes on, a notice is mailed (${door})`, async () => {
      const email = fresh();
      await gw.seed({ tenants: [{ ...DOC.tenants[0], users: [{ email, password: PASSWORD, roles: ['member'] }] }] });
      const other = await signIn(gw, { tenant: 'openco', email, password: PASSWORD });
      const me = await signIn(gw, { tenant: 'openco', email, password: PASSWORD });
      const next = 'changed passphrase 31';
      expectDone(await change(door, me.access_token, PASSWORD, next), door);
      expect((await gw.rest('GET', '/auth/me', undefined, bearer(me.access_token))).status).toBe(200);
      expectRestError(await gw.rest('POST', '/auth/refresh', { refresh_token: other.refresh_token }), 'refresh', 'auth_refresh_invalid', 401);
      expect((await login('openco', email, next)).status).toBe(200);
      await mailTo(email, /your password was changed/);
      const [event] = await gw.sql("select count(*)::int as n from audit_events a join users u on u.id = a.user_id where a.type = 'password_changed' and u.email = $1", [email]);
      expect(event.n).toBe(1);
    });
  }

  for (const door of DOORS) {
    it(`refuses a wrong current password, a weak new one, an API key and a stale session (${door})`, async () => {
      const email = fresh();
      await gw.seed({ tenants: [{ ...DOC.tenants[0], users: [{ email, password: PASSWORD, roles: ['member'] }] }] });
      const s = await signIn(gw, { tenant: 'openco', email, password: PASSWORD });
      const expectCode = (res: HttpResult, code: Parameters<typeof expectRestError>[2], status: number) =>
        door === 'rest' ? expectRestError(res, 'changePassword', code, status) : expectGqlError(res, 'changePassword', code, status);
      expectCode(await change(door, s.access_token, 'not my password', 'changed passphrase 32'), 'auth_password_change_invalid', 401);
      expectCode(await change(door, s.access_token, PASSWORD, 'password123'), 'auth_password_weak', 422);
      const key = (await gw.rest('POST', '/auth/api-key', { name: 'k' }, bearer(s.access_token))).body.api_key;
      expectCode(await change(door, key, PASSWORD, 'changed passphrase 33'), 'auth_forbidden', 403);
      await gw.sql("update sessions set auth_time = now() - interval '2 hours' where user_id = (select id from users where email = $1)", [email]);
      const stale = (await gw.rest('POST', '/auth/refresh', { refresh_token: s.refresh_token })).body.access_token;
      expectCode(await change(door, stale, PASSWORD, 'changed passphrase 34'), 'auth_reauthentication_required', 401);
      expect((await login('openco', email, PASSWORD)).status).toBe(200);
    });
  }
});

describe('a change or reset leaves nothing of the old password (SPEC §15)', () => {
  for (const door of DOORS) {
    it(`a password change revokes the user's API keys and refuses the current password as the new one (${door})`, async () => {
      const email = fresh();
      await gw.seed({ tenants: [{ ...DOC.tenants[0], users: [{ email, password: PASSWORD, roles: ['member'] }] }] });
      const s = await signIn(gw, { tenant: 'openco', email, password: PASSWORD });
      const key = (await gw.rest('POST', '/auth/api-key', { name: 'before' }, bearer(s.access_token))).body.api_key;
      const same = await change(door, s.access_token, PASSWORD, PASSWORD);
      if (door === 'rest') expectRestError(same, 'changePassword', 'auth_password_weak', 422);
      else expectGqlError(same, 'changePassword', 'auth_password_weak', 422);
      expect((await gw.rest('GET', '/auth/me', undefined, { 'x-api-key': key })).status).toBe(200);
      expectDone(await change(door, s.access_token, PASSWORD, 'changed passphrase 35'), door);
      expectRestError(await gw.rest('GET', '/auth/me', undefined, { 'x-api-key': key }), 'me', 'auth_api_key_invalid', 401);
      expect((await mailTo(email, /your password was changed/)).text).toContain('API keys revoked');
    });
  }
});

describe('limits', () => {
  it('a stranger cannot spend the owner\'s mail budget: it counts per account and requesting address; a per-account ceiling still bounds the inbox (SPEC §15)', async () => {
    const env = {
      SMTP_URL: mail.url,
      MAIL_POLL_INTERVAL_MS: '50',
      TRUST_PROXY: '127.0.0.1',
      RATE_LIMIT_MAILS_PER_ACCOUNT: '2',
      RATE_LIMIT_MAILS_PER_ACCOUNT_TOTAL: '5',
      RATE_LIMIT_MAILS_PER_ADDRESS: '100000',
      SECRET_KEY: gw.config.secretKey,
    };
    const limited = await startTestGateway({ databaseUrl: gw.databaseUrl, env });
    try {
      const email = fresh();
      await gw.seed({ tenants: [{ ...DOC.tenants[0], users: [{ email, password: PASSWORD, roles: ['member'] }] }] });
      const resets = () => mail.messages.filter((m) => m.to.includes(email) && /reset your password/.test(m.subject)).length;
      const ask = async (from: string, times = 1) => {
        for (let i = 0; i < times; i++) expectAccepted(await limited.rest('POST', '/auth/password/forgot', { tenant: 'openco', email }, { 'x-forwarded-for': from }), 'rest');
      };
      await ask('10.7.0.1', 4);
      await expect.poll(resets).toBe(2);
      // The owner, from another address, still gets their mail.
      await ask('10.7.0.2');
      await expect.poll(resets).toBe(3);
      // The inbox's ceiling: five in the hour, whoever asks.
      await ask('10.7.0.3', 2);
      await expect.poll(resets).toBe(5);
      await ask('10.7.0.4', 2);
      await new Promise((r) => setTimeout(r, 300));
      expect(resets()).toBe(5);
    } finally {
      await limited.close();
    }
  });

  it('beyond the per-account mail limit the answer stays 202 and no mail is sent', async () => {
    const limited = await startTestGateway({ databaseUrl: gw.databaseUrl, env: { SMTP_URL: mail.url, MAIL_POLL_INTERVAL_MS: '50', RATE_LIMIT_MAILS_PER_ACCOUNT: '2', RATE_LIMIT_MAILS_PER_ADDRESS: '100000', SECRET_KEY: gw.config.secretKey } });
    try {
      // An account of its own: the counts live in the shared database.
      const email = fresh();
      await gw.seed({ tenants: [{ ...DOC.tenants[0], users: [{ email, password: PASSWORD, roles: ['member'] }] }] });
      const before = mail.messages.filter((m) => m.to.includes(email) && /reset your password/.test(m.subject)).length;
      for (let i = 0; i < 4; i++) expectAccepted(await limited.rest('POST', '/auth/password/forgot', { tenant: 'openco', email }), 'rest');
      await expect.poll(() => mail.messages.filter((m) => m.to.includes(email) && /reset your password/.test(m.subject)).length).toBe(before + 2);
      await new Promise((r) => setTimeout(r, 300));
      expect(mail.messages.filter((m) => m.to.includes(email) && /reset your password/.test(m.subject)).length).toBe(before + 2);
    } finally {
      await limited.close();
    }
  });
});
