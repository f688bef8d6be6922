// GET (any method) /auth/verify and any path below it (SPEC §14): the check a reverse proxy makes
// for each request to a guarded service (nginx auth_request, Traefik forwardAuth, Envoy
// ext_authz). The body and its content type are ignored; of the query only `permission` and
// `tenant` are read, the rest is the upstream's own (never read for credentials, never refused
// for holding one). Answers 200 with the identity headers, or the usual refusal (401 with
// WWW-Authenticate: Bearer), never cached by a proxy.
import type { FastifyInstance } from 'fastify';
import { operations } from '../../api/operations.js';
import type { Config } from '../../config.js';
import { forwardAuth, requirementsOf } from '../../services/forward/verify.js';
import { operationRoute } from '../openapi.js';

export async function forwardRoutes(app: FastifyInstance, { config }: { config: Pick<Config, 'jwt' | 'forwardAuth'> }): Promise<void> {
  const forward = forwardAuth(config);
  await app.register(async (scope) => {
    // Whatever body the proxy forwards is not read.
    scope.removeAllContentTypeParsers();
    // Even one Fastify could not parse (a/b/c): the type is ignored, so it is not looked at.
    scope.addHook('onRequest', (req, _reply, done) => {
      if (req.headers['content-type'] !== undefined) req.headers['content-type'] = 'application/octet-stream';
      done();
    });
    scope.addContentTypeParser('*', (_req, payload, done) => {
      payload.resume();
      payload.on('end', () => done(null, undefined));
      payload.on('error', (err) => done(err, undefined));
    });
    // The proxy's answer carries no browser security headers (helmet skips these routes): what it
    // needs only (no-store is set for every /auth/verify answer by registerRequestChecks).
    scope.addHook('onSend', (_req, reply, payload, done) => {
      reply.header('x-content-type-options', 'nosniff');
      if (reply.statusCode === 401) reply.header('www-authenticate', 'Bearer');
      done(null, payload);
    });
    const route = { ...operationRoute(operations.verify), config: { operation: operations.verify, upstreamQuery: true } };
    const handler = async (req: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
      const viewer = await req.ctx.viewer();
      const headers = await forward.verify(viewer, requirementsOf(req.url, req.headers['x-auth-require-permission']));
      return reply.status(200).headers(headers).send();
    };
    scope.all('/auth/verify', route, handler);
    scope.all('/auth/verify/*', { ...route, schema: { hide: true } }, handler);
  });
}
