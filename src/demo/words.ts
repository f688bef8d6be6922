// What the demo pages say to a person for the refusals they meet most, beside the code (shown
// small, for developers). Other codes show the catalog's message. Only names come from the
// API (fields, rules, permissions), never a value, so the page echoes nothing either.
import type { ErrorCode } from '../errors/catalog.js';
import type { FieldRule, PasswordRule } from '../errors/auth-error.js';

export const USER_WORDS: Partial<Record<ErrorCode, string>> = {
  auth_login_invalid_credentials: 'The tenant, e-mail address or password is not right.',
  auth_login_account_disabled: 'This account is disabled. Ask an administrator of the tenant.',
  auth_email_not_verified: 'Confirm your e-mail address first: follow the link in the mail we sent, or ask for a new one.',
  auth_email_token_invalid: 'This link no longer works: it was used, replaced by a newer mail, or it expired. Ask for a new one.',
  auth_invitation_invalid: 'This invitation no longer works. Ask whoever invited you for a new one.',
  auth_rate_limited: 'Too many attempts. Wait a little, then try again.',
  auth_password_weak: 'Choose another password.',
  auth_password_change_invalid: 'The current password is not right.',
  auth_request_invalid: 'Some of what you entered cannot be used.',
  auth_unauthenticated: 'You are not signed in, or your session has ended. Sign in again.',
  auth_forbidden: 'Your account may not do this.',
  auth_reauthentication_required: 'For this, sign in again (it proves it is still you), then retry.',
  auth_mfa_code_invalid: 'That code is not right, or was already used. Try the code your app shows now.',
  auth_mfa_token_invalid: 'The sign-in took too long. Start again with your password.',
  auth_webauthn_verification_failed: 'The passkey could not be checked. Try again, or sign in with your password.',
  auth_webauthn_challenge_invalid: 'The passkey request expired. Try again.',
  auth_signup_not_allowed: 'This tenant does not take sign-ups for this address.',
  auth_sso_required: 'Your organisation signs you in: use "Sign in with your organisation (SSO)".',
  auth_sso_connection_not_found: 'No organisation sign-in is set up for this address in this tenant.',
  auth_sso_failed: 'Your organisation did not sign you in. Try again.',
  auth_sso_user_not_provisioned: 'Your organisation vouched for you, but there is no account for you here yet. Ask an administrator.',
  auth_sso_idp_unavailable: "Your organisation's sign-in cannot be reached just now. Try again later.",
};

export const FIELD_WORDS: Record<FieldRule, string> = {
  required: 'is missing',
  type: 'has the wrong type',
  format: 'is not in the expected form',
  too_long: 'is too long',
  too_short: 'is too short',
  control_characters: 'contains control characters',
  unknown_content_type: 'was not sent as JSON',
  malformed_json: 'is not valid JSON',
  too_large: 'is too large',
  credential_in_query: 'must not be in the address',
  taken: 'is taken already',
  unknown: 'names something the tenant does not have',
};

export const PASSWORD_WORDS: Record<PasswordRule, string> = {
  too_short: 'it is too short',
  too_long: 'it is too long',
  common: 'it is a common password',
  contains_email: 'it contains the e-mail address',
  breached: 'it appeared in a data breach',
  same_as_current: 'it is the current password',
};
