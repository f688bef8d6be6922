import type { FastifyInstance } from 'fastify';
import { AuthError } from '../errors/auth-error.js';

export const JSON_TYPE = 'application/json';
export const FORM = 'application/x-www-form-urlencoded';

// Names under which clients put credentials in URLs; such requests are refused and the
// value is never looked up (docs/api.md, REST conventions).
const CREDENTIAL_PARAMS = new Set(['access_token', 'refresh_token', 'id_token', 'api_key', 'apikey', 'api-key', 'key', 'token', 'password', 'credential']);

/** Request hygiene for every route: no credentials in query strings, only declared body types. */
export function registerRequestChecks(app: FastifyInstance): void {
  app.addHook('onRequest', async (req) => {
    const q = req.url.indexOf('?');
    if (q < 0) return;
    const keys = [...new URLSearchParams(req.url.slice(q + 1)).keys()];
    // A page that a mailed link opens may carry that link's one `token` (the demo's pages).
    if (req.routeOptions.config?.mailedLinkToken && keys.length === 1 && keys[0] === 'token') return;
    // Forward auth: the query is the guarded service's own (a token in it is no credential here, and no refusal either).
    if (req.routeOptions.config?.upstreamQuery) return;
    for (const key of keys) {
      if (CREDENTIAL_PARAMS.has(key.toLowerCase())) throw new AuthError('auth_request_invalid', { fields: [{ field: key.toLowerCase(), rule: 'credential_in_query' }] });
    }
  });
  // Every answer under /auth/verify (SPEC §14), a refusal before any route too (a malformed path), is never cached.
  app.addHook('onSend', (req, reply, payload, done) => {
    if (req.url.startsWith('/auth/verify')) reply.header('cache-control', 'no-store');
    done(null, payload);
  });
  app.addHook('preValidation', async (req) => {
    // Forward auth ignores whatever body and content type the proxy forwards (SPEC §14).
    if (req.body === undefined || req.routeOptions.config?.upstreamQuery) return;
    const mime = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const allowed = req.routeOptions.config?.contentTypes ?? [JSON_TYPE];
    if (!allowed.includes(mime)) throw new AuthError('auth_request_invalid', { fields: [{ field: 'body', rule: 'unknown_content_type' }] });
  });
}
