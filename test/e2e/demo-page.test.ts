// The /demo sign-in page in real headless Chromium with a CDP virtual authenticator: password, passkey registration, passkey sign-in with and without e-mail, me, errors as the API returned them.
import { existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACME, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = 'test/artifacts';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

let gw: TestGateway;
let browser: Browser;
let origin: string;

// .ci/run installs Debian's chromium when it is missing; elsewhere this file needs it too.
describe.runIf(existsSync(CHROMIUM))('demo page in Chromium', () => {
  beforeAll(async () => {
    const port = await freePort();
    origin = `http://localhost:${port}`;
    gw = await startTestGateway({ port, env: { WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: origin } });
    await gw.seed(ACME);
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
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

  it('shows a wrong password\'s code and message as the API returned them', async () => {
    const page = await openPage(`${origin}/demo`);
    await fill(page, 'acme', 'ada@acme.test', 'wrong password');
    await page.click('#login');
    await expect.poll(() => page.textContent('#error')).toBe('auth_login_invalid_credentials: Invalid credentials.');
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
      await expect.poll(() => page.textContent('#error')).toBe('auth_webauthn_verification_failed: Passkey verification failed.');
      await page.close();
    } finally {
      await other.close();
    }
  }, 60_000);
});
