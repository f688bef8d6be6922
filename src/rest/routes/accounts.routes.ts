import type { FastifyInstance } from 'fastify';
import { operations } from '../../api/operations.js';
import { signUp } from '../../services/accounts/signup.js';
import { resendVerification, verifyEmail } from '../../services/accounts/verification.js';
import { operationRoute, type RouteOptions } from '../openapi.js';
import { textObject } from '../schemas.js';
import { ACCEPTED } from '../serialize.js';

export async function accountRoutes(app: FastifyInstance, { config }: RouteOptions): Promise<void> {
  app.post<{ Body: { tenant: string; email: string; password: string } }>(
    '/auth/signup',
    operationRoute(operations.signUp, { body: textObject({ tenant: 'tenant', email: 'email', password: 'newPassword' }, config) }),
    async (req, reply) => {
      await signUp(req.ctx.em, req.ctx.deps, req.body, req.ctx.client);
      return reply.status(202).send(ACCEPTED);
    },
  );

  app.post<{ Body: { token: string } }>('/auth/email/verify', operationRoute(operations.verifyEmail, { body: textObject({ token: 'mailedToken' }, config) }), async (req, reply) => {
    await verifyEmail(req.ctx.em, req.ctx.deps, req.body.token);
    return reply.status(204).send();
  });

  app.post<{ Body: { tenant: string; email: string } }>(
    '/auth/email/verify/resend',
    operationRoute(operations.resendVerification, { body: textObject({ tenant: 'tenant', email: 'email' }, config) }),
    async (req, reply) => {
      await resendVerification(req.ctx.em, req.ctx.deps, req.body, req.ctx.client);
      return reply.status(202).send(ACCEPTED);
    },
  );
}
