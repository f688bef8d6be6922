// The per-request context shared by both doors: a request-scoped entity manager, the
// service deps, and the caller, resolved lazily (public operations never look at it).
import type { FastifyBaseLogger } from 'fastify';
import type { EntityManager } from './db/orm.js';
import type { RequestObservation } from './observability/request-log.js';
import { AuthError } from './errors/auth-error.js';
import type { OperationSpec } from './errors/catalog.js';
import { looksLikeApiKey } from './services/keys/format.js';
import type { ServiceDeps } from './services/deps.js';
import type { Client } from './services/limits/rate-limiter.js';
import { authenticateAccessToken } from './services/sessions/caller.js';
import { currentPermissions, type Viewer } from './services/sessions/principal.js';

export interface RequestContext {
  em: EntityManager;
  deps: ServiceDeps;
  /** The request's logger (carries its request id). */
  log: FastifyBaseLogger;
  /** What the request did, for its log line and metrics. */
  observe: RequestObservation;
  /** The client as rate limits see it (X-Forwarded-For only under TRUST_PROXY). */
  client: Client;
  /** The authenticated caller, by access token or API key; throws auth_unauthenticated when there is none. */
  viewer(): Promise<Viewer>;
  /**
   * The caller of an operation that only a signed-in session may run (catalog `caller:
   * 'session'`): an API key is refused with auth_forbidden before it is looked up. REST
   * routes get this from viewer() through their operation; GraphQL fields from the auth checker.
   */
  sessionViewer(): Promise<Viewer>;
  /** What the caller may do now, read from the database (never from a token's claims). */
  permissions(): Promise<string[]>;
}

type Headers = Record<string, string | string[] | undefined>;

export type Credential = { kind: 'access_token' | 'api_key'; value: string };

/**
 * The credential of a request: `Authorization: Bearer <access token | API key>` or
 * `X-API-Key: <API key>`. API keys are recognised by their fixed prefix. A malformed
 * Authorization header is no credential.
 */
export function requestCredential(headers: Headers): Credential | undefined {
  const auth = headers.authorization;
  const bearer = typeof auth === 'string' ? /^Bearer[ ]+([^\s]+)\s*$/i.exec(auth)?.[1] : undefined;
  if (bearer) return { kind: looksLikeApiKey(bearer) ? 'api_key' : 'access_token', value: bearer };
  const key = headers['x-api-key'];
  return typeof key === 'string' && key.trim() !== '' ? { kind: 'api_key', value: key.trim() } : undefined;
}

export function createContext(
  fork: () => EntityManager,
  deps: ServiceDeps,
  headers: Headers,
  log: FastifyBaseLogger,
  observe: RequestObservation,
  client: Client,
  /** The REST route's operation: its catalog `caller` decides which credentials viewer() takes. */
  operation?: Pick<OperationSpec, 'caller'>,
): RequestContext {
  let viewer: Promise<Viewer> | undefined;
  const credential = requestCredential(headers);
  let em: EntityManager | undefined;
  // The request's entity manager is forked on first use: cached callers never need one. Its
  // getter sits on a per-request prototype: Apollo Server hands resolvers a shallow clone of
  // the context (own properties copied, prototype kept), and an own getter would be called by
  // the copy, forking an entity manager for every GraphQL request.
  const scoped = () => (em ??= fork());
  const lazy = Object.defineProperty({}, 'em', { get: scoped }) as Pick<RequestContext, 'em'>;
  return Object.assign(Object.create(lazy) as RequestContext, {
    deps,
    log,
    observe,
    client,
    async permissions() {
      return currentPermissions(scoped(), await this.viewer());
    },
    async sessionViewer() {
      if (credential?.kind === 'api_key') throw new AuthError('auth_forbidden');
      return this.viewer();
    },
    viewer() {
      if (operation?.caller === 'session' && credential?.kind === 'api_key') return Promise.reject(new AuthError('auth_forbidden'));
      viewer ??= (async () => {
        if (!credential) throw new AuthError('auth_unauthenticated');
        const v =
          credential.kind === 'api_key'
            ? await deps.apiKeys.authenticate(scoped, deps, credential.value, client)
            : await authenticateAccessToken(scoped, deps, credential.value);
        observe.tenant ??= v.tenant;
        return v;
      })();
      return viewer;
    },
  } satisfies Omit<RequestContext, 'em'>);
}
