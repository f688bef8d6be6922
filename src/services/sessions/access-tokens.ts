// Access tokens: JWTs signed with the first configured key (EdDSA or ES256), carrying
// kid and typ at+jwt. Verification pins algorithms, typ, iss and aud and looks keys up
// only in our own key set, so jku/jwk/x5u headers are never followed.
import { randomUUID } from 'node:crypto';
import {
  createLocalJWKSet,
  importJWK,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
  type JWTPayload,
  type CryptoKey,
} from 'jose';
import type { Config, SigningJwk } from '../../config.js';
import type { AuthMethod } from '../../db/entities/session.entity.js';
import { TtlCache } from '../shared/cache.js';

export const ACCESS_TOKEN_TYP = 'at+jwt';
const VERIFIED_LIMIT = 10_000;

export interface AccessClaims {
  sub: string;
  /** Tenant id. */
  tid: string;
  /** Tenant slug, for clients' convenience. */
  tenant: string;
  sid: string;
  roles: string[];
  permissions: string[];
  auth_method: AuthMethod;
  /** OIDC auth_time: when the user last proved a credential in this session (seconds). */
  auth_time: number;
  /** RFC 8176 authentication method references of that proof. */
  amr: string[];
  /** Authentication assurance: aal2 after two factors (or a user-verified passkey), else aal1. */
  acr: 'aal1' | 'aal2';
  /** Present (true) when the token can only enrol a second factor (mfa_required_roles). */
  mfa_required?: boolean;
}

export interface VerifiedAccessToken extends AccessClaims {
  jti: string;
  iat: number;
  exp: number;
}

export interface TokenService {
  sign(claims: AccessClaims): Promise<string>;
  /** Throws on any invalid token; callers map that to auth_unauthenticated. */
  verify(token: string): Promise<VerifiedAccessToken>;
  jwks(): JSONWebKeySet;
}

function publicJwk(k: SigningJwk) {
  const { d: _d, ...pub } = k;
  return { ...pub, use: 'sig' };
}

export async function createTokenService(config: Pick<Config, 'jwt' | 'accessTokenTtl'>, now: () => Date = () => new Date()): Promise<TokenService> {
  const [signer] = config.jwt.privateKeys;
  const signingKey = (await importJWK(signer, signer.alg)) as CryptoKey;
  const jwks: JSONWebKeySet = { keys: config.jwt.privateKeys.map(publicJwk) };
  const keySet = createLocalJWKSet(jwks);
  const algorithms = [...new Set(config.jwt.privateKeys.map((k) => k.alg))];

  // Verified tokens, until they expire: the signature of the same string needs checking once.
  const verified = new TtlCache<string, VerifiedAccessToken>(VERIFIED_LIMIT, config.accessTokenTtl * 1000, now);

  return {
    async sign(claims) {
      return new SignJWT({ ...claims })
        .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: ACCESS_TOKEN_TYP })
        .setIssuer(config.jwt.issuer)
        .setAudience(config.jwt.audience)
        .setIssuedAt()
        .setExpirationTime(`${config.accessTokenTtl}s`)
        .setJti(randomUUID())
        .sign(signingKey);
    },
    async verify(token) {
      const known = verified.get(token);
      if (known) return known;
      const { payload } = await jwtVerify<JWTPayload & Partial<AccessClaims>>(token, keySet, {
        algorithms,
        issuer: config.jwt.issuer,
        audience: config.jwt.audience,
        typ: ACCESS_TOKEN_TYP,
        requiredClaims: ['sub', 'sid', 'tid', 'exp', 'iat', 'jti'],
      });
      const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
      if (
        typeof payload.sid !== 'string' ||
        typeof payload.tid !== 'string' ||
        typeof payload.tenant !== 'string' ||
        !strings(payload.roles) ||
        !strings(payload.permissions) ||
        // Tokens signed before auth_time existed count as proofs of long ago.
        (payload.auth_time !== undefined && !Number.isInteger(payload.auth_time)) ||
        (payload.amr !== undefined && !strings(payload.amr))
      ) {
        throw new Error('access token claims are malformed');
      }
      // Kept until the token's own expiry, never longer.
      const claims = { ...payload, auth_time: payload.auth_time ?? 0, amr: payload.amr ?? [], acr: payload.acr ?? 'aal1' } as VerifiedAccessToken;
      verified.set(token, claims, claims.exp * 1000 - now().getTime());
      return claims;
    },
    jwks: () => jwks,
  };
}
