// The API map: every operation's REST route, GraphQL field, who may call it, and the catalog
// codes it may answer. The OpenAPI document, the GraphQL auth checker and plugin, the request
// context, the metrics and docs/error-codes.md all read this table; adding an operation starts here.
import { CALLER_DB_CODES, hasOwnDbError, type ErrorCode } from '../errors/catalog.js';

/**
 * Who may call an operation: nobody in particular (`none`), an access token or an API key
 * (`any`), or only a signed-in session's access token (`session`): operations that change
 * how the account signs in or end its sessions never accept an API key (auth_forbidden).
 */
export type CallerKind = 'none' | 'any' | 'session';

export interface OperationSpec {
  /** GraphQL field name; also the operation label in logs and metrics. */
  name: string;
  /** The REST route; null for a GraphQL-only operation. */
  rest: { method: 'GET' | 'POST' | 'DELETE'; path: string } | null;
  graphql: string | null;
  caller: CallerKind;
  /** Codes the operation may answer with; a test fails when another one comes out. */
  codes: readonly ErrorCode[];
  /** What a database failure becomes, the caller check's included. */
  dbError: ErrorCode;
  /** What any other unexpected failure becomes. */
  internalError: ErrorCode;
}

// What checking the caller can answer: no or a bad credential; an API key where only a
// session will do; a key whose failed checks are limited per address; and, for an
// operation without a database code of its own, the store of the credential's kind.
function callerCodes(caller: CallerKind, dbError: ErrorCode): ErrorCode[] {
  if (caller === 'none') return [];
  const own = hasOwnDbError({ dbError });
  if (caller === 'session') return ['auth_unauthenticated', 'auth_forbidden', ...(own ? [] : ['auth_session_db_error' as const])];
  return ['auth_unauthenticated', 'auth_api_key_invalid', 'auth_rate_limited', ...(own ? [] : CALLER_DB_CODES)];
}

type Method = NonNullable<OperationSpec['rest']>['method'];

const op = (
  name: string,
  method: Method | null,
  path: string | null,
  caller: CallerKind,
  dbError: ErrorCode,
  internalError: ErrorCode,
  codes: ErrorCode[],
): OperationSpec => ({
  name,
  rest: method && path ? { method, path } : null,
  graphql: name,
  caller,
  dbError,
  internalError,
  codes: [...new Set<ErrorCode>(['auth_request_invalid', ...callerCodes(caller, dbError), ...codes, dbError, internalError])],
});

const webauthn = (name: string, method: Method, path: string, caller: CallerKind, codes: ErrorCode[]) =>
  op(name, method, path, caller, 'auth_webauthn_db_error', 'auth_webauthn_internal_error', codes);
const google = (name: string, path: string, caller: CallerKind, codes: ErrorCode[]) =>
  op(name, 'POST', path, caller, 'auth_google_db_error', 'auth_google_internal_error', codes);
const mfa = (name: string, method: Method, path: string, caller: CallerKind, codes: ErrorCode[]) =>
  op(name, method, path, caller, 'auth_mfa_db_error', 'auth_mfa_internal_error', codes);
// Management: GraphQL only; permissions (users:read, users:manage) from the database.
const admin = (name: string, caller: CallerKind, codes: ErrorCode[]) =>
  op(name, null, null, caller, 'auth_admin_db_error', 'auth_admin_internal_error', ['auth_forbidden', ...codes]);
// SSO sign-in (SPEC §11): anyone may start one; the codes of a failed start or exchange.
const ssoFlow = (name: string, method: Method, path: string, codes: ErrorCode[]) =>
  op(name, method, path, 'none', 'auth_sso_db_error', 'auth_sso_internal_error', codes);
// SSO connections (SPEC §11): GraphQL only, sso:manage; a session, never an API key, changes them.
const sso = (name: string, caller: CallerKind, codes: ErrorCode[]) =>
  op(name, null, null, caller, 'auth_sso_db_error', 'auth_sso_internal_error', ['auth_forbidden', ...codes]);
const clients = (name: string, caller: CallerKind) => op(name, null, null, caller, 'auth_oauth_db_error', 'auth_oauth_internal_error', ['auth_forbidden']);
const hooks = (name: string, caller: CallerKind, codes: ErrorCode[]) => op(name, null, null, caller, 'auth_webhook_db_error', 'auth_webhook_internal_error', ['auth_forbidden', ...codes]);
const oauth = (name: string, method: Method, path: string, codes: ErrorCode[]) => ({
  ...op(name, method, path, 'none', 'auth_oauth_db_error', 'auth_oauth_internal_error', codes),
  graphql: null,
});
const keys = (name: string, method: Method, path: string, caller: CallerKind, internalError: ErrorCode, codes: ErrorCode[]) =>
  op(name, method, path, caller, 'auth_api_key_db_error', internalError, codes);

export const operations = {
  login: op('login', 'POST', '/auth/login', 'none', 'auth_login_db_error', 'auth_login_internal_error', [
    'auth_login_invalid_credentials',
    'auth_login_account_disabled',
    'auth_email_not_verified',
    'auth_mfa_required',
    'auth_rate_limited',
    // The address's domain signs in through its tenant's SSO connection (SPEC §11).
    'auth_sso_required',
  ]),
  refresh: op('refresh', 'POST', '/auth/refresh', 'none', 'auth_refresh_db_error', 'auth_refresh_internal_error', [
    'auth_refresh_invalid',
    'auth_refresh_reused',
    'auth_login_account_disabled',
    'auth_rate_limited',
  ]),
  logout: op('logout', 'POST', '/auth/logout', 'none', 'auth_session_db_error', 'auth_internal_error', ['auth_refresh_invalid']),
  logoutAll: op('logoutAll', 'POST', '/auth/logout/all', 'session', 'auth_session_db_error', 'auth_internal_error', []),
  webauthnRegisterOptions: webauthn('webauthnRegisterOptions', 'POST', '/auth/webauthn/register/options', 'session', [
    'auth_reauthentication_required',
    'auth_rate_limited',
  ]),
  webauthnRegisterVerify: webauthn('webauthnRegisterVerify', 'POST', '/auth/webauthn/register/verify', 'session', [
    'auth_webauthn_challenge_invalid',
    'auth_webauthn_verification_failed',
    // The rules of the options, checked again when the ceremony ends (SPEC §15).
    'auth_reauthentication_required',
    'auth_rate_limited',
  ]),
  passkeys: webauthn('passkeys', 'GET', '/auth/webauthn/credentials', 'session', []),
  deletePasskey: webauthn('deletePasskey', 'DELETE', '/auth/webauthn/credentials/:id', 'session', ['auth_webauthn_credential_not_found', 'auth_reauthentication_required']),
  webauthnLoginOptions: webauthn('webauthnLoginOptions', 'POST', '/auth/webauthn/login/options', 'none', ['auth_rate_limited']),
  webauthnLoginVerify: webauthn('webauthnLoginVerify', 'POST', '/auth/webauthn/login/verify', 'none', [
    'auth_webauthn_challenge_invalid',
    'auth_webauthn_verification_failed',
    'auth_login_account_disabled',
    // A passkey without user verification of a user with a second factor (SPEC §15).
    'auth_mfa_required',
    'auth_rate_limited',
    'auth_sso_required',
  ]),
  loginWithGoogle: google('loginWithGoogle', '/auth/login/google', 'none', [
    'auth_google_token_invalid',
    'auth_google_email_unverified',
    'auth_google_account_not_allowed',
    'auth_google_link_required',
    'auth_login_account_disabled',
    'auth_mfa_required',
    'auth_rate_limited',
    'auth_sso_required',
  ]),
  linkGoogle: google('linkGoogle', '/auth/login/google/link', 'session', [
    'auth_reauthentication_required',
    'auth_google_token_invalid',
    'auth_google_email_unverified',
    'auth_google_account_not_allowed',
    'auth_google_link_conflict',
    'auth_rate_limited',
  ]),
  createApiKey: keys('createApiKey', 'POST', '/auth/api-key', 'session', 'auth_api_key_internal_error', [
    'auth_reauthentication_required',
    'auth_forbidden',
    'auth_rate_limited',
  ]),
  apiKeys: keys('apiKeys', 'GET', '/auth/api-keys', 'any', 'auth_internal_error', []),
  // A key revokes only itself unless it carries api_keys:manage (auth_forbidden).
  revokeApiKey: keys('revokeApiKey', 'DELETE', '/auth/api-key/:id', 'any', 'auth_internal_error', ['auth_api_key_not_found', 'auth_forbidden']),
  revokeApiKeys: keys('revokeApiKeys', 'POST', '/auth/api-keys/revoke', 'session', 'auth_internal_error', ['auth_api_key_not_found']),
  me: op('me', 'GET', '/auth/me', 'any', 'auth_session_db_error', 'auth_internal_error', []),
  // Forward auth (SPEC §14): any method, any path below /auth/verify; REST only.
  verify: { ...op('verify', 'GET', '/auth/verify', 'any', 'auth_verify_db_error', 'auth_verify_internal_error', ['auth_forbidden']), graphql: null },
  sessions: op('sessions', 'GET', '/auth/sessions', 'session', 'auth_session_db_error', 'auth_internal_error', []),
  revokeSession: op('revokeSession', 'DELETE', '/auth/sessions/:id', 'session', 'auth_session_db_error', 'auth_internal_error', ['auth_session_not_found']),
  identities: op('identities', null, null, 'session', 'auth_session_db_error', 'auth_internal_error', []),
  unlinkGoogle: op('unlinkGoogle', null, null, 'session', 'auth_google_db_error', 'auth_google_internal_error', ['auth_identity_not_found', 'auth_identity_last_method', 'auth_reauthentication_required']),
  users: admin('users', 'any', []),
  user: admin('user', 'any', ['auth_user_not_found']),
  setUserRoles: admin('setUserRoles', 'session', ['auth_user_not_found']),
  disableUser: admin('disableUser', 'session', ['auth_user_not_found']),
  enableUser: admin('enableUser', 'session', ['auth_user_not_found']),
  revokeUserSessions: admin('revokeUserSessions', 'session', ['auth_user_not_found']),
  resetUserMfa: admin('resetUserMfa', 'session', ['auth_user_not_found']),
  auditEvents: admin('auditEvents', 'any', []),
  inviteUser: admin('inviteUser', 'session', ['auth_rate_limited']),
  invitations: admin('invitations', 'session', []),
  revokeInvitation: admin('revokeInvitation', 'session', ['auth_invitation_invalid']),
  ssoStart: ssoFlow('ssoStart', 'POST', '/auth/sso/start', [
    'auth_sso_connection_not_found',
    'auth_sso_redirect_invalid',
    'auth_sso_idp_unavailable',
    'auth_rate_limited',
  ]),
  // The IdP sends the browser here: REST only. A failure of a pending flow goes back to the
  // app as ?error=<code> (303); one that belongs to none answers auth_sso_failed itself.
  ssoCallback: {
    ...ssoFlow('ssoCallback', 'GET', '/auth/sso/oidc/callback', [
      'auth_sso_failed',
      'auth_sso_idp_unavailable',
      'auth_sso_user_not_provisioned',
    ]),
    graphql: null,
  },
  // The IdP posts the browser's form here (HTTP-POST binding): REST only, as the callback.
  ssoSamlAcs: {
    ...ssoFlow('ssoSamlAcs', 'POST', '/auth/sso/saml/acs', ['auth_sso_failed', 'auth_sso_user_not_provisioned']),
    graphql: null,
  },
  // A SAML connection's SP metadata (XML), for the IdP's administrator: REST only.
  ssoSamlMetadata: {
    ...ssoFlow('ssoSamlMetadata', 'GET', '/auth/sso/saml/metadata/:connection_id', ['auth_sso_connection_not_found']),
    graphql: null,
  },
  // Every tenant's OpenID Provider (SPEC §12): REST only, answering as the RFCs say, each failure
  // counted by its catalog code (X-Error-Code). The token endpoint, the authorization endpoint,
  // userinfo, and the gateway's sign-in pages stand for its routes here.
  oidcToken: oauth('oidcToken', 'POST', '/oidc/:tenant/token', [
    'auth_oauth_invalid_request',
    'auth_oauth_invalid_client',
    'auth_oauth_invalid_grant',
    'auth_oauth_unauthorized_client',
    'auth_oauth_unsupported_grant_type',
    'auth_oauth_invalid_scope',
    'auth_oauth_invalid_target',
  ]),
  oidcAuthorize: oauth('oidcAuthorize', 'GET', '/oidc/:tenant/auth', [
    'auth_oauth_invalid_request',
    'auth_oauth_invalid_client',
    'auth_oauth_unauthorized_client',
    'auth_oauth_invalid_scope',
    'auth_oauth_invalid_target',
    'auth_oauth_access_denied',
    'auth_oauth_login_required',
    'auth_oauth_consent_required',
  ]),
  oidcUserinfo: oauth('oidcUserinfo', 'GET', '/oidc/:tenant/me', ['auth_oauth_invalid_token', 'auth_oauth_invalid_request']),
  oidcInteraction: oauth('oidcInteraction', 'GET', '/oidc/:tenant/interaction/:uid', []),
  // The tenant's OAuth clients (SPEC §12): GraphQL only, clients:manage; a session, never an
  // API key, changes them. An unknown id is auth_request_invalid (field id, rule unknown).
  oauthClients: clients('oauthClients', 'any'),
  createOAuthClient: clients('createOAuthClient', 'session'),
  updateOAuthClient: clients('updateOAuthClient', 'session'),
  rotateOAuthClientSecret: clients('rotateOAuthClientSecret', 'session'),
  deleteOAuthClient: clients('deleteOAuthClient', 'session'),
  // A tenant's webhook endpoints (SPEC §13): GraphQL only, webhooks:manage; a session, never an API key, changes them.
  webhookEndpoints: hooks('webhookEndpoints', 'any', []),
  createWebhookEndpoint: hooks('createWebhookEndpoint', 'session', ['auth_webhook_url_invalid']),
  updateWebhookEndpoint: hooks('updateWebhookEndpoint', 'session', ['auth_webhook_url_invalid', 'auth_webhook_not_found']),
  rotateWebhookSecret: hooks('rotateWebhookSecret', 'session', ['auth_webhook_not_found']),
  deleteWebhookEndpoint: hooks('deleteWebhookEndpoint', 'session', ['auth_webhook_not_found']),
  webhookDeliveries: hooks('webhookDeliveries', 'any', ['auth_webhook_not_found']),
  redeliverWebhook: hooks('redeliverWebhook', 'session', ['auth_webhook_not_found']),
  // A user's own grants to the provider's clients: a session only.
  oauthGrants: op('oauthGrants', null, null, 'session', 'auth_oauth_db_error', 'auth_oauth_internal_error', []),
  revokeOAuthGrant: op('revokeOAuthGrant', null, null, 'session', 'auth_oauth_db_error', 'auth_oauth_internal_error', ['auth_oauth_grant_not_found']),
  ssoExchange: ssoFlow('ssoExchange', 'POST', '/auth/sso/token', [
    'auth_sso_code_invalid',
    'auth_login_account_disabled',
    'auth_mfa_required',
    'auth_rate_limited',
  ]),
  ssoConnections: sso('ssoConnections', 'any', []),
  createSsoConnection: sso('createSsoConnection', 'session', []),
  updateSsoConnection: sso('updateSsoConnection', 'session', ['auth_sso_connection_not_found']),
  deleteSsoConnection: sso('deleteSsoConnection', 'session', ['auth_sso_connection_not_found']),
  ssoDomainVerification: sso('ssoDomainVerification', 'any', []),
  ssoRedirectUrls: sso('ssoRedirectUrls', 'any', []),
  setSsoRedirectUrls: sso('setSsoRedirectUrls', 'session', []),
  verifySsoDomain: sso('verifySsoDomain', 'session', ['auth_sso_connection_not_found']),
  // With a new password (no credential needed), or signed in with an access token (no API key).
  acceptInvitation: op('acceptInvitation', 'POST', '/auth/invitations/accept', 'none', 'auth_admin_db_error', 'auth_admin_internal_error', [
    'auth_invitation_invalid',
    'auth_password_weak',
    'auth_unauthenticated',
    'auth_forbidden',
    'auth_login_account_disabled',
    'auth_sso_required',
  ]),
  mfaTotpEnroll: mfa('mfaTotpEnroll', 'POST', '/auth/mfa/totp/enroll', 'session', ['auth_reauthentication_required', 'auth_mfa_already_enrolled']),
  mfaTotpActivate: mfa('mfaTotpActivate', 'POST', '/auth/mfa/totp/activate', 'session', [
    'auth_reauthentication_required',
    'auth_mfa_not_enrolled',
    'auth_mfa_already_enrolled',
    'auth_mfa_code_invalid',
    'auth_rate_limited',
  ]),
  verifyMfa: mfa('verifyMfa', 'POST', '/auth/mfa/verify', 'none', ['auth_mfa_token_invalid', 'auth_mfa_code_invalid', 'auth_login_account_disabled', 'auth_rate_limited']),
  mfaRecoveryCodes: mfa('mfaRecoveryCodes', 'POST', '/auth/mfa/recovery-codes', 'session', ['auth_reauthentication_required', 'auth_mfa_not_enrolled']),
  mfaTotpDisable: mfa('mfaTotpDisable', 'DELETE', '/auth/mfa/totp', 'session', ['auth_reauthentication_required', 'auth_mfa_not_enrolled', 'auth_mfa_code_invalid', 'auth_rate_limited']),
  signUp: op('signUp', 'POST', '/auth/signup', 'none', 'auth_signup_db_error', 'auth_signup_internal_error', ['auth_signup_not_allowed', 'auth_password_weak', 'auth_sso_required']),
  verifyEmail: op('verifyEmail', 'POST', '/auth/email/verify', 'none', 'auth_email_db_error', 'auth_email_internal_error', ['auth_email_token_invalid']),
  resendVerification: op('resendVerification', 'POST', '/auth/email/verify/resend', 'none', 'auth_email_db_error', 'auth_email_internal_error', []),
  // What a mailed link's page shows before anything is spent (read-only, public: the token is the secret).
  inspectLink: op('inspectLink', 'POST', '/auth/links/inspect', 'none', 'auth_link_db_error', 'auth_link_internal_error', []),
  forgotPassword: op('forgotPassword', 'POST', '/auth/password/forgot', 'none', 'auth_password_db_error', 'auth_password_internal_error', ['auth_sso_required']),
  resetPassword: op('resetPassword', 'POST', '/auth/password/reset', 'none', 'auth_password_db_error', 'auth_password_internal_error', [
    'auth_email_token_invalid',
    'auth_password_weak',
    'auth_sso_required',
  ]),
  changePassword: op('changePassword', 'POST', '/auth/password/change', 'session', 'auth_password_db_error', 'auth_password_internal_error', [
    'auth_reauthentication_required',
    'auth_password_change_invalid',
    'auth_password_weak',
    'auth_rate_limited',
  ]),
} as const satisfies Record<string, OperationSpec>;

export type OperationName = keyof typeof operations;

export function operationByGraphqlField(field: string): OperationSpec | undefined {
  return Object.values(operations).find((o) => o.graphql === field);
}
