// Every tenant's OpenID Provider under /oidc/<slug> (SPEC §12). Its protocol endpoints are
// oidc-provider's own, handed the raw request (their bodies unread by Fastify) with the
// forwarded headers set from PUBLIC_URL, so every URL it builds is PUBLIC_URL's; the interaction
// pages (sign-in, second step, consent) are the gateway's.
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import { operations } from '../../api/operations.js';
import type { Config } from '../../config.js';
import type { EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import { catalog, type ErrorCode } from '../../errors/catalog.js';
import { toAuthError } from '../../errors/format.js';
import { recordFailure } from '../../observability/request-log.js';
import { googleOffered } from '../../services/op/google-sign-in.js';
import { stepOf, submitConsent, submitGoogleReturn, submitGoogleStart, submitLogin, submitPasskey, submitSecondStep, submitSsoReturn, type Raw, type Step } from '../../services/op/interactions.js';
import { ssoOffered } from '../../services/op/sso-sign-in.js';
import { TenantProviders, type TenantProvider } from '../../services/op/provider.js';
import { FORM } from '../content-types.js';
import { operationRoute } from '../openapi.js';
import { consentPage, errorPage, googleReturnPage, PAGE_HEADERS, PROVIDER_CSP, providerPages, secondStepPage, SIGN_IN_HEADERS, signInPage } from '../pages/op-pages.js';

type Params = { tenant: string; uid?: string };

/** The RFC errors counted by a catalog code of their own; authorization_pending and slow_down are no failures. */
const OAUTH_ERRORS = new Set(['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope', 'invalid_target', 'access_denied', 'login_required', 'consent_required', 'invalid_token']);
function oauthCode(error: string): ErrorCode | undefined {
  if (error === 'expired_token') return 'auth_oauth_invalid_grant';
  if (error === 'authorization_pending' || error === 'slow_down') return undefined;
  return (OAUTH_ERRORS.has(error) ? `auth_oauth_${error}` : 'auth_oauth_invalid_request') as ErrorCode;
}

export async function oidcRoutes(app: FastifyInstance, { config, fork }: { config: Config; fork: () => EntityManager }): Promise<void> {
  const publicUrl = new URL(config.publicUrl);
  // The gateway's request of each raw one the provider sees: its failures are counted on it.
  const requests = new WeakMap<IncomingMessage, FastifyRequest>();
  const providers = new TenantProviders({
    config,
    fork,
    pages: { ...providerPages, headers: PAGE_HEADERS },
    // Each failure by its catalog code: X-Error-Code, the log line and auth_errors_total; the body stays the RFC's.
    onFailure: (ctx, err, server) => {
      const req = requests.get(ctx.req);
      const error = server ? toAuthError(err, { dbError: 'auth_oauth_db_error', internalError: 'auth_oauth_internal_error' }) : oauthCode(String((err as { error?: string }).error ?? ''));
      if (!error) return;
      const failure = error instanceof AuthError ? error : new AuthError(error);
      if (server) ctx.status = catalog[failure.code].status;
      ctx.set('x-error-code', failure.code);
      if (server) req?.log.error({ err, tenant: req.params && (req.params as Params).tenant }, 'the OpenID Provider failed');
      if (req) recordFailure(req.ctx.observe, req.log, failure, req.routeOptions.config?.operation?.name ?? operations.oidcToken.name);
    },
  });

  /** The tenant's provider, with the request made to look as it came through PUBLIC_URL; none: a 404 page. */
  async function providerFor(req: FastifyRequest<{ Params: Params }>, reply: FastifyReply): Promise<TenantProvider | undefined> {
    const op = await providers.get(req.params.tenant);
    if (!op) {
      reply.status(404).headers(PAGE_HEADERS).send(errorPage({ tenantName: req.params.tenant, title: 'Not found', words: 'There is no such organisation here.' }));
      return undefined;
    }
    req.raw.headers['x-forwarded-proto'] = publicUrl.protocol.slice(0, -1);
    req.raw.headers['x-forwarded-host'] = publicUrl.host;
    delete req.raw.headers['x-forwarded-for'];
    return op;
  }

  // The provider's endpoints (discovery, authorization, token, userinfo, jwks, introspection,
  // revocation, end session): it reads their bodies itself.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null));
    const handler = async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
      const op = await providerFor(req, reply);
      if (!op) return reply;
      const raw = req.raw as typeof req.raw & { originalUrl?: string };
      const url = raw.url!;
      // The path after /oidc/<tenant> as it was sent (the tenant may have come percent-encoded).
      const rest = url.replace(/^\/oidc\/[^/?]*/, '');
      raw.originalUrl = `${op.mountPath}${rest}`;
      raw.url = rest || '/';
      // A device's user code typed in (SPEC §15): the address's point is taken before the provider checks it.
      if (req.method === 'POST' && /^\/device\/?(\?|$)/.test(rest)) {
        raw.url = url;
        await req.ctx.deps.limiter.consume([['device_code_address', req.ctx.client.ip]]);
        raw.url = rest || '/';
      }
      requests.set(req.raw, req);
      reply.raw.setHeader('content-security-policy', PROVIDER_CSP);
      reply.hijack();
      await op.provider.callback()(raw, reply.raw);
      // The request log names the route as it came in.
      raw.url = url;
    };
    scope.post<{ Params: Params }>('/oidc/:tenant/token', operationRoute(operations.oidcToken), handler);
    scope.get<{ Params: Params }>('/oidc/:tenant/auth', operationRoute(operations.oidcAuthorize), handler);
    scope.get<{ Params: Params }>('/oidc/:tenant/me', operationRoute(operations.oidcUserinfo), handler);
    scope.all('/oidc/:tenant', { schema: { hide: true } }, handler);
    scope.all('/oidc/:tenant/*', { schema: { hide: true } }, handler);
  });

  /** Answers a step: a page, or (done) what the provider already wrote (a redirect onwards). A refusal on the page is counted as any other (X-Error-Code, log, metrics). */
  const show = async (req: FastifyRequest, reply: FastifyReply, op: TenantProvider, uid: string, step: Step, clientName: string) => {
    if (step.page === 'done') return reply;
    // On to the IdP of the address's single sign-on.
    if (step.page === 'redirect') return reply.status(303).header('cache-control', 'no-store').redirect(step.url, 303);
    const refused = 'error' in step && step.error ? new AuthError(step.error) : undefined;
    if (refused) recordFailure(req.ctx.observe, req.log, refused, operations.oidcInteraction.name);
    const action = `${op.mountPath}/interaction/${uid}`;
    const tenantName = op.slug;
    // The gateway's own routes under PUBLIC_URL's path: the passkey's options and the pages' scripts.
    const base = op.mountPath.slice(0, -`/oidc/${op.slug}`.length);
    const passkey = { action: `${action}/passkey`, tenant: op.slug, optionsUrl: `${base}/auth/webauthn/login/options`, assets: `${base}/assets` };
    const html =
      step.page === 'login'
        ? signInPage({
            action: `${action}/login`,
            tenantName,
            clientName,
            email: step.email,
            error: step.error,
            passkey,
            sso: await ssoOffered(req.ctx.em, op.tenantId),
            google: googleOffered(config) ? `${action}/google` : undefined,
          })
        : step.page === 'mfa'
          ? secondStepPage({ action: `${action}/mfa`, tenantName, mfaToken: step.mfaToken, error: step.error })
          : consentPage({ action: `${action}/consent`, tenantName, clientName, scopes: step.scopes });
    reply.hijack();
    const headers = step.page === 'login' ? SIGN_IN_HEADERS : PAGE_HEADERS;
    reply.raw.writeHead(refused ? refused.status : 200, refused ? { ...headers, 'x-error-code': refused.code } : headers);
    reply.raw.end(html);
    return reply;
  };

  /** Runs `fn` on the interaction of this browser; an unknown or expired one is a page saying so. */
  const interaction = (fn: (op: TenantProvider, raw: Raw, req: FastifyRequest<{ Params: Params; Body: Record<string, unknown> }>) => Promise<Step>) =>
    async (req: FastifyRequest<{ Params: Params; Body: Record<string, unknown> }>, reply: FastifyReply) => {
      const op = await providerFor(req, reply);
      if (!op) return reply;
      const raw = { req: req.raw, res: reply.raw };
      let details: Awaited<ReturnType<Provider['interactionDetails']>>;
      try {
        details = await op.provider.interactionDetails(raw.req, raw.res);
      } catch (e) {
        // Only the provider's own refusal (no such interaction for this browser) is a page; a store failure is the operation's code.
        if (!(e instanceof Error && (e.name === 'SessionNotFound' || e.name === 'InvalidRequest'))) throw e;
        return reply
          .status(400)
          .headers(PAGE_HEADERS)
          .send(errorPage({ tenantName: op.slug, title: 'Sign-in expired', words: 'This sign-in is no longer going on in this browser. Go back to the app and start again.' }));
      }
      if (details.uid !== req.params.uid) return reply.status(400).headers(PAGE_HEADERS).send(errorPage({ tenantName: op.slug, title: 'Sign-in expired', words: 'Go back to the app and start again.' }));
      const client = await op.provider.Client.find(String(details.params.client_id));
      return show(req, reply, op, details.uid, await fn(op, raw, req), client?.clientName ?? String(details.params.client_id));
    };

  const form = { config: { contentTypes: [FORM], operation: operations.oidcInteraction }, schema: { hide: true } };
  app.get<{ Params: Params; Body: Record<string, unknown> }>('/oidc/:tenant/interaction/:uid', operationRoute(operations.oidcInteraction), interaction(async (op, raw, req) => stepOf(req.ctx.em, await op.provider.interactionDetails(raw.req, raw.res))));
  app.post<{ Params: Params; Body: Record<string, unknown> }>(
    '/oidc/:tenant/interaction/:uid/login',
    form,
    interaction((op, raw, req) => submitLogin(req.ctx.em, req.ctx.deps, op.provider, raw, op.slug, req.body ?? {}, req.ctx.client)),
  );
  // Back from the IdP of the address's single sign-on with the flow's one-time code.
  app.get<{ Params: Params; Body: Record<string, unknown>; Querystring: Record<string, unknown> }>(
    '/oidc/:tenant/interaction/:uid/sso',
    operationRoute(operations.oidcInteraction),
    interaction((op, raw, req) => submitSsoReturn(req.ctx.em, req.ctx.deps, op.provider, raw, (req.query ?? {}) as Record<string, unknown>, req.ctx.client)),
  );
  // "Sign in with Google": to Google, then back through /auth/google/return's script with the ID token.
  app.post<{ Params: Params; Body: Record<string, unknown> }>('/oidc/:tenant/interaction/:uid/google', form, interaction((op, raw, req) => submitGoogleStart(req.ctx.em, config, op.provider, raw, op.slug)));
  app.post<{ Params: Params; Body: Record<string, unknown> }>(
    '/oidc/:tenant/interaction/:uid/google/return',
    form,
    interaction((op, raw, req) => submitGoogleReturn(req.ctx.em, req.ctx.deps, op.provider, raw, op.slug, req.body ?? {}, req.ctx.client)),
  );
  app.get('/auth/google/return', { schema: { hide: true } }, async (_req, reply) =>
    reply.status(200).headers({ ...SIGN_IN_HEADERS, 'referrer-policy': 'no-referrer' }).send(googleReturnPage(`${publicUrl.pathname.replace(/\/$/, '')}/assets`)),
  );
  app.post<{ Params: Params; Body: Record<string, unknown> }>(
    '/oidc/:tenant/interaction/:uid/passkey',
    form,
    interaction((op, raw, req) => submitPasskey(req.ctx.em, req.ctx.deps, op.provider, raw, op.slug, req.body ?? {}, req.ctx.client)),
  );
  app.post<{ Params: Params; Body: Record<string, unknown> }>(
    '/oidc/:tenant/interaction/:uid/mfa',
    form,
    interaction((op, raw, req) => submitSecondStep(req.ctx.em, req.ctx.deps, op.provider, raw, req.body ?? {}, req.ctx.client)),
  );
  app.post<{ Params: Params; Body: Record<string, unknown> }>('/oidc/:tenant/interaction/:uid/consent', form, interaction((op, raw, req) => submitConsent(req.ctx.em, op.provider, raw, req.body?.decision)));
}
