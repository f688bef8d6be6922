import type { FastifyInstance } from 'fastify';
import { operations } from '../../api/operations.js';
import { inspectLink } from '../../services/links/inspect.js';
import { operationRoute, type RouteOptions } from '../openapi.js';
import { textObject } from '../schemas.js';
import { linkInfoBody } from '../serialize.js';

export async function linkRoutes(app: FastifyInstance, { config }: RouteOptions): Promise<void> {
  // POST: the token rides in the body, never in a URL.
  app.post<{ Body: { token: string } }>('/auth/links/inspect', operationRoute(operations.inspectLink, { body: textObject({ token: 'mailedToken' }, config) }), async (req) =>
    linkInfoBody(await inspectLink(req.ctx.em, req.ctx.deps, req.body.token)),
  );
}
