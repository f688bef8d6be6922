// The SAML half of the browser flow (SPEC §11): the IdP's form at POST /auth/sso/saml/acs,
// validated by saml.ts against the flow its RelayState names (or, for a connection that opts
// in, as an IdP-initiated response), each assertion accepted once; and the SP metadata.
import { createHash, randomUUID } from 'node:crypto';
import type { Config } from '../../config.js';
import type { EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import { toAuthError } from '../../errors/format.js';
import { canonicalId } from '../shared/identifiers.js';
import { allowedRedirect, CONNECTION, issueCode, noPendingFlow, samlOf, SsoCallbackFailure, takeFlow, withParam, type CallbackDeps, type FlowConnection } from './flow.js';
import { samlEntityId, samlMetadata, validateSamlResponse, type SamlClaims, type SamlSettings } from './saml.js';

/**
 * The IdP's answer at POST /auth/sso/saml/acs (form fields `SAMLResponse`, `RelayState`). The
 * flow is taken by its RelayState (single use) and the response must answer its AuthnRequest;
 * whatever fails after that goes back to the app as ?error=. A response of no pending flow is
 * IdP-initiated: refused unless its connection allows them (idpInitiated).
 */
export async function finishSaml(em: EntityManager, deps: CallbackDeps, form: { SAMLResponse?: unknown; RelayState?: unknown }): Promise<string> {
  const response = typeof form.SAMLResponse === 'string' ? form.SAMLResponse : '';
  const state = typeof form.RelayState === 'string' ? form.RelayState : '';
  const flow = await takeFlow(em, deps, state);
  if (!flow) return idpInitiated(em, deps, response, state);
  if (new Date(flow.expires_at) <= deps.now() || !flow.saml_request_id) throw noPendingFlow();
  try {
    const [row] = (await em.execute(`select ${CONNECTION} from sso_connections c where c.id = ? and c.type = 'saml'`, [flow.connection_id])) as FlowConnection[];
    if (!row) throw new AuthError('auth_sso_failed', { cause: new Error('state: the connection is gone') });
    const claims = await validateSamlResponse(deps.config, samlOf(row), response, { requestId: flow.saml_request_id, createdAt: new Date(flow.created_at) }, deps.now(), row.role_claim);
    return withParam(flow.redirect_to, 'code', await acceptAssertion(em, deps, row, flow.code_challenge, claims));
  } catch (e) {
    const error = toAuthError(e, { dbError: 'auth_sso_db_error', internalError: 'auth_sso_internal_error' });
    // A response that answers another request than the flow's is not tied to it (the RelayState
    // is nobody's signature): it answers itself and redirects nowhere.
    const untied = error.code === 'auth_sso_failed' && error.cause instanceof Error && error.cause.message.startsWith('state:');
    throw new SsoCallbackFailure(error, untied ? undefined : flow.redirect_to);
  }
}

/**
 * A SAML response that answers no pending flow. Its connection (named by the SP entity ID in its
 * Audience, read only to choose who judges it) must allow IdP-initiated sign-in; then it is
 * validated as answering no request, and the browser goes to the RelayState when it is one of
 * the tenant's redirect URLs, else to the first of them, with a code bound to no challenge.
 * Every failure here belongs to no flow: 401 without a redirect.
 */
async function idpInitiated(em: EntityManager, deps: CallbackDeps, response: string, relayState: string): Promise<string> {
  const noFlow = (why: string) => new SsoCallbackFailure(new AuthError('auth_sso_failed', { cause: new Error(`state: ${why}`) }));
  const connectionId = audienceConnection(deps.config, response);
  const [row] = connectionId
    ? ((await em.execute(
        `select ${CONNECTION}, t.redirect_urls from sso_connections c join tenants t on t.id = c.tenant_id
         where c.id = ? and c.type = 'saml' and c.settings->>'allow_idp_initiated' = 'true'`,
        [connectionId],
      )) as Array<FlowConnection & { redirect_urls: string[] }>)
    : [];
  if (!row) throw noFlow('no pending flow, and no connection that accepts IdP-initiated responses');
  const redirectTo = allowedRedirect(relayState, row.redirect_urls) ? relayState : row.redirect_urls[0];
  if (!redirectTo) throw noFlow('the tenant has no redirect URL');
  try {
    const claims = await validateSamlResponse(deps.config, samlOf(row), response, null, deps.now(), row.role_claim);
    return withParam(redirectTo, 'code', await acceptAssertion(em, deps, row, null, claims));
  } catch (e) {
    throw new SsoCallbackFailure(toAuthError(e, { dbError: 'auth_sso_db_error', internalError: 'auth_sso_internal_error' }));
  }
}

/** The connection a response's Audience names as `<PUBLIC_URL>/auth/sso/saml/metadata/<id>`, when exactly one does. */
function audienceConnection(config: Pick<Config, 'publicUrl'>, response: string): string | undefined {
  const prefix = samlEntityId(config, '');
  const xml = Buffer.from(response, 'base64').toString('utf8');
  const ids = new Set(
    [...xml.matchAll(/<(?:[A-Za-z_][\w.-]*:)?Audience>([^<]{1,2048})<\//g)]
      .map((m) => m[1].trim())
      .filter((a) => a.startsWith(prefix))
      .map((a) => canonicalId(a.slice(prefix.length))),
  );
  return ids.size === 1 ? ([...ids][0] ?? undefined) : undefined;
}

/** A validated assertion, once: its ID is kept until it expires (a second use is a replay), then the code. */
async function acceptAssertion(em: EntityManager, deps: CallbackDeps, row: FlowConnection, challenge: string | null, claims: SamlClaims): Promise<string> {
  const fresh = (await em.execute('insert into sso_assertions (id, connection_id, assertion_hash, expires_at) values (?, ?, ?, ?) on conflict do nothing returning id', [
    randomUUID(),
    row.id,
    createHash('sha256').update(claims.assertionId).digest('base64url'),
    claims.expiresAt,
  ])) as unknown[];
  if (!fresh.length) throw new AuthError('auth_sso_failed', { cause: new Error('replay: the assertion was accepted before') });
  const mfa = claims.authnContext !== null && (row.settings as unknown as SamlSettings).mfa_contexts.includes(claims.authnContext);
  return issueCode(em, deps, row, challenge, { subject: claims.subject, email: claims.email ?? '', groups: claims.groups, mfa });
}

/** A SAML connection's SP metadata by its id (any tenant's: the document is public, as at any SP). */
export async function ssoSamlMetadata(em: EntityManager, config: Pick<Config, 'publicUrl' | 'secretKey'>, id: string): Promise<string> {
  const connectionId = canonicalId(id);
  const [row] = connectionId ? ((await em.execute(`select ${CONNECTION} from sso_connections c where c.id = ? and c.type = 'saml'`, [connectionId])) as FlowConnection[]) : [];
  if (!row) throw new AuthError('auth_sso_connection_not_found');
  return samlMetadata(config, samlOf(row));
}
