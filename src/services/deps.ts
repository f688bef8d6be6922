import type { Config } from '../config.js';
import type { ApiKeyVerifier } from './api-key.service.js';
import type { GoogleVerifier } from './google.service.js';
import type { PasswordHasher } from './password.service.js';
import type { RateLimiter } from './rate-limit.service.js';
import type { SessionCache } from './session-cache.js';
import type { TokenService } from './token.service.js';

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
