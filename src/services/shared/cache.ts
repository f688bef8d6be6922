// The one per-instance cache (lru-cache): bounded in entries, every entry with a lifetime
// measured on the services' clock (deps.now). Session states, verified access tokens and
// API keys use it; each lifetime is a revocation bound, so a lifetime of 0 caches nothing.
import { LRUCache } from 'lru-cache';

export class TtlCache<K extends {}, V extends {}> {
  private readonly lru: LRUCache<K, V>;

  constructor(
    max: number,
    /** Default lifetime of an entry in ms; 0 or less: nothing is kept. */
    private readonly ttlMs: number,
    now: () => Date,
  ) {
    this.lru = new LRUCache<K, V>({ max, ttl: Math.max(1, ttlMs), ttlAutopurge: false, perf: { now: () => now().getTime() } });
  }

  get(key: K): V | undefined {
    return this.lru.get(key);
  }

  /** Keep `value` for `ttlMs` (default: the cache's); nothing is kept for a lifetime of 0 or less. */
  set(key: K, value: V, ttlMs = this.ttlMs): void {
    if (ttlMs > 0) this.lru.set(key, value, { ttl: ttlMs });
  }

  delete(key: K): void {
    this.lru.delete(key);
  }

  /** Drop every entry whose value matches (e.g. all sessions of a user). */
  deleteWhere(match: (value: V) => boolean): void {
    for (const [key, value] of this.lru.entries()) if (match(value)) this.lru.delete(key);
  }
}
