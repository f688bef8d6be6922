// The only file that wires GraphQL and REST together on one Fastify server.
import { randomUUID } from 'node:crypto';
import formbody from '@fastify/formbody';
import helmet from 'helmet';
import swagger from '@fastify/swagger';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { createContext, type RequestContext } from './context.js';
import { ping, poolStats, type Db } from './db/orm.js';
import type { OperationSpec } from './api/operations.js';
import { createApollo } from './graphql/server.js';
import { stdoutLogDestination } from './observability/log-destination.js';
import { loggerOptions, requestId } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { finishRequest, newObservation } from './observability/request-log.js';
import { registerRequestChecks } from './rest/content-types.js';
import { frameworkErrors, registerErrorHandlers } from './rest/error-handler.js';
import { accountRoutes } from './rest/routes/accounts.routes.js';
import { linkRoutes } from './rest/routes/links.routes.js';
import { ssoRoutes } from './rest/routes/sso.routes.js';
import { oidcRoutes } from './rest/routes/oidc.routes.js';
import { assetRoutes } from './rest/routes/assets.routes.js';
import { forwardRoutes } from './rest/routes/forward.routes.js';
import { apiKeyRoutes } from './rest/routes/api-keys.routes.js';
import { mfaRoutes } from './rest/routes/mfa.routes.js';
import { sessionsRoutes } from './rest/routes/sessions.routes.js';
import { invitationRoutes } from './rest/routes/invitations.routes.js';
import { passwordRoutes } from './rest/routes/passwords.routes.js';
import { viewerRoutes } from './rest/routes/viewer.routes.js';
import { demoRoutes } from './rest/routes/demo.routes.js';
import { metaRoutes } from './rest/routes/meta.routes.js';
import { passkeyRoutes } from './rest/routes/passkeys.routes.js';
import { googleRoutes } from './rest/routes/google.routes.js';
import type { ServiceDeps } from './services/deps.js';
import { createBreachChecker } from './services/passwords/breaches.js';
import { createApiKeyVerifier } from './services/api-keys/verifier.js';
import { createGoogleVerifier } from './services/google/verifier.js';
import { createPasswordHasher, timedPasswordHasher } from './services/passwords/hasher.js';
import { createPurgeService, type PurgeService } from './services/purge/purge.js';
import { MAIL_KINDS } from './services/mail/outbox.js';
import { countPendingMail, createMailSender, type MailSender } from './services/mail/sender.js';
import { countPendingWebhooks, createWebhookSender, type WebhookSender } from './services/webhooks/sender.js';
import { createRateLimiter } from './services/rate-limits/limiter.js';
import { createSessionCache } from './services/sessions/cache.js';
import { createTokenService } from './services/sessions/access-tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    ctx: RequestContext;
  }
  interface FastifyContextConfig {
    /** The catalog operation a route serves: its declared codes and its db/internal codes. */
    operation?: OperationSpec;
    /** Body content types the route accepts (default: application/json). */
    contentTypes?: string[];
    /** A page opened by a mailed link (its one `token` query parameter), /auth/verify (the guarded service's query): not refused. */
    mailedLinkToken?: boolean;
    upstreamQuery?: boolean;
  }
}

export interface Gateway {
  app: FastifyInstance;
  deps: ServiceDeps;
  /** Deletes expired rows every PURGE_INTERVAL_SECONDS; `purge.runOnce()` runs it now. */
  purge: PurgeService;
  /** Delivers the mail outbox (docs/accounts.md, Mail); `runOnce()` / `drain()` run passes now, `wake()` one soon. */
  mailer: MailSender;
  /** Delivers webhook messages every WEBHOOK_POLL_INTERVAL_MS; `runOnce()` runs a pass now. */
  webhooks: WebhookSender;
  /** Readiness goes false; used by graceful shutdown. */
  stopAccepting(): void;
}

const trustHops = (hops: number) => (_address: string, hop: number) => hop < hops;

export interface BuildOptions {
  /** Replace service collaborators (tests force failures through this). */
  deps?: Partial<ServiceDeps>;
  /** Where the JSON log lines go (default: stdout). */
  logStream?: { write(line: string): unknown };
}

export async function buildApp(config: Config, orm: Db, options: BuildOptions = {}): Promise<Gateway> {
  // Background failures (the throttled last-used write of API keys) are logged, never thrown.
  let logBackground: (err: unknown) => void = () => {};
  let runLater: ServiceDeps['later'] = () => {};
  const metrics = createMetrics(() => poolStats(orm), { kinds: MAIL_KINDS, pending: () => countPendingMail(orm) }, { pending: () => countPendingWebhooks(orm) });
  // One clock for the services and their caches (tests may replace it).
  const now = options.deps?.now ?? (() => new Date());
  const deps: ServiceDeps = {
    config,
    passwords: timedPasswordHasher(createPasswordHasher(config.password), metrics.passwordHash),
    tokens: await createTokenService(config, now),
    google: createGoogleVerifier(config),
    apiKeys: createApiKeyVerifier(config, now, (err) => logBackground(err)),
    limiter: createRateLimiter(config, orm),
    sessions: createSessionCache(config.sessionCacheTtlMs, now),
    now,
    later: (task, failure) => runLater(task, failure),
    breaches: createBreachChecker(config, metrics.breachCheck),
    ...options.deps,
  };
  let accepting = true;

  // Log lines are buffered and written asynchronously, off the hot path, and flushed every
  // 250 ms, so a line reaches stdout within a second even when traffic is low.
  const logDestination = options.logStream ? undefined : stdoutLogDestination();
  const app = Fastify({
    logger: { ...loggerOptions(config), stream: options.logStream ?? logDestination },
    bodyLimit: config.bodyLimit,
    // A hop count trusts that many proxies in front of the gateway, whoever they are (Fastify
    // itself refuses bare hop counts); addresses or CIDRs are the safer setting.
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    requestIdHeader: false,
    // One line per request is written by finishRequest (onResponse), not Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: (req) => requestId(req.headers['x-request-id'], randomUUID),
    // Fields of the wrong type are rejected, never coerced; unknown fields are dropped.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: true, useDefaults: false } },
    return503OnClosing: true,
    frameworkErrors,
  });

  logBackground = (err) => app.log.warn({ err }, 'background write failed');
  // Work after the answer: tracked, so that shutdown lets it finish before the pool closes.
  const afterAnswer = new Set<Promise<unknown>>();
  runLater = (task, failure) => {
    const done: Promise<unknown> = task()
      .catch((err) => app.log.error({ err, code: failure }, 'work after the answer failed'))
      .finally(() => afterAnswer.delete(done));
    afterAnswer.add(done);
  };
  app.addHook('onClose', async () => {
    await Promise.allSettled([...afterAnswer]);
  });

  app.decorateRequest('ctx', null as unknown as RequestContext);
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    const transport = req.routeOptions.url === '/graphql' ? 'graphql' : 'rest';
    const observe = newObservation(transport, req.routeOptions.config?.operation?.name);
    const agent = req.headers['user-agent'];
    const userAgent = typeof agent === 'string' ? agent.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 256) : undefined;
    req.ctx = createContext(() => orm.em.fork(), deps, req.headers, req.log, observe, { ip: req.ip, userAgent }, req.routeOptions.config?.operation);
  });
  // The tenant a request names (login-like bodies) is part of its log line.
  app.addHook('preHandler', async (req) => {
    const tenant = (req.body as { tenant?: unknown } | undefined)?.tenant;
    if (typeof tenant === 'string' && tenant.length <= 64) req.ctx.observe.tenant ??= tenant;
  });
  // While shutting down, answers close their connection so that keep-alive clients do not
  // hold the server open after their in-flight request is done.
  app.addHook('onSend', async (req, reply) => {
    if (!accepting) reply.header('connection', 'close');
    // Answers of auth operations (tokens, keys, who the caller is) are never stored by a cache,
    // through either door.
    if (req.routeOptions.config?.operation || req.routeOptions.url === '/graphql') reply.header('cache-control', 'no-store');
  });
  app.addHook('onResponse', async (req, reply) => {
    if (!req.ctx) return;
    finishRequest(req.log, metrics, req.ctx.observe, { method: req.method, url: req.url, status: reply.statusCode, durationMs: reply.elapsedTime });
  });
  // An empty JSON body is no body (POST /auth/logout/all from clients that always send the header);
  // anything else goes to Fastify's own prototype-poisoning-safe parser.
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) =>
    body === '' ? done(null, undefined) : json(req, body as string, done),
  );
  registerRequestChecks(app);
  registerErrorHandlers(app);
  await app.register(formbody);
  // Security headers (helmet), built once: a locked-down CSP for the JSON routes; the Sandbox (development) keeps Apollo's; none for forward auth's proxy.
  const headers = helmet({
    contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"] } },
    crossOriginEmbedderPolicy: false,
  });
  const sandboxHeaders = helmet({ contentSecurityPolicy: false, crossOriginEmbedderPolicy: false });
  app.addHook('onRequest', (req, reply, done) => {
    if (req.routeOptions.config?.upstreamQuery) return done();
    const apply = config.graphql.sandbox && req.routeOptions.url === '/graphql' ? sandboxHeaders : headers;
    apply(req.raw, reply.raw, done as (err?: unknown) => void);
  });
  app.addHook('onClose', async () => deps.limiter.close());
  // The flush timer stops with the app; lines logged after close go out on flush() or at exit.
  app.addHook('onClose', async () => logDestination?.stop());
  // OpenAPI for the REST shim, with each route's declared error codes (GET /openapi.json).
  await app.register(swagger, {
    openapi: {
      info: { title: 'auth-gateway REST shim', version: '0.1.0', description: 'Errors are {"detail": {"status": "error", "code", "message"}}; codes: GET /auth/error-codes.' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An access token, or an API key (agk_...)' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
    },
    hideUntagged: true,
  });
  await app.register(passwordRoutes, { config });
  await app.register(sessionsRoutes, { config });
  await app.register(viewerRoutes);
  await app.register(passkeyRoutes, { config });
  await app.register(googleRoutes, { config });
  await app.register(apiKeyRoutes, { config });
  await app.register(accountRoutes, { config });
  await app.register(linkRoutes, { config });
  await app.register(ssoRoutes, { config });
  // Every tenant's OpenID Provider (SPEC §12), made when first asked for.
  await app.register(oidcRoutes, { config, fork: () => orm.em.fork() });
  await app.register(assetRoutes);
  await app.register(forwardRoutes, { config });
  await app.register(mfaRoutes, { config });
  await app.register(invitationRoutes, { config });
  if (config.demoPage) await app.register(demoRoutes, { config });
  await app.register(metaRoutes, { tokens: deps.tokens, ping: () => ping(orm), accepting: () => accepting, metrics: metrics.registry });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const apollo = await createApollo(app, config);
  app.route({
    url: '/graphql',
    method: ['GET', 'POST', 'OPTIONS'],
    handler: fastifyApolloHandler(apollo, { context: async (req) => req.ctx }),
  });

  // Expired rows are purged in the background from now on (first run a few seconds after start).
  const purge = createPurgeService({
    config,
    orm,
    now: () => deps.now(),
    log: app.log,
    observe: (run) => metrics.purge(run.deleted, run.durationMs / 1000, run.failed.length ? 'failure' : 'success'),
  });
  app.addHook('onClose', async () => purge.stop());
  purge.start();

  // The outbox is delivered in the background from now on; services wake it after a commit.
  const mailer = createMailSender({ config, orm, now: () => deps.now(), log: app.log, observe: (kind, outcome) => metrics.mail(kind, outcome) });
  deps.mailer ??= mailer;
  app.addHook('onClose', async () => mailer.stop());
  mailer.start();
  const webhooks = createWebhookSender({ config, orm, now: () => deps.now(), log: app.log, observe: (outcome) => metrics.webhook(outcome) });
  app.addHook('onClose', async () => webhooks.stop());
  webhooks.start();

  return { app, deps, purge, mailer, webhooks, stopAccepting: () => (accepting = false) };
}
