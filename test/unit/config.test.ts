// Configuration is read once and refuses unsafe production settings.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, generateIdTokenKey, generateSigningKey, loadConfig } from '../../src/config.js';

const rsa = generateIdTokenKey();
const keys = JSON.stringify({ keys: [generateSigningKey('EdDSA'), generateSigningKey('ES256'), rsa] });
const prod = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://db/x',
  SECRET_KEY: 'k'.repeat(32),
  JWT_PRIVATE_KEYS: keys,
  JWT_ISSUER: 'https://auth.example.com',
  JWT_AUDIENCE: 'https://api.example.com',
  PUBLIC_URL: 'https://auth.example.com',
  WEBAUTHN_RP_ID: 'example.com',
};
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'gw-config-'));

describe('production mode', () => {
  it('starts with explicit DATABASE_URL, SECRET_KEY and signing keys, with Sandbox and introspection off', () => {
    const c = loadConfig(prod);
    expect(c.production).toBe(true);
    expect(c.graphql).toEqual({ introspection: false, sandbox: false });
    expect(c.jwt.privateKeys.map((k) => k.alg)).toEqual(['EdDSA', 'ES256']);
    expect(c.jwt.idTokenKeys.map((k) => k.kid)).toEqual([rsa.kid]);
  });

  it('needs an RS256 key for ID tokens, never as the first key', () => {
    const [ed, es] = JSON.parse(keys).keys;
    expect(() => loadConfig({ ...prod, JWT_PRIVATE_KEYS: JSON.stringify({ keys: [ed, es] }) })).toThrow(/RS256 key/);
    expect(() => loadConfig({ ...prod, JWT_PRIVATE_KEYS: JSON.stringify({ keys: [rsa, ed] }) })).toThrow(/first key/);
    expect(() => loadConfig({ ...prod, JWT_PRIVATE_KEYS: JSON.stringify({ keys: [ed, { ...rsa, d: undefined }] }) })).toThrow(/private RSA key/);
  });

  for (const missing of ['DATABASE_URL', 'SECRET_KEY', 'JWT_PRIVATE_KEYS']) {
    it(`refuses to start without ${missing}`, () => {
      expect(() => loadConfig({ ...prod, [missing]: undefined })).toThrow(new RegExp(missing));
    });
  }

  for (const missing of ['JWT_ISSUER', 'JWT_AUDIENCE', 'PUBLIC_URL']) {
    it(`refuses to start with ${missing} left to the listen-address default`, () => {
      expect(() => loadConfig({ ...prod, [missing]: undefined })).toThrow(new RegExp(missing));
    });
  }

  it('keeps PUBLIC_URL without a trailing slash and refuses one with a query, a fragment or another scheme', () => {
    expect(loadConfig({ ...prod, PUBLIC_URL: 'https://auth.example.com/gw/' }).publicUrl).toBe('https://auth.example.com/gw');
    for (const bad of ['ftp://auth.example.com', 'https://auth.example.com/?a=1', 'https://auth.example.com/#x', 'not a url']) expect(() => loadConfig({ ...prod, PUBLIC_URL: bad })).toThrow(/PUBLIC_URL/);
    // Outside production: the listen address, named localhost on loopback (as the demo page and passkeys name it).
    expect(loadConfig({ NODE_ENV: 'test', PORT: '4555', DATA_DIR: tmp() }).publicUrl).toBe('http://localhost:4555');
    expect(loadConfig({ NODE_ENV: 'test', HOST: '0.0.0.0', PORT: '4555', DATA_DIR: tmp() }).publicUrl).toBe('http://0.0.0.0:4555');
  });

  it('refuses a localhost WebAuthn relying party, set or defaulted', () => {
    expect(() => loadConfig({ ...prod, WEBAUTHN_RP_ID: 'localhost' })).toThrow(/WEBAUTHN_RP_ID/);
    expect(() => loadConfig({ ...prod, WEBAUTHN_RP_ID: undefined })).toThrow(/WEBAUTHN_RP_ID/);
  });

  it('refuses argon2id parameters below OWASP', () => {
    expect(() => loadConfig({ ...prod, PASSWORD_HASH_MEMORY_KIB: '4096' })).toThrow(ConfigError);
  });

  it('lets Sandbox and introspection be enabled explicitly', () => {
    expect(loadConfig({ ...prod, GRAPHQL_SANDBOX: 'true', GRAPHQL_INTROSPECTION: 'true' }).graphql).toEqual({ introspection: true, sandbox: true });
  });
});

describe('secrets', () => {
  it('refuses a SECRET_KEY under 32 bytes', () => {
    expect(() => loadConfig({ ...prod, SECRET_KEY: 'short' })).toThrow(/32 bytes/);
  });

  it('refuses signing keys that are not EdDSA/Ed25519 or ES256/P-256 private keys with a kid', () => {
    const { d: _d, ...pub } = generateSigningKey('EdDSA');
    expect(() => loadConfig({ ...prod, JWT_PRIVATE_KEYS: JSON.stringify({ keys: [pub] }) })).toThrow(/not a private key/);
    expect(() => loadConfig({ ...prod, JWT_PRIVATE_KEYS: JSON.stringify({ keys: [{ ...generateSigningKey(), alg: 'RS256' }] }) })).toThrow(ConfigError);
    expect(() => loadConfig({ ...prod, JWT_PRIVATE_KEYS: JSON.stringify({ keys: [{ ...generateSigningKey(), kid: '' }] }) })).toThrow(/kid/);
    expect(() => loadConfig({ ...prod, JWT_PRIVATE_KEYS: '{nope' })).toThrow(/JSON/);
  });

  it('generates development secrets once and keeps them under the data folder', () => {
    const dir = tmp();
    const a = loadConfig({ DATA_DIR: dir });
    const b = loadConfig({ DATA_DIR: dir });
    expect(a.secretKey).toBe(b.secretKey);
    expect(a.jwt.privateKeys).toEqual(b.jwt.privateKeys);
    expect(loadConfig({ DATA_DIR: tmp() }).secretKey).not.toBe(a.secretKey);
  });
});

describe('defaults', () => {
  it('are the documented ones (docs/configuration.md)', () => {
    const c = loadConfig({ DATA_DIR: tmp() });
    expect([c.host, c.port, c.accessTokenTtl, c.refreshTokenTtl, c.refreshReuseGrace]).toEqual(['127.0.0.1', 4000, 900, 2592000, 10]);
    expect(c.password).toEqual({ memoryCost: 19456, timeCost: 2, parallelism: 1, concurrency: os.availableParallelism() });
    expect(c.jwt.issuer).toBe('http://127.0.0.1:4000');
    expect(c.trustProxy).toBe(false);
    expect(c.databaseUrl).toBeUndefined();
    // Passkeys' origin is the demo page's on localhost, at whatever PORT says (SPEC §16).
    expect(c.webauthn.origins).toEqual(['http://localhost:4000']);
    expect(loadConfig({ DATA_DIR: tmp(), PORT: '4100' }).webauthn.origins).toEqual(['http://localhost:4100']);
  });

  it('caps the caches that bound revocations at 5 seconds', () => {
    expect(loadConfig({ DATA_DIR: tmp(), SESSION_CACHE_TTL_MS: '5000', API_KEY_CACHE_TTL_MS: '5000' }).apiKeys.cacheTtlMs).toBe(5000);
    expect(() => loadConfig({ DATA_DIR: tmp(), SESSION_CACHE_TTL_MS: '5001' })).toThrow(/SESSION_CACHE_TTL_MS/);
    expect(() => loadConfig({ DATA_DIR: tmp(), API_KEY_CACHE_TTL_MS: '60000' })).toThrow(/API_KEY_CACHE_TTL_MS/);
  });

  it('rejects malformed numbers instead of guessing', () => {
    expect(() => loadConfig({ DATA_DIR: tmp(), PORT: '40o0' })).toThrow(/PORT/);
  });
});
