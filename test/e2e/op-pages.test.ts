// The OpenID Provider's hosted pages in Chromium (SPEC §12): sign-in by keyboard through the
// labelled form, the consent page allowed and denied, on a phone-sized screen too, and a passkey
// sign-in through the CDP virtual authenticator; the browser ends at the app's redirect URI with
// a code or access_denied. Screenshots go to test/artifacts.
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_ID, FakeGoogle } from '../helpers/fake-google.js';
import { Secret, TOTP } from 'otpauth';
import { bearer, freePort, signIn, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import * as oc from 'openid-client';
import { authorizationRequest, relyingParty } from '../helpers/op-flow.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = 'test/artifacts';
const APP = 'https://app.acme.example/callback';
const SECRET = 'web-client-secret-0123456789abcdefghij';
const PASSWORD = 'op pages passphrase 1';

let gw: TestGateway;
let google: FakeGoogle;
let browser: Browser;
let publicUrl: string;

describe.runIf(existsSync(CHROMIUM))("the provider's pages in Chromium", () => {
  beforeAll(async () => {
    const port = await freePort();
    // localhost, where passkeys work (not on an IP address).
    publicUrl = `http://localhost:${port}`;
    google = await FakeGoogle.start();
    gw = await startTestGateway({
      port,
      env: { PUBLIC_URL: publicUrl, WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: publicUrl, GOOGLE_CLIENT_IDS: CLIENT_ID, GOOGLE_CERTS_URL: google.url, GOOGLE_AUTHORIZATION_URL: google.authorizationUrl },
    });
    await gw.seed({
      tenants: [
        {
          slug: 'acme',
          name: 'Acme',
          google_domains: ['acme.test'],
          roles: [],
          users: [
            { email: 'ada@acme.example', password: PASSWORD, roles: [] },
            { email: 'tom@acme.example', password: PASSWORD, roles: [] },
          ],
          oauth_clients: [
            { client_id: 'web', client_secret: SECRET, name: 'Acme Web', redirect_uris: [APP] },
            { client_id: 'tv', name: 'Acme TV', public: true, grant_types: ['urn:ietf:params:oauth:grant-type:device_code'], first_party: true },
          ],
        },
      ],
    } as never);
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await google?.close();
  });

  /** A page at the authorization URL; the app's redirect URI is answered by a stub (the browser never leaves this machine). */
  async function start(viewport = { width: 1000, height: 800 }): Promise<{ page: Page; arrived: Promise<URL> }> {
    const page = await (await browser.newContext({ viewport })).newPage();
    let reached: (u: URL) => void;
    const arrived = new Promise<URL>((resolve) => (reached = resolve));
    await page.route(`${APP}**`, async (route) => {
      reached(new URL(route.request().url()));
      await route.fulfill({ status: 200, contentType: 'text/html', body: '<p>the app</p>' });
    });
    const { url } = await authorizationRequest(await relyingParty(`${publicUrl}/oidc/acme`, 'web', SECRET), APP);
    await page.goto(url.href);
    return { page, arrived };
  }

  it('signs in by keyboard through labelled inputs, then consent (allowed) sends the browser to the app with a code', async () => {
    const { page, arrived } = await start();
    expect(await page.textContent('h1')).toBe('Sign in');
    // Labels name the inputs; the first field has the focus.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('email');
    await page.getByLabel('E-mail').fill('ada@acme.example');
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.screenshot({ path: `${ARTIFACTS}/op-sign-in.png`, fullPage: true });
    await page.keyboard.press('Enter');
    await page.waitForSelector('button[name="decision"][value="allow"]');
    expect(await page.textContent('h1')).toBe('Allow access?');
    expect(await page.textContent('main')).toContain('see your e-mail address');
    await page.screenshot({ path: `${ARTIFACTS}/op-consent.png`, fullPage: true });
    await page.click('button[value="allow"]');
    expect((await arrived).searchParams.get('code')).toBeTruthy();
    await page.context().close();
  }, 30_000);

  it('a wrong password is said in words on the page; consent denied goes back with access_denied; readable on a phone', async () => {
    const { page, arrived } = await start({ width: 375, height: 700 });
    await page.getByLabel('E-mail').fill('ada@acme.example');
    await page.getByLabel('Password').fill('not the password at all');
    await page.click('button[type="submit"]');
    await expect.poll(() => page.textContent('.error')).toContain('auth_login_invalid_credentials');
    // Nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.screenshot({ path: `${ARTIFACTS}/op-sign-in-refused-phone.png`, fullPage: true });
    await page.getByLabel('Password').fill(PASSWORD);
    await page.click('button[type="submit"]');
    await page.click('button[value="deny"]');
    expect((await arrived).searchParams.get('error')).toBe('access_denied');
    await page.context().close();
  }, 30_000);

  it('a user with TOTP takes the second step on its own page (labelled, focused), then consent', async () => {
    const { access_token } = await signIn(gw, { tenant: 'acme', email: 'tom@acme.example', password: PASSWORD });
    const secret = (await gw.rest('POST', '/auth/mfa/totp/enroll', {}, bearer(access_token))).body.secret;
    const code = (steps: number) => new TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secret) }).generate({ timestamp: Date.now() + steps * 30_000 });
    expect((await gw.rest('POST', '/auth/mfa/totp/activate', { code: code(0) }, bearer(access_token))).status).toBe(200);
    const { page, arrived } = await start();
    await page.getByLabel('E-mail').fill('tom@acme.example');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.click('button[type="submit"]');
    await page.waitForSelector('input[name="code"]');
    expect(await page.textContent('h1')).toBe('Second step');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('code');
    await page.screenshot({ path: `${ARTIFACTS}/op-second-step.png`, fullPage: true });
    await page.keyboard.type(code(1));
    await page.keyboard.press('Enter');
    await page.click('button[value="allow"]');
    expect((await arrived).searchParams.get('code')).toBeTruthy();
    await page.context().close();
  }, 30_000);

  it('connects a device: the code typed on the device page, confirmed against the device\'s, sign-in, done', async () => {
    const config = await relyingParty(`${publicUrl}/oidc/acme`, 'tv');
    const device = await oc.initiateDeviceAuthorization(config, { scope: 'openid email' });
    const page = await (await browser.newContext()).newPage();
    await page.goto(device.verification_uri);
    await page.getByLabel('Code from your device').fill(device.user_code);
    await page.screenshot({ path: `${ARTIFACTS}/op-device-entry.png`, fullPage: true });
    await page.click('button[type="submit"]');
    // The device's code shown back to compare, then the sign-in.
    await page.waitForSelector('text=Connect this device?');
    expect(await page.textContent('main')).toContain(device.user_code);
    await page.click('button:has-text("Connect")');
    await page.getByLabel('E-mail').fill('ada@acme.example');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.click('button[type="submit"]');
    await page.waitForSelector('text=Device connected');
    await page.screenshot({ path: `${ARTIFACTS}/op-device-connected.png`, fullPage: true });
    // The device's next poll gets its tokens.
    const res = await fetch(`${publicUrl}/oidc/acme/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code, client_id: 'tv' }),
    });
    expect(res.status).toBe(200);
    await page.context().close();
  }, 30_000);

  it('response_mode=form_post: after consent the page posts the code to the app (its script and form allowed by its CSP)', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    let posted: (body: string) => void;
    const arrived = new Promise<string>((resolve) => (posted = resolve));
    await page.route(`${APP}**`, async (route) => {
      posted(`${route.request().method()} ${route.request().postData() ?? ''}`);
      await route.fulfill({ status: 200, contentType: 'text/html', body: '<p>the app</p>' });
    });
    const { url } = await authorizationRequest(await relyingParty(`${publicUrl}/oidc/acme`, 'web', SECRET), APP, { response_mode: 'form_post' });
    await page.goto(url.href);
    await page.getByLabel('E-mail').fill('ada@acme.example');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.click('button[type="submit"]');
    await page.click('button[value="allow"]');
    const post = await arrived;
    expect(post.startsWith('POST ')).toBe(true);
    expect(new URLSearchParams(post.slice(5)).get('code')).toBeTruthy();
    await context.close();
  }, 30_000);

  it('signs in with Google: to Google, back to the return page, whose script posts the ID token on; consent; the app', async () => {
    const { page, arrived } = await start();
    google.next = { email: 'gia@acme.test', hd: 'acme.test', sub: '700800900' };
    await page.click('text=Sign in with Google');
    await page.waitForSelector('button[name="decision"][value="allow"]');
    await page.click('button[value="allow"]');
    expect((await arrived).searchParams.get('code')).toBeTruthy();
    await page.context().close();
  }, 30_000);

  it('signs in with a passkey (registered on the demo page, in a virtual authenticator): from the button, then from the e-mail field\'s autofill (conditional UI)', async () => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
    const demo = await context.newPage();
    const cdp = await context.newCDPSession(demo);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    await demo.goto(`${publicUrl}/demo`);
    await demo.fill('#tenant', 'acme');
    await demo.fill('#email', 'ada@acme.example');
    await demo.fill('#password', PASSWORD);
    await demo.click('#login');
    await expect.poll(() => demo.textContent('#who')).toContain('Signed in as ada@acme.example');
    await demo.click('#register');
    await expect.poll(() => demo.textContent('#notice')).toContain('Passkey registered');

    // The same tab (its virtual authenticator holds the passkey) goes to the app's sign-in.
    let reached: (u: URL) => void;
    const arrived = new Promise<URL>((resolve) => (reached = resolve));
    await demo.route(`${APP}**`, async (route) => {
      reached(new URL(route.request().url()));
      await route.fulfill({ status: 200, contentType: 'text/html', body: '<p>the app</p>' });
    });
    const config = await relyingParty(`${publicUrl}/oidc/acme`, 'web', SECRET);
    // First as a browser without passkey autofill: the button.
    await demo.addInitScript(() => {
      if (sessionStorage.getItem('autofill') !== 'yes') PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    });
    const request = await authorizationRequest(config, APP);
    await demo.goto(request.url.href);
    await demo.waitForSelector('#passkey', { state: 'visible' });
    await demo.screenshot({ path: `${ARTIFACTS}/op-sign-in-passkey.png`, fullPage: true });
    await demo.click('#passkey');
    await demo.waitForSelector('button[name="decision"][value="allow"]');
    await demo.click('button[value="allow"]');
    const at = await arrived;
    // A user-verified passkey is two factors: the ID token says so.
    const tokens = await oc.authorizationCodeGrant(config, at, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
    expect([tokens.claims()!.email, tokens.claims()!.acr, tokens.claims()!.amr]).toEqual(['ada@acme.example', 'aal2', ['hwk', 'user']]);

    // Then with autofill (conditional UI): the e-mail field offers the passkey, and the virtual
    // authenticator (which answers by itself) signs in without a click.
    let again: (u: URL) => void;
    const arrivedAgain = new Promise<URL>((resolve) => (again = resolve));
    await demo.unroute(`${APP}**`);
    await demo.route(`${APP}**`, async (route) => {
      again(new URL(route.request().url()));
      await route.fulfill({ status: 200, contentType: 'text/html', body: '<p>the app</p>' });
    });
    await demo.goto(`${publicUrl}/demo`);
    await demo.evaluate(() => sessionStorage.setItem('autofill', 'yes'));
    const second = await authorizationRequest(config, APP, { prompt: 'login' });
    await demo.goto(second.url.href);
    const code = (await arrivedAgain).searchParams.get('code');
    expect(code).toBeTruthy();
    await context.close();
  }, 60_000);
});
