import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { operations } from '../../api/operations.js';
import { restErrorBody, restErrorHeaders } from '../../errors/format.js';
import { recordFailure } from '../../observability/request-log.js';
import { failureRedirect, finishOidc, SsoCallbackFailure, ssoExchange, ssoStart } from '../../services/sso/flow.js';
import { operationRoute, type RouteOptions } from '../openapi.js';
import { textSchema } from '../schemas.js';
import { tokenBody } from '../serialize.js';

type StartBody = { tenant: string; email?: string; connection?: string; redirect_to: string; code_challenge: string; code_challenge_method: string };

/** The page a browser gets for a callback that belongs to no pending flow: the code, nowhere to go. */
const failurePage = (code: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in failed</title></head>
<body><h1>Sign-in failed</h1><p>The identity provider's answer could not be used (${code}). Start the sign-in again from the app.</p></body></html>
`;

export async function ssoRoutes(app: FastifyInstance, { config }: RouteOptions): Promise<void> {
  const text = (f: Parameters<typeof textSchema>[0]) => textSchema(f, config);
  app.post<{ Body: StartBody }>(
    '/auth/sso/start',
    operationRoute(operations.ssoStart, {
      body: {
        type: 'object',
        required: ['tenant', 'redirect_to', 'code_challenge', 'code_challenge_method'],
        properties: { tenant: text('tenant'), email: text('email'), connection: text('connectionName'), redirect_to: text('redirectUrl'), code_challenge: text('pkce'), code_challenge_method: text('pkce') },
      },
    }),
    async (req) => {
      const b = req.body;
      const input = { tenant: b.tenant, email: b.email, connection: b.connection, redirectTo: b.redirect_to, codeChallenge: b.code_challenge, codeChallengeMethod: b.code_challenge_method };
      return ssoStart(req.ctx.em, req.ctx.deps, input, req.ctx.client);
    },
  );

  // The IdP sends the browser here. A failure of a pending flow goes back to the app's redirect
  // as ?error=<code>; one that belongs to no flow answers 401 itself and redirects nowhere.
  app.get('/auth/sso/oidc/callback', operationRoute(operations.ssoCallback), async (req: FastifyRequest, reply: FastifyReply) => {
    const query = new URLSearchParams(req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '');
    try {
      return reply.redirect(await finishOidc(req.ctx.em, req.ctx.deps, query), 303);
    } catch (e) {
      if (!(e instanceof SsoCallbackFailure)) throw e;
      recordFailure(req.ctx.observe, req.log, e.error, operations.ssoCallback.name);
      const back = failureRedirect(e, e.error.code);
      if (back) return reply.redirect(back, 303);
      reply.status(e.error.status).headers(restErrorHeaders(e.error));
      if ((req.headers.accept ?? '').includes('text/html')) return reply.type('text/html; charset=utf-8').send(failurePage(e.error.code));
      return reply.send(restErrorBody(e.error));
    }
  });

  app.post<{ Body: { code: string; code_verifier: string } }>(
    '/auth/sso/token',
    operationRoute(operations.ssoExchange, { body: { type: 'object', required: ['code', 'code_verifier'], properties: { code: text('ssoCode'), code_verifier: text('pkce') } } }),
    async (req) => tokenBody(await ssoExchange(req.ctx.em, req.ctx.deps, { code: req.body.code, codeVerifier: req.body.code_verifier }, req.ctx.client)),
  );
}

