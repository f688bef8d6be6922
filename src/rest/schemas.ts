// The JSON Schemas of REST bodies and parameters, built from the text fields' rules in
// services/shared/fields.ts (the GraphQL side is graphql/text-field.ts).
import type { Config } from '../config.js';
import { FIELDS, maxOf, type FieldName, type TextRule } from '../services/shared/fields.js';

/**
 * No control character and no lone surrogate, as a JSON Schema `pattern` (which must match the
 * whole value; Fastify's Ajv compiles patterns with the `u` flag, where a surrogate range matches
 * only unpaired halves).
 */
const NO_CONTROL_CHARACTERS = '^[^\\u0000-\\u001f\\u007f\\ud800-\\udfff]*$';

/** The JSON Schema of a text field for a REST body. */
export function textSchema(field: FieldName, config: Pick<Config, 'maxPasswordLength'>) {
  const rule: TextRule = FIELDS[field];
  return { type: 'string', minLength: rule.min, maxLength: maxOf(rule, config), pattern: NO_CONTROL_CHARACTERS } as const;
}

/** An object of required text fields: property name → the field whose rules it keeps. */
export const textObject = (fields: Record<string, FieldName>, config: Pick<Config, 'maxPasswordLength'>) =>
  ({
    type: 'object',
    required: Object.keys(fields),
    properties: Object.fromEntries(Object.entries(fields).map(([name, field]) => [name, textSchema(field, config)])),
  }) as const;
