import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { DEMO_HTML, DEMO_JS } from '../../demo/page.js';

// The page may run its own scripts and call this origin; nothing else.
const DEMO_CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export async function demoRoutes(app: FastifyInstance): Promise<void> {
  // @simplewebauthn/browser's own browser bundle, served from node_modules (no CDN).
  const main = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  const bundle = readFileSync(path.join(path.dirname(main), '..', 'dist', 'bundle', 'index.umd.min.js'), 'utf8');
  const send = (type: string, body: string) => async (_req: unknown, reply: import('fastify').FastifyReply) =>
    reply.header('content-security-policy', DEMO_CSP).type(type).send(body);
  app.get('/demo', send('text/html; charset=utf-8', DEMO_HTML));
  app.get('/demo/app.js', send('text/javascript; charset=utf-8', DEMO_JS));
  app.get('/demo/simplewebauthn-browser.js', send('text/javascript; charset=utf-8', bundle));
}
