// REST side of the one formatter: FastAPI-shaped {"detail": {...}} bodies with the
// catalog's status and an X-Error-Code header, for every error the server raises.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuthError } from '../errors/auth-error.js';
import type { OperationSpec } from '../errors/catalog.js';
import { graphqlExtensions, OUTSIDE_OPERATIONS, restErrorBody, restErrorHeaders, toAuthError } from '../errors/format.js';
import { GRAPHQL_DOCUMENT, recordFailure } from '../observability/request-log.js';

/** Fastify's own 4xx errors (body parsing, content type, schema validation, size) are request errors. */
function requestError(error: FastifyError): AuthError | undefined {
  if (error instanceof AuthError) return undefined;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new AuthError('auth_request_invalid', { cause: error, status: 413 });
  const status = error.statusCode ?? 0;
  if (error.validation || (status >= 400 && status < 500)) return new AuthError('auth_request_invalid', { cause: error });
  return undefined;
}

function operationOf(request: FastifyRequest): OperationSpec | undefined {
  return request.routeOptions.config?.operation;
}

export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const op = operationOf(request);
    const authError = requestError(error) ?? toAuthError(error, op ?? OUTSIDE_OPERATIONS);
    const graphql = request.routeOptions.url === '/graphql';
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
