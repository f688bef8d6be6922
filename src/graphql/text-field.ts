// GraphQL's side of the field rules in services/fields.ts: input properties declare their
// rule with @TextField / @TextListField, scalar arguments with textArg(); a value that breaks
// its rule answers auth_request_invalid, as the REST schema built from the same rule does.
import { Field, type ArgOptions, type FieldOptions, type ValidatorFn } from 'type-graphql';
import type { RequestContext } from '../context.js';
import { checkText, type FieldName } from '../services/shared/fields.js';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
const rules = new Map<Function, Array<[property: string, field: FieldName]>>();

function remember(target: object, property: string | symbol, field: FieldName): void {
  const list = rules.get(target.constructor) ?? [];
  list.push([String(property), field]);
  rules.set(target.constructor, list);
}

/** A String field of an input type, kept to the rules of `field`. */
export function TextField(field: FieldName, options: FieldOptions = {}): PropertyDecorator {
  return (target, property) => {
    Field(() => String, options)(target, property);
    remember(target, property, field);
  };
}

/** A [String!] field of an input type, each item kept to the rules of `field`. */
export function TextListField(field: FieldName, options: FieldOptions = {}): PropertyDecorator {
  return (target, property) => {
    Field(() => [String], options)(target, property);
    remember(target, property, field);
  };
}

const check = (field: FieldName, value: unknown, context: RequestContext) => {
  for (const item of Array.isArray(value) ? value : [value]) {
    if (typeof item === 'string') checkText(field, item, context.deps.config);
  }
};

/** The schema's validateFn: checks every input object whose class declared text fields. */
export const validateTextInputs: ValidatorFn = (value, _type, { context }) => {
  if (value === null || typeof value !== 'object') return;
  for (const [property, field] of rules.get(value.constructor) ?? []) check(field, (value as Record<string, unknown>)[property], context as RequestContext);
};

/** Options for a scalar String argument kept to the rules of `field`. */
export const textArg = (field: FieldName, options: ArgOptions = {}): ArgOptions => ({
  ...options,
  validateFn: (value, _type, { context }) => check(field, value, context as RequestContext),
});
