// The per-request context shared by both doors: a request-scoped entity manager, the
// service deps, and the caller, resolved lazily (public operations never look at it).
import type { FastifyBaseLogger } from 'fastify';
import type { EntityManager } from './db/orm.js';
import type { RequestObservation } from './observability/request-log.js';
import { AuthError } from './errors/auth-error.js';
import type { OperationSpec } from './api/operations.js';
import { looksLikeApiKey } from './services/api-keys/format.js';
import type { ServiceDeps } from './services/deps.js';
import type { Client } from './services/rate-limits/limiter.js';
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

/**
 * What a request shares with every copy of its context: the entity manager, forked on first use
 * (cached callers never need one), and the caller, resolved once.
 */
interface RequestScope {
  fork: () => EntityManager;
  em?: EntityManager;
  credential?: Credential;
  operation?: Pick<OperationSpec, 'caller'>;
  viewer?: Promise<Viewer>;
}

/**
 * The context's lazy parts live on its class's prototype and in one shared `scope` object:
 * Apollo Server hands resolvers a shallow copy of the context (own properties copied onto an
 * object of the same prototype), and an own getter would be called by the copy, forking an
 * entity manager for every GraphQL request. One class keeps every context the same shape.
 */
class Context implements RequestContext {
  constructor(
    private readonly scope: RequestScope,
    readonly deps: ServiceDeps,
    readonly log: FastifyBaseLogger,
    readonly observe: RequestObservation,
    readonly client: Client,
  ) {}

  get em(): EntityManager {
    return (this.scope.em ??= this.scope.fork());
  }

  async permissions(): Promise<string[]> {
    return currentPermissions(this.em, await this.viewer());
  }

  async sessionViewer(): Promise<Viewer> {
    if (this.scope.credential?.kind === 'api_key') throw new AuthError('auth_forbidden');
    return this.viewer();
  }

  viewer(): Promise<Viewer> {
    const { scope, deps, client, observe } = this;
    const { credential } = scope;
    if (scope.operation?.caller === 'session' && credential?.kind === 'api_key') return Promise.reject(new AuthError('auth_forbidden'));
    const em = () => this.em;
    scope.viewer ??= (async () => {
      if (!credential) throw new AuthError('auth_unauthenticated');
      const v =
        credential.kind === 'api_key'
          ? await deps.apiKeys.authenticate(em, deps, credential.value, client)
          : await authenticateAccessToken(em, deps, credential.value);
      observe.tenant ??= v.tenantSlug;
      return v;
    })();
    return scope.viewer;
  }
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
  return new Context({ fork, credential: requestCredential(headers), operation }, deps, log, observe, client);
}
