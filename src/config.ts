// The only reader of process.env. Parsed once at boot; bad or missing production
// secrets refuse the start (every variable: docs/configuration.md). The shape is
// config-types.ts, the parsing helpers config-parse.ts.
import os from 'node:os';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { bool, bound, ConfigError, devSecrets, int, list, oneOf, parseKeySet, publicUrl, read, trustProxy, type Env } from './config-parse.js';
import type { Config } from './config-types.js';

export { ConfigError, generateIdTokenKey, generateSigningKey, parseSigningKeys, type RsaJwk, type SigningJwk } from './config-parse.js';
export type { Config } from './config-types.js';

/** Rows per purge statement: a batch of dead sessions with their tokens takes 30–60 ms at 500 on the slower bench machine (1,000 took up to 220 ms). */
export const PURGE_BATCH_SIZE_DEFAULT = 500;

// OWASP's minimum for argon2id; production may only go up from here.
export const OWASP_ARGON2 = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;


const LOOPBACK = ['127.0.0.1', 'localhost', '::1'];

export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = read(env, 'NODE_ENV') ?? 'development';
  if (!['development', 'production', 'test'].includes(nodeEnv)) throw new ConfigError('NODE_ENV must be development, production or test');
  const production = nodeEnv === 'production';
  const dataDir = path.resolve(read(env, 'DATA_DIR') ?? '.data');

  const databaseUrl = read(env, 'DATABASE_URL');
  let secretKey = read(env, 'SECRET_KEY');
  let jwtKeys = read(env, 'JWT_PRIVATE_KEYS');
  if (production) {
    const missing = [
      !databaseUrl && 'DATABASE_URL',
      !secretKey && 'SECRET_KEY',
      !jwtKeys && 'JWT_PRIVATE_KEYS',
    ].filter(Boolean);
    if (missing.length) throw new ConfigError(`production mode needs ${missing.join(', ')}`);
  } else if (!secretKey || !jwtKeys) {
    const dev = devSecrets(dataDir);
    secretKey ??= dev.secretKey;
    jwtKeys ??= dev.jwtPrivateKeys;
  }
  if (Buffer.byteLength(secretKey!, 'utf8') < 32) throw new ConfigError('SECRET_KEY must be at least 32 bytes');
  const keySet = parseKeySet(jwtKeys!);
  // The OpenID Provider's ID tokens are RS256 (SPEC §12): outside production a key is made when first needed.
  if (production && !keySet.idToken.length) throw new ConfigError('production mode needs an RS256 key in JWT_PRIVATE_KEYS, after the first key, to sign ID tokens (npm run keys prints a set with one)');

  const host = read(env, 'HOST') ?? '127.0.0.1';
  const port = int(env, 'PORT', 4000);
  const listenUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const password = {
    memoryCost: int(env, 'PASSWORD_HASH_MEMORY_KIB', OWASP_ARGON2.memoryCost, 8),
    timeCost: int(env, 'PASSWORD_HASH_ITERATIONS', OWASP_ARGON2.timeCost, 1),
    parallelism: int(env, 'PASSWORD_HASH_PARALLELISM', OWASP_ARGON2.parallelism, 1),
    // As many as cores: more only add 19 MiB buffers and contention on the same cores.
    concurrency: int(env, 'PASSWORD_HASH_CONCURRENCY', os.availableParallelism(), 1),
  };
  const issuer = read(env, 'JWT_ISSUER');
  const audience = read(env, 'JWT_AUDIENCE');
  const rpId = read(env, 'WEBAUTHN_RP_ID') ?? 'localhost';
  if (production) {
    // The listen-address defaults make tokens valid for any deployment listening there, and a
    // localhost relying party works for no real user.
    const unset = [!issuer && 'JWT_ISSUER', !audience && 'JWT_AUDIENCE', !read(env, 'PUBLIC_URL') && 'PUBLIC_URL'].filter(Boolean);
    if (unset.length) throw new ConfigError(`production mode needs ${unset.join(' and ')} (the listen-address default is for development)`);
    if (rpId === 'localhost') throw new ConfigError('production mode refuses WEBAUTHN_RP_ID=localhost: set it to your site\'s domain');
  }
  if (production && (password.memoryCost < OWASP_ARGON2.memoryCost || password.timeCost < OWASP_ARGON2.timeCost)) {
    throw new ConfigError('production mode refuses argon2id parameters below OWASP (m=19456 KiB, t=2, p=1)');
  }

  // Outside production on a loopback address: localhost, the name the demo page, passkeys and
  // the local IdP (npm run idp) use for this gateway.
  const base = publicUrl(read(env, 'PUBLIC_URL') ?? (LOOPBACK.includes(host) ? `http://localhost:${port}` : listenUrl));
  // SPEC §14: the upstream's token has an audience of its own, never the gateway's.
  const forwardAudience = read(env, 'FORWARD_AUTH_AUDIENCE') ?? `${base}/upstream`;
  if (forwardAudience === (audience ?? listenUrl)) throw new ConfigError('FORWARD_AUTH_AUDIENCE must differ from JWT_AUDIENCE: an upstream token must never pass as an access token');

  return {
    env: nodeEnv as Config['env'],
    production,
    host,
    port,
    dataDir,
    databaseUrl,
    migrateOnStart: bool(env, 'MIGRATE_ON_START', !databaseUrl),
    db: {
      poolMax: int(env, 'DB_POOL_MAX', 10, 1),
      acquireTimeoutMs: int(env, 'DB_ACQUIRE_TIMEOUT_MS', 2000, 1),
      connectTimeoutMs: int(env, 'DB_CONNECT_TIMEOUT_MS', 2000, 1),
      statementTimeoutMs: int(env, 'DB_STATEMENT_TIMEOUT_MS', 2000, 1),
      queryTimeoutMs: int(env, 'DB_QUERY_TIMEOUT_MS', 2500, 1),
      idleInTransactionTimeoutMs: int(env, 'DB_IDLE_IN_TRANSACTION_TIMEOUT_MS', 5000, 1),
    },
    secretKey: secretKey!,
    publicUrl: base,
    ssoIdpTimeoutSeconds: int(env, 'SSO_IDP_TIMEOUT_SECONDS', 5, 1),
    ssoDnsServers: list(env, 'SSO_DNS_SERVERS', []),
    outbound: { allowPrivate: !production || bool(env, 'WEBHOOK_ALLOW_PRIVATE', false), maxBytes: 1_048_576 },
    jwt: {
      privateKeys: keySet.signing,
      idTokenKeys: keySet.idToken,
      issuer: issuer ?? listenUrl,
      audience: audience ?? listenUrl,
    },
    accessTokenTtl: int(env, 'ACCESS_TOKEN_TTL', 900, 1),
    refreshTokenTtl: int(env, 'REFRESH_TOKEN_TTL', 2592000, 1),
    refreshReuseGrace: int(env, 'REFRESH_REUSE_GRACE', 10),
    sessionIdleTimeout: int(env, 'SESSION_IDLE_TIMEOUT', 1209600, 1),
    sessionCacheTtlMs: bound(env, 'SESSION_CACHE_TTL_MS', 2000, 5000),
    reauthMaxAge: int(env, 'REAUTH_MAX_AGE', 900, 1),
    password,
    webauthn: {
      rpId,
      rpName: read(env, 'WEBAUTHN_RP_NAME') ?? 'Auth Gateway',
      // The demo page's origin on a host name passkeys accept (localhost), at whatever PORT says.
      origins: list(env, 'WEBAUTHN_ORIGINS', [`http://localhost:${port}`]),
      userVerification: oneOf(env, 'WEBAUTHN_USER_VERIFICATION', ['required', 'preferred', 'discouraged'] as const, 'required'),
      challengeTtl: int(env, 'WEBAUTHN_CHALLENGE_TTL', 300, 1),
    },
    google: {
      clientIds: list(env, 'GOOGLE_CLIENT_IDS', []),
      certsUrl: read(env, 'GOOGLE_CERTS_URL'),
      // The hosted sign-in's "Sign in with Google" (SPEC §12) sends the browser here.
      authorizationUrl: read(env, 'GOOGLE_AUTHORIZATION_URL') ?? 'https://accounts.google.com/o/oauth2/v2/auth',
    },
    trustProxy: trustProxy(read(env, 'TRUST_PROXY')),
    graphql: {
      introspection: bool(env, 'GRAPHQL_INTROSPECTION', !production),
      sandbox: bool(env, 'GRAPHQL_SANDBOX', !production),
    },
    demoPage: bool(env, 'DEMO_PAGE', !production),
    apiKeys: {
      cacheTtlMs: bound(env, 'API_KEY_CACHE_TTL_MS', 3000, 5000),
      lastUsedIntervalMs: int(env, 'API_KEY_LAST_USED_INTERVAL_MS', 60_000),
    },
    rateLimit: {
      enabled: bool(env, 'RATE_LIMIT_ENABLED', true),
      windowSeconds: int(env, 'RATE_LIMIT_WINDOW_SECONDS', 900, 1),
      accountFailures: int(env, 'RATE_LIMIT_ACCOUNT_FAILURES', 10, 1),
      addressFailures: int(env, 'RATE_LIMIT_ADDRESS_FAILURES', 100, 1),
      optionsPerAddress: int(env, 'RATE_LIMIT_OPTIONS_PER_ADDRESS', 300, 1),
      apiKeyCreates: int(env, 'RATE_LIMIT_API_KEY_CREATES', 50, 1),
      mailsPerAddress: int(env, 'RATE_LIMIT_MAILS_PER_ADDRESS', 20, 1),
      mailsPerAccount: int(env, 'RATE_LIMIT_MAILS_PER_ACCOUNT', 5, 1),
      mailsPerAccountTotal: int(env, 'RATE_LIMIT_MAILS_PER_ACCOUNT_TOTAL', 20, 1),
      invitationsPerInviter: int(env, 'RATE_LIMIT_INVITATIONS_PER_INVITER', 20, 1),
      redisUrl: read(env, 'REDIS_URL'),
    },
    graphqlLimits: {
      maxAliases: int(env, 'GRAPHQL_MAX_ALIASES', 15, 1),
      maxDepth: int(env, 'GRAPHQL_MAX_DEPTH', 10, 1),
      maxTokens: int(env, 'GRAPHQL_MAX_TOKENS', 1000, 1),
      maxCost: int(env, 'GRAPHQL_MAX_COST', 5000, 1),
    },
    purge: {
      intervalSeconds: int(env, 'PURGE_INTERVAL_SECONDS', 300),
      batchSize: int(env, 'PURGE_BATCH_SIZE', PURGE_BATCH_SIZE_DEFAULT, 1),
      auditRetentionDays: int(env, 'AUDIT_RETENTION_DAYS', 365, 1),
    },
    mail: mailConfig(env),
    webhooks: webhookConfig(env),
    forwardAuth: { audience: forwardAudience },
    maxPasswordLength: int(env, 'MAX_PASSWORD_LENGTH', 1024, 64),
    accounts: {
      passwordMinLength: int(env, 'PASSWORD_MIN_LENGTH', 8, 1),
      emailVerifyTtl: int(env, 'EMAIL_VERIFY_TTL', 86400, 1),
      passwordResetTtl: int(env, 'PASSWORD_RESET_TTL', 1800, 1),
      invitationTtl: int(env, 'INVITATION_TTL', 7 * 86400, 1),
      maxPendingInvitations: int(env, 'INVITATIONS_MAX_PENDING', 100, 1),
      unverifiedTtl: int(env, 'UNVERIFIED_TTL', 7 * 86400, 1),
      // Outside production the demo page at this gateway follows the links.
      appUrl: read(env, 'APP_URL') ?? (production ? undefined : `http://localhost:${port}/demo`),
      breachCheck: oneOf(env, 'PASSWORD_BREACH_CHECK', ['off', 'hibp'] as const, 'off'),
      hibpUrl: read(env, 'HIBP_URL') ?? 'https://api.pwnedpasswords.com/range/',
      hibpTimeoutMs: int(env, 'HIBP_TIMEOUT_MS', 1500, 1),
    },
    logLevel: read(env, 'LOG_LEVEL') ?? 'info',
    bodyLimit: int(env, 'BODY_LIMIT', 64 * 1024, 1024),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 10000, 0),
    shutdownReadyDelayMs: int(env, 'SHUTDOWN_READY_DELAY_MS', 0, 0),
  };
}

/** Delivery of the mail outbox (docs/accounts.md, Mail): the first retry within 5 s, no wait over 60 s. */
function mailConfig(env: Env): Config['mail'] {
  const smtpUrl = read(env, 'SMTP_URL');
  if (smtpUrl !== undefined && !/^smtps?:\/\/[^/?#]+/.test(smtpUrl)) throw new ConfigError('SMTP_URL must be smtp://host:port or smtps://host:port (credentials as user:pass@)');
  const retryBaseMs = int(env, 'MAIL_RETRY_BASE_MS', 2000, 1);
  const retryMaxMs = int(env, 'MAIL_RETRY_MAX_MS', 60_000, 1);
  if (retryBaseMs > 5000 || retryMaxMs > 60_000 || retryBaseMs > retryMaxMs) throw new ConfigError('MAIL_RETRY_BASE_MS must be at most 5000 and MAIL_RETRY_MAX_MS between it and 60000');
  return {
    smtpUrl,
    from: read(env, 'MAIL_FROM') ?? 'auth-gateway <no-reply@localhost>',
    maxAttempts: int(env, 'MAIL_MAX_ATTEMPTS', 20, 1),
    pollIntervalMs: int(env, 'MAIL_POLL_INTERVAL_MS', 1000),
    retryBaseMs,
    retryMaxMs,
  };
}

/** Delivery of webhooks (SPEC §13): durations in seconds. */
function webhookConfig(env: Env): Config['webhooks'] {
  const schedule = list(env, 'WEBHOOK_RETRY_SCHEDULE', ['5', '300', '1800', '7200', '18000', '36000', '36000']);
  if (!schedule.length || schedule.some((s) => !/^\d+$/.test(s))) throw new ConfigError('WEBHOOK_RETRY_SCHEDULE must be a comma-separated list of whole seconds');
  return {
    timeoutSeconds: int(env, 'WEBHOOK_TIMEOUT', 10, 1),
    retryScheduleSeconds: schedule.map(Number),
    disableAfterSeconds: int(env, 'WEBHOOK_DISABLE_AFTER', 432_000, 1),
    pollIntervalMs: int(env, 'WEBHOOK_POLL_INTERVAL_MS', 1000),
    retentionDays: int(env, 'WEBHOOK_RETENTION_DAYS', 30, 1),
  };
}

/** process.env, with a .env file merged in outside production (real env vars win). */
export function readEnvironment(): Env {
  if (process.env.NODE_ENV !== 'production' && existsSync('.env')) process.loadEnvFile('.env');
  return process.env;
}

