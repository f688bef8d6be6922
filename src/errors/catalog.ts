// The error catalog: the one source of truth for every code the gateway can answer.
// REST status and body, GraphQL extensions, log field, metric label, the AuthErrorCode
// enum, GET /auth/error-codes and docs/error-codes.md are all derived from this module.
// Codes are never renamed or reused; a new code gets a new entry with its own `since`.

export type ErrorClass = 'client' | 'server' | 'dependency';

export interface CatalogEntry {
  status: number;
  class: ErrorClass;
  retryable: boolean;
  /** The fixed human summary sent to clients. Never exception text. */
  message: string;
  meaning: string;
  action: string;
  since: string;
  /** Logged as a security event (warn) whenever it is answered. */
  securityEvent?: boolean;
}

const db = (meaning: string, message: string, action: string): CatalogEntry => ({
  status: 503,
  class: 'dependency',
  retryable: true,
  message,
  meaning,
  action,
  since: '0.1.0',
});

const internal = (meaning: string, message: string, action: string): CatalogEntry => ({
  status: 500,
  class: 'server',
  retryable: false,
  message,
  meaning,
  action,
  since: '0.1.0',
});

const client = (status: number, meaning: string, message: string, action: string): CatalogEntry => ({
  status,
  class: 'client',
  retryable: false,
  message,
  meaning,
  action,
  since: '0.1.0',
});

export const catalog = {
  // --- The seed's codes (fixed) ---
  auth_login_db_error: db(
    'Database failure while loading user or RBAC data during login.',
    'Database failure during login.',
    'Treat as 5xx; investigate DB health before retrying.',
  ),
  auth_login_internal_error: internal(
    'Unexpected server error during login that is not a DB error or explicit 4xx.',
    'Unexpected error during login.',
    'Inspect logs for the stack trace; treat as 5xx.',
  ),
  auth_refresh_db_error: db(
    'Database failure while validating refresh token/session state.',
    'Database failure during token refresh.',
    'Treat as 5xx; the user should re-authenticate once the underlying issue is resolved. The refresh token was not consumed.',
  ),
  auth_webauthn_db_error: db(
    'Database failure while resolving tenant or RBAC during WebAuthn login (or another WebAuthn operation).',
    'Database failure during WebAuthn.',
    'Treat as 5xx; investigate DB and retry once healthy.',
  ),
  auth_webauthn_internal_error: internal(
    'Unexpected server error during WebAuthn login (or another WebAuthn operation).',
    'Unexpected error during WebAuthn.',
    'Treat as 5xx; inspect logs for details.',
  ),
  auth_google_db_error: db(
    'Database failure while resolving tenant or RBAC after Google OAuth.',
    'Database failure during Google sign-in.',
    'Treat as 5xx; investigate DB health.',
  ),
  auth_google_internal_error: internal(
    'Unexpected server error during Google OAuth login (including missing Google configuration or unreachable Google certificates).',
    'Unexpected error during Google sign-in.',
    'Treat as 5xx; inspect logs for details.',
  ),
  auth_api_key_internal_error: internal(
    'Unexpected server error while generating an API key (e.g. JWT/cipher issues or internal failures).',
    'Unexpected error while generating an API key.',
    'Treat as 5xx; inspect logs for details and ensure SECRET_KEY/JWT configuration is valid.',
  ),

  // --- Codes this project adds ---
  auth_request_invalid: client(
    422,
    'Malformed JSON, wrong content type, missing or invalid fields, a body over the size limit (413), or a credential in the query string.',
    'The request is invalid.',
    'Fix the request; do not retry unchanged.',
  ),
  auth_login_invalid_credentials: client(
    401,
    'Unknown tenant, unknown user or wrong password (deliberately indistinguishable).',
    'Invalid credentials.',
    'Ask the user to check tenant, e-mail and password. Do not retry automatically.',
  ),
  auth_login_account_disabled: client(
    403,
    'The account is disabled; only said after the credential proved correct.',
    'The account is disabled.',
    'An administrator must enable the account.',
  ),
  auth_rate_limited: {
    status: 429,
    class: 'client',
    retryable: true,
    message: 'Too many attempts. Try again later.',
    meaning: 'Too many attempts for this account or client address.',
    action: 'Retry after the Retry-After header (REST); a persistent rate may indicate an attack.',
    since: '0.1.0',
  },
  auth_refresh_invalid: client(
    401,
    'Unknown, malformed, expired or revoked refresh token.',
    'The refresh token is invalid.',
    'Sign in again.',
  ),
  auth_refresh_reused: {
    ...client(
      401,
      'An already-rotated refresh token came back outside the grace window: the whole session was revoked.',
      'The refresh token was already used; the session has been revoked.',
      'Sign in again. Repeated occurrences may mean a stolen token; check the audit_events table and the security-event log lines.',
    ),
    securityEvent: true,
  },
  auth_refresh_internal_error: internal(
    'Unexpected server error during refresh.',
    'Unexpected error during token refresh.',
    'Treat as 5xx; inspect logs for details.',
  ),
  auth_webauthn_challenge_invalid: client(
    400,
    'The WebAuthn challenge is unknown, expired or already used.',
    'The WebAuthn challenge is invalid or expired.',
    'Request new options and retry the ceremony.',
  ),
  auth_webauthn_verification_failed: client(
    401,
    'Signature, origin, RP ID, user-verification or counter check failed; or the credential is unknown.',
    'Passkey verification failed.',
    'Retry with a registered passkey; a counter regression may mean a cloned authenticator.',
  ),
  auth_webauthn_credential_not_found: client(
    404,
    'The passkey to delete does not exist among the caller\'s passkeys.',
    'No such passkey.',
    'List the caller\'s passkeys and use one of their ids.',
  ),
  auth_google_token_invalid: client(
    401,
    'The Google ID token has a bad signature, wrong audience or issuer, is expired or malformed.',
    'The Google ID token is invalid.',
    'Obtain a fresh ID token from Google and retry.',
  ),
  auth_google_email_unverified: client(
    403,
    'Google says the e-mail address is not verified.',
    'The Google e-mail address is not verified.',
    'The user must verify the e-mail address with Google.',
  ),
  auth_google_account_not_allowed: client(
    403,
    'No user is linked to this Google account and the tenant does not admit it.',
    'This Google account is not allowed in this tenant.',
    'An administrator must create the user or admit the domain.',
  ),
  auth_unauthenticated: client(
    401,
    'Missing, malformed, expired or revoked access token.',
    'Authentication required.',
    'Send a valid access token (refresh it, or sign in again).',
  ),
  auth_api_key_invalid: client(
    401,
    'The API key is unknown, malformed, expired or revoked.',
    'The API key is invalid.',
    'Use a valid API key.',
  ),
  auth_forbidden: client(
    403,
    'Authenticated, but lacking the permission; or requested scopes exceed the caller\'s.',
    'Permission denied.',
    'Grant the needed permission or request fewer scopes.',
  ),
  auth_api_key_db_error: db(
    'Database failure creating, listing, revoking or checking API keys (any step, the caller check included); or checking the API key of a call to an operation without a database code of its own (me).',
    'Database failure while handling API keys.',
    'Treat as 5xx; investigate DB health.',
  ),
  auth_api_key_not_found: client(
    404,
    'The API key to revoke does not exist among the keys the caller may manage.',
    'No such API key.',
    'List the keys and use one of their ids.',
  ),
  auth_session_db_error: db(
    'Database failure checking the caller\'s session or loading what the operation needs, in an operation without a database code of its own (me, logout, logout everywhere).',
    'Database failure while checking the session.',
    'Treat as 5xx; investigate DB health.',
  ),
  auth_reauthentication_required: {
    ...client(
      401,
      'The operation adds a sign-in method or a credential, and the session last proved a credential longer than REAUTH_MAX_AGE ago.',
      'Recent authentication required. Sign in again.',
      'The client signs the user in again, then repeats the operation.',
    ),
    since: '0.2.0',
  },
  auth_google_link_required: {
    ...client(
      403,
      'A user of the tenant has this e-mail, but Google is not authoritative for the address (neither @gmail.com nor a matching hd), so it is not linked by e-mail.',
      'Sign in another way and link this Google account first.',
      'The user signs in with a password or passkey and links Google (POST /auth/login/google/link).',
    ),
    since: '0.2.0',
  },
  auth_google_link_conflict: {
    ...client(409, 'That Google account is already linked to another user of the tenant.', 'This Google account is linked to another user.', 'Unlink it from the other user first, or sign in as that user.'),
    since: '0.2.0',
  },
  auth_signup_not_allowed: {
    ...client(403, 'The tenant does not admit password sign-up, or not for this e-mail domain (its `signup` setting).', 'Sign-up is not open here.', 'An administrator opens sign-up (signup: open or domains) or invites the user.'),
    since: '0.2.0',
  },
  auth_password_weak: {
    ...client(
      422,
      'The new password breaks the password policy: too short or too long, a common password, or the e-mail address (or its local part).',
      'The password is too weak.',
      'Choose a longer, uncommon password that is not the e-mail address.',
    ),
    since: '0.2.0',
  },
  auth_email_token_invalid: {
    ...client(400, 'The mailed token (e-mail verification or password reset) is unknown, expired or already used.', 'The link is invalid or has expired.', 'Ask for a new mail and follow its link.'),
    since: '0.2.0',
  },
  auth_email_not_verified: {
    ...client(403, 'The password was right, but the account signed itself up and its e-mail address is not verified yet.', 'The e-mail address is not verified.', 'Follow the link in the verification mail, or ask for a new one (resend).'),
    since: '0.2.0',
  },
  auth_password_change_invalid: {
    ...client(401, 'The current password given to change the password is wrong.', 'The current password is wrong.', 'Ask the user for the current password; repeated failures count against the account\'s limit.'),
    since: '0.2.0',
  },
  auth_signup_db_error: { ...db('Database failure during sign-up.', 'Database failure during sign-up.', 'Treat as 5xx; investigate DB health.'), since: '0.2.0' },
  auth_signup_internal_error: { ...internal('Unexpected server error during sign-up (e.g. a tenant without app_url for the mail\'s link).', 'Unexpected error during sign-up.', 'Inspect logs for details.'), since: '0.2.0' },
  auth_email_db_error: { ...db('Database failure verifying an e-mail address or resending its mail.', 'Database failure during e-mail verification.', 'Treat as 5xx; investigate DB health.'), since: '0.2.0' },
  auth_email_internal_error: { ...internal('Unexpected server error verifying an e-mail address or resending its mail.', 'Unexpected error during e-mail verification.', 'Inspect logs for details.'), since: '0.2.0' },
  auth_password_db_error: { ...db('Database failure during a forgotten-password request, a reset or a password change.', 'Database failure during a password operation.', 'Treat as 5xx; investigate DB health.'), since: '0.2.0' },
  auth_password_internal_error: { ...internal('Unexpected server error during a forgotten-password request, a reset or a password change.', 'Unexpected error during a password operation.', 'Inspect logs for details.'), since: '0.2.0' },
  auth_mfa_required: {
    ...client(
      401,
      'The credential was right and the user has a second factor: the sign-in goes on with verifyMfa (the answer carries mfa_token and methods).',
      'A second factor is required.',
      'Ask the user for a TOTP or recovery code and call POST /auth/mfa/verify with the mfa_token.',
    ),
    since: '0.2.0',
  },
  auth_mfa_code_invalid: {
    ...client(401, 'The TOTP or recovery code is wrong, from the wrong time step, or already used.', 'The code is invalid.', 'Ask for the current code; after 5 wrong codes the mfa token is spent.'),
    since: '0.2.0',
  },
  auth_mfa_token_invalid: {
    ...client(401, 'The mfa token is unknown, expired (300 s), already used, or spent by 5 wrong codes.', 'The sign-in step has expired.', 'Sign in again.'),
    since: '0.2.0',
  },
  auth_mfa_already_enrolled: { ...client(409, 'The user already has an active TOTP factor.', 'A second factor is already enrolled.', 'Disable it first to enrol a new one.'), since: '0.2.0' },
  auth_mfa_not_enrolled: { ...client(409, 'The user has no (pending or active, as the operation needs) TOTP factor.', 'No second factor is enrolled.', 'Enrol one first.'), since: '0.2.0' },
  auth_mfa_db_error: { ...db('Database failure during an MFA operation.', 'Database failure during multi-factor authentication.', 'Treat as 5xx; investigate DB health.'), since: '0.2.0' },
  auth_mfa_internal_error: { ...internal('Unexpected server error during an MFA operation.', 'Unexpected error during multi-factor authentication.', 'Inspect logs for details.'), since: '0.2.0' },
  auth_session_not_found: {
    ...client(404, 'The session to revoke is not one of the caller\'s live sessions.', 'No such session.', 'List the sessions and use one of their ids.'),
    since: '0.2.0',
  },
  auth_identity_not_found: {
    ...client(404, 'The linked identity to remove is not one of the caller\'s.', 'No such linked identity.', 'List the identities and use one of their ids.'),
    since: '0.2.0',
  },
  auth_identity_last_method: {
    ...client(409, 'Removing it would leave the user no way to sign in (no password, no passkey, no other link).', 'This is the last way to sign in.', 'Add a password or a passkey first.'),
    since: '0.2.0',
  },
  auth_user_not_found: {
    ...client(404, 'No user of the caller\'s tenant has this id.', 'No such user.', 'List the users and use one of their ids.'),
    since: '0.2.0',
  },
  auth_invitation_invalid: {
    ...client(
      400,
      'The invitation token is unknown, expired, already used or revoked, or not for the signed-in caller; or, to revoke, the invitation is not a pending one of the tenant; or its inviter may no longer grant its roles.',
      'The invitation is invalid or has expired.',
      'Ask for a new invitation.',
    ),
    since: '0.2.0',
  },
  auth_admin_db_error: { ...db('Database failure in a management operation (users, roles, sessions of others).', 'Database failure during a management operation.', 'Treat as 5xx; investigate DB health.'), since: '0.2.0' },
  auth_admin_internal_error: { ...internal('Unexpected server error in a management operation.', 'Unexpected error during a management operation.', 'Inspect logs for details.'), since: '0.2.0' },
  auth_sso_connection_not_found: {
    ...client(404, 'No SSO connection of the tenant has this id (management), or, at the start of a sign-in, the tenant, domain or connection name is unknown.', 'No such SSO connection.', 'List the connections and use one of their ids.'),
    since: '0.3.0',
  },
  auth_sso_redirect_invalid: {
    ...client(400, "redirect_to is not one of the tenant's redirect_urls (scheme, host, port and path), or the PKCE code challenge is missing or not S256.", 'The redirect is not allowed.', "Add the URL to the tenant's redirect_urls, and send an S256 code_challenge."),
    since: '0.3.0',
  },
  auth_sso_failed: {
    ...client(401, "The identity provider's answer did not validate (state, signature, issuer, audience, nonce, time, an unverified e-mail), or the user refused at the IdP.", 'Single sign-on failed.', 'Start the sign-in again; the log line says which check failed.'),
    securityEvent: true,
    since: '0.3.0',
  },
  auth_sso_code_invalid: {
    ...client(400, 'The one-time SSO code is unknown, expired (60 s), already used, or the code_verifier does not match its challenge (which spends it).', 'The sign-in code is invalid.', 'Start the sign-in again.'),
    since: '0.3.0',
  },
  auth_sso_user_not_provisioned: {
    ...client(403, 'The IdP vouched for an address that has no user here, and the connection does not create users (jit off).', 'No account for this sign-in.', 'Ask an administrator to invite the user, or turn on jit for the connection.'),
    since: '0.3.0',
  },
  auth_sso_idp_unavailable: {
    status: 502,
    class: 'dependency',
    retryable: true,
    message: 'The identity provider cannot be reached.',
    meaning: "The IdP's discovery document, JWKS or token endpoint failed or timed out (SSO_IDP_TIMEOUT_SECONDS).",
    action: "Check the connection's issuer and the IdP's health; retry later.",
    since: '0.3.0',
  },
  auth_sso_required: {
    ...client(
      403,
      "The address is in a verified domain of the tenant's SSO connection that enforces SSO: password, passkey and Google sign-in, sign-up and password reset are refused for it (whoever the address belongs to), and a break-glass sign-in without sso:bypass too.",
      'Sign in with your organisation (SSO).',
      'Start an SSO sign-in with the connection named in `connection`.',
    ),
    since: '0.3.0',
  },
  auth_sso_db_error: { ...db('Database failure in an SSO operation (connections, a sign-in through a connection).', 'Database failure during SSO.', 'Treat as 5xx; investigate DB health.'), since: '0.3.0' },
  auth_sso_internal_error: { ...internal('Unexpected server error in an SSO operation.', 'Unexpected error during SSO.', 'Inspect logs for details.'), since: '0.3.0' },
  auth_link_db_error: { ...db('Database failure looking at a mailed link (inspectLink) before its page spends it.', 'Database failure checking the link.', 'Treat as 5xx; investigate DB health. The link is unspent: the page can be reloaded.'), since: '0.3.0' },
  auth_link_internal_error: { ...internal('Unexpected server error looking at a mailed link (inspectLink).', 'Unexpected error checking the link.', 'Inspect logs for details.'), since: '0.3.0' },
  // --- The OpenID Provider (SPEC §12): its endpoints answer as their RFCs say; each failure is counted by these ---
  auth_oauth_invalid_request: { ...client(400, 'An OAuth or OpenID request the provider cannot use: a missing or plain PKCE challenge, a missing parameter, an unknown response type (RFC error invalid_request).', 'Invalid OAuth request.', 'Fix the request; the RFC body says what.'), since: '0.3.0' },
  auth_oauth_invalid_client: { ...client(401, 'The client is unknown to the tenant, or its authentication failed (RFC error invalid_client).', 'Client authentication failed.', 'Check the client id, its secret and the tenant of the issuer.'), securityEvent: true, since: '0.3.0' },
  auth_oauth_invalid_grant: { ...client(400, 'The code, refresh token or device code is unknown, expired, used, or does not match the client, redirect URI or PKCE verifier; a reused refresh token also revokes its grant (RFC error invalid_grant; expired_token counts here).', 'Invalid grant.', 'Start the sign-in again.'), securityEvent: true, since: '0.3.0' },
  auth_oauth_unauthorized_client: { ...client(400, 'The client may not use this grant or response type (RFC error unauthorized_client).', 'The client may not do this.', 'Register the grant type for the client.'), since: '0.3.0' },
  auth_oauth_unsupported_grant_type: { ...client(400, 'The provider does not know this grant type (RFC error unsupported_grant_type).', 'Unsupported grant type.', 'Use one of the grant types discovery lists.'), since: '0.3.0' },
  auth_oauth_invalid_scope: { ...client(400, 'A scope the client may not ask for, or an unknown one (RFC error invalid_scope).', 'Invalid scope.', "Ask only for the client's scopes."), since: '0.3.0' },
  auth_oauth_invalid_target: { ...client(400, 'A resource the client did not register (RFC 8707 error invalid_target).', 'Invalid resource.', 'Ask only for the resources registered for the client.'), since: '0.3.0' },
  auth_oauth_access_denied: { ...client(403, 'The user denied the request, or the sign-in could not meet it (RFC error access_denied).', 'Access denied.', 'The user said no: do not retry on their behalf.'), since: '0.3.0' },
  auth_oauth_login_required: { ...client(401, 'prompt=none, and the user is not signed in at the provider (error login_required).', 'Sign-in required.', 'Send the user through the provider without prompt=none.'), since: '0.3.0' },
  auth_oauth_consent_required: { ...client(403, 'prompt=none, and the user has not granted what is asked (error consent_required).', 'Consent required.', 'Send the user through the provider without prompt=none.'), since: '0.3.0' },
  auth_oauth_invalid_token: { ...client(401, "The access token given to userinfo or another protected endpoint is unknown, expired, revoked, or another tenant's (RFC 6750 error invalid_token).", 'Invalid access token.', 'Get a new access token.'), since: '0.3.0' },
  auth_oauth_grant_not_found: { ...client(404, "revokeOAuthGrant: no grant of the caller's with this id (another user's grant is not found either).", 'Grant not found.', 'List your grants with oauthGrants.'), since: '0.3.0' },
  auth_oauth_db_error: { ...db('Database failure in the OpenID Provider (its clients, codes, grants, tokens or sessions); the RFC body says server_error.', 'Database failure in the OpenID Provider.', 'Treat as 5xx; retry later; investigate DB health.'), since: '0.3.0' },
  auth_oauth_internal_error: { ...internal('Unexpected server error in the OpenID Provider; the RFC body says server_error.', 'Unexpected error in the OpenID Provider.', 'Inspect logs for details.'), since: '0.3.0' },
  // --- Forward auth (SPEC §14) ---
  auth_verify_db_error: { ...db('Database failure verifying a request for a guarded service (/auth/verify), past the 5 s a cached verdict may serve.', 'Database failure verifying the request.', 'Treat as 5xx (fail closed); investigate DB health.'), since: '0.3.0' },
  auth_verify_internal_error: { ...internal('Unexpected server error verifying a request for a guarded service (/auth/verify).', 'Unexpected error verifying the request.', 'Inspect logs for details.'), since: '0.3.0' },
  // --- Webhooks (SPEC §13) ---
  auth_webhook_url_invalid: { ...client(422, 'A webhook endpoint URL the gateway will not call: not an absolute URL, not https:// in production, or a name that resolves to a loopback, private, link-local, multicast or otherwise non-public address.', 'This webhook URL cannot be used.', 'Use a public https:// URL.'), since: '0.3.0' },
  auth_webhook_not_found: { ...client(404, "No webhook endpoint or message of the caller's tenant with this id.", 'Webhook not found.', 'List the endpoints with webhookEndpoints.'), since: '0.3.0' },
  auth_webhook_db_error: { ...db('Database failure managing webhook endpoints or their deliveries.', 'Database failure managing webhooks.', 'Treat as 5xx; retry later; investigate DB health.'), since: '0.3.0' },
  auth_webhook_internal_error: { ...internal('Unexpected server error managing webhook endpoints or their deliveries.', 'Unexpected error managing webhooks.', 'Inspect logs for details.'), since: '0.3.0' },
  auth_internal_error: internal(
    'Unexpected server error in an operation that has no internal-error code of its own (me, logout, API-key listing and revocation).',
    'Unexpected error.',
    'Treat as 5xx; inspect logs for details.',
  ),
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof catalog;
export const errorCodes = Object.keys(catalog) as ErrorCode[];

/** The database codes of the caller check, answered only by operations without a database code of their own. */
export const CALLER_DB_CODES: readonly ErrorCode[] = ['auth_session_db_error', 'auth_api_key_db_error'];

/** Whether a database failure of the caller check answers the operation's own code. */
export const hasOwnDbError = (o: { dbError: ErrorCode }) => catalog[o.dbError].class === 'dependency' && o.dbError !== 'auth_session_db_error';

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(catalog, value);
}
