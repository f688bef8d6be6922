// Route options for a catalog operation: its config, and an OpenAPI description (through
// @fastify/swagger) whose error responses list the codes the operation declares, grouped
// by status, with the FastAPI error body.
import type {} from '@fastify/swagger';
import type { FastifySchema, RouteShorthandOptions } from 'fastify';
import type { Config } from '../config.js';
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
