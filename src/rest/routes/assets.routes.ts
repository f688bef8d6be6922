// The scripts the gateway's own pages load (SPEC §12: no third-party assets): @simplewebauthn/
// browser's bundle from node_modules (no CDN), and the hosted sign-in's passkey script.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { GOOGLE_RETURN_JS, SIGN_IN_JS } from '../pages/sign-in-script.js';

const JS = 'text/javascript; charset=utf-8';

/** @simplewebauthn/browser's browser bundle (read once). */
export const WEBAUTHN_BROWSER_JS = (() => {
  const main = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  return readFileSync(path.join(path.dirname(main), '..', 'dist', 'bundle', 'index.umd.min.js'), 'utf8');
})();

export async function assetRoutes(app: FastifyInstance): Promise<void> {
  const script = (body: string) => async (_req: unknown, reply: import('fastify').FastifyReply) => reply.type(JS).header('cache-control', 'public, max-age=3600').send(body);
  app.get('/assets/simplewebauthn-browser.js', { schema: { hide: true } }, script(WEBAUTHN_BROWSER_JS));
  app.get('/assets/sign-in.js', { schema: { hide: true } }, script(SIGN_IN_JS));
  app.get('/assets/google-return.js', { schema: { hide: true } }, script(GOOGLE_RETURN_JS));
}
