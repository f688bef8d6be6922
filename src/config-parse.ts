// How configuration values are read: typed, checked, refusing to guess. Pure functions of
// an environment object; config.ts is the one that reads process.env.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface SigningJwk {
  kid: string;
  alg: 'EdDSA' | 'ES256';
  kty: string;
  crv: string;
  x: string;
  y?: string;
  d: string;
}


export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}


export type Env = Record<string, string | undefined>;

export function read(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

export function int(env: Env, name: string, fallback: number, min = 0): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new ConfigError(`${name} must be an integer >= ${min}`);
  return Number(raw);
}

export function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false`);
}

export function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!values.includes(raw as T)) throw new ConfigError(`${name} must be one of ${values.join(', ')}`);
  return raw as T;
}

/** Caches whose lifetime is a revocation bound: at most `max` ms (revocations take effect within 5 s: docs/security.md). */
export function bound(env: Env, name: string, fallback: number, max: number): number {
  const v = int(env, name, fallback);
  if (v > max) throw new ConfigError(`${name} must be at most ${max} (it bounds how long a revoked credential keeps working)`);
  return v;
}

export function list(env: Env, name: string, fallback: string[]): string[] {
  const raw = read(env, name);
  return raw === undefined ? fallback : raw.split(',').map((s) => s.trim()).filter(Boolean);
}


/** An RSA private JWK (RS256) that signs the OpenID Provider's ID tokens only (SPEC §12). */
export interface RsaJwk {
  kid: string;
  alg: 'RS256';
  kty: 'RSA';
  n: string;
  e: string;
  d: string;
  p: string;
  q: string;
  dp: string;
  dq: string;
  qi: string;
}

/**
 * JWT_PRIVATE_KEYS: the gateway's signing keys (EdDSA or ES256; the first signs, all are
 * published), and RS256 keys that sign the OpenID Provider's ID tokens only and are never the
 * first key. Answers the two apart.
 */
export function parseKeySet(raw: string, name = 'JWT_PRIVATE_KEYS'): { signing: SigningJwk[]; idToken: RsaJwk[] } {
  const keys = jwkSet(raw, name);
  const isRsa = (k: Record<string, unknown>) => k?.alg === 'RS256' && k.kty === 'RSA';
  if (isRsa(keys[0])) throw new ConfigError(`${name}: the first key signs the gateway's own tokens and must be EdDSA or ES256 (an RS256 key signs ID tokens only)`);
  const rsa = keys.filter(isRsa) as Array<Record<string, unknown>>;
  for (const k of rsa) {
    if (typeof k.kid !== 'string' || k.kid === '') throw new ConfigError(`${name}: an RS256 key has no kid`);
    if (typeof k.d !== 'string' || typeof k.n !== 'string' || k.n.length < 342) throw new ConfigError(`${name}: key ${k.kid} must be a private RSA key of at least 2048 bits`);
  }
  const signing = signingKeys(keys.filter((k) => !isRsa(k)), name);
  const kids = new Set(signing.map((k) => k.kid));
  for (const k of rsa) {
    if (kids.has(k.kid as string)) throw new ConfigError(`${name}: duplicate kid ${k.kid}`);
    kids.add(k.kid as string);
  }
  return { signing, idToken: rsa as unknown as RsaJwk[] };
}

/** A new RS256 key for ID tokens. */
export function generateIdTokenKey(kid = randomBytes(8).toString('hex')): RsaJwk {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...(privateKey.export({ format: 'jwk' }) as Omit<RsaJwk, 'kid' | 'alg'>), kid, alg: 'RS256' };
}

/** A JWK set's keys: {"keys": [...]} with at least one. */
function jwkSet(raw: string, name: string): Array<Record<string, unknown>> {
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    throw new ConfigError(`${name} is not valid JSON (expected a JWK set {"keys": [...]})`);
  }
  const keys = (doc as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new ConfigError(`${name} must be a JWK set with at least one key`);
  return keys as Array<Record<string, unknown>>;
}

export function parseSigningKeys(raw: string, name = 'JWT_PRIVATE_KEYS'): SigningJwk[] {
  return signingKeys(jwkSet(raw, name), name);
}

function signingKeys(keys: Array<Record<string, unknown>>, name: string): SigningJwk[] {
  if (keys.length === 0) throw new ConfigError(`${name} must hold an EdDSA or ES256 key`);
  const kids = new Set<string>();
  return keys.map((k, i) => {
    if (typeof k.kid !== 'string' || k.kid === '') throw new ConfigError(`${name}: key ${i} has no kid`);
    if (kids.has(k.kid)) throw new ConfigError(`${name}: duplicate kid ${k.kid}`);
    kids.add(k.kid);
    const okEd = k.alg === 'EdDSA' && k.kty === 'OKP' && k.crv === 'Ed25519';
    const okEs = k.alg === 'ES256' && k.kty === 'EC' && k.crv === 'P-256';
    if (!okEd && !okEs) throw new ConfigError(`${name}: key ${k.kid} must be EdDSA on Ed25519 or ES256 on P-256`);
    if (typeof k.d !== 'string') throw new ConfigError(`${name}: key ${k.kid} is not a private key`);
    return k as unknown as SigningJwk;
  });
}

export function generateSigningKey(alg: 'EdDSA' | 'ES256' = 'EdDSA', kid = randomBytes(8).toString('hex')): SigningJwk {
  const { privateKey } =
    alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...(privateKey.export({ format: 'jwk' }) as Omit<SigningJwk, 'kid' | 'alg'>), kid, alg };
}


/** Development secrets, generated once and kept under the data folder (never in production). */
export function devSecrets(dataDir: string): { secretKey: string; jwtPrivateKeys: string } {
  const file = path.join(dataDir, 'dev-secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  const secrets = {
    secretKey: randomBytes(32).toString('base64url'),
    jwtPrivateKeys: JSON.stringify({ keys: [generateSigningKey('EdDSA')] }),
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

export function trustProxy(raw: string | undefined): boolean | number | string[] {
  if (raw === undefined || ['0', 'false', 'off', 'no'].includes(raw.toLowerCase())) return false;
  if (['true', 'on', 'yes'].includes(raw.toLowerCase())) return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}


/** PUBLIC_URL: an http(s) origin with an optional path, without query or fragment; kept without a trailing slash. */
export function publicUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('PUBLIC_URL must be an http(s) URL');
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.search || url.hash || url.username) throw new ConfigError('PUBLIC_URL must be an http(s) URL without query, fragment or user');
  return value.replace(/\/+$/, '');
}
