// TOTP multi-factor authentication through both doors: enrolment, the second sign-in step, replay and wrong-step refusal, the mfa token's life, recovery codes, disabling, and passkeys needing no code.
import { decodeJwt } from 'jose';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { SoftAuthenticator, UP, UV } from '../helpers/authenticator.js';
import { CLIENT_ID, FakeGoogle } from '../helpers/fake-google.js';
import { bearer, expectGqlError, expectRestError, registerPasskey, signIn, startTestGateway, type HttpResult, type TestGateway, DOORS, type Door } from '../helpers/gateway.js';

let gw: TestGateway;
// The same database behind a gateway that counts three wrong codes per account.
let strict: TestGateway;
let google: FakeGoogle;
// The services' clock: TOTP steps are 30 s, so the tests move it instead of waiting.
let clock = Date.now();
const PASSWORD = 'mfa user passphrase 1';
let n = 0;

beforeAll(async () => {
  google = await FakeGoogle.start();
  gw = await startTestGateway({ deps: { now: () => new Date(clock) }, env: { GOOGLE_CLIENT_IDS: CLIENT_ID, GOOGLE_CERTS_URL: google.url } });
  await gw.seed({ tenants: [{ slug: 'acme', name: 'Acme Corp', roles: [{ name: 'member', permissions: ['api_keys:create'] }], users: [] }] });
  strict = await startTestGateway({
    databaseUrl: gw.databaseUrl,
    deps: { now: () => new Date(clock) },
    env: { SECRET_KEY: gw.config.secretKey, RATE_LIMIT_ACCOUNT_FAILURES: '3', RATE_LIMIT_WINDOW_SECONDS: '600' },
  });
});
afterAll(async () => {
  await strict?.close();
  await gw?.close();
  await google?.close();
});

const nextStep = () => (clock += 30_000);

async function newUser(): Promise<{ email: string; at: string }> {
  const email = `mfa${n++}.${Date.now()}@acme.test`;
  await gw.seed({ tenants: [{ slug: 'acme', name: 'Acme Corp', roles: [{ name: 'member', permissions: ['api_keys:create'] }], users: [{ email, password: PASSWORD, roles: ['member'] }] }] });
  return { email, at: (await signIn(gw, { tenant: 'acme', email, password: PASSWORD })).access_token };
}

const codeFor = (secret: string, offsetSteps = 0) =>
  new TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secret) }).generate({ timestamp: clock + offsetSteps * 30_000 });

async function enroll(door: Door, at: string): Promise<{ secret: string; uri: string }> {
  if (door === 'rest') {
    const res = await gw.rest('POST', '/auth/mfa/totp/enroll', {}, bearer(at));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return { secret: res.body.secret, uri: res.body.otpauth_uri };
  }
  const res = await gw.gql('mutation { mfaTotpEnroll { secret otpauthUri } }', undefined, bearer(at));
  expect(res.body.errors, JSON.stringify(res.body)).toBeUndefined();
  return { secret: res.body.data.mfaTotpEnroll.secret, uri: res.body.data.mfaTotpEnroll.otpauthUri };
}
const activate = (door: Door, at: string, code: string) =>
  door === 'rest' ? gw.rest('POST', '/auth/mfa/totp/activate', { code }, bearer(at)) : gw.gql('mutation($c: String!) { mfaTotpActivate(code: $c) { recoveryCodes } }', { c: code }, bearer(at));
const codesOf = (res: HttpResult, door: Door): string[] => (door === 'rest' ? res.body.recovery_codes : res.body.data?.mfaTotpActivate?.recoveryCodes ?? res.body.data?.mfaRecoveryCodes?.recoveryCodes);

/** A user with an active factor: its secret and recovery codes. */
async function enrolled(door: Door = 'rest') {
  const user = await newUser();
  const { secret } = await enroll(door, user.at);
  const res = await activate(door, user.at, codeFor(secret));
  return { ...user, secret, codes: codesOf(res, door) };
}

/** Password sign-in of a user with a factor: the mfa token of auth_mfa_required. */
async function firstStep(door: Door, email: string): Promise<{ mfaToken: string; methods: string[] }> {
  if (door === 'rest') {
    const res = await gw.rest('POST', '/auth/login', { tenant: 'acme', email, password: PASSWORD });
    expectRestErrorMfa(res);
    return { mfaToken: res.body.detail.mfa_token, methods: res.body.detail.methods };
  }
  const res = await gw.gql('mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { i: { tenant: 'acme', email, password: PASSWORD } });
  expectGqlError(res, 'login', 'auth_mfa_required', 401);
  return { mfaToken: res.body.errors[0].extensions.mfaToken, methods: res.body.errors[0].extensions.methods };
}
function expectRestErrorMfa(res: HttpResult) {
  expect(res.status, JSON.stringify(res.body)).toBe(401);
  expect(res.headers.get('x-error-code')).toBe('auth_mfa_required');
  expect(Object.keys(res.body.detail).sort()).toEqual(['code', 'message', 'methods', 'mfa_token', 'status']);
}
const verify = (door: Door, input: { mfaToken: string; code?: string; recoveryCode?: string }) =>
  door === 'rest'
    ? gw.rest('POST', '/auth/mfa/verify', { mfa_token: input.mfaToken, ...(input.code ? { code: input.code } : {}), ...(input.recoveryCode ? { recovery_code: input.recoveryCode } : {}) })
    : gw.gql('mutation($i: MfaVerifyInput!) { verifyMfa(input: $i) { accessToken refreshToken } }', { i: input });
const tokensOf = (res: HttpResult, door: Door) => (door === 'rest' ? res.body.access_token : res.body.data?.verifyMfa?.accessToken);
function expectVerifyCode(res: HttpResult, door: Door, code: 'auth_mfa_code_invalid' | 'auth_mfa_token_invalid') {
  if (door === 'rest') expectRestError(res, 'verifyMfa', code, 401);
  else expectGqlError(res, 'verifyMfa', code, 401);
}

describe('enrolment', () => {
  for (const door of DOORS) {
    it(`enrols (secret, otpauth URI), activates with the first code, answers ten recovery codes; pending until then (${door})`, async () => {
      const user = await newUser();
      const { secret, uri } = await enroll(door, user.at);
      expect(Secret.fromBase32(secret).bytes.length).toBeGreaterThanOrEqual(20);
      expect(uri).toMatch(/^otpauth:\/\/totp\//);
      expect(new URL(uri).searchParams.get('secret')).toBe(secret);
      // Pending: the password still signs in directly.
      expect((await gw.rest('POST', '/auth/login', { tenant: 'acme', email: user.email, password: PASSWORD })).status).toBe(200);
      const wrong = await activate(door, user.at, codeFor(secret, 3));
      if (door === 'rest') expectRestError(wrong, 'mfaTotpActivate', 'auth_mfa_code_invalid', 401);
      else expectGqlError(wrong, 'mfaTotpActivate', 'auth_mfa_code_invalid', 401);
      const res = await activate(door, user.at, codeFor(secret));
      const codes = codesOf(res, door);
      expect(codes).toHaveLength(10);
      expect(new Set(codes).size).toBe(10);
      const again = await gw.rest('POST', '/auth/mfa/totp/enroll', {}, bearer(user.at));
      expectRestError(again, 'mfaTotpEnroll', 'auth_mfa_already_enrolled', 409);
      // The secret is stored sealed, the codes as keyed hashes.
      const [row] = await gw.sql('select f.secret from mfa_factors f join users u on u.id = f.user_id where u.email = $1', [user.email]);
      expect(row.secret).not.toContain(secret);
      expect(JSON.stringify(await gw.sql('select * from mfa_recovery_codes'))).not.toContain(codes[0]);
    });
  }

  it('refuses an API key, and a session without recent authentication', async () => {
    const user = await newUser();
    const key = (await gw.rest('POST', '/auth/api-key', { name: 'k' }, bearer(user.at))).body.api_key;
    expectRestError(await gw.rest('POST', '/auth/mfa/totp/enroll', {}, bearer(key)), 'mfaTotpEnroll', 'auth_forbidden', 403);
    expectGqlError(await gw.gql('mutation { mfaTotpEnroll { secret } }', undefined, { 'x-api-key': key }), 'mfaTotpEnroll', 'auth_forbidden', 403);
    clock += (gw.config.reauthMaxAge + 60) * 1000;
    expectRestError(await gw.rest('POST', '/auth/mfa/totp/enroll', {}, bearer(user.at)), 'mfaTotpEnroll', 'auth_reauthentication_required', 401);
  });
});

describe('a session that proved one factor, once a second is active', () => {
  it('cannot mint recovery codes, add a passkey or an API key, link Google, or disable the factor (both doors)', async () => {
    const user = await enrolled();
    const at = bearer(user.at);
    expectRestError(await gw.rest('POST', '/auth/mfa/recovery-codes', {}, at), 'mfaRecoveryCodes', 'auth_reauthentication_required', 401);
    expectGqlError(await gw.gql('mutation { mfaRecoveryCodes { recoveryCodes } }', undefined, at), 'mfaRecoveryCodes', 'auth_reauthentication_required', 401);
    expectRestError(await gw.rest('POST', '/auth/webauthn/register/options', {}, at), 'webauthnRegisterOptions', 'auth_reauthentication_required', 401);
    expectGqlError(await gw.gql('mutation { webauthnRegisterOptions }', undefined, at), 'webauthnRegisterOptions', 'auth_reauthentication_required', 401);
    expectRestError(await gw.rest('POST', '/auth/api-key', { name: 'k' }, at), 'createApiKey', 'auth_reauthentication_required', 401);
    expectGqlError(await gw.gql('mutation { createApiKey(input: { name: "k" }) { apiKey } }', undefined, at), 'createApiKey', 'auth_reauthentication_required', 401);
    expectRestError(await gw.rest('POST', '/auth/login/google/link', { id_token: await google.idToken({ sub: `g1-${Date.now()}`, hd: undefined }) }, at), 'linkGoogle', 'auth_reauthentication_required', 401);
    expectGqlError(
      await gw.gql('mutation($t: String!) { linkGoogle(input: { idToken: $t }) { id } }', { t: await google.idToken({ sub: `g2-${Date.now()}`, hd: undefined }) }, at),
      'linkGoogle',
      'auth_reauthentication_required',
      401,
    );
    expectGqlError(await gw.gql('mutation($c: String!) { mfaTotpDisable(code: $c) }', { c: codeFor(user.secret, 1) }, at), 'mfaTotpDisable', 'auth_reauthentication_required', 401);
    nextStep();
    expectRestError(await gw.rest('DELETE', '/auth/mfa/totp', { code: codeFor(user.secret) }, at), 'mfaTotpDisable', 'auth_reauthentication_required', 401);
    // Nothing was made: no codes changed, no key, no link; the factor stands.
    expect((await gw.sql('select count(*)::int as n from external_identities e join users u on u.id = e.user_id where u.email = $1', [user.email]))[0].n).toBe(0);
    expect((await gw.sql('select count(*)::int as n from api_keys k join users u on u.id = k.user_id where u.email = $1', [user.email]))[0].n).toBe(0);
    expect((await gw.sql("select f.status from mfa_factors f join users u on u.id = f.user_id where u.email = $1", [user.email]))[0].status).toBe('active');
    // After the second step the same operations work.
    const full = tokensOf(await verify('rest', { mfaToken: (await firstStep('rest', user.email)).mfaToken, code: codeFor(user.secret) }), 'rest');
    expect((await gw.rest('POST', '/auth/api-key', { name: 'k' }, bearer(full))).status).toBe(201);
    expect((await gw.rest('POST', '/auth/mfa/recovery-codes', {}, bearer(full))).status).toBe(200);
  });

  it('activating the factor ends the user\'s other sessions, keeping the one that activated it', async () => {
    const user = await newUser();
    const other = (await signIn(gw, { tenant: 'acme', email: user.email, password: PASSWORD })).refresh_token;
    const { secret } = await enroll('rest', user.at);
    expect((await activate('rest', user.at, codeFor(secret))).status).toBe(200);
    expectRestError(await gw.rest('POST', '/auth/refresh', { refresh_token: other }), 'refresh', 'auth_refresh_invalid', 401);
    expect((await gw.rest('GET', '/auth/sessions', undefined, bearer(user.at))).status).toBe(200);
    const [row] = await gw.sql("select count(*)::int as n from sessions s join users u on u.id = s.user_id where u.email = $1 and s.revoked_reason = 'mfa_enrolled'", [user.email]);
    expect(row.n).toBe(1);
  });

  it('wrong codes to activate or disable count against the account: then even the right code waits', async () => {
    const email = `mfa-strict${n++}.${Date.now()}@acme.test`;
    await gw.seed({ tenants: [{ slug: 'acme', name: 'Acme Corp', roles: [], users: [{ email, password: PASSWORD, roles: [] }] }] });
    const at = (await signIn(strict, { tenant: 'acme', email, password: PASSWORD })).access_token;
    const secret = (await strict.rest('POST', '/auth/mfa/totp/enroll', {}, bearer(at))).body.secret;
    for (let i = 0; i < 3; i++) expectRestError(await strict.rest('POST', '/auth/mfa/totp/activate', { code: codeFor(secret, 5 + i) }, bearer(at)), 'mfaTotpActivate', 'auth_mfa_code_invalid', 401);
    expectRestError(await strict.rest('POST', '/auth/mfa/totp/activate', { code: codeFor(secret) }, bearer(at)), 'mfaTotpActivate', 'auth_rate_limited', 429);
    expectGqlError(await strict.gql('mutation($c: String!) { mfaTotpActivate(code: $c) { recoveryCodes } }', { c: codeFor(secret) }, bearer(at)), 'mfaTotpActivate', 'auth_rate_limited', 429);
    expect((await gw.sql("select f.status from mfa_factors f join users u on u.id = f.user_id where u.email = $1", [email]))[0].status).toBe('pending');
    // Disabling: a user with both factors, signed in fully, guessing codes on the strict gateway.
    const user = await enrolled();
    nextStep();
    const first = await strict.rest('POST', '/auth/login', { tenant: 'acme', email: user.email, password: PASSWORD });
    const full = (await strict.rest('POST', '/auth/mfa/verify', { mfa_token: first.body.detail.mfa_token, code: codeFor(user.secret) })).body.access_token;
    nextStep();
    for (let i = 0; i < 3; i++) expectRestError(await strict.rest('DELETE', '/auth/mfa/totp', { code: codeFor(user.secret, 5 + i) }, bearer(full)), 'mfaTotpDisable', 'auth_mfa_code_invalid', 401);
    expectRestError(await strict.rest('DELETE', '/auth/mfa/totp', { code: codeFor(user.secret) }, bearer(full)), 'mfaTotpDisable', 'auth_rate_limited', 429);
    expectGqlError(await strict.gql('mutation($c: String!) { mfaTotpDisable(code: $c) }', { c: codeFor(user.secret) }, bearer(full)), 'mfaTotpDisable', 'auth_rate_limited', 429);
    expect((await gw.sql("select f.status from mfa_factors f join users u on u.id = f.user_id where u.email = $1", [user.email]))[0].status).toBe('active');
  });
});

describe('the second step', () => {
  for (const door of DOORS) {
    it(`a password sign-in asks for a code; verifyMfa answers tokens with amr pwd, otp, mfa and acr aal2; the mfa token is single-use (${door})`, async () => {
      const user = await enrolled();
      const { mfaToken, methods } = await firstStep(door, user.email);
      expect(methods).toEqual(['totp', 'recovery_code']);
      nextStep();
      const res = await verify(door, { mfaToken, code: codeFor(user.secret) });
      const claims = decodeJwt(tokensOf(res, door));
      expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
      expect(claims.acr).toBe('aal2');
      nextStep();
      expectVerifyCode(await verify(door, { mfaToken, code: codeFor(user.secret) }), door, 'auth_mfa_token_invalid');
      // A plain password sign-in of a user without a factor is aal1.
      expect(decodeJwt((await signIn(gw, { tenant: 'acme', email: (await newUser()).email, password: PASSWORD })).access_token).acr).toBe('aal1');
    });
  }

  it('a password changed between the two steps voids the mfa token of the old password', async () => {
    const user = await enrolled();
    const { mfaToken } = await firstStep('rest', user.email);
    // The enrolling session proved the password alone: a new password needs a session that used the factor.
    expectRestError(await gw.rest('POST', '/auth/password/change', { current_password: PASSWORD, new_password: 'a changed passphrase 55' }, bearer(user.at)), 'changePassword', 'auth_reauthentication_required', 401);
    nextStep();
    const both = tokensOf(await verify('rest', { mfaToken: (await firstStep('rest', user.email)).mfaToken, code: codeFor(user.secret) }), 'rest');
    const changed = await gw.rest('POST', '/auth/password/change', { current_password: PASSWORD, new_password: 'a changed passphrase 55' }, bearer(both));
    expect(changed.status, JSON.stringify(changed.body)).toBe(204);
    nextStep();
    for (const door of DOORS) expectVerifyCode(await verify(door, { mfaToken, code: codeFor(user.secret) }), door, 'auth_mfa_token_invalid');
  });

  for (const door of DOORS) {
    it(`refuses a replayed code, a code of the wrong step, an expired token, and spends the token after 5 wrong codes (${door})`, async () => {
      const user = await enrolled();
      nextStep();
      const used = codeFor(user.secret);
      const first = await firstStep(door, user.email);
      expect(tokensOf(await verify(door, { mfaToken: first.mfaToken, code: used }), door)).toBeTruthy();
      // The same code again, in a new sign-in: the step is taken.
      const second = await firstStep(door, user.email);
      expectVerifyCode(await verify(door, { mfaToken: second.mfaToken, code: used }), door, 'auth_mfa_code_invalid');
      expectVerifyCode(await verify(door, { mfaToken: second.mfaToken, code: codeFor(user.secret, 2) }), door, 'auth_mfa_code_invalid');
      expectVerifyCode(await verify(door, { mfaToken: second.mfaToken, code: codeFor(user.secret, -2) }), door, 'auth_mfa_code_invalid');
      // Two more wrong ones make five; then even the right code finds the token spent.
      for (let i = 0; i < 2; i++) expectVerifyCode(await verify(door, { mfaToken: second.mfaToken, code: '000000' }), door, 'auth_mfa_code_invalid');
      nextStep();
      expectVerifyCode(await verify(door, { mfaToken: second.mfaToken, code: codeFor(user.secret) }), door, 'auth_mfa_token_invalid');
      // An expired token (300 s).
      const third = await firstStep(door, user.email);
      clock += 301_000;
      expectVerifyCode(await verify(door, { mfaToken: third.mfaToken, code: codeFor(user.secret) }), door, 'auth_mfa_token_invalid');
      expectVerifyCode(await verify(door, { mfaToken: 'A'.repeat(43), code: codeFor(user.secret) }), door, 'auth_mfa_token_invalid');
    });
  }

  for (const door of DOORS) {
    it(`a recovery code works once, is audited and mailed; new codes void the old set (${door})`, async () => {
      const user = await enrolled();
      const [one, two] = user.codes;
      const a = await firstStep(door, user.email);
      expect(tokensOf(await verify(door, { mfaToken: a.mfaToken, recoveryCode: one.toUpperCase() }), door)).toBeTruthy();
      const b = await firstStep(door, user.email);
      expectVerifyCode(await verify(door, { mfaToken: b.mfaToken, recoveryCode: one }), door, 'auth_mfa_code_invalid');
      const [audit] = await gw.sql("select details from audit_events a join users u on u.id = a.user_id where a.type = 'mfa_recovery_code_used' and u.email = $1", [user.email]);
      expect(audit.details.left).toBe(9);
      expect((await gw.sql("select count(*)::int as n from mail_outbox where kind = 'recovery_code_used'"))[0].n).toBeGreaterThan(0);
      // Regenerated: the old two no longer work, a new one does.
      const session = tokensOf(await verify('rest', { mfaToken: (await firstStep('rest', user.email)).mfaToken, recoveryCode: user.codes[2] }), 'rest');
      const fresh = door === 'rest'
        ? (await gw.rest('POST', '/auth/mfa/recovery-codes', {}, bearer(session))).body.recovery_codes
        : (await gw.gql('mutation { mfaRecoveryCodes { recoveryCodes } }', undefined, bearer(session))).body.data.mfaRecoveryCodes.recoveryCodes;
      expect(fresh).toHaveLength(10);
      expectVerifyCode(await verify(door, { mfaToken: b.mfaToken, recoveryCode: two }), door, 'auth_mfa_code_invalid');
      expect(tokensOf(await verify(door, { mfaToken: b.mfaToken, recoveryCode: fresh[0] }), door)).toBeTruthy();
    });
  }

  it('a Google sign-in asks for the second step too, and keeps fed in amr', async () => {
    const user = await enrolled();
    // Google owns the address only for a matching hd: link the account explicitly first.
    const sub = `g${Date.now()}`;
    const fresh = tokensOf(await verify('rest', { mfaToken: (await firstStep('rest', user.email)).mfaToken, code: codeFor(user.secret, 1) }), 'rest');
    expect((await gw.rest('POST', '/auth/login/google/link', { id_token: await google.idToken({ sub, hd: undefined }) }, bearer(fresh))).status).toBe(201);
    for (const door of DOORS) {
      const idToken = await google.idToken({ sub, hd: undefined });
      const res =
        door === 'rest'
          ? await gw.rest('POST', '/auth/login/google', { tenant: 'acme', id_token: idToken })
          : await gw.gql('mutation($i: GoogleLoginInput!) { loginWithGoogle(input: $i) { accessToken } }', { i: { tenant: 'acme', idToken } });
      const mfaToken = door === 'rest' ? res.body.detail.mfa_token : res.body.errors[0].extensions.mfaToken;
      if (door === 'rest') expect(res.body.detail.code).toBe('auth_mfa_required');
      else expectGqlError(res, 'loginWithGoogle', 'auth_mfa_required', 401);
      clock += 60_000;
      const claims = decodeJwt(tokensOf(await verify(door, { mfaToken, code: codeFor(user.secret) }), door));
      expect(claims.amr).toEqual(['fed', 'otp', 'mfa']);
      expect(claims.acr).toBe('aal2');
    }
  });

  it('a passkey sign-in never asks for a code', async () => {
    const user = await enrolled();
    nextStep();
    const at = tokensOf(await verify('rest', { mfaToken: (await firstStep('rest', user.email)).mfaToken, code: codeFor(user.secret) }), 'rest');
    const auth = new SoftAuthenticator();
    await registerPasskey(gw, auth, at);
    const options = (await gw.rest('POST', '/auth/webauthn/login/options', { tenant: 'acme', email: user.email })).body;
    const res = await gw.rest('POST', '/auth/webauthn/login/verify', { tenant: 'acme', response: auth.get(options) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(decodeJwt(res.body.access_token).acr).toBe('aal2');
  });
});

describe('disabling', () => {
  for (const door of DOORS) {
    it(`needs recent authentication and a current code; then the password signs in directly (${door})`, async () => {
      const user = await enrolled();
      const disable = (at: string, code: string) =>
        door === 'rest' ? gw.rest('DELETE', '/auth/mfa/totp', { code }, bearer(at)) : gw.gql('mutation($c: String!) { mfaTotpDisable(code: $c) }', { c: code }, bearer(at));
      const expectCode = (res: HttpResult, code: Parameters<typeof expectRestError>[2], status: number) =>
        door === 'rest' ? expectRestError(res, 'mfaTotpDisable', code, status) : expectGqlError(res, 'mfaTotpDisable', code, status);
      nextStep();
      // The session that enrolled proved one factor only: it cannot take the second away.
      expectCode(await disable(user.at, codeFor(user.secret)), 'auth_reauthentication_required', 401);
      const stale = tokensOf(await verify('rest', { mfaToken: (await firstStep('rest', user.email)).mfaToken, code: codeFor(user.secret) }), 'rest');
      expectCode(await disable(stale, '123456'), 'auth_mfa_code_invalid', 401);
      clock += (gw.config.reauthMaxAge + 60) * 1000;
      expectCode(await disable(stale, codeFor(user.secret)), 'auth_reauthentication_required', 401);
      nextStep();
      const fresh = tokensOf(await verify('rest', { mfaToken: (await firstStep('rest', user.email)).mfaToken, code: codeFor(user.secret) }), 'rest');
      nextStep();
      const res = await disable(fresh, codeFor(user.secret));
      if (door === 'rest') expect(res.status).toBe(204);
      else expect(res.body.data.mfaTotpDisable).toBe(true);
      expect((await gw.rest('POST', '/auth/login', { tenant: 'acme', email: user.email, password: PASSWORD })).status).toBe(200);
      expectCode(await disable(fresh, codeFor(user.secret)), 'auth_mfa_not_enrolled', 409);
    });
  }
});

describe('the tenant policy mfa_required_roles', () => {
  it('a holder of such a role without a factor gets aal1 tokens that can only enrol; two factors give the full permissions', async () => {
    const email = `owner${Date.now()}@policy.test`;
    await gw.seed({
      tenants: [
        {
          slug: 'policy',
          name: 'Policy Co',
          mfa_required_roles: ['owner'],
          roles: [{ name: 'owner', permissions: ['api_keys:create', 'users:read'] }],
          users: [{ email, password: PASSWORD, roles: ['owner'] }],
        },
      ],
    });
    const s = await signIn(gw, { tenant: 'policy', email, password: PASSWORD });
    const claims = decodeJwt(s.access_token);
    expect(claims.acr).toBe('aal1');
    expect(claims.permissions).toEqual(['mfa:enroll']);
    expect(s.user.permissions).toEqual(['mfa:enroll']);
    expect((await gw.rest('GET', '/auth/me', undefined, bearer(s.access_token))).body.mfa_required).toBe(true);
    expect((await gw.gql('{ me { mfaRequired permissions } }', undefined, bearer(s.access_token))).body.data.me).toEqual({ mfaRequired: true, permissions: ['mfa:enroll'] });
    // Not even what the database grants the role: the token can only enrol.
    expectRestError(await gw.rest('POST', '/auth/api-key', { name: 'k' }, bearer(s.access_token)), 'createApiKey', 'auth_forbidden', 403);
    const { secret } = await enroll('rest', s.access_token);
    expect((await activate('rest', s.access_token, codeFor(secret))).status).toBe(200);
    // A refresh keeps the one-factor proof; a new sign-in with the second step lifts it.
    expect(decodeJwt((await gw.rest('POST', '/auth/refresh', { refresh_token: s.refresh_token })).body.access_token).permissions).toEqual(['mfa:enroll']);
    const res = await gw.rest('POST', '/auth/login', { tenant: 'policy', email, password: PASSWORD });
    expect(res.body.detail.code).toBe('auth_mfa_required');
    nextStep();
    const full = await gw.rest('POST', '/auth/mfa/verify', { mfa_token: res.body.detail.mfa_token, code: codeFor(secret) });
    expect(decodeJwt(full.body.access_token)).toMatchObject({ acr: 'aal2', permissions: ['api_keys:create', 'users:read'] });
    expect(full.body.user.mfa_required).toBe(false);
    expect((await gw.rest('POST', '/auth/api-key', { name: 'k' }, bearer(full.body.access_token))).status).toBe(201);
  });
});

describe('mfa_required_roles holds at every permission check (SPEC §15)', () => {
  it('a role made MFA-required after sign-in restricts the live session at once: no management, no roles, me says so; keys of a user without a factor get nothing', async () => {
    const email = `late${Date.now()}@late.test`;
    const tenant = (required: string[]) => ({
      slug: 'late',
      name: 'Late Co',
      mfa_required_roles: required,
      roles: [{ name: 'owner', permissions: ['api_keys:create', 'users:read'] }],
      users: [{ email, password: PASSWORD, roles: ['owner'] }],
    });
    await gw.seed({ tenants: [tenant([])] });
    const s = await signIn(gw, { tenant: 'late', email, password: PASSWORD });
    expect(s.user.roles).toEqual(['owner']);
    const key = (await gw.rest('POST', '/auth/api-key', { name: 'before the policy' }, bearer(s.access_token))).body.api_key;
    const USERS = '{ users(first: 1) { edges { node { id } } } }';
    expect((await gw.gql(USERS, undefined, bearer(s.access_token))).body.errors).toBeUndefined();

    await gw.seed({ tenants: [tenant(['owner'])] });
    // The token still claims everything; the database decides.
    expect(decodeJwt(s.access_token).permissions).toEqual(['api_keys:create', 'users:read']);
    expect((await gw.rest('GET', '/auth/me', undefined, bearer(s.access_token))).body).toMatchObject({ roles: [], permissions: ['mfa:enroll'], mfa_required: true });
    expect((await gw.gql('{ me { roles permissions mfaRequired } }', undefined, bearer(s.access_token))).body.data.me).toEqual({ roles: [], permissions: ['mfa:enroll'], mfaRequired: true });
    expectGqlError(await gw.gql(USERS, undefined, bearer(s.access_token)), 'users', 'auth_forbidden', 403);
    expectRestError(await gw.rest('POST', '/auth/api-key', { name: 'k' }, bearer(s.access_token)), 'createApiKey', 'auth_forbidden', 403);
    // Its refreshed tokens carry no role a downstream service could authorise by.
    const refreshed = decodeJwt((await gw.rest('POST', '/auth/refresh', { refresh_token: s.refresh_token })).body.access_token);
    expect(refreshed).toMatchObject({ roles: [], permissions: ['mfa:enroll'], mfa_required: true, acr: 'aal1' });
    // A key minted with one factor cannot take the second step: it gets nothing until a factor is active.
    expect((await gw.rest('GET', '/auth/me', undefined, { 'x-api-key': key })).body).toMatchObject({ permissions: [], mfa_required: true });
    expectGqlError(await gw.gql(USERS, undefined, { 'x-api-key': key }), 'users', 'auth_forbidden', 403);
  });
});

describe('a refused second step consumes nothing (SPEC §15)', () => {
  for (const kind of ['code', 'recoveryCode'] as const) {
    it(`a disabled user's ${kind === 'code' ? 'TOTP step' : 'recovery code'} is still unused once they are enabled again`, async () => {
      const user = await enrolled();
      nextStep();
      const input = (mfaToken: string) => (kind === 'code' ? { mfaToken, code: codeFor(user.secret) } : { mfaToken, recoveryCode: user.codes[0] });
      const { mfaToken } = await firstStep('rest', user.email);
      await gw.sql('update users set disabled = true where email = $1', [user.email]);
      expectRestError(await verify('rest', input(mfaToken)), 'verifyMfa', 'auth_login_account_disabled', 403);
      await gw.sql('update users set disabled = false where email = $1', [user.email]);
      const again = await verify('rest', input((await firstStep('rest', user.email)).mfaToken));
      expect(again.status, JSON.stringify(again.body)).toBe(200);
    });
  }

  for (const door of DOORS) {
    it(`a database fault while the session starts leaves the TOTP step unused (${door})`, async () => {
      const user = await enrolled();
      nextStep();
      const { mfaToken } = await firstStep(door, user.email);
      // The user's row held by another transaction past the statement timeout: the session
      // statement (which reads the row FOR SHARE) fails with the database's timeout.
      const holder = new pg.Client({ connectionString: gw.databaseUrl });
      await holder.connect();
      try {
        await holder.query('begin');
        await holder.query('select 1 from users where email = $1 for update', [user.email]);
        const res = await verify(door, { mfaToken, code: codeFor(user.secret) });
        if (door === 'rest') expectRestError(res, 'verifyMfa', 'auth_mfa_db_error', 503);
        else expectGqlError(res, 'verifyMfa', 'auth_mfa_db_error', 503);
      } finally {
        await holder.query('rollback');
        await holder.end();
      }
      const again = await verify(door, { mfaToken: (await firstStep(door, user.email)).mfaToken, code: codeFor(user.secret) });
      expect(tokensOf(again, door), JSON.stringify(again.body)).toBeTruthy();
    });
  }
});

describe('pending second steps are bounded (SPEC §15)', () => {
  it('at most 10 unexpired mfa tokens per user: the 11th voids the oldest', async () => {
    const user = await enrolled();
    const tokens: string[] = [];
    for (let i = 0; i < 11; i++) {
      clock += 1;
      tokens.push((await firstStep('rest', user.email)).mfaToken);
    }
    const [{ n: pending }] = await gw.sql('select count(*)::int as n from mfa_challenges c join users u on u.id = c.user_id where u.email = $1', [user.email]);
    expect(pending).toBe(10);
    nextStep();
    expectVerifyCode(await verify('rest', { mfaToken: tokens[0], code: codeFor(user.secret) }), 'rest', 'auth_mfa_token_invalid');
    expect((await verify('rest', { mfaToken: tokens[10], code: codeFor(user.secret) })).status).toBe(200);
  });
});

describe('API keys made before the factor (SPEC §15)', () => {
  for (const door of DOORS) {
    it(`activation lists them and mails the owner; revokeApiKeys ends them in one call, all or none (${door})`, async () => {
      const user = await newUser();
      const made = await Promise.all(['ci', 'laptop'].map(async (name) => (await gw.rest('POST', '/auth/api-key', { name }, bearer(user.at))).body));
      const { secret } = await enroll(door, user.at);
      const res =
        door === 'rest'
          ? await gw.rest('POST', '/auth/mfa/totp/activate', { code: codeFor(secret) }, bearer(user.at))
          : await gw.gql('mutation($c: String!) { mfaTotpActivate(code: $c) { recoveryCodes apiKeysBeforeFactor { id name prefix } } }', { c: codeFor(secret) }, bearer(user.at));
      const listed = door === 'rest' ? res.body.api_keys_before_factor : res.body.data.mfaTotpActivate.apiKeysBeforeFactor;
      expect(listed.map((k: { id: string }) => k.id).sort()).toEqual(made.map((k) => k.id).sort());
      expect(listed.map((k: { prefix: string }) => k.prefix).sort()).toEqual(made.map((k) => k.prefix).sort());
      const [mailRow] = await gw.sql("select count(*)::int as n from mail_outbox where kind = 'mfa_enrolled' and created_at > now() - interval '1 minute'");
      expect(mailRow.n).toBeGreaterThan(0);

      nextStep();
      const aal2 = tokensOf(await verify('rest', { mfaToken: (await firstStep('rest', user.email)).mfaToken, code: codeFor(secret) }), 'rest');
      const revoke = (ids: string[]) =>
        door === 'rest' ? gw.rest('POST', '/auth/api-keys/revoke', { ids }, bearer(aal2)) : gw.gql('mutation($ids: [ID!]!) { revokeApiKeys(ids: $ids) }', { ids }, bearer(aal2));
      // Someone else's key in the list: nothing is revoked.
      const other = await newUser();
      const theirs = (await gw.rest('POST', '/auth/api-key', { name: 'theirs' }, bearer(other.at))).body;
      const refused = await revoke([made[0].id, theirs.id]);
      if (door === 'rest') expectRestError(refused, 'revokeApiKeys', 'auth_api_key_not_found', 404);
      else expectGqlError(refused, 'revokeApiKeys', 'auth_api_key_not_found', 404);
      expect((await gw.rest('GET', '/auth/me', undefined, { 'x-api-key': made[0].api_key })).status).toBe(200);
      const done = await revoke(made.map((k) => k.id.toUpperCase()));
      expect(door === 'rest' ? done.body : done.body.data.revokeApiKeys).toEqual(door === 'rest' ? { revoked: 2 } : 2);
      for (const k of made) expectRestError(await gw.rest('GET', '/auth/me', undefined, { 'x-api-key': k.api_key }), 'me', 'auth_api_key_invalid', 401);
      expect((await gw.rest('GET', '/auth/me', undefined, { 'x-api-key': theirs.api_key })).status).toBe(200);
      const listedNow = await gw.rest('POST', '/auth/mfa/recovery-codes', {}, bearer(aal2));
      expect(listedNow.body.api_keys_before_factor).toEqual([]);
    });
  }
});

describe('a passkey without user verification is one factor (SPEC §15)', () => {
  for (const door of DOORS) {
    it(`a user with TOTP takes the second step after it; with user verification they do not (${door})`, async () => {
      const lenient = await startTestGateway({
        databaseUrl: gw.databaseUrl,
        deps: { now: () => new Date(clock) },
        env: { SECRET_KEY: gw.config.secretKey, WEBAUTHN_USER_VERIFICATION: 'preferred' },
      });
      try {
        const user = await enrolled();
        nextStep();
        // Signed in with both factors on this gateway (each gateway signs with its own key).
        const first = await lenient.rest('POST', '/auth/login', { tenant: 'acme', email: user.email, password: PASSWORD });
        const at = (await lenient.rest('POST', '/auth/mfa/verify', { mfa_token: first.body.detail.mfa_token, code: codeFor(user.secret) })).body.access_token;
        const auth = new SoftAuthenticator();
        await registerPasskey(lenient, auth, at);
        const login = async (flags: number) => {
          const options = (await lenient.rest('POST', '/auth/webauthn/login/options', { tenant: 'acme', email: user.email })).body;
          const response = auth.get(options, { flags });
          return door === 'rest'
            ? lenient.rest('POST', '/auth/webauthn/login/verify', { tenant: 'acme', response })
            : lenient.gql('mutation($i: WebauthnLoginVerifyInput!) { webauthnLoginVerify(input: $i) { accessToken } }', { i: { tenant: 'acme', response } });
        };
        const res = await login(UP);
        let mfaToken: string;
        if (door === 'rest') {
          expectRestErrorMfa(res);
          mfaToken = res.body.detail.mfa_token;
        } else {
          expectGqlError(res, 'webauthnLoginVerify', 'auth_mfa_required', 401);
          mfaToken = res.body.errors[0].extensions.mfaToken;
        }
        nextStep();
        const second = await lenient.rest('POST', '/auth/mfa/verify', { mfa_token: mfaToken, code: codeFor(user.secret) });
        expect(decodeJwt(second.body.access_token)).toMatchObject({ amr: ['hwk', 'otp', 'mfa'], acr: 'aal2', auth_method: 'webauthn' });
        const verified = await login(UP | UV);
        const token = door === 'rest' ? verified.body.access_token : verified.body.data.webauthnLoginVerify.accessToken;
        expect(decodeJwt(token).acr).toBe('aal2');
      } finally {
        await lenient.close();
      }
    });
  }
});
