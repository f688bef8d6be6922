import type { FastifyInstance } from 'fastify';
import { operations } from '../../api/operations.js';
import { acceptInvitation } from '../../services/invitations/accept.js';
import { textSchema } from '../schemas.js';
import { tokenBody } from '../serialize.js';
import { operationRoute, type RouteOptions } from '../openapi.js';

export async function invitationRoutes(app: FastifyInstance, { config }: RouteOptions): Promise<void> {
  // With a password: a new account. Without: the signed-in caller (access token) accepts.
  app.post<{ Body: { token: string; password?: string } }>(
    '/auth/invitations/accept',
    operationRoute(operations.acceptInvitation, {
      body: { type: 'object', required: ['token'], properties: { token: textSchema('mailedToken', config), password: textSchema('newPassword', config) } },
    }),
    async (req) => {
      const { token, password } = req.body;
      const acceptor = password === undefined ? { signedIn: () => req.ctx.sessionViewer() } : { password };
      return tokenBody(await acceptInvitation(req.ctx.em, req.ctx.deps, token, acceptor, req.ctx.client));
    },
  );
}
