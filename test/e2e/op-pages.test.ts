// The OpenID Provider's hosted pages in Chromium (SPEC §12): sign-in by keyboard through the
// labelled form, the consent page allowed and denied, on a phone-sized screen too; the browser
// ends at the app's redirect URI with a code or access_denied. Screenshots go to test/artifacts.
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { authorizationRequest, relyingParty } from '../helpers/op-flow.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = 'test/artifacts';
const APP = 'https://app.acme.example/callback';
const SECRET = 'web-client-secret-0123456789abcdefghij';
const PASSWORD = 'op pages passphrase 1';

let gw: TestGateway;
let browser: Browser;
let publicUrl: string;

describe.runIf(existsSync(CHROMIUM))("the provider's pages in Chromium", () => {
  beforeAll(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    gw = await startTestGateway({ port, env: { PUBLIC_URL: publicUrl } });
    await gw.seed({
      tenants: [
        {
          slug: 'acme',
          name: 'Acme',
          roles: [],
          users: [{ email: 'ada@acme.example', password: PASSWORD, roles: [] }],
          oauth_clients: [{ client_id: 'web', client_secret: SECRET, name: 'Acme Web', redirect_uris: [APP] }],
        },
      ],
    } as never);
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  /** A page at the authorization URL; the app's redirect URI is answered by a stub (the browser never leaves this machine). */
  async function start(viewport = { width: 1000, height: 800 }): Promise<{ page: Page; arrived: Promise<URL> }> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
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
});
