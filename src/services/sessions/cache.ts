// The state of a session as `me` and other protected calls need it, cached per instance for
// SESSION_CACHE_TTL_MS (default 2 s, at most 5 s): a revocation takes effect at once on the
// instance that made it and within that bound on the others.
import { TtlCache } from '../shared/cache.js';

export interface SessionState {
  userId: string;
  tenantId: string;
  tenantSlug: string;
  email: string;
  revoked: boolean;
  disabled: boolean;
  expiresAt: number;
  /** A one-factor session of a user holding an MFA-required role: it may only enrol a second factor. */
  mfaRestricted: boolean;
  /** The user's roles and their permissions when the state was read (the token's claims may be minutes old). */
  grants: { roles: string[]; permissions: string[] };
}

export interface SessionCache {
  get(sid: string): SessionState | undefined;
  set(sid: string, state: SessionState): void;
  forgetSession(sid: string): void;
  forgetUser(userId: string): void;
}

const LIMIT = 50_000;

export function createSessionCache(ttlMs: number, now: () => Date): SessionCache {
  const entries = new TtlCache<string, SessionState>(LIMIT, ttlMs, now);
  return {
    get: (sid) => entries.get(sid),
    set: (sid, state) => entries.set(sid, state),
    forgetSession: (sid) => entries.delete(sid),
    forgetUser: (userId) => entries.deleteWhere((state) => state.userId === userId),
  };
}
