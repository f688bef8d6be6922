// The state of a session as `me` and other protected calls need it, cached per instance for
// SESSION_CACHE_TTL_MS (default 2 s): a revocation takes effect at once on the instance that
// made it and within that bound on the others (SPEC §3 allows 5 s).

export interface SessionState {
  userId: string;
  tenantId: string;
  tenantSlug: string;
  email: string;
  revoked: boolean;
  disabled: boolean;
  expiresAt: number;
}

export interface SessionCache {
  get(sid: string): SessionState | undefined;
  set(sid: string, state: SessionState): void;
  forgetSession(sid: string): void;
  forgetUser(userId: string): void;
}

const LIMIT = 50_000;

export function createSessionCache(ttlMs: number): SessionCache {
  const entries = new Map<string, { state: SessionState; until: number }>();
  return {
    get(sid) {
      const e = entries.get(sid);
      if (!e) return undefined;
      if (e.until > Date.now()) return e.state;
      entries.delete(sid);
      return undefined;
    },
    set(sid, state) {
      if (ttlMs <= 0) return;
      if (entries.size >= LIMIT) entries.delete(entries.keys().next().value!);
      entries.set(sid, { state, until: Date.now() + ttlMs });
    },
    forgetSession(sid) {
      entries.delete(sid);
    },
    forgetUser(userId) {
      for (const [sid, e] of entries) if (e.state.userId === userId) entries.delete(sid);
    },
  };
}
