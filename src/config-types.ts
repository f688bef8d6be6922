// The configuration's shape: what loadConfig (config.ts) reads from the environment, once.
import type { RsaJwk, SigningJwk } from './config-parse.js';

export interface Config {
  env: 'development' | 'production' | 'test';
  production: boolean;
  host: string;
  port: number;
  dataDir: string;
  /** Unset: the embedded PostgreSQL under dataDir is used. */
  databaseUrl: string | undefined;
  migrateOnStart: boolean;
  db: {
    poolMax: number;
    acquireTimeoutMs: number;
    connectTimeoutMs: number;
    statementTimeoutMs: number;
    queryTimeoutMs: number;
    idleInTransactionTimeoutMs: number;
  };
  secretKey: string;
  /**
   * Where browsers and identity providers reach this gateway (no trailing slash): the base of its
   * own URLs (SSO callback and ACS, SPEC §11–§12). Required in production; else the listen address.
   */
  publicUrl: string;
  /** Seconds an identity provider's discovery, JWKS and token calls may take. */
  ssoIdpTimeoutSeconds: number;
  /**
   * Calls made on a tenant's behalf (SSO discovery, JWKS, token; webhooks): private addresses
   * only outside production or with WEBHOOK_ALLOW_PRIVATE (SPEC §13); answers read up to maxBytes.
   */
  outbound: { allowPrivate: boolean; maxBytes: number };
  /** DNS servers (host or host:port) for verifySsoDomain's TXT lookups; empty: the system's. */
  ssoDnsServers: string[];
  /** `idTokenKeys`: RS256 keys for the OpenID Provider's ID tokens only (none outside production: one is made when first needed). */
  jwt: { privateKeys: SigningJwk[]; idTokenKeys: RsaJwk[]; issuer: string; audience: string };
  accessTokenTtl: number;
  refreshTokenTtl: number;
  refreshReuseGrace: number;
  sessionIdleTimeout: number;
  sessionCacheTtlMs: number;
  /** Seconds since the session's last proof of a credential within which adding a sign-in method is allowed. */
  reauthMaxAge: number;
  /** argon2id parameters, and how many hashes may run at once (the rest wait their turn). */
  password: { memoryCost: number; timeCost: number; parallelism: number; concurrency: number };
  webauthn: {
    rpId: string;
    rpName: string;
    origins: string[];
    userVerification: 'required' | 'preferred' | 'discouraged';
    challengeTtl: number;
  };
  google: { clientIds: string[]; certsUrl: string | undefined; authorizationUrl: string };
  trustProxy: boolean | number | string[];
  graphql: { introspection: boolean; sandbox: boolean };
  demoPage: boolean;
  apiKeys: { cacheTtlMs: number; lastUsedIntervalMs: number };
  rateLimit: {
    enabled: boolean;
    windowSeconds: number;
    accountFailures: number;
    addressFailures: number;
    optionsPerAddress: number;
    apiKeyCreates: number;
    /**
     * Sign-up, resend and forgot mails per hour: per client address, per account and client
     * address together (strangers cannot spend the owner's budget), and per account whatever
     * the address (what one inbox receives).
     */
    mailsPerAddress: number;
    mailsPerAccount: number;
    mailsPerAccountTotal: number;
    /** Invitations one user may send per hour. */
    invitationsPerInviter: number;
    redisUrl: string | undefined;
  };
  graphqlLimits: { maxAliases: number; maxDepth: number; maxTokens: number; maxCost: number };
  /** Purge of expired rows (src/services/purge.service.ts); intervalSeconds 0 disables it. */
  purge: { intervalSeconds: number; batchSize: number; auditRetentionDays: number };
  /** The outbox's sender (src/services/mail/sender.ts). smtpUrl unset: files under dataDir/mail outside production, queued in production. */
  mail: { smtpUrl: string | undefined; from: string; maxAttempts: number; pollIntervalMs: number; retryBaseMs: number; retryMaxMs: number };
  /** SPEC §13: an attempt's timeout, the waits between attempts, how long an endpoint may fail before it is disabled (seconds); how often an instance looks for due messages; how long delivered and failed messages are kept. */
  /** SPEC §14: the audience of the X-Auth-Token that /auth/verify hands the upstream (never JWT_AUDIENCE). */
  forwardAuth: { audience: string };
  webhooks: { timeoutSeconds: number; retryScheduleSeconds: number[]; disableAfterSeconds: number; pollIntervalMs: number; retentionDays: number };
  maxPasswordLength: number;
  accounts: {
    passwordMinLength: number;
    /** Seconds a mailed verification / reset token stays valid. */
    emailVerifyTtl: number;
    passwordResetTtl: number;
    /** Seconds an invitation stays valid (7 days), and how many may be pending in a tenant at once. */
    invitationTtl: number;
    maxPendingInvitations: number;
    /** Seconds a self-service sign-up may stay unverified before the purge removes it (7 days). */
    unverifiedTtl: number;
    /** The base of mailed links for tenants without an app_url of their own (unset in production). */
    appUrl: string | undefined;
    /** `hibp`: new passwords are also looked up in Have I Been Pwned's range API (k-anonymity). */
    breachCheck: 'off' | 'hibp';
    hibpUrl: string;
    hibpTimeoutMs: number;
  };
  logLevel: string;
  bodyLimit: number;
  shutdownTimeoutMs: number;
  shutdownReadyDelayMs: number;
}
