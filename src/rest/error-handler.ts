// REST side of the one formatter: FastAPI-shaped {"detail": {...}} bodies with the
// catalog's status and an X-Error-Code header, for every error the server raises.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuthError, type FieldProblem, type FieldRule } from '../errors/auth-error.js';
import type { OperationSpec } from '../api/operations.js';
import { graphqlExtensions, OUTSIDE_OPERATIONS, restErrorBody, restErrorHeaders, toAuthError } from '../errors/format.js';
import { GRAPHQL_DOCUMENT, recordDocumentFailure, recordFailure } from '../observability/request-log.js';

/** How Ajv names a broken JSON Schema keyword in SPEC §16's words. */
const RULE_OF_KEYWORD: Record<string, FieldRule> = {
  required: 'required',
  anyOf: 'required',
  type: 'type',
  maxLength: 'too_long',
  maxItems: 'too_long',
  minLength: 'too_short',
  minItems: 'too_short',
  // The one pattern of the text fields: no control characters, no lone surrogates (rest/schemas.ts).
  pattern: 'control_characters',
};

/** The inputs a schema validation refused, by JSON path (a route's parameters by their names). */
function validationFields(error: FastifyError): FieldProblem[] {
  const seen = new Map<string, FieldProblem>();
  for (const e of error.validation ?? []) {
    const path = e.instancePath.split('/').filter(Boolean);
    const missing = (e.params as { missingProperty?: string }).missingProperty;
    if (missing) path.push(missing);
    if (e.keyword === 'anyOf') continue; // its branches' `required` errors name the fields
    const field = path.join('.') || 'body';
    if (!seen.has(field)) seen.set(field, { field, rule: RULE_OF_KEYWORD[e.keyword] ?? 'format' });
  }
  return [...seen.values()];
}

/** Fastify's own 4xx errors (body parsing, content type, schema validation, size) are request errors, with what broke (SPEC §16). */
function requestError(error: FastifyError): AuthError | undefined {
  if (error instanceof AuthError) return undefined;
  const body = (rule: FieldRule): FieldProblem[] => [{ field: 'body', rule }];
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new AuthError('auth_request_invalid', { cause: error, status: 413, fields: body('too_large') });
  if (error.validation) return new AuthError('auth_request_invalid', { cause: error, fields: validationFields(error) });
  if (isMalformedJson(error) || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return new AuthError('auth_request_invalid', { cause: error, fields: body('malformed_json') });
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || error.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' || error.code === 'FST_ERR_CTP_EMPTY_TYPE') {
    return new AuthError('auth_request_invalid', { cause: error, fields: body('unknown_content_type') });
  }
  const status = error.statusCode ?? 0;
  if (status >= 400 && status < 500) return new AuthError('auth_request_invalid', { cause: error });
  return undefined;
}

/** A body that is not JSON (or is JSON with `__proto__`/`constructor.prototype`, which the parser refuses). */
const isMalformedJson = (error: FastifyError) => error.code === 'FST_ERR_CTP_INVALID_JSON_BODY';

const GRAPHQL_RESPONSE_JSON = 'application/graphql-response+json';

/**
 * The media type of a GraphQL error answered outside Apollo, like Apollo's own:
 * application/graphql-response+json when the Accept header prefers it (highest q, the
 * first listed on a tie), else application/json.
 */
function graphqlMediaType(accept: string | undefined): string {
  let best: { type: string; q: number } | undefined;
  for (const part of (accept ?? '').split(',')) {
    const [range, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    const type = range === GRAPHQL_RESPONSE_JSON ? GRAPHQL_RESPONSE_JSON : ['application/json', 'application/*', '*/*'].includes(range) ? 'application/json' : undefined;
    if (type && q > 0 && (!best || q > best.q)) best = { type, q };
  }
  return `${best?.type ?? 'application/json'}; charset=utf-8`;
}

function operationOf(request: FastifyRequest): OperationSpec | undefined {
  return request.routeOptions.config?.operation;
}

export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const graphql = request.routeOptions.url === '/graphql';
    if (graphql && isMalformedJson(error)) {
      // GraphQL over HTTP: a body that is not JSON is a bad request (400), a document-level
      // error that keeps Apollo's code, as a parse or validation failure does. REST keeps 422.
      if (request.ctx) recordDocumentFailure(request.ctx.observe, 'BAD_REQUEST');
      return reply
        .status(400)
        .header('content-type', graphqlMediaType(request.headers.accept))
        .send({ errors: [{ message: 'The request body is not valid JSON.', extensions: { code: 'BAD_REQUEST' } }] });
    }
    const op = operationOf(request);
    const authError = requestError(error) ?? toAuthError(error, op ?? OUTSIDE_OPERATIONS);
    if (request.ctx) recordFailure(request.ctx.observe, request.log, authError, op?.name ?? (graphql ? GRAPHQL_DOCUMENT : (request.routeOptions.url ?? 'not_found')));
    reply.status(authError.status).headers(restErrorHeaders(authError));
    if (graphql) {
      // A GraphQL client gets the GraphQL envelope even when the HTTP body was unusable.
      return reply.send({ errors: [{ message: authError.message, extensions: graphqlExtensions(authError) }] });
    }
    return reply.send(restErrorBody(authError));
  });

  // FastAPI's answer for an unknown route, which legacy clients already handle.
  app.setNotFoundHandler((_request, reply) => reply.status(404).send({ detail: 'Not Found' }));
}

/**
 * Fastify's errors before any route is found (a URL that does not decode, a path parameter
 * over the length limit) get the catalog's body too, never the framework's own.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const authError = new AuthError('auth_request_invalid', { cause: error, fields: [{ field: 'url', rule: 'format' }] });
  // Forward auth's answers are never cached (SPEC §14), these included.
  if (request.url.startsWith('/auth/verify')) reply.header('cache-control', 'no-store');
  void reply.status(authError.status).headers(restErrorHeaders(authError)).send(restErrorBody(authError));
}
