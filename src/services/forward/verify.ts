// Forward auth (SPEC §14): a reverse proxy asks the gateway about each request for a guarded
// service. The credential is checked as for `me` (revocation seen within the session and key
// caches' bound, at most 5 s); the answer is the identity as headers and X-Auth-Token, a JWT of
// at most 60 s for the upstream with its own typ (fwd+jwt) and audience, so an upstream need not
// trust bare headers; presented to the gateway it is refused like a forged token (the access
// token check pins typ at+jwt and JWT_AUDIENCE). The same identity gets the same token for up
// to 30 s.
import { importJWK, SignJWT, type CryptoKey } from 'jose';
import type { Config } from '../../config.js';
import { AuthError } from '../../errors/auth-error.js';
import type { Viewer } from '../sessions/principal.js';
import { TtlCache } from '../shared/cache.js';
import { PERMISSION } from '../shared/permissions.js';

export const FORWARD_TOKEN_TYP = 'fwd+jwt';
const TOKEN_SECONDS = 60;
const REUSE_MS = 30_000;

type Grants = { roles: string[]; permissions: string[] };

export interface Requirements {
  permissions: string[];
  tenant?: string;
}

/** The headers a guarded service receives for `viewer`. */
export type IdentityHeaders = Record<string, string>;

export function forwardAuth(config: Pick<Config, 'jwt' | 'forwardAuth'>, now: () => Date = () => new Date()) {
  const [signer] = config.jwt.privateKeys;
  let key: Promise<CryptoKey> | undefined;
  const tokens = new TtlCache<string, string>(10_000, REUSE_MS, now);

  async function token(viewer: Viewer, grants: Grants): Promise<string> {
    // Keyed by everything the token says (no credential in it: two API keys of one user with the
    // same permissions would get the same token anyway); a change of roles, permissions or the MFA
    // rule makes a new one at once.
    const cacheKey = `${viewer.userId}|${viewer.sessionId ?? ''}|${viewer.authMethod}|${viewer.tenantSlug}|${viewer.email}|${grants.roles.join(',')}|${grants.permissions.join(',')}`;
    const known = tokens.get(cacheKey);
    if (known) return known;
    key ??= importJWK(signer, signer.alg) as Promise<CryptoKey>;
    const made = await new SignJWT({
      tenant: viewer.tenantSlug,
      email: viewer.email,
      roles: grants.roles,
      permissions: grants.permissions,
      auth_method: viewer.authMethod,
      ...(viewer.sessionId ? { sid: viewer.sessionId } : {}),
    })
      .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: FORWARD_TOKEN_TYP })
      .setIssuer(config.jwt.issuer)
      .setAudience(config.forwardAuth.audience)
      .setSubject(viewer.userId)
      .setIssuedAt(Math.floor(now().getTime() / 1000))
      .setExpirationTime(Math.floor(now().getTime() / 1000) + TOKEN_SECONDS)
      .sign(await key);
    tokens.set(cacheKey, made);
    return made;
  }

  /**
   * The identity headers for a request whose credential made `viewer`, if the required tenant
   * and permissions hold; else auth_forbidden naming the permissions missing.
   */
  async function verify(viewer: Viewer, wants: Requirements): Promise<IdentityHeaders> {
    if (wants.tenant !== undefined && wants.tenant !== viewer.tenantSlug) throw new AuthError('auth_forbidden');
    // What the roles grant now (within the session cache's bound), not the access token's claims;
    // an API key's permissions are read live already.
    const grants: Grants = viewer.current ?? { roles: viewer.roles, permissions: viewer.permissions };
    const missing = wants.permissions.filter((p) => !grants.permissions.includes(p));
    // The permissions the caller lacks are named when they are few and shaped like permissions (no request value echoed otherwise).
    if (missing.length) throw new AuthError('auth_forbidden', missing.length <= 10 && missing.every((p) => p.length <= 100 && PERMISSION.test(p)) ? { missing } : {});
    return {
      'x-auth-user-id': viewer.userId,
      'x-auth-email': viewer.email,
      'x-auth-tenant': viewer.tenantSlug,
      'x-auth-roles': grants.roles.join(','),
      'x-auth-permissions': grants.permissions.join(','),
      'x-auth-method': viewer.authMethod,
      ...(viewer.sessionId ? { 'x-auth-session-id': viewer.sessionId } : {}),
      'x-auth-token': await token(viewer, grants),
    };
  }

  return { verify };
}

/** What a verify request requires: `permission` and `tenant` of its query (the rest is the upstream's), and X-Auth-Require-Permission. */
export function requirementsOf(rawUrl: string, header: string | string[] | undefined): Requirements {
  const q = rawUrl.indexOf('?');
  const query = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1));
  const fromHeader = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
  const permissions = [...query.getAll('permission'), ...fromHeader].map((p) => p.trim()).filter(Boolean);
  const tenant = query.get('tenant') ?? undefined;
  return { permissions: [...new Set(permissions)], tenant };
}
