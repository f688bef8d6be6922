// The browser flow through a tenant's connection (SPEC §11), with PKCE between the app and the
// gateway: ssoStart answers the IdP's URL; the IdP's callback is checked against the pending
// flow and ends in a 303 to the app's redirect with a one-time code (or ?error=<code>);
// ssoExchange trades the code and its verifier for a session. Flow state lives in PostgreSQL,
// so any instance finishes a flow another began: OpenID Connect through its callback (oidc.ts),
// SAML through the ACS (saml.ts), both ending in the same code.
import { createHash, randomUUID } from 'node:crypto';
import type { Config } from '../../config.js';
import type { EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import { toAuthError } from '../../errors/format.js';
import type { ServiceDeps } from '../deps.js';
import type { Client } from '../rate-limits/limiter.js';
import { EMAIL_SHAPE, normaliseEmail } from '../shared/identifiers.js';
import { derivedKey, keyedHash, newOpaqueToken, seal, unseal } from '../shared/secrets.js';
import { authorizationRequest, exchangeCode, type OidcConnection } from './oidc.js';
import { domainOf } from './rules.js';
import { samlAuthorizeRequest, type SamlConnection, type SamlSettings } from './saml.js';
import { resolveSsoUser } from './users.js';

export const FLOW_TTL_MS = 10 * 60_000;
export const CODE_TTL_MS = 60_000;
/** The gateway's OIDC redirect URI, under PUBLIC_URL. */
export const oidcCallbackUrl = (config: Pick<Config, 'publicUrl'>) => `${config.publicUrl}/auth/sso/oidc/callback`;

const verifierKey = (config: Pick<Config, 'secretKey'>) => derivedKey(config.secretKey, 'sso-flow v1');
/** base64url(SHA-256(verifier)), RFC 7636 S256. */
export const s256 = (verifier: string) => createHash('sha256').update(verifier, 'ascii').digest('base64url');
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export type FlowConnection = {
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
export const CONNECTION = 'c.id, c.tenant_id, c.type, c.jit, c.default_roles, c.role_claim, c.role_map, c.settings, c.client_secret, c.updated_at';
const oidcOf = (r: FlowConnection): OidcConnection => ({ id: r.id, updatedAt: new Date(r.updated_at), settings: r.settings as OidcConnection['settings'], clientSecret: r.client_secret });
export const samlOf = (r: FlowConnection): SamlConnection => ({ id: r.id, settings: r.settings as unknown as SamlSettings, spKey: r.client_secret });

export interface StartInput {
  tenant: string;
  email?: string | null;
  connection?: string | null;
  redirectTo: string;
  codeChallenge: string;
  codeChallengeMethod: string;
  /** `redirectTo` is the gateway's own page (the OpenID Provider's sign-in, SPEC §12), built by the gateway: no redirect_urls entry needed. */
  toGateway?: boolean;
}

/** `redirect_to` equals one of the tenant's redirect_urls in scheme, host, port and path; its query is kept. */
export function allowedRedirect(redirectTo: string, allowed: string[]): boolean {
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
      ? ((await em.execute(`select ${CONNECTION} from sso_connections c where c.tenant_id = ? and c.name = ?`, [tenant.id, input.connection])) as FlowConnection[])
      : ((await em.execute(`select ${CONNECTION} from sso_connections c join sso_domains d on d.connection_id = c.id where c.tenant_id = ? and d.domain = ?`, [
          tenant.id,
          domainOf(email!),
        ])) as FlowConnection[]);
  if (!row) throw new AuthError('auth_sso_connection_not_found');
  if (!input.toGateway && !allowedRedirect(input.redirectTo, tenant.redirect_urls)) throw new AuthError('auth_sso_redirect_invalid');

  // OIDC: state, nonce and the PKCE verifier towards the IdP. SAML: the RelayState (our state) and the AuthnRequest's ID.
  const now = deps.now();
  let flow: { url: string; state: string; nonce: string | null; verifier: string | null; requestId: string | null };
  if (row.type === 'oidc') {
    const request = await authorizationRequest(deps, oidcOf(row), oidcCallbackUrl(deps.config), email);
    flow = { url: request.url, state: request.state, nonce: request.nonce, verifier: seal(verifierKey(deps.config), request.verifier), requestId: null };
  } else {
    const state = newOpaqueToken();
    const request = await samlAuthorizeRequest(deps.config, samlOf(row), state);
    flow = { url: request.url, state, nonce: null, verifier: null, requestId: request.requestId };
  }
  await em.execute(
    'insert into sso_flows (id, state_hash, connection_id, redirect_to, code_challenge, nonce, pkce_verifier, saml_request_id, created_at, expires_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [
      randomUUID(),
      keyedHash(deps.config.secretKey, flow.state),
      row.id,
      input.redirectTo,
      input.codeChallenge,
      flow.nonce,
      flow.verifier,
      flow.requestId,
      now,
      new Date(now.getTime() + FLOW_TTL_MS),
    ],
  );
  return { url: flow.url };
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

export const withParam = (url: string, name: string, value: string) => {
  const u = new URL(url);
  u.searchParams.set(name, value);
  return u.href;
};

export type CallbackDeps = Pick<ServiceDeps, 'config' | 'now' | 'sessions' | 'apiKeys'>;

/**
 * The IdP's answer at GET /auth/sso/oidc/callback (`query`: its parameters). The flow is taken
 * by its state (single use); whatever fails after that goes back to the app as ?error=.
 * Answers where to send the browser with the one-time code.
 */
export async function finishOidc(em: EntityManager, deps: CallbackDeps, query: URLSearchParams): Promise<string> {
  const state = query.get('state') ?? '';
  const flow = await takeFlow(em, deps, state);
  if (!flow || new Date(flow.expires_at) <= deps.now()) throw noPendingFlow();
  try {
    const [row] = (await em.execute(`select ${CONNECTION} from sso_connections c where c.id = ?`, [flow.connection_id])) as FlowConnection[];
    if (!row || row.type !== 'oidc' || !flow.nonce || !flow.pkce_verifier) throw new AuthError('auth_sso_failed', { cause: new Error('state: the flow is not an OpenID Connect one') });
    const callback = new URL(`${oidcCallbackUrl(deps.config)}?${query}`);
    const claims = await exchangeCode(deps, oidcOf(row), callback, {
      state,
      nonce: flow.nonce,
      verifier: unseal(verifierKey(deps.config), flow.pkce_verifier),
      redirectUri: oidcCallbackUrl(deps.config),
    });
    const settings = row.settings as OidcConnection['settings'];
    const email = typeof claims.email === 'string' ? claims.email : '';
    if (claims.email_verified !== true && !settings.trust_email && EMAIL_SHAPE.test(normaliseEmail(email))) throw new AuthError('auth_sso_failed', { cause: new Error('claims: email not verified') });
    const raw = row.role_claim ? claims[row.role_claim] : undefined;
    // The role claim's string values, bounded: a map never reads more than its keys could match.
    const groups = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter((g): g is string => typeof g === 'string' && g.length <= 256).slice(0, 200);
    // The IdP's own second factor counts (OIDC amr with mfa): no TOTP step then.
    const mfa = Array.isArray(claims.amr) && claims.amr.includes('mfa');
    const code = await issueCode(em, deps, row, flow.code_challenge, { subject: typeof claims.sub === 'string' ? claims.sub : '', email, groups, mfa });
    return withParam(flow.redirect_to, 'code', code);
  } catch (e) {
    throw new SsoCallbackFailure(toAuthError(e, { dbError: 'auth_sso_db_error', internalError: 'auth_sso_internal_error' }), flow.redirect_to);
  }
}

/**
 * What any IdP asserted, made into a one-time code for the app: the user resolved (linked,
 * provisioned, roles mapped), the code bound to the flow's challenge (none for an IdP-initiated
 * SAML response).
 */
export async function issueCode(
  em: EntityManager,
  deps: CallbackDeps,
  row: FlowConnection,
  challenge: string | null,
  asserted: { subject: string; email: string; groups: string[]; mfa: boolean },
): Promise<string> {
  const { subject, email, groups } = asserted;
  if (!EMAIL_SHAPE.test(normaliseEmail(email))) throw new AuthError('auth_sso_failed', { cause: new Error('claims: no usable email') });
  if (subject.length < 1 || subject.length > 255 || email.length > 320) throw new AuthError('auth_sso_failed', { cause: new Error('claims: subject or email out of bounds') });
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
  const amr = ['fed', ...(asserted.mfa ? ['mfa'] : [])];
  const code = newOpaqueToken();
  await em.execute('insert into sso_codes (id, code_hash, user_id, connection_id, code_challenge, amr, created_at, expires_at) values (?, ?, ?, ?, ?, ?, ?, ?)', [
    randomUUID(),
    keyedHash(deps.config.secretKey, code),
    userId,
    row.id,
    challenge,
    `{${amr.join(',')}}`,
    now,
    new Date(now.getTime() + CODE_TTL_MS),
  ]);
  return code;
}

/** A pending flow, as sso_flows keeps it. */
export interface PendingFlow {
  connection_id: string;
  redirect_to: string;
  code_challenge: string;
  nonce: string | null;
  pkce_verifier: string | null;
  saml_request_id: string | null;
  created_at: Date;
  expires_at: Date;
}

/** Takes the flow of `state` (single use: a replayed callback finds nothing); expired ones too, for the caller to refuse. */
export async function takeFlow(em: EntityManager, deps: Pick<ServiceDeps, 'config'>, state: string): Promise<PendingFlow | undefined> {
  if (!isOpaqueState(state)) return undefined;
  const [flow] = (await em.execute(
    'delete from sso_flows where state_hash = ? returning connection_id, redirect_to, code_challenge, nonce, pkce_verifier, saml_request_id, created_at, expires_at',
    [keyedHash(deps.config.secretKey, state)],
  )) as PendingFlow[];
  return flow;
}

/** A callback that belongs to no pending flow: it answers itself and redirects nowhere. */
export const noPendingFlow = () => new SsoCallbackFailure(new AuthError('auth_sso_failed', { cause: new Error('state: no pending flow') }));

export const isOpaqueState = (state: string) => /^[A-Za-z0-9_-]{20,128}$/.test(state);

/** Where a failure that belongs to a flow sends the browser: the app's redirect with ?error=<code>. */
export const failureRedirect = (f: SsoCallbackFailure, code: string) => (f.redirectTo ? withParam(f.redirectTo, 'error', code) : undefined);
