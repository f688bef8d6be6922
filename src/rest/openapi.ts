// Route options for a catalog operation: its config, and an OpenAPI description (through
// @fastify/swagger) whose error responses list the codes the operation declares, grouped
// by status, with the FastAPI error body.
import type {} from '@fastify/swagger';
import type { FastifySchema, RouteShorthandOptions } from 'fastify';
import type { Config } from '../config.js';
import { FIELD_RULES, PASSWORD_RULES } from '../errors/auth-error.js';
import { catalog, type ErrorCode } from '../errors/catalog.js';
import { type OperationSpec } from '../api/operations.js';

/** What a route plugin is given: the field rules need MAX_PASSWORD_LENGTH. */
export interface RouteOptions {
  config: Config;
}

export function errorBodySchema(codes: readonly ErrorCode[]) {
  return {
    type: 'object',
    required: ['detail'],
    properties: {
      detail: {
        type: 'object',
        required: ['status', 'code', 'message'],
        properties: {
          status: { type: 'string', enum: ['error'] },
          code: { type: 'string', enum: [...codes] },
          message: { type: 'string' },
          // auth_mfa_required: what the second step needs, beside the code.
          ...(codes.includes('auth_mfa_required')
            ? { mfa_token: { type: 'string', description: 'auth_mfa_required: the token of the second step (POST /auth/mfa/verify).' }, methods: { type: 'array', items: { type: 'string' } } }
            : {}),
          // What to fix (SPEC §16): the names of inputs and checks, never a value of the request.
          ...(codes.includes('auth_request_invalid')
            ? {
                fields: {
                  type: 'array',
                  description: 'auth_request_invalid: each input that broke a rule, by its JSON path (`body` for the body as a whole).',
                  items: { type: 'object', required: ['field', 'rule'], properties: { field: { type: 'string' }, rule: { type: 'string', enum: [...FIELD_RULES] } } },
                },
              }
            : {}),
          ...(codes.includes('auth_password_weak')
            ? { rules: { type: 'array', description: 'auth_password_weak: the checks the password failed.', items: { type: 'string', enum: [...PASSWORD_RULES] } } }
            : {}),
          ...(codes.includes('auth_sso_required')
            ? { connection: { type: 'string', description: "auth_sso_required: the tenant's SSO connection to sign in with (POST /auth/sso/start with connection)." } }
            : {}),
          ...(codes.includes('auth_forbidden')
            ? { missing: { type: 'array', description: 'auth_forbidden for a missing permission: the permissions the operation needs that the caller lacks.', items: { type: 'string' } } }
            : {}),
        },
      },
    },
  } as const;
}

function errorResponses(op: OperationSpec): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  const add = (status: number, code: ErrorCode) => byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  for (const code of op.codes) add(catalog[code].status, code);
  // A body over the size limit answers 413 with the request-invalid body (docs/api.md, REST conventions).
  if (op.codes.includes('auth_request_invalid')) add(413, 'auth_request_invalid');
  return Object.fromEntries(
    [...byStatus].map(([status, codes]) => [
      status,
      { description: `Error codes: ${codes.join(', ')} (also in the X-Error-Code header).`, ...errorBodySchema(codes) },
    ]),
  );
}

/** Options for the REST route of `op`: its catalog operation, body schema and documentation. */
export function operationRoute(op: OperationSpec, schema: FastifySchema = {}, extra: { contentTypes?: string[] } = {}): RouteShorthandOptions {
  return {
    schema: {
      operationId: op.name,
      tags: ['auth'],
      summary: op.graphql ? `Same as GraphQL \`${op.graphql}\`.` : undefined,
      ...schema,
      response: errorResponses(op),
    },
    config: { operation: op, ...extra },
  };
}
