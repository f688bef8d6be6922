import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Config } from '../../config.js';
import { ACCEPT_INVITATION_HTML, RESET_PASSWORD_HTML, VERIFY_EMAIL_HTML } from '../../demo/links/pages.js';
import { LINK_JS } from '../../demo/links/script.js';
import { DEMO_HTML } from '../../demo/sign-in/page.js';
import { DEMO_JS } from '../../demo/sign-in/script.js';

// The page may run its own scripts and call this origin; nothing else.
const DEMO_CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const HTML = 'text/html; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';

// The pages that mailed links open: their URL carries the token, so it is sent to no one
// (no Referer, not even to the page's own script), and no cache keeps the page.
const LINK_PAGES = new Map([
  ['/demo/verify-email', VERIFY_EMAIL_HTML],
  ['/demo/reset-password', RESET_PASSWORD_HTML],
  ['/demo/accept-invitation', ACCEPT_INVITATION_HTML],
]);

/** A key in a circle: the demo's icon (SVG; browsers take it at /favicon.ico). */
const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="15" fill="#1d2330"/><circle cx="12" cy="16" r="5" fill="none" stroke="#fff" stroke-width="2.5"/><path d="M17 16h9m-3 0v4" stroke="#fff" stroke-width="2.5" fill="none"/></svg>`;

/** An IP literal as the Host header's name (127.0.0.1, [::1], ...), where passkeys fail. */
const IP_HOST = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\])(:\d+)?$/i;

export async function demoRoutes(app: FastifyInstance, { config }: { config: Pick<Config, 'env'> }): Promise<void> {
  // In development the demo is opened on localhost, where passkeys work: an IP host is sent there.
  if (config.env === 'development') {
    app.addHook('onRequest', async (req, reply) => {
      if (req.url.startsWith('/demo') && IP_HOST.test(req.headers.host ?? '')) return reply.redirect(`http://localhost:${req.socket.localPort}${req.url}`, 302);
    });
  }
  // qr (zero dependencies): its ES module draws the TOTP enrolment's otpauth URI as an SVG in
  // the page, which imports it from here (no CDN; the secret never leaves the page again).
  const qr = readFileSync(createRequire(import.meta.url).resolve('qr'), 'utf8');
  const send = (type: string, body: string) => async (_req: unknown, reply: FastifyReply) =>
    reply.header('content-security-policy', DEMO_CSP).type(type).send(body);
  const sendLinkPage = (reply: FastifyReply, body: string) =>
    reply.header('content-security-policy', DEMO_CSP).header('referrer-policy', 'no-referrer').header('cache-control', 'no-store').type(HTML).send(body);

  app.get('/demo', send(HTML, DEMO_HTML));
  app.get('/demo/app.js', send(JS, DEMO_JS));
  app.get('/demo/link.js', send(JS, LINK_JS));
  app.get('/demo/qr.js', send(JS, qr));
  // Browsers ask for it on every page: a small mark instead of a 404 in the console.
  app.get('/favicon.ico', send('image/svg+xml', FAVICON));
  // Mailed links are `...?token=<token>` by design: these pages may carry that one
  // parameter (every other route refuses a token in a URL). The server never reads it; the
  // page's script takes it out of the address bar and POSTs it.
  for (const [url, body] of LINK_PAGES) app.get(url, { config: { mailedLinkToken: true } }, async (_req, reply) => sendLinkPage(reply, body));
}
