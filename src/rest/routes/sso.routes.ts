import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { operations } from '../../api/operations.js';
import { restErrorBody, restErrorHeaders } from '../../errors/format.js';
import { recordFailure } from '../../observability/request-log.js';
import { ssoExchange } from '../../services/sso/exchange.js';
import { failureRedirect, finishOidc, SsoCallbackFailure, ssoStart } from '../../services/sso/flow.js';
import { finishSaml, ssoSamlMetadata } from '../../services/sso/saml-acs.js';
import { FORM } from '../content-types.js';
import { operationRoute, type RouteOptions } from '../openapi.js';
import { textSchema } from '../schemas.js';
import { tokenBody } from '../serialize.js';

/** The largest SAMLResponse (base64) the ACS reads. */
const SAML_RESPONSE_MAX = 512 * 1024;

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
  const backToApp = async (req: FastifyRequest, reply: FastifyReply, operation: string, finish: () => Promise<string>) => {
    try {
      return reply.redirect(await finish(), 303);
    } catch (e) {
      if (!(e instanceof SsoCallbackFailure)) throw e;
      recordFailure(req.ctx.observe, req.log, e.error, operation);
      const back = failureRedirect(e, e.error.code);
      if (back) return reply.redirect(back, 303);
      reply.status(e.error.status).headers(restErrorHeaders(e.error));
      if ((req.headers.accept ?? '').includes('text/html')) return reply.type('text/html; charset=utf-8').send(failurePage(e.error.code));
      return reply.send(restErrorBody(e.error));
    }
  };
  app.get('/auth/sso/oidc/callback', operationRoute(operations.ssoCallback), async (req, reply) => {
    const query = new URLSearchParams(req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '');
    return backToApp(req, reply, operations.ssoCallback.name, () => finishOidc(req.ctx.em, req.ctx.deps, query));
  });
  // The HTTP-POST binding: a form the IdP's page posts. A signed response with its certificate
  // and attributes outgrows the JSON routes' body limit.
  app.post<{ Body: { SAMLResponse?: string; RelayState?: string } }>(
    '/auth/sso/saml/acs',
    {
      ...operationRoute(
        operations.ssoSamlAcs,
        { body: { type: 'object', required: ['SAMLResponse'], properties: { SAMLResponse: { type: 'string', maxLength: SAML_RESPONSE_MAX }, RelayState: { type: 'string', maxLength: 1024 } } } },
        { contentTypes: [FORM] },
      ),
      bodyLimit: SAML_RESPONSE_MAX + 4096,
    },
    async (req, reply) => backToApp(req, reply, operations.ssoSamlAcs.name, () => finishSaml(req.ctx.em, req.ctx.deps, req.body ?? {})),
  );
  app.get<{ Params: { connection_id: string } }>(
    '/auth/sso/saml/metadata/:connection_id',
    operationRoute(operations.ssoSamlMetadata, { params: { type: 'object', properties: { connection_id: text('id') } } }),
    async (req, reply) => reply.type('application/samlmetadata+xml; charset=utf-8').send(await ssoSamlMetadata(req.ctx.em, req.ctx.deps.config, req.params.connection_id)),
  );

  app.post<{ Body: { code: string; code_verifier: string } }>(
    '/auth/sso/token',
    operationRoute(operations.ssoExchange, { body: { type: 'object', required: ['code', 'code_verifier'], properties: { code: text('ssoCode'), code_verifier: text('pkce') } } }),
    async (req) => tokenBody(await ssoExchange(req.ctx.em, req.ctx.deps, { code: req.body.code, codeVerifier: req.body.code_verifier }, req.ctx.client)),
  );
}

