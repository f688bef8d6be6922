// The per-request context shared by both doors: a request-scoped entity manager, the
// service deps, and the caller, resolved lazily (public operations never look at it).
import type { EntityManager } from './db/orm.js';
import { AuthError } from './errors/auth-error.js';
import type { ServiceDeps } from './services/deps.js';
import { authenticateAccessToken, type Viewer } from './services/session.service.js';

export interface RequestContext {
  em: EntityManager;
  deps: ServiceDeps;
  /** The authenticated caller; throws auth_unauthenticated when there is none. */
  viewer(): Promise<Viewer>;
}

type Headers = Record<string, string | string[] | undefined>;

/** The bearer credential of a request, if any. A malformed Authorization header is no credential. */
export function bearerCredential(headers: Headers): string | undefined {
  const auth = headers.authorization;
  if (typeof auth !== 'string') return undefined;
  const m = /^Bearer[ ]+([^\s]+)\s*$/i.exec(auth);
  return m?.[1];
}

export function createContext(em: EntityManager, deps: ServiceDeps, headers: Headers): RequestContext {
  let viewer: Promise<Viewer> | undefined;
  return {
    em,
    deps,
    viewer() {
      viewer ??= (async () => {
        const token = bearerCredential(headers);
        if (!token) throw new AuthError('auth_unauthenticated');
        return authenticateAccessToken(em, deps, token);
      })();
      return viewer;
    },
  };
}
