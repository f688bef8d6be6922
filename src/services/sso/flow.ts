// The browser flow through a tenant's connection (SPEC §11), with PKCE between the app and the
// gateway: ssoStart answers the IdP's URL; the IdP's callback is checked against the pending
// flow and ends in a 303 to the app's redirect with a one-time code (or ?error=<code>);
// ssoExchange trades the code and its verifier for a session. Flow state lives in PostgreSQL,
// so any instance finishes a flow another began. OpenID Connect connections sign in here;
// SAML connections are stored but do not sign in yet (docs/sso.md).
import { createHash, randomUUID } from 'node:crypto';
import type { Config } from '../../config.js';
import type { EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import { toAuthError } from '../../errors/format.js';
import type { ServiceDeps } from '../deps.js';
import { requireSecondStep } from '../mfa/second-step.js';
import { limited, type Client } from '../rate-limits/limiter.js';
import { acrOf, hasActiveFactor, loadPrincipal, type AuthPayload } from '../sessions/principal.js';
import { startSession } from '../sessions/start.js';
import { EMAIL_SHAPE, normaliseEmail } from '../shared/identifiers.js';
import { derivedKey, isOpaqueToken, keyedHash, newOpaqueToken, seal, unseal } from '../shared/secrets.js';
import { authorizationRequest, exchangeCode, type OidcConnection } from './oidc.js';
import { domainOf } from './rules.js';
import { resolveSsoUser } from './users.js';

export const FLOW_TTL_MS = 10 * 60_000;
export const CODE_TTL_MS = 60_000;
/** The gateway's OIDC redirect URI, under PUBLIC_URL. */
export const oidcCallbackUrl = (config: Pick<Config, 'publicUrl'>) => `${config.publicUrl}/auth/sso/oidc/callback`;

const verifierKey = (config: Pick<Config, 'secretKey'>) => derivedKey(config.secretKey, 'sso-flow v1');
/** base64url(SHA-256(verifier)), RFC 7636 S256. */
const s256 = (verifier: string) => createHash('sha256').update(verifier, 'ascii').digest('base64url');
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

type Row = {
  id: string;
  tenant_id: string;
  type: 'oidc' | 'saml';
  jit: boolean;
  default_roles: string[];
  role_claim: string | null;
  role_map: Record<string, string[]>;
  settings: Record<string, unknown>;
  client_secret: string | null;
  updated_at: Date;
};
const CONNECTION = 'c.id, c.tenant_id, c.type, c.jit, c.default_roles, c.role_claim, c.role_map, c.settings, c.client_secret, c.updated_at';
const oidcOf = (r: Row): OidcConnection => ({ id: r.id, updatedAt: new Date(r.updated_at), settings: r.settings as OidcConnection['settings'], clientSecret: r.client_secret });

export interface StartInput {
  tenant: string;
  email?: string | null;
  connection?: string | null;
  redirectTo: string;
  codeChallenge: string;
  codeChallengeMethod: string;
}

/** `redirect_to` equals one of the tenant's redirect_urls in scheme, host, port and path; its query is kept. */
function allowedRedirect(redirectTo: string, allowed: string[]): boolean {
  let to: URL;
  try {
    to = new URL(redirectTo);
  } catch {
    return false;
  }
  if (to.username || to.password || to.hash || /[\s\\]/.test(redirectTo)) return false;
  return allowed.some((a) => {
    const u = new URL(a);
    return u.protocol === to.protocol && u.host === to.host && u.pathname === to.pathname;
  });
}

export async function ssoStart(em: EntityManager, deps: Pick<ServiceDeps, 'config' | 'limiter' | 'now'>, input: StartInput, client: Client): Promise<{ url: string }> {
  if (input.codeChallengeMethod !== 'S256') throw new AuthError('auth_request_invalid', { fields: [{ field: 'code_challenge_method', rule: 'format' }] });
  if (!CHALLENGE.test(input.codeChallenge)) throw new AuthError('auth_request_invalid', { fields: [{ field: 'code_challenge', rule: 'format' }] });
  const email = input.email ? normaliseEmail(input.email) : undefined;
  if (email !== undefined && !EMAIL_SHAPE.test(email)) throw new AuthError('auth_request_invalid', { fields: [{ field: 'email', rule: 'format' }] });
  if (!email && !input.connection) throw new AuthError('auth_request_invalid', { fields: [{ field: 'email', rule: 'required' }] });
  // Each start writes a row and may call the IdP: counted per address, as passkey options are.
  await deps.limiter.consume([['sso_start_address', client.ip]]);

  const [tenant] = (await em.execute('select id, redirect_urls from tenants where slug = ?', [input.tenant])) as Array<{ id: string; redirect_urls: string[] }>;
  const [row] = !tenant
    ? []
    : input.connection
      ? ((await em.execute(`select ${CONNECTION} from sso_connections c where c.tenant_id = ? and c.name = ?`, [tenant.id, input.connection])) as Row[])
      : ((await em.execute(`select ${CONNECTION} from sso_connections c join sso_domains d on d.connection_id = c.id where c.tenant_id = ? and d.domain = ?`, [
          tenant.id,
          domainOf(email!),
        ])) as Row[]);
  // A SAML connection cannot sign in through the gateway yet: no connection that can.
  if (!row || row.type !== 'oidc') throw new AuthError('auth_sso_connection_not_found');
  if (!allowedRedirect(input.redirectTo, tenant.redirect_urls)) throw new AuthError('auth_sso_redirect_invalid');

  const request = await authorizationRequest(deps, oidcOf(row), oidcCallbackUrl(deps.config), email);
  const now = deps.now();
  await em.execute(
    'insert into sso_flows (id, state_hash, connection_id, redirect_to, code_challenge, nonce, pkce_verifier, created_at, expires_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [
      randomUUID(),
      keyedHash(deps.config.secretKey, request.state),
      row.id,
      input.redirectTo,
      input.codeChallenge,
      request.nonce,
      seal(verifierKey(deps.config), request.verifier),
      now,
      new Date(now.getTime() + FLOW_TTL_MS),
    ],
  );
  return { url: request.url };
}

/** A failure at the callback: `redirectTo` when it belongs to a pending flow (the app hears of it), else none. */
export class SsoCallbackFailure extends Error {
  constructor(
    readonly error: AuthError,
    readonly redirectTo?: string,
  ) {
    super(error.message);
  }
}

const withParam = (url: string, name: string, value: string) => {
  const u = new URL(url);
  u.searchParams.set(name, value);
  return u.href;
};

type CallbackDeps = Pick<ServiceDeps, 'config' | 'now' | 'sessions' | 'apiKeys'>;

/**
 * The IdP's answer at GET /auth/sso/oidc/callback (`query`: its parameters). The flow is taken
 * by its state (single use); whatever fails after that goes back to the app as ?error=.
 * Answers where to send the browser with the one-time code.
 */
export async function finishOidc(em: EntityManager, deps: CallbackDeps, query: URLSearchParams): Promise<string> {
  const state = query.get('state') ?? '';
  const [flow] = isOpaqueState(state)
    ? ((await em.execute('delete from sso_flows where state_hash = ? returning connection_id, redirect_to, code_challenge, nonce, pkce_verifier, expires_at', [
        keyedHash(deps.config.secretKey, state),
      ])) as Array<{ connection_id: string; redirect_to: string; code_challenge: string; nonce: string; pkce_verifier: string; expires_at: Date }>)
    : [];
  if (!flow || new Date(flow.expires_at) <= deps.now()) throw new SsoCallbackFailure(new AuthError('auth_sso_failed', { cause: new Error('state: no pending flow') }));
  try {
    const [row] = (await em.execute(`select ${CONNECTION} from sso_connections c where c.id = ?`, [flow.connection_id])) as Row[];
    if (!row) throw new AuthError('auth_sso_failed', { cause: new Error('the connection is gone') });
    const callback = new URL(`${oidcCallbackUrl(deps.config)}?${query}`);
    const claims = await exchangeCode(deps, oidcOf(row), callback, {
      state,
      nonce: flow.nonce,
      verifier: unseal(verifierKey(deps.config), flow.pkce_verifier),
      redirectUri: oidcCallbackUrl(deps.config),
    });
    const settings = row.settings as OidcConnection['settings'];
    const email = typeof claims.email === 'string' ? claims.email : '';
    if (!EMAIL_SHAPE.test(normaliseEmail(email))) throw new AuthError('auth_sso_failed', { cause: new Error('claims: no usable email') });
    if (claims.email_verified !== true && !settings.trust_email) throw new AuthError('auth_sso_failed', { cause: new Error('claims: email not verified') });
    const subject = typeof claims.sub === 'string' ? claims.sub : '';
    if (subject.length < 1 || subject.length > 255 || email.length > 320) throw new AuthError('auth_sso_failed', { cause: new Error('claims: sub or email out of bounds') });
    const raw = row.role_claim ? claims[row.role_claim] : undefined;
    // The role claim's string values, bounded: a map never reads more than its keys could match.
    const groups = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter((g): g is string => typeof g === 'string' && g.length <= 256).slice(0, 200);
    const now = deps.now();
    const { userId, claimed } = await resolveSsoUser(em, now, { id: row.id, tenantId: row.tenant_id, jit: row.jit, defaultRoles: row.default_roles, roleMap: row.role_map }, {
      subject,
      email,
      groups,
    });
    if (claimed) {
      deps.sessions.forgetUser(userId);
      deps.apiKeys.forgetUser(userId);
    }
    // The IdP's own second factor counts (OIDC amr with mfa): no TOTP step then.
    const amr = ['fed', ...(Array.isArray(claims.amr) && claims.amr.includes('mfa') ? ['mfa'] : [])];
    const code = newOpaqueToken();
    await em.execute('insert into sso_codes (id, code_hash, user_id, connection_id, code_challenge, amr, created_at, expires_at) values (?, ?, ?, ?, ?, ?, ?, ?)', [
      randomUUID(),
      keyedHash(deps.config.secretKey, code),
      userId,
      row.id,
      flow.code_challenge,
      `{${amr.join(',')}}`,
      now,
      new Date(now.getTime() + CODE_TTL_MS),
    ]);
    return withParam(flow.redirect_to, 'code', code);
  } catch (e) {
    throw new SsoCallbackFailure(toAuthError(e, { dbError: 'auth_sso_db_error', internalError: 'auth_sso_internal_error' }), flow.redirect_to);
  }
}

const isOpaqueState = (state: string) => /^[A-Za-z0-9_-]{20,128}$/.test(state);

/** Where a failure that belongs to a flow sends the browser: the app's redirect with ?error=<code>. */
export const failureRedirect = (f: SsoCallbackFailure, code: string) => (f.redirectTo ? withParam(f.redirectTo, 'error', code) : undefined);

type ExchangeDeps = Pick<ServiceDeps, 'config' | 'limiter' | 'tokens' | 'now' | 'sessions'>;

/**
 * The one-time code and its PKCE verifier for a session. The code is spent by its first use,
 * right or wrong (a wrong verifier spends it too). A user with an active TOTP factor takes the
 * second step unless the IdP asserted multi-factor.
 */
export async function ssoExchange(em: EntityManager, deps: ExchangeDeps, input: { code: string; codeVerifier: string }, client: Client): Promise<AuthPayload> {
  return limited(deps.limiter, [['sso_address', client.ip]], ['auth_sso_code_invalid'], async () => {
    if (!isOpaqueToken(input.code)) throw new AuthError('auth_sso_code_invalid');
    const [row] = (await em.execute('delete from sso_codes where code_hash = ? returning user_id, code_challenge, amr, expires_at', [keyedHash(deps.config.secretKey, input.code)])) as Array<{
      user_id: string;
      code_challenge: string;
      amr: string[];
      expires_at: Date;
    }>;
    if (!row || new Date(row.expires_at) <= deps.now() || s256(input.codeVerifier) !== row.code_challenge) throw new AuthError('auth_sso_code_invalid');
    const principal = await loadPrincipal(em, row.user_id);
    if (!principal) throw new AuthError('auth_sso_code_invalid');
    if (principal.disabled) throw new AuthError('auth_login_account_disabled');
    const proof = { method: 'sso' as const, amr: row.amr, client };
    if (acrOf(row.amr) !== 'aal2' && (await hasActiveFactor(em, principal.userId))) await requireSecondStep(em, deps, principal, proof);
    return startSession(em, deps, principal, proof);
  });
}
