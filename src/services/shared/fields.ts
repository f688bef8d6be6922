// Each text field's rules (length and characters), defined once. The REST JSON schemas
// (rest/schemas.ts) are built from these rules, GraphQL inputs declare them with @TextField, and
// both doors answer auth_request_invalid (422) for a value that breaks them, before any lookup.
import type { Config } from '../../config.js';
import { AuthError, type FieldRule } from '../../errors/auth-error.js';

export interface TextRule {
  /** Minimum length in characters (UTF-16 code units, as JSON Schema and JavaScript count). */
  min: number;
  /** Maximum length, or `password`: MAX_PASSWORD_LENGTH from the configuration. */
  max: number | 'password';
}

/** C0 control characters and DEL: never part of a tenant, an e-mail, a name, a password or a token. */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
/**
 * A UTF-16 surrogate without its pair (JSON's "\ud800" parses into one): no character at all,
 * stored as U+FFFD, so two different passwords would hash alike (SPEC §15). With the `u` flag a
 * well-formed pair is one code point and does not match.
 */
export const LONE_SURROGATE = /\p{Cs}/u;
export const FIELDS = {
  tenant: { min: 1, max: 64 },
  email: { min: 1, max: 320 },
  password: { min: 1, max: 'password' },
  /** A new password: its length is the password policy's to judge (auth_password_weak), not the input's. */
  newPassword: { min: 1, max: 4096 },
  /** Refresh tokens: any string is looked at (logout is idempotent); the format is the service's. */
  refreshToken: { min: 0, max: 1024 },
  idToken: { min: 1, max: 8192 },
  passkeyName: { min: 0, max: 100 },
  apiKeyName: { min: 1, max: 100 },
  scope: { min: 1, max: 100 },
  id: { min: 1, max: 64 },
  /** Mailed tokens (verification, reset): the format is the service's. */
  mailedToken: { min: 1, max: 256 },
  /** A TOTP or recovery code as typed (the format is the service's). */
  mfaCode: { min: 1, max: 32 },
  roleName: { min: 1, max: 100 },
  cursor: { min: 1, max: 512 },
  /** SSO: an app's redirect URL, a connection's name, a PKCE challenge or verifier, a one-time code. */
  redirectUrl: { min: 1, max: 2048 },
  connectionName: { min: 1, max: 100 },
  pkce: { min: 1, max: 128 },
  ssoCode: { min: 1, max: 256 },
  domain: { min: 1, max: 253 },
} as const satisfies Record<string, TextRule>;

export type FieldName = keyof typeof FIELDS;

/** A rule's maximum length under this configuration. */
export const maxOf = (rule: TextRule, config: Pick<Config, 'maxPasswordLength'>) => (rule.max === 'password' ? config.maxPasswordLength : rule.max);

/** The rule a value breaks of its field's (SPEC §16's words), or undefined when it keeps them. */
export function brokenRule(field: FieldName, value: string, config: Pick<Config, 'maxPasswordLength'>): FieldRule | undefined {
  const rule: TextRule = FIELDS[field];
  if (value.length < rule.min) return 'too_short';
  if (value.length > maxOf(rule, config)) return 'too_long';
  if (CONTROL_CHARACTERS.test(value) || LONE_SURROGATE.test(value)) return 'control_characters';
  return undefined;
}

/** Whether a value keeps a field's rules. */
export function keepsRule(field: FieldName, value: string, config: Pick<Config, 'maxPasswordLength'>): boolean {
  return brokenRule(field, value, config) === undefined;
}

/** Throws auth_request_invalid, naming `path` and the rule, when a present value breaks its field's rules. */
export function checkText(field: FieldName, value: string | null | undefined, config: Pick<Config, 'maxPasswordLength'>, path: string = field): void {
  if (value === null || value === undefined) return;
  const rule = brokenRule(field, value, config);
  if (rule) throw new AuthError('auth_request_invalid', { fields: [{ field: path, rule }] });
}
