// The checks of a structured input's fields (an SSO connection, an OAuth client), each refusal
// naming its field and rule (SPEC §16), never the value.
import { AuthError, type FieldRule } from '../../errors/auth-error.js';
import { CONTROL_CHARACTERS, LONE_SURROGATE } from './fields.js';

export const refuse = (field: string, rule: FieldRule): never => {
  throw new AuthError('auth_request_invalid', { fields: [{ field, rule }] });
};

/** C1 controls and the bidirectional and invisible formatting characters that make a name read as another. */
const FORMATTING = /[\u0080-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/;

/** A text of 1..max characters without control or formatting characters (a multi-line one may hold line breaks). */
export function text(field: string, value: unknown, max: number, required = true, multiline = false): string | null {
  if (value === undefined || value === null) return required ? refuse(field, 'required') : null;
  if (typeof value !== 'string') return refuse(field, 'type');
  if (value.length === 0) return refuse(field, 'too_short');
  if (value.length > max) return refuse(field, 'too_long');
  if (CONTROL_CHARACTERS.test(multiline ? value.replace(/[\r\n\t]/g, '') : value) || LONE_SURROGATE.test(value) || FORMATTING.test(value)) return refuse(field, 'control_characters');
  return value;
}

export function texts(field: string, value: unknown, max: number, maxItems = 50): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return refuse(field, 'type');
  if (value.length > maxItems) return refuse(field, 'too_long');
  return [...new Set(value.map((v) => text(field, v, max)!))];
}

export const flag = (field: string, value: unknown): boolean => (value === undefined || value === null ? false : typeof value === 'boolean' ? value : refuse(field, 'type'));

/** A URL host on this machine: plain http to it is allowed outside production (a local IdP or app). */
export const isLoopbackHost = (hostname: string) => ['localhost', '127.0.0.1', '[::1]'].includes(hostname);

/** The import document's message for a field refusal (`<where>.<field>: <rule>`); anything else is thrown on. */
export function importRefusal(e: unknown, at: string, fail: (message: string) => never): never {
  if (!(e instanceof AuthError) || !e.remedy?.fields?.length) throw e;
  const { field, rule } = e.remedy.fields[0];
  return fail(`${at}.${field}: ${rule.replace(/_/g, ' ')}`);
}

/** Whether two lists hold the same items, whatever their order. */
export const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);
