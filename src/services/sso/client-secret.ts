// A connection's OIDC client secret at rest: AES-256-GCM under a key of its own derived from
// SECRET_KEY (as TOTP secrets are). Sealed when a connection is written, opened only to talk to its IdP.
import type { Config } from '../../config.js';
import { derivedKey, seal, unseal } from '../shared/secrets.js';

const key = (config: Pick<Config, 'secretKey'>) => derivedKey(config.secretKey, 'sso-client-secret v1');
export const sealClientSecret = (config: Pick<Config, 'secretKey'>, secret: string) => seal(key(config), secret);
export const openClientSecret = (config: Pick<Config, 'secretKey'>, sealed: string) => unseal(key(config), sealed);
