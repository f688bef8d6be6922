import type { Config } from '../config.js';
import type { ErrorCode } from '../errors/catalog.js';
import type { BreachChecker } from './passwords/breaches.js';
import type { ApiKeyVerifier } from './api-keys/verifier.js';
import type { GoogleVerifier } from './google/verifier.js';
import type { PasswordHasher } from './passwords/hasher.js';
import type { RateLimiter } from './rate-limits/limiter.js';
import type { SessionCache } from './sessions/cache.js';
import type { TokenService } from './sessions/access-tokens.js';

/** The narrow set of collaborators services need besides an entity manager. */
export interface ServiceDeps {
  config: Config;
  passwords: PasswordHasher;
  tokens: TokenService;
  google: GoogleVerifier;
  apiKeys: ApiKeyVerifier;
  limiter: RateLimiter;
  sessions: SessionCache;
  now(): Date;
  /** Have I Been Pwned, when PASSWORD_BREACH_CHECK=hibp. */
  breaches?: BreachChecker;
  /**
   * Run `task` after the answer has gone, tracked until done (shutdown waits for it); a failure
   * is logged with `failure`, the operation's code. For work whose cost would otherwise tell
   * whether an account exists (resend, forgot).
   */
  later(task: () => Promise<unknown>, failure: ErrorCode): void;
  /** This instance's mail sender: `mailer?.wake()` after committing a transaction that queued mail (absent outside the app). */
  mailer?: { wake(): void };
}
