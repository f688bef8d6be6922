import type { FastifyInstance } from 'fastify';
import { operations } from '../../errors/catalog.js';
import { listOwnSessions, revokeOwnSession, type SessionInfo } from '../../services/management/own-sessions.js';
import { textSchema } from '../../services/shared/fields.js';
import { operationRoute, type RouteOptions } from '../openapi.js';

const listed = (s: SessionInfo) => ({
  id: s.id,
  current: s.current,
  auth_method: s.authMethod,
  created_at: s.createdAt,
  last_used_at: s.lastUsedAt,
  ip: s.ip,
  user_agent: s.userAgent,
  expires_at: s.expiresAt,
});

export async function sessionsRoutes(app: FastifyInstance, { config }: RouteOptions): Promise<void> {
  app.get('/auth/sessions', operationRoute(operations.sessions), async (req) => ({
    sessions: (await listOwnSessions(req.ctx.em, req.ctx.deps, await req.ctx.viewer())).map(listed),
  }));

  app.delete<{ Params: { id: string } }>(
    '/auth/sessions/:id',
    operationRoute(operations.revokeSession, { params: { type: 'object', properties: { id: textSchema('id', config) } } }),
    async (req, reply) => {
      await revokeOwnSession(req.ctx.em, req.ctx.deps, await req.ctx.viewer(), req.params.id);
      return reply.status(204).send();
    },
  );
}
