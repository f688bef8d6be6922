import type { Config } from '../config.js';
import type { ApiKeyVerifier } from './keys/verifier.js';
import type { GoogleVerifier } from './google/verifier.js';
import type { PasswordHasher } from './passwords/hasher.js';
import type { RateLimiter } from './limits/rate-limiter.js';
import type { SessionCache } from './sessions/session-cache.js';
import type { TokenService } from './tokens/access-tokens.js';

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
}
