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

const check = (field: FieldName, value: unknown, context: RequestContext, path: string) => {
  for (const item of Array.isArray(value) ? value : [value]) {
    if (typeof item === 'string') checkText(field, item, context.deps.config, path);
  }
};

/** The name of the argument `value` came in (inputs are objects: the one argument with its properties). */
function argumentOf(args: Record<string, unknown>, value: unknown, property?: string): string | undefined {
  const names = Object.keys(args);
  if (property === undefined) return names.find((n) => args[n] === value) ?? names.find((n) => JSON.stringify(args[n]) === JSON.stringify(value));
  return names.find((n) => typeof args[n] === 'object' && args[n] !== null && property in (args[n] as object));
}

/** The schema's validateFn: checks every input object whose class declared text fields. */
export const validateTextInputs: ValidatorFn = (value, _type, { context, args }) => {
  if (value === null || typeof value !== 'object') return;
  for (const [property, field] of rules.get(value.constructor) ?? []) {
    const argument = argumentOf(args, value, property);
    check(field, (value as Record<string, unknown>)[property], context as RequestContext, argument ? `${argument}.${property}` : property);
  }
};

/** Options for a scalar String argument kept to the rules of `field`. */
export const textArg = (field: FieldName, options: ArgOptions = {}): ArgOptions => ({
  ...options,
  validateFn: (value, _type, { context, args }) => check(field, value, context as RequestContext, argumentOf(args, value) ?? field),
});

/** SPEC §16: a service names an input as the REST body does (`email`, `recovery_code`); here it becomes the argument's path (`input.email`, `input.recoveryCode`). */
export const graphqlPath = (args: Record<string, unknown>, field: string): string => {
  if (field in args || field.includes('.')) return field;
  const camel = field.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
  if (camel in args) return camel;
  const objects = Object.keys(args).filter((n) => typeof args[n] === 'object' && args[n] !== null && !Array.isArray(args[n]));
  const argument = objects.find((n) => camel in (args[n] as object)) ?? (objects.length === 1 ? objects[0] : undefined);
  // A field left out of the one input object is still that input's (input.clientSecret: required).
  return argument ? `${argument}.${camel}` : camel;
};
