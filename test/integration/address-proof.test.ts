// A proven owner takes the account clean (SPEC §15): when Google (where it is authoritative), an invitation or a reset link first proves an unverified address, every credential a squatter could have set goes, through both doors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/services/api-keys/format.js';
import { keyedHash } from '../../src/services/shared/secrets.js';
import { CLIENT_ID, FakeGoogle } from '../helpers/fake-google.js';
import { linkIn, MailCatcher, type CaughtMail } from '../helpers/mail-catcher.js';
import { bearer, expectGqlError, expectRestError, startTestGateway, type Door, type HttpResult, type TestGateway, DOORS } from '../helpers/gateway.js';

let gw: TestGateway;
let mail: MailCatcher;
let google: FakeGoogle;
const APP_URL = 'https://app.squat.example';
const SQUATTER = 'squatter planted pass 1';
const OWNER = 'owner chosen passphrase 2';
const ROLES = [
  { name: 'boss', permissions: ['users:read', 'users:manage', 'api_keys:create'] },
  { name: 'member', permissions: ['api_keys:create'] },
];

beforeAll(async () => {
  mail = await MailCatcher.start();
  google = await FakeGoogle.start();
  gw = await startTestGateway({
    env: {
      SMTP_URL: mail.url,
      MAIL_POLL_INTERVAL_MS: '50',
      RATE_LIMIT_MAILS_PER_ADDRESS: '100000',
      RATE_LIMIT_MAILS_PER_ACCOUNT: '100000',
      RATE_LIMIT_MAILS_PER_ACCOUNT_TOTAL: '100000',
      GOOGLE_CLIENT_IDS: CLIENT_ID,
      GOOGLE_CERTS_URL: google.url,
    },
  });
  await gw.seed({
    tenants: [
      // Open sign-up and no Google domain list: consumer Google accounts sign in by their link or address.
      { slug: 'open', name: 'Open', signup: 'open', default_roles: ['member'], app_url: APP_URL, roles: ROLES, users: [{ email: 'boss@open.test', password: OWNER, roles: ['boss'] }] },
      // A Workspace domain's tenant: sign-up and Google for that domain only.
      { slug: 'work', name: 'Work', signup: 'domains', signup_domains: ['work.test'], google_domains: ['work.test'], default_roles: ['member'], app_url: APP_URL, roles: ROLES, users: [] },
    ],
  });
});
afterAll(async () => {
  await gw?.close();
  await mail?.close();
  await google?.close();
});

let n = 0;
const fresh = (domain: string) => `owner${Date.now()}${n++}@${domain}`;
const login = (tenant: string, email: string, password: string) => gw.rest('POST', '/auth/login', { tenant, email, password });

interface Squat {
  userId: string;
  verifyToken: string;
  apiKey: string;
}

/** Plants a passkey, an API key, an active TOTP factor with a recovery code, a Google link and a live session on a user; answers the key. */
async function plant(tenantId: string, userId: string, email: string): Promise<string> {
  const apiKey = generateApiKey();
  await gw.sql(
    `with c as (insert into webauthn_credentials (id, tenant_id, user_id, credential_id, public_key, counter, transports, device_type, backed_up, user_handle, created_at)
                values (gen_random_uuid(), $1, $2, 'planted-' || gen_random_uuid(), '\\x00', 0, '{}', 'singleDevice', false, 'h', now())),
          k as (insert into api_keys (id, tenant_id, user_id, name, prefix, key_hash, scopes, created_at) values (gen_random_uuid(), $1, $2, 'planted', $3, $4, '{api_keys:create}', now())),
          f as (insert into mfa_factors (id, tenant_id, user_id, secret, status, created_at, activated_at) values (gen_random_uuid(), $1, $2, 'x', 'active', now(), now())),
          r as (insert into mfa_recovery_codes (id, user_id, code_hash, created_at) values (gen_random_uuid(), $2, 'planted-' || gen_random_uuid(), now())),
          e as (insert into external_identities (id, tenant_id, user_id, issuer, subject, email_at_link, created_at) values (gen_random_uuid(), $1, $2, 'https://accounts.google.com', 'planted-' || gen_random_uuid(), $5, now()))
     insert into sessions (id, tenant_id, user_id, auth_method, amr, created_at, last_used_at, auth_time, expires_at)
     values (gen_random_uuid(), $1, $2, 'password', '{pwd}', now(), now(), now(), now() + interval '1 day')`,
    [tenantId, userId, apiKey.slice(0, 12), keyedHash(gw.config.secretKey, apiKey), email],
  );
  return apiKey;
}

/**
 * A squatter signs up the owner's address with a password of their own, and (as if anything
 * else had reached the unverified account) a passkey, an API key, an active TOTP factor with
 * recovery codes, another Google link and a live session are planted beside it.
 */
async function squat(tenant: string, email: string): Promise<Squat> {
  const res = await gw.rest('POST', '/auth/signup', { tenant, email, password: SQUATTER });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const verifyToken = linkIn(await mail.waitFor((m) => m.to.includes(email) && /confirm/.test(m.subject)), '/verify-email').token!;
  const [{ id: userId, tenant_id: tenantId }] = await gw.sql('select u.id, u.tenant_id from users u join tenants t on t.id = u.tenant_id where t.slug = $1 and u.email = $2', [tenant, email]);
  const apiKey = await plant(tenantId, userId, email);
  expect((await gw.rest('GET', '/auth/me', undefined, { 'x-api-key': apiKey })).status).toBe(200);
  return { userId, verifyToken, apiKey };
}

/** Nothing the squatter set is left, the address is verified, and the claim is audited. */
async function expectTakenClean(tenant: string, email: string, s: Squat, how: string, keptLinks: number): Promise<void> {
  expectRestError(await login(tenant, email, SQUATTER), 'login', 'auth_login_invalid_credentials', 401);
  expectRestError(await gw.rest('POST', '/auth/email/verify', { token: s.verifyToken }), 'verifyEmail', 'auth_email_token_invalid', 400);
  expectRestError(await gw.rest('GET', '/auth/me', undefined, { 'x-api-key': s.apiKey }), 'me', 'auth_api_key_invalid', 401);
  const [left] = await gw.sql(
    `select u.email_verified,
            (select count(*) from webauthn_credentials where user_id = u.id)::int as passkeys,
            (select count(*) from api_keys where user_id = u.id and revoked_at is null)::int as keys,
            (select count(*) from mfa_factors where user_id = u.id)::int as factors,
            (select count(*) from mfa_recovery_codes where user_id = u.id)::int as codes,
            (select count(*) from external_identities where user_id = u.id)::int as links,
            (select count(*) from sessions where user_id = u.id and revoked_at is null and auth_method = 'password' and amr = '{pwd}' and ip is null)::int as planted_sessions,
            (select count(*) from email_tokens where user_id = u.id and kind = 'verify_email')::int as verify_tokens
       from users u where u.id = $1`,
    [s.userId],
  );
  expect(left).toEqual({ email_verified: true, passkeys: 0, keys: 0, factors: 0, codes: 0, links: keptLinks, planted_sessions: 0, verify_tokens: 0 });
  const events = await gw.sql("select details from audit_events where type = 'account_claimed' and user_id = $1", [s.userId]);
  expect(events.map((e) => e.details)).toEqual([{ how }]);
}

const googleSignIn = (door: Door, tenant: string, idToken: string): Promise<HttpResult> =>
  door === 'rest'
    ? gw.rest('POST', '/auth/login/google', { tenant, id_token: idToken })
    : gw.gql('mutation($i: GoogleLoginInput!) { loginWithGoogle(input: $i) { accessToken user { email } } }', { i: { tenant, idToken } });
const succeeded = (door: Door, res: HttpResult) => (door === 'rest' ? res.status >= 200 && res.status < 300 : res.body.errors === undefined && res.body.data !== null);

/** The reset link of the latest reset mail to `email`, asked for now. */
async function resetLinkFor(email: string): Promise<string> {
  expect((await gw.rest('POST', '/auth/password/forgot', { tenant: 'open', email })).status).toBe(202);
  return linkIn(await mail.waitFor((m) => m.to.includes(email) && /reset your password/.test(m.subject)), '/reset-password').token!;
}
const resetThrough = (door: Door, token: string, password: string): Promise<HttpResult> =>
  door === 'rest'
    ? gw.rest('POST', '/auth/password/reset', { token, password })
    : gw.gql('mutation($i: ResetPasswordInput!) { resetPassword(input: $i) }', { i: { token, password } });

describe('Google proves an address it is authoritative for', () => {
  for (const door of DOORS) {
    it(`a planted @gmail.com sign-up: the owner's Google sign-in succeeds and the squatter's password, key, passkey, factor and link are gone (${door})`, async () => {
      const email = fresh('gmail.com');
      const s = await squat('open', email);
      const res = await googleSignIn(door, 'open', await google.idToken({ email, hd: undefined }));
      expect(succeeded(door, res), JSON.stringify(res.body)).toBe(true);
      await expectTakenClean('open', email, s, 'google', 1);
    });

    it(`a planted sign-up of a Workspace address in a "domains" tenant: the same (${door})`, async () => {
      const email = fresh('work.test');
      const s = await squat('work', email);
      const res = await googleSignIn(door, 'work', await google.idToken({ email, hd: 'work.test' }));
      expect(succeeded(door, res), JSON.stringify(res.body)).toBe(true);
      await expectTakenClean('work', email, s, 'google', 1);
    });
  }

  it('a verified account keeps its password when Google links to it', async () => {
    const email = fresh('gmail.com');
    await gw.seed({ tenants: [{ slug: 'open', name: 'Open', roles: ROLES, users: [{ email, password: OWNER, roles: ['member'] }] }] });
    const res = await googleSignIn('rest', 'open', await google.idToken({ email, hd: undefined }));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((await login('open', email, OWNER)).status).toBe(200);
    expect(await gw.sql("select 1 from audit_events a join users u on u.id = a.user_id where a.type = 'account_claimed' and u.email = $1", [email])).toEqual([]);
  });
});

describe('an invitation proves the invited address', () => {
  for (const door of DOORS) {
    it(`accepting with a password takes a planted sign-up clean (${door})`, async () => {
      const email = fresh('gmail.com');
      const s = await squat('open', email);
      const boss = (await login('open', 'boss@open.test', OWNER)).body.access_token;
      const invited = await gw.gql('mutation($i: InviteUserInput!) { inviteUser(input: $i) { id } }', { i: { email, roles: ['member'] } }, bearer(boss));
      expect(invited.body.errors).toBeUndefined();
      const token = linkIn(await mail.waitFor((m) => m.to.includes(email) && /invited/.test(m.subject)), '/accept-invitation').token!;
      const res =
        door === 'rest'
          ? await gw.rest('POST', '/auth/invitations/accept', { token, password: OWNER })
          : await gw.gql('mutation($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { accessToken } }', { i: { token, password: OWNER } });
      expect(succeeded(door, res), JSON.stringify(res.body)).toBe(true);
      await expectTakenClean('open', email, s, 'invitation', 0);
      expect((await login('open', email, OWNER)).status).toBe(200);
    });
  }
});

describe('a reset link proves the address', () => {
  for (const door of DOORS) {
    it(`the reset takes a planted sign-up clean (${door})`, async () => {
      const email = fresh('open.test');
      const s = await squat('open', email);
      const res = await resetThrough(door, await resetLinkFor(email), OWNER);
      expect(succeeded(door, res), JSON.stringify(res.body)).toBe(true);
      await expectTakenClean('open', email, s, 'reset', 0);
      expect((await login('open', email, OWNER)).status).toBe(200);
    });
  }

  it('refuses a "new" password equal to the current one (auth_password_weak), through both doors', async () => {
    const email = fresh('open.test');
    await gw.seed({ tenants: [{ slug: 'open', name: 'Open', roles: ROLES, users: [{ email, password: OWNER, roles: ['member'] }] }] });
    for (const door of DOORS) {
      await gw.rest('POST', '/auth/password/forgot', { tenant: 'open', email });
      const message = await mail.waitFor((m) => m.to.includes(email) && /reset your password/.test(m.subject) && !used.has(m));
      used.add(message);
      const token = linkIn(message, '/reset-password').token!;
      if (door === 'rest') expectRestError(await gw.rest('POST', '/auth/password/reset', { token, password: OWNER }), 'resetPassword', 'auth_password_weak', 422);
      else expectGqlError(await gw.gql('mutation($i: ResetPasswordInput!) { resetPassword(input: $i) }', { i: { token, password: OWNER } }), 'resetPassword', 'auth_password_weak', 422);
    }
  });
});
const used = new Set<CaughtMail>();

describe('a reset of a verified account proves nothing new', () => {
  for (const door of DOORS) {
    it(`keeps the owner's passkeys, TOTP factor, recovery codes and Google links: the next sign-in still asks for the second factor (${door})`, async () => {
      const email = fresh('open.test');
      await gw.seed({ tenants: [{ slug: 'open', name: 'Open', roles: ROLES, users: [{ email, password: OWNER, roles: ['boss'] }] }] });
      const [{ id: userId, tenant_id: tenantId }] = await gw.sql('select u.id, u.tenant_id from users u join tenants t on t.id = u.tenant_id where t.slug = $1 and u.email = $2', ['open', email]);
      await plant(tenantId, userId, email);
      const counts = () =>
        gw.sql(
          `select (select count(*) from webauthn_credentials where user_id = $1)::int as passkeys,
                  (select count(*) from mfa_factors where user_id = $1 and status = 'active')::int as factors,
                  (select count(*) from mfa_recovery_codes where user_id = $1)::int as codes,
                  (select count(*) from external_identities where user_id = $1)::int as links`,
          [userId],
        );
      expect(await counts()).toEqual([{ passkeys: 1, factors: 1, codes: 1, links: 1 }]);
      const secondStep = async (password: string) => {
        const res = await login('open', email, password);
        expect(res.status, JSON.stringify(res.body)).toBe(401);
        expect(res.body.detail).toMatchObject({ code: 'auth_mfa_required', methods: ['totp', 'recovery_code'] });
      };
      await secondStep(OWNER);

      // Whoever reads the mailbox resets the password...
      const newPassword = 'mailbox reader chose this 7';
      const res = await resetThrough(door, await resetLinkFor(email), newPassword);
      expect(succeeded(door, res), JSON.stringify(res.body)).toBe(true);

      // ...and still meets the second factor: nothing of the owner's was dropped, no claim recorded.
      await secondStep(newPassword);
      expect(await counts()).toEqual([{ passkeys: 1, factors: 1, codes: 1, links: 1 }]);
      expect(await gw.sql("select 1 from audit_events where type = 'account_claimed' and user_id = $1", [userId])).toEqual([]);
    });
  }
});
