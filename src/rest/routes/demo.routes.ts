import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import helmet from 'helmet';
import { LINK_JS, RESET_PASSWORD_HTML, VERIFY_EMAIL_HTML } from '../../demo/link-pages.js';
import { DEMO_HTML, DEMO_JS } from '../../demo/page.js';
import { AuthError } from '../../errors/auth-error.js';

// The page may run its own scripts and call this origin; nothing else.
const DEMO_CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const HTML = 'text/html; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';

// The pages that mailed links open: their URL carries the token, so it is sent to no one
// (no Referer, not even to the page's own script), and no cache keeps the page.
const LINK_PAGES: Record<string, string> = {
  '/demo/verify-email': VERIFY_EMAIL_HTML,
  '/demo/reset-password': RESET_PASSWORD_HTML,
};

// The gateway's other security headers, for the answers that the app-wide helmet hook did
// not reach (see the error handler below).
const securityHeaders = helmet({ contentSecurityPolicy: false, crossOriginEmbedderPolicy: false });

/**
 * A mailed link's page asked for with its one `token` parameter. The request check of every
 * route (src/rest/content-types.ts) refuses a `token` in a query string with
 * auth_request_invalid before any handler runs, and mailed links are `...?token=<token>` by
 * design. These two pages only hand the token to their script, which takes it out of the
 * address bar and POSTs it; the server never reads it here, and logged URLs lose their query.
 */
function isLinkPageRequest(error: unknown, req: FastifyRequest): boolean {
  if (!(error instanceof AuthError) || error.code !== 'auth_request_invalid') return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (!(req.routeOptions.url! in LINK_PAGES)) return false;
  const q = req.url.indexOf('?');
  return q >= 0 && [...new URLSearchParams(req.url.slice(q + 1)).keys()].join('&') === 'token';
}

export async function demoRoutes(app: FastifyInstance): Promise<void> {
  // @simplewebauthn/browser's own browser bundle, served from node_modules (no CDN).
  const main = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  const bundle = readFileSync(path.join(path.dirname(main), '..', 'dist', 'bundle', 'index.umd.min.js'), 'utf8');
  const send = (type: string, body: string) => async (_req: unknown, reply: FastifyReply) =>
    reply.header('content-security-policy', DEMO_CSP).type(type).send(body);
  const sendLinkPage = (reply: FastifyReply, body: string) =>
    reply.header('content-security-policy', DEMO_CSP).header('referrer-policy', 'no-referrer').header('cache-control', 'no-store').type(HTML).send(body);

  app.get('/demo', send(HTML, DEMO_HTML));
  app.get('/demo/app.js', send(JS, DEMO_JS));
  app.get('/demo/link.js', send(JS, LINK_JS));
  app.get('/demo/simplewebauthn-browser.js', send(JS, bundle));
  for (const [url, body] of Object.entries(LINK_PAGES)) app.get(url, async (_req, reply) => sendLinkPage(reply, body));

  // Only this plugin's routes: a link page whose one query parameter is `token` is served
  // (see isLinkPageRequest); everything else goes on to the app's error handler, unchanged.
  app.setErrorHandler(async (error: FastifyError, req, reply) => {
    if (!isLinkPageRequest(error, req)) throw error;
    await new Promise<void>((resolve, reject) => securityHeaders(req.raw, reply.raw, (err?: unknown) => (err ? reject(err) : resolve())));
    return sendLinkPage(reply.status(200), LINK_PAGES[req.routeOptions.url!]);
  });
}
