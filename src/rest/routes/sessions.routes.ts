import type { FastifyInstance } from 'fastify';
import { operations } from '../../api/operations.js';
import { logoutAllSessions, logoutSession } from '../../services/sessions/end.js';
import { listOwnSessions, revokeOwnSession, type SessionInfo } from '../../services/sessions/own-sessions.js';
import { refreshSession } from '../../services/sessions/refresh.js';
import { operationRoute, type RouteOptions } from '../openapi.js';
import { textObject, textSchema } from '../schemas.js';
import { tokenBody } from '../serialize.js';

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
  const refreshBody = textObject({ refresh_token: 'refreshToken' }, config);

  app.post<{ Body: { refresh_token: string } }>(
    '/auth/refresh',
    operationRoute(operations.refresh, { body: refreshBody }),
    async (req) => tokenBody(await refreshSession(req.ctx.em, req.ctx.deps, req.body.refresh_token, req.ctx.client)),
  );

  app.post<{ Body: { refresh_token: string } }>('/auth/logout', operationRoute(operations.logout, { body: refreshBody }), async (req, reply) => {
    await logoutSession(req.ctx.em, req.ctx.deps, req.body.refresh_token);
    return reply.status(204).send();
  });

  app.post('/auth/logout/all', operationRoute(operations.logoutAll), async (req, reply) => {
    await logoutAllSessions(req.ctx.em, req.ctx.deps, await req.ctx.viewer());
    return reply.status(204).send();
  });

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
