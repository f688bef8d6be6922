import type { FastifyInstance } from 'fastify';
import { operations } from '../../api/operations.js';
import { operationRoute } from '../openapi.js';
import { userBody } from '../serialize.js';

export async function viewerRoutes(app: FastifyInstance): Promise<void> {
  app.get('/auth/me', operationRoute(operations.me), async (req) => userBody(await req.ctx.viewer()));
}
