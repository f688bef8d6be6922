// The /demo sign-in page in real headless Chromium with a CDP virtual authenticator: password, passkey registration, passkey sign-in with and without e-mail, me, errors as the API returned them;
// and the account lifecycle through the mail: sign-up, the verification link's page (which spends its token only when its button is pressed), forgot password, the reset link's page, change password;
// and two-factor sign-in: TOTP enrolment with its QR code, activation, the code prompt at sign-in, recovery codes, disabling.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { Secret, TOTP } from 'otpauth';
import { chromium, type Browser, type Page } from 'playwright-core';
import { decodeQR } from 'qr/decode.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalog, type ErrorCode } from '../../src/errors/catalog.js';
import { PASSWORD_WORDS, USER_WORDS } from '../../src/demo/words.js';
import { ACME, freePort, requestJson, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { linkIn, MailCatcher, type CaughtMail } from '../helpers/mail-catcher.js';
import { TestIdp } from '../helpers/oidc-idp.js';
import { LocalSamlIdp } from '../../scripts/local-saml-idp.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = 'test/artifacts';

let gw: TestGateway;
let mail: MailCatcher;
let browser: Browser;
let origin: string;
let idp: TestIdp;
let samlIdp: LocalSamlIdp;

/** A tenant that admits anyone's sign-up, with a default role for the new accounts. */
const OPEN = { slug: 'open', name: 'Open Co', signup: 'open' as const, default_roles: ['member'], roles: [{ name: 'member', permissions: ['users:read'] }] };

/** A tenant whose one user turns two-factor sign-in on and off on the page. */
const TWO_FACTOR = {
  slug: 'twofactor',
  name: 'Two Factor Co',
  roles: [{ name: 'member', permissions: ['users:read'] }],
  users: [{ email: 'tia@twofactor.test', password: 'violet anchor meadow 52', roles: ['member'] }],
};

/** A tenant whose administrator invites people, who accept on the invitation link's page. */
const INVITING = {
  slug: 'inviting',
  name: 'Inviting Co',
  roles: [
    { name: 'admin', permissions: ['users:read', 'users:manage'] },
    { name: 'reader', permissions: ['users:read'] },
  ],
  users: [{ email: 'ina@inviting.test', password: 'copper lantern meadow 18', roles: ['admin'] }],
};

/**
 * The TOTP code of `secret` for the time step `offset` steps from now (the gateway accepts one
 * step either side, each step once and only after the last accepted one). In the last 2 s of a
 * step it first waits for the next, so the gateway checks the code in the step it was made in.
 */
async function totpCode(secret: string, offset: -1 | 0 | 1): Promise<string> {
  const left = 30_000 - (Date.now() % 30_000);
  if (left < 2_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
  return new TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secret) }).generate({ timestamp: Date.now() + offset * 30_000 });
}

/** The page's error line for `code`: the words for people (src/demo/words.ts, else the catalog's message), what to fix, then the code, small. */
const shown = (code: ErrorCode, remedy = '') => `${USER_WORDS[code] ?? catalog[code].message}${remedy} ${code}`;
const weak = (rule: keyof typeof PASSWORD_WORDS) => shown('auth_password_weak', ` It cannot be used because ${PASSWORD_WORDS[rule]}.`);

// .ci/run installs Debian's chromium when it is missing; elsewhere this file needs it too.
describe.runIf(existsSync(CHROMIUM))('demo page in Chromium', () => {
  beforeAll(async () => {
    const port = await freePort();
    origin = `http://localhost:${port}`;
    mail = await MailCatcher.start();
    idp = await TestIdp.start(`${origin}/auth/sso/oidc/callback`);
    samlIdp = await LocalSamlIdp.start();
    gw = await startTestGateway({
      port,
      env: { WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: origin, SMTP_URL: mail.url, MAIL_POLL_INTERVAL_MS: '50', APP_URL: `${origin}/demo`, PUBLIC_URL: origin },
    });
    // A tenant whose people sign in through their organisation's OpenID Provider.
    const corp = {
      slug: 'corp',
      name: 'Corp',
      redirect_urls: [`${origin}/demo`],
      roles: [{ name: 'member', permissions: ['users:read'] }],
      sso_connections: [
        { name: 'corp-idp', type: 'oidc', domains: ['corp.test'], issuer: idp.issuer, client_id: idp.clientId, client_secret: idp.clientSecret, jit: true, default_roles: ['member'] },
        // And those of a subsidiary through its SAML IdP.
        { name: 'sub-saml', type: 'saml', domains: ['sub.corp.test'], idp_metadata: samlIdp.metadata(), jit: true, default_roles: ['member'] },
      ],
    };
    await gw.seed({ tenants: [...ACME.tenants, OPEN, TWO_FACTOR, INVITING, corp] } as never);
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await mail?.close();
    await idp?.close();
    await samlIdp?.close();
  });

  async function openPage(url: string): Promise<Page> {
    const page = await browser.newPage();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    await page.goto(url);
    return page;
  }

  const fill = async (page: Page, tenant: string, email: string, password = '') => {
    await page.fill('#tenant', tenant);
    await page.fill('#email', email);
    await page.fill('#password', password);
  };

  it('signs in with a password, registers a passkey, logs out, signs in with it with and without an e-mail, and shows me', async () => {
    const page = await openPage(`${origin}/demo`);
    await fill(page, 'acme', 'ada@acme.test', 'correct horse battery');
    await page.click('#login');
    await expect.poll(() => page.textContent('#who')).toContain('Signed in as ada@acme.test in acme');

    await page.click('#register');
    await expect.poll(() => page.textContent('#notice')).toContain('Passkey registered');
    expect(await page.textContent('#error')).toBe('');

    await page.click('#logout');
    await expect.poll(() => page.textContent('#who')).toBe('Signed out');

    await page.fill('#password', '');
    await page.click('#passkey-email');
    await expect.poll(() => page.textContent('#who')).toContain('Signed in as ada@acme.test');
    await page.click('#me');
    await expect.poll(() => page.textContent('#me-out')).toContain('"auth_method": "webauthn"');
    await page.screenshot({ path: `${ARTIFACTS}/demo-signed-in-passkey.png`, fullPage: true });

    await page.click('#logout');
    await page.fill('#email', '');
    await page.click('#passkey-discoverable');
    await expect.poll(() => page.textContent('#who')).toContain('Signed in as ada@acme.test');
    await page.click('#refresh');
    await expect.poll(() => page.textContent('#notice')).toContain('Tokens refreshed');
    await page.click('#me');
    await expect.poll(() => page.textContent('#me-out')).toContain('"email": "ada@acme.test"');
    await page.screenshot({ path: `${ARTIFACTS}/demo-signed-in-discoverable.png`, fullPage: true });
    await page.close();
  }, 60_000);

  it('lists the account\'s sessions and ends one, then this one, from "Your sessions"', async () => {
    // Another device's session: a sign-in over the API.
    const other = await gw.rest('POST', '/auth/login', { tenant: 'acme', email: 'ada@acme.test', password: 'correct horse battery' }, { 'user-agent': 'Other Device/1.0' });
    expect(other.status).toBe(200);
    const page = await openPage(`${origin}/demo`);
    await fill(page, 'acme', 'ada@acme.test', 'correct horse battery');
    await page.click('#login');
    await expect.poll(() => page.textContent('#who')).toContain('Signed in as ada@acme.test');
    await page.click('#sessions-show');
    await expect.poll(() => page.textContent('#sessions-list')).toContain('Other Device/1.0');
    expect(await page.textContent('#sessions-list')).toContain('this session');
    await page.screenshot({ path: `${ARTIFACTS}/demo-sessions.png`, fullPage: true });

    // End the other device's session: its refresh token stops working.
    await page.click('#sessions-list li:has-text("Other Device/1.0") button');
    await expect.poll(() => page.textContent('#notice')).toBe('Session ended.');
    expect((await gw.rest('POST', '/auth/refresh', { refresh_token: other.body.refresh_token })).status).toBe(401);
    await expect.poll(() => page.textContent('#sessions-list')).not.toContain('Other Device/1.0');

    // End this one: the page is signed out.
    await page.click('#sessions-list li:has-text("this session") button');
    await expect.poll(() => page.textContent('#who')).toBe('Signed out');
    expect(await page.textContent('#notice')).toBe('This session has ended; you are signed out.');
    expect(await page.textContent('#error')).toBe('');
    await page.close();
  }, 30_000);

  it('shows a wrong password in words a person understands, with the code small beside them', async () => {
    const page = await openPage(`${origin}/demo`);
    await fill(page, 'acme', 'ada@acme.test', 'wrong password');
    await page.click('#login');
    await expect.poll(() => page.textContent('#error .says')).toBe(USER_WORDS.auth_login_invalid_credentials);
    expect(await page.textContent('#error small.code')).toBe('auth_login_invalid_credentials');
    expect(await page.textContent('#error')).toBe(shown('auth_login_invalid_credentials'));
    // Smaller than the words: for developers, not in the way.
    const size = (sel: string) => page.$eval(sel, (e) => parseFloat(getComputedStyle(e).fontSize));
    expect(await size('#error small.code')).toBeLessThan(await size('#error .says'));
    expect(await page.getAttribute('#error', 'role')).toBe('alert');
    await page.screenshot({ path: `${ARTIFACTS}/demo-wrong-password.png`, fullPage: true });
    await page.close();
  }, 30_000);

  it('fails a passkey ceremony whose origin is not the relying party\'s with auth_webauthn_verification_failed', async () => {
    // The same database, a gateway that expects another origin than the one the browser is on.
    const port = await freePort();
    const other = await startTestGateway({ port, databaseUrl: gw.databaseUrl, env: { WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: 'https://app.example' } });
    try {
      const page = await openPage(`http://localhost:${port}/demo`);
      await fill(page, 'acme', 'ada@acme.test', 'correct horse battery');
      await page.click('#login');
      await expect.poll(() => page.textContent('#who')).toContain('Signed in');
      await page.click('#register');
      await expect.poll(() => page.textContent('#error')).toBe(shown('auth_webauthn_verification_failed'));
      await page.close();
    } finally {
      await other.close();
    }
  }, 60_000);

  /** The next mail to `to` whose subject matches, other than those in `seen`. */
  const mailTo = (to: string, subject: RegExp, seen: CaughtMail[] = []) => mail.waitFor((m) => m.to.includes(to) && subject.test(m.subject) && !seen.includes(m), 5000);

  /** Opens a mailed link as a browser would; answers the page, the document's response, and the Referer its script was fetched with. */
  async function openLink(page: Page, url: string) {
    const script = page.waitForRequest((r) => r.url() === `${origin}/demo/link.js`, { timeout: 5000 });
    const response = await page.goto(url);
    const referer = (await (await script).allHeaders()).referer;
    return { response: response!, referer };
  }

  const signInOnPage = async (page: Page, tenant: string, email: string, password: string) => {
    await fill(page, tenant, email, password);
    await page.click('#login');
  };

  it('signs up, is refused until verified, follows the mailed link to verify, signs in, changes the password, and resets a forgotten one through its mailed link', async () => {
    const email = `newcomer-${randomBytes(4).toString('hex')}@open.test`;
    const first = 'plum orbit kettle 41';
    const changed = 'amber comet lattice 77';
    const reset = 'quiet harbour violin 09';
    const page = await openPage(`${origin}/demo`);

    // Sign-up: 202, then the page says to check the mail.
    await page.fill('#signup-tenant', 'open');
    await page.fill('#signup-email', email);
    await page.fill('#signup-password', first);
    await page.click('#signup');
    await expect.poll(() => page.textContent('#notice')).toContain('Check your mail');
    expect(await page.textContent('#error')).toBe('');
    // The answer stands beside the form that asked, not at the top of the page.
    const formOf = (id: string) => page.evaluate((i) => document.getElementById(i)?.closest('fieldset')?.querySelector('legend')?.textContent, id);
    expect([await formOf('notice'), await formOf('error')]).toEqual(['Sign up', 'Sign up']);
    expect(await page.inputValue('#signup-password')).toBe('');
    const voided = await mailTo(email, /confirm your e-mail address/);

    // The right password before the address is verified.
    await signInOnPage(page, 'open', email, first);
    await expect.poll(() => page.textContent('#error')).toBe(shown('auth_email_not_verified'));
    expect(await page.textContent('#who')).toBe('Signed out');
    await page.screenshot({ path: `${ARTIFACTS}/demo-not-verified.png`, fullPage: true });

    // A new verification mail voids the first link.
    await page.click('#resend');
    await expect.poll(() => page.textContent('#notice')).toContain('Check your mail');
    const latest = await mailTo(email, /confirm your e-mail address/, [voided]);
    const link = linkIn(latest, '/verify-email');
    expect(link.url.startsWith(`${origin}/demo/verify-email?token=`)).toBe(true);

    // The replaced link says so when it opens, offers a new one, and has no button that would fail.
    await openLink(page, linkIn(voided, '/verify-email').url);
    await expect.poll(() => page.textContent('#link-state')).toBe('This link was already used, or a newer mail replaced it. If your address is confirmed, just sign in. You can ask for a new one below.');
    expect(await page.isVisible('#verify')).toBe(false);
    expect(await page.isVisible('#renew-form')).toBe(true);
    expect(await page.inputValue('#renew-tenant')).toBe('');

    // The real link from the mail: the page drops the token from the address bar at once, and verifies when its button is pressed.
    const { response, referer } = await openLink(page, link.url);
    expect(response.status()).toBe(200);
    const headers = response.headers();
    expect(headers['referrer-policy']).toBe('no-referrer');
    expect(headers['content-security-policy']).toContain("script-src 'self'");
    expect(headers['content-security-policy']).toContain("form-action 'none'");
    expect(headers['cache-control']).toBe('no-store');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(referer).toBeUndefined();
    await page.click('#verify');
    await expect.poll(() => page.textContent('#notice')).toBe('Address verified, you can sign in.');
    expect(await page.textContent('#error')).toBe('');
    expect(await page.isVisible('#verify')).toBe(false);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('notice');
    expect(page.url()).toBe(`${origin}/demo/verify-email`);
    expect(await page.evaluate(() => history.length)).toBe(4); // about:blank, /demo, the voided link's page, this one: each without its token
    await page.screenshot({ path: `${ARTIFACTS}/demo-verified.png`, fullPage: true });
    // The page's own request is logged as served, without its query string (the token).
    const pageLines = gw.logs().split('\n').filter((l) => l.includes('"url":"/demo/verify-email"')).map((l) => JSON.parse(l));
    expect(pageLines.length).toBeGreaterThan(0);
    for (const line of pageLines) {
      expect(line.status).toBe(200);
      expect(line).not.toHaveProperty('code');
    }
    expect(gw.logs()).not.toContain(link.token!);

    // Back to the sign-in page, signed in with the new account and its default role.
    await page.click('#next a');
    await page.waitForURL(`${origin}/demo`);
    await signInOnPage(page, 'open', email, first);
    await expect.poll(() => page.textContent('#who')).toBe(`Signed in as ${email} in open (roles: member)`);

    // Change the password of the signed-in session: a wrong current one first.
    await page.fill('#change-current', 'not my password');
    await page.fill('#change-new', changed);
    await page.click('#change');
    await expect.poll(() => page.textContent('#error')).toBe(shown('auth_password_change_invalid'));
    await page.fill('#change-current', first);
    await page.fill('#change-new', changed);
    await page.click('#change');
    await expect.poll(() => page.textContent('#notice')).toBe('Password changed; your other sessions were ended and your API keys revoked.');
    expect(await page.textContent('#error')).toBe('');
    await page.screenshot({ path: `${ARTIFACTS}/demo-password-changed.png`, fullPage: true });
    await page.click('#logout');
    await expect.poll(() => page.textContent('#who')).toBe('Signed out');

    // Forgot the password: the reset mail's link opens the reset page.
    await page.fill('#forgot-tenant', 'open');
    await page.fill('#forgot-email', email);
    await page.click('#forgot');
    await expect.poll(() => page.textContent('#notice')).toContain('Check your mail');
    const resetLink = linkIn(await mailTo(email, /reset your password/), '/reset-password');
    expect(resetLink.url.startsWith(`${origin}/demo/reset-password?token=`)).toBe(true);
    const opened = await openLink(page, resetLink.url);
    expect(opened.response.headers()['referrer-policy']).toBe('no-referrer');
    expect(opened.referer).toBeUndefined();
    await page.waitForURL(`${origin}/demo/reset-password`);
    await expect.poll(() => page.textContent('#link-state')).toBe(`A new password for ${email} at ${OPEN.name} (tenant ${OPEN.slug}).`);

    // A password the policy refuses leaves the link usable.
    await page.fill('#reset-password', 'password');
    await page.click('#reset');
    await expect.poll(() => page.textContent('#error')).toBe(weak('common'));
    await page.screenshot({ path: `${ARTIFACTS}/demo-reset-weak.png`, fullPage: true });
    await page.fill('#reset-password', reset);
    await page.click('#reset');
    await expect.poll(() => page.textContent('#notice')).toBe('Password changed, sign in with the new one.');
    expect(await page.textContent('#error')).toBe('');
    expect(await page.isVisible('#reset-form')).toBe(false);
    expect(await page.isVisible('#notice')).toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}/demo-reset-done.png`, fullPage: true });

    await page.click('#next a');
    await page.waitForURL(`${origin}/demo`);
    await signInOnPage(page, 'open', email, changed);
    await expect.poll(() => page.textContent('#error')).toBe(shown('auth_login_invalid_credentials'));
    await signInOnPage(page, 'open', email, reset);
    await expect.poll(() => page.textContent('#who')).toBe(`Signed in as ${email} in open (roles: member)`);
    await page.screenshot({ path: `${ARTIFACTS}/demo-signed-in-after-reset.png`, fullPage: true });
    await page.close();
  }, 30_000);

  it('spends nothing when a verification link is only opened, even with its script run (a mail scanner): the token verifies when the button is pressed', async () => {
    const email = `scanned-${randomBytes(4).toString('hex')}@open.test`;
    const password = 'cedar violin harbour 36';
    expect((await gw.rest('POST', '/auth/signup', { tenant: OPEN.slug, email, password })).status).toBe(202);
    const link = linkIn(await mailTo(email, /confirm your e-mail address/), '/verify-email');
    const verified = async () => (await gw.sql<{ email_verified: boolean }>('select email_verified from users where email = $1', [email]))[0].email_verified;
    const signIn = () => gw.rest('POST', '/auth/login', { tenant: OPEN.slug, email, password });
    expect(await verified()).toBe(false);

    // The scanner: a fresh browser that opens the link, runs the page's script, and waits for the network to settle and a second more.
    const page = await browser.newPage();
    const calls: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/auth/')) calls.push(`${r.method()} ${new URL(r.url()).pathname}`);
    });
    await page.goto(link.url, { waitUntil: 'networkidle' });
    await page.waitForTimeout(1000);
    expect(page.url()).toBe(`${origin}/demo/verify-email`); // the script ran: it took the token out of the address bar
    // Nothing was spent: the address is still unverified, the right password is still refused for it, and the page sent nothing.
    expect(await verified()).toBe(false);
    const refused = await signIn();
    expect(refused.body).toMatchObject({ detail: { code: 'auth_email_not_verified' } });
    // Its one call asked what the link is, which spends nothing.
    expect(calls).toEqual(['POST /auth/links/inspect']);
    expect(await page.textContent('#link-state')).toBe(`Confirm ${email} for ${OPEN.name} (tenant ${OPEN.slug}).`);
    expect(await page.textContent('#notice')).toBe('');
    expect(await page.textContent('#error')).toBe('');
    expect(await page.isVisible('#verify')).toBe(true);
    expect(await page.textContent('body')).toContain('nothing happens unless you press the button');
    await page.screenshot({ path: `${ARTIFACTS}/demo-verify-link-opened.png`, fullPage: true });

    // A person presses the button: one POST spends the same token.
    await page.focus('#verify');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.textContent('#notice')).toBe('Address verified, you can sign in.');
    expect(calls).toEqual(['POST /auth/links/inspect', 'POST /auth/email/verify']);
    expect(await page.textContent('#error')).toBe('');
    expect(await page.isVisible('#verify')).toBe(false);
    expect(await page.isVisible('#next a')).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('notice');
    await page.screenshot({ path: `${ARTIFACTS}/demo-verify-link-confirmed.png`, fullPage: true });
    expect(await verified()).toBe(true);
    expect((await signIn()).status).toBe(200);
    await page.close();
  }, 30_000);

  it('serves a link page only with its one token parameter; without a token the page says so', async () => {
    // Another credential beside the token is refused as on every route.
    const mixed = await requestJson(`${origin}/demo/verify-email?token=abc&access_token=def`, 'GET');
    expect(mixed.status).toBe(422);
    expect(mixed.body).toMatchObject({ detail: { code: 'auth_request_invalid' } });
    expect((await requestJson(`${origin}/demo/reset-password?password=abc`, 'GET')).status).toBe(422);

    const page = await openPage(`${origin}/demo/verify-email`);
    const noToken = 'The link has no token: open the whole link from the mail. link_without_token';
    await expect.poll(() => page.textContent('#error')).toBe(noToken);
    expect(await page.isVisible('#verify')).toBe(false);
    await page.goto(`${origin}/demo/reset-password`);
    await expect.poll(() => page.textContent('#error')).toBe(noToken);
    expect(await page.isVisible('#reset-form')).toBe(false);
    await page.close();
  }, 30_000);

  it('accepts an invitation on its link page: a new account chooses a password; an existing one signs in there and gets the roles', async () => {
    const admin = INVITING.users[0];
    const signedIn = await requestJson(`${origin}/auth/login`, 'POST', { tenant: INVITING.slug, email: admin.email, password: admin.password });
    const inviteDoc = 'mutation($i: InviteUserInput!) { inviteUser(input: $i) { id } }';
    const invite = async (email: string) => {
      const res = await requestJson(`${origin}/graphql`, 'POST', { query: inviteDoc, variables: { i: { email, roles: ['reader'] } } }, { authorization: `Bearer ${signedIn.body.access_token}` });
      expect(res.body.errors).toBeUndefined();
      const message = await mailTo(email, /you are invited/, seenInvitations);
      seenInvitations.push(message);
      return linkIn(message, '/accept-invitation');
    };
    const seenInvitations: CaughtMail[] = [];
    const email = `invitee-${randomBytes(4).toString('hex')}@inviting.test`;
    const chosen = 'saffron ladder pebble 63';

    const link = await invite(email);
    expect(link.url.startsWith(`${origin}/demo/accept-invitation?token=`)).toBe(true);
    const page = await openPage(`${origin}/demo`);
    const opened = await openLink(page, link.url);
    expect(opened.referer).toBeUndefined();
    await page.waitForURL(`${origin}/demo/accept-invitation`);
    // Who invited whom, where, as what: said when the page opens.
    await expect.poll(() => page.textContent('#link-state')).toBe(`${admin.email} invited ${email} to ${INVITING.name} (tenant ${INVITING.slug}) as reader.`);
    await page.fill('#accept-password', 'password');
    await page.click('#accept');
    await expect.poll(() => page.textContent('#error')).toBe(weak('common'));
    await page.fill('#accept-password', chosen);
    await page.click('#accept');
    await expect.poll(() => page.textContent('#notice')).toBe(`Invitation accepted: signed in as ${email} in ${INVITING.slug} (roles: reader).`);
    expect(await page.textContent('#error')).toBe('');
    await page.screenshot({ path: `${ARTIFACTS}/demo-invitation-accepted.png`, fullPage: true });

    // Invited again (the admin re-sends it): the address has an account now, so it signs in on the page.
    const again = await invite(email);
    await openLink(page, again.url);
    await page.fill('#accept-password', 'another passphrase 12');
    await page.click('#accept');
    await expect.poll(() => page.textContent('#error')).toBe(shown('auth_unauthenticated'));
    // The tenant and the address are filled in from the link: only the password is asked for.
    expect([await page.inputValue('#existing-tenant'), await page.inputValue('#existing-email')]).toEqual([INVITING.slug, email]);
    await page.fill('#existing-password', chosen);
    await page.click('#accept-existing');
    await expect.poll(() => page.textContent('#notice')).toBe(`Invitation accepted: signed in as ${email} in ${INVITING.slug} (roles: reader).`);
    expect(await page.textContent('#error')).toBe('');
    await page.close();
  }, 30_000);

  it('a link that no longer works says why when it opens: an expired reset link asks for a new one with the tenant filled in; a late invitation names whom to ask', async () => {
    const email = `late-${randomBytes(4).toString('hex')}@open.test`;
    expect((await gw.rest('POST', '/auth/signup', { tenant: OPEN.slug, email, password: 'lantern meadow copper 31' })).status).toBe(202);
    expect((await gw.rest('POST', '/auth/password/forgot', { tenant: OPEN.slug, email })).status).toBe(202);
    const expired = await mailTo(email, /set your password|reset your password/);
    await gw.sql("update email_tokens set expires_at = now() - interval '1 second' where user_id = (select id from users where email = $1)", [email]);

    const page = await openPage(`${origin}/demo`);
    await openLink(page, linkIn(expired, '/reset-password').url);
    await expect.poll(() => page.textContent('#link-state')).toBe('This link has expired. Ask for a new one below.');
    expect(await page.isVisible('#reset-form')).toBe(false);
    expect(await page.isVisible('#renew-form')).toBe(true);
    expect(await page.inputValue('#renew-tenant')).toBe(OPEN.slug);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('renew-email');
    await page.screenshot({ path: `${ARTIFACTS}/demo-reset-link-expired.png`, fullPage: true });
    await page.fill('#renew-email', email);
    await page.click('#renew');
    await expect.poll(() => page.textContent('#notice')).toBe(`If ${email} has an account at ${OPEN.slug}, a new link is on its way. Check your mail.`);
    expect(await page.isVisible('#notice')).toBe(true);
    // The new mail's link works: its page names the address.
    const fresh = await mailTo(email, /set your password|reset your password/, [expired]);
    await openLink(page, linkIn(fresh, '/reset-password').url);
    await expect.poll(() => page.textContent('#link-state')).toBe(`A new password for ${email} at ${OPEN.name} (tenant ${OPEN.slug}).`);
    expect(await page.isVisible('#reset-form')).toBe(true);

    // An invitation past its time: no form to fill, and who to ask.
    const admin = INVITING.users[0];
    const session = await requestJson(`${origin}/auth/login`, 'POST', { tenant: INVITING.slug, email: admin.email, password: admin.password });
    const invitee = `late-${randomBytes(4).toString('hex')}@inviting.test`;
    const invited = await requestJson(`${origin}/graphql`, 'POST', { query: 'mutation($i: InviteUserInput!) { inviteUser(input: $i) { id } }', variables: { i: { email: invitee, roles: ['reader'] } } }, { authorization: `Bearer ${session.body.access_token}` });
    const invitation = linkIn(await mailTo(invitee, /you are invited/), '/accept-invitation');
    await gw.sql("update invitations set expires_at = now() - interval '1 second' where id = $1", [invited.body.data.inviteUser.id]);
    await openLink(page, invitation.url);
    await expect.poll(() => page.textContent('#link-state')).toBe(`This invitation to ${INVITING.name} (tenant ${INVITING.slug}) has expired. Ask ${admin.email} to invite you again.`);
    expect(await page.isVisible('#accept-form')).toBe(false);
    expect(await page.isVisible('#existing-form')).toBe(false);
    expect(await page.isVisible('#next a')).toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}/demo-invitation-expired.png`, fullPage: true });
    // An invitation's token on the reset page is no link for that page: nothing of it is shown.
    await openLink(page, invitation.url.replace('/accept-invitation', '/reset-password'));
    await expect.poll(() => page.textContent('#link-state')).toBe('This link was already used, or a newer mail replaced it. You can ask for a new one below.');
    expect(await page.inputValue('#renew-tenant')).toBe('');
    expect(await page.isVisible('#reset-form')).toBe(false);
    await page.close();
  }, 30_000);

  it('signs in with the organisation (SSO): to the IdP and back, the code exchanged by the page; a refusal at the IdP is said in words', async () => {
    const page = await openPage(`${origin}/demo`);
    idp.next = { sub: 'olga-at-corp', email: 'olga@corp.test' };
    await fill(page, 'corp', 'olga@corp.test', '');
    // To the IdP (which signs olga in at once) and back to the page, which trades the code.
    const exchanged = page.waitForResponse((r) => r.url() === `${origin}/auth/sso/token`, { timeout: 15_000 });
    await page.click('#sso');
    expect((await exchanged).status()).toBe(200);
    await expect.poll(() => page.textContent('#who')).toBe('Signed in as olga@corp.test in corp (roles: member)');
    expect(await page.textContent('#notice')).toBe('Signed in with your organisation.');
    expect(page.url()).toBe(`${origin}/demo`); // the code is out of the address bar
    await page.click('#me');
    await expect.poll(() => page.textContent('#me-out')).toContain('"auth_method": "sso"');
    expect(await page.evaluate(() => sessionStorage.getItem('sso-verifier'))).toBeNull();
    await page.screenshot({ path: `${ARTIFACTS}/demo-sso-signed-in.png`, fullPage: true });

    // A browser without the IdP's session cookie meets its login page again, where the user says no.
    idp.next = 'refuse';
    await page.context().clearCookies();
    await page.click('#logout');
    await fill(page, 'corp', 'olga@corp.test', '');
    await page.click('#sso');
    // Back with ?error=, which the page says in words (and takes out of the address bar).
    await expect.poll(() => page.textContent('#error'), { timeout: 15_000 }).toBe(shown('auth_sso_failed'));
    expect(page.url()).toBe(`${origin}/demo`);
    expect(await page.textContent('#who')).toBe('Signed out');
    await page.close();
  }, 30_000);

  it('signs in with the organisation through SAML: the IdP page posts its form to the gateway, which sends the browser back with a code', async () => {
    const page = await openPage(`${origin}/demo`);
    samlIdp.next = { nameId: 'sam@sub.corp.test' };
    await fill(page, 'corp', 'sam@sub.corp.test', '');
    const exchanged = page.waitForResponse((r) => r.url() === `${origin}/auth/sso/token`, { timeout: 15_000 });
    await page.click('#sso');
    expect((await exchanged).status()).toBe(200);
    await expect.poll(() => page.textContent('#who')).toBe('Signed in as sam@sub.corp.test in corp (roles: member)');
    expect(page.url()).toBe(`${origin}/demo`);
    // The IdP refuses: back with ?error=, said in words.
    samlIdp.next = 'refuse';
    await page.click('#logout');
    await fill(page, 'corp', 'sam@sub.corp.test', '');
    await page.click('#sso');
    await expect.poll(() => page.textContent('#error'), { timeout: 15_000 }).toBe(shown('auth_sso_failed'));
    expect(await page.textContent('#who')).toBe('Signed out');
    await page.close();
  }, 30_000);

  /** The QR code <img>'s pixels as the browser draws them on a white canvas, decoded: the text it encodes. */
  async function qrShown(page: Page): Promise<string> {
    const size = 300;
    const rgba = await page.evaluate((size) => {
      const img = document.getElementById('totp-qr') as HTMLImageElement;
      const canvas = Object.assign(document.createElement('canvas'), { width: size, height: size });
      const ctx = canvas.getContext('2d')!;
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, size, size);
      ctx.drawImage(img, 0, 0, size, size);
      // As base64: a string crosses the protocol far faster than an array of numbers.
      const data = ctx.getImageData(0, 0, size, size).data;
      let binary = '';
      for (let i = 0; i < data.length; i += 0x8000) binary += String.fromCharCode(...data.subarray(i, i + 0x8000));
      return btoa(binary);
    }, size);
    return decodeQR({ width: size, height: size, data: new Uint8Array(Buffer.from(rgba, 'base64')) });
  }

  it('enrols TOTP with its QR code, activates it, asks for a code at sign-in, takes a recovery code once, makes new ones, and disables it', async () => {
    const [user] = TWO_FACTOR.users;
    const page = await openPage(`${origin}/demo`);
    await signInOnPage(page, TWO_FACTOR.slug, user.email, user.password);
    await expect.poll(() => page.textContent('#who')).toBe(`Signed in as ${user.email} in ${TWO_FACTOR.slug} (roles: member)`);

    // Enrol: the secret, the otpauth URI, and a QR code of that URI drawn in the page.
    await page.click('#totp-enroll');
    await expect.poll(() => page.textContent('#totp-secret')).toMatch(/^[A-Z2-7]{32}$/);
    expect(await page.textContent('#error')).toBe('');
    const secret = (await page.textContent('#totp-secret'))!;
    const uri = (await page.textContent('#totp-uri'))!;
    expect(uri).toMatch(/^otpauth:\/\/totp\/Two%20Factor%20Co:tia%40twofactor\.test\?/);
    expect(new URL(uri).searchParams.get('secret')).toBe(secret);
    await page.waitForFunction(() => {
      const img = document.getElementById('totp-qr') as HTMLImageElement;
      return img.complete && img.src.startsWith('data:image/svg+xml');
    });
    const box = (await page.locator('#totp-qr').boundingBox())!;
    expect(box.width).toBeGreaterThan(100);
    expect(box.height).toBe(box.width);
    expect(await qrShown(page)).toBe(uri);
    await page.screenshot({ path: `${ARTIFACTS}/demo-totp-enrol.png`, fullPage: true });

    // A wrong code leaves the factor pending; the previous step's code activates it (then the
    // current one signs in and the next one disables it, each step accepted once).
    await page.fill('#totp-code', '000000');
    await page.click('#totp-activate');
    await expect.poll(() => page.textContent('#error')).toBe(shown('auth_mfa_code_invalid'));
    await page.fill('#totp-code', await totpCode(secret, -1));
    await page.click('#totp-activate');
    await expect.poll(() => page.locator('#recovery-codes li').count()).toBe(10);
    expect(await page.textContent('#error')).toBe('');
    expect(await page.textContent('#notice')).toContain('Two-factor sign-in is on');
    const recovery = await page.locator('#recovery-codes li').allTextContents();
    for (const code of recovery) expect(code).toMatch(/^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$/);
    expect(new Set(recovery).size).toBe(10);
    expect(await page.isVisible('#totp-enrolment')).toBe(false);
    expect(await page.textContent('#totp-secret')).toBe('');
    await page.screenshot({ path: `${ARTIFACTS}/demo-totp-recovery-codes.png`, fullPage: true });

    // Enrolling again is refused while the factor is active.
    await page.click('#totp-enroll');
    await expect.poll(() => page.textContent('#error')).toBe(shown('auth_mfa_already_enrolled'));

    await page.click('#logout');
    await expect.poll(() => page.textContent('#who')).toBe('Signed out');
    expect(await page.locator('#recovery-codes li').count()).toBe(0);

    // The password alone now asks for a code; a wrong one may be retried.
    await signInOnPage(page, TWO_FACTOR.slug, user.email, user.password);
    await expect.poll(() => page.isVisible('#mfa-step')).toBe(true);
    expect(await page.textContent('#mfa-prompt')).toContain('This account has a second factor.');
    expect(await page.textContent('#error')).toBe('');
    expect(await page.textContent('#who')).toBe('Signed out');
    await page.screenshot({ path: `${ARTIFACTS}/demo-mfa-prompt.png`, fullPage: true });
    await page.fill('#mfa-code', '000000');
    await page.click('#mfa-verify');
    await expect.poll(() => page.textContent('#error')).toBe(shown('auth_mfa_code_invalid'));
    const signInCode = await totpCode(secret, 0);
    await page.fill('#mfa-code', signInCode);
    await page.press('#mfa-code', 'Enter');
    await expect.poll(() => page.textContent('#who')).toBe(`Signed in as ${user.email} in ${TWO_FACTOR.slug} (roles: member)`);
    expect(await page.textContent('#error')).toBe('');
    expect(await page.isVisible('#mfa-step')).toBe(false);
    await page.screenshot({ path: `${ARTIFACTS}/demo-mfa-signed-in.png`, fullPage: true });

    // Signed out, then in again with a recovery code instead; the same code is refused afterwards.
    await page.click('#logout');
    await expect.poll(() => page.textContent('#who')).toBe('Signed out');
    await signInOnPage(page, TWO_FACTOR.slug, user.email, user.password);
    await expect.poll(() => page.isVisible('#mfa-step')).toBe(true);
    await page.click('#mfa-switch');
    await expect.poll(() => page.textContent('#mfa-label')).toBe('Recovery code');
    await page.fill('#mfa-code', recovery[3]);
    await page.click('#mfa-verify');
    await expect.poll(() => page.textContent('#who')).toBe(`Signed in as ${user.email} in ${TWO_FACTOR.slug} (roles: member)`);
    expect(await page.textContent('#error')).toBe('');
    await mailTo(user.email, /a recovery code was used to sign in/);

    await page.click('#logout');
    await signInOnPage(page, TWO_FACTOR.slug, user.email, user.password);
    await expect.poll(() => page.isVisible('#mfa-step')).toBe(true);
    await page.click('#mfa-switch');
    await page.fill('#mfa-code', recovery[3]);
    await page.click('#mfa-verify');
    await expect.poll(() => page.textContent('#error')).toBe(shown('auth_mfa_code_invalid'));
    await page.fill('#mfa-code', recovery[4]);
    await page.click('#mfa-verify');
    await expect.poll(() => page.textContent('#who')).toContain(`Signed in as ${user.email}`);

    // New recovery codes replace the old set.
    await page.click('#totp-recovery');
    await expect.poll(() => page.textContent('#notice')).toBe('New recovery codes: the old ones no longer work.');
    const renewed = await page.locator('#recovery-codes li').allTextContents();
    expect(renewed).toHaveLength(10);
    expect(renewed.filter((code) => recovery.includes(code))).toEqual([]);

    // Disabling needs a code not used before: the sign-in's code again is a replay.
    await page.fill('#totp-code', signInCode);
    await page.click('#totp-disable');
    await expect.poll(() => page.textContent('#error')).toBe(shown('auth_mfa_code_invalid'));
    await page.fill('#totp-code', await totpCode(secret, 1));
    await page.click('#totp-disable');
    await expect.poll(() => page.textContent('#notice')).toBe('Two-factor sign-in is off; its recovery codes no longer work.');
    expect(await page.textContent('#error')).toBe('');
    expect(await page.locator('#recovery-codes li').count()).toBe(0);
    await page.click('#totp-recovery');
    await expect.poll(() => page.textContent('#error')).toBe(shown('auth_mfa_not_enrolled'));

    // Off again: the password alone signs in.
    await page.click('#logout');
    await signInOnPage(page, TWO_FACTOR.slug, user.email, user.password);
    await expect.poll(() => page.textContent('#who')).toBe(`Signed in as ${user.email} in ${TWO_FACTOR.slug} (roles: member)`);
    expect(await page.isVisible('#mfa-step')).toBe(false);
    await page.close();
  }, 30_000);
});
