import type { FastifyInstance } from 'fastify';
import { operations } from '../../errors/catalog.js';
import { changePassword, forgotPassword, resetPassword } from '../../services/accounts/passwords.js';
import { signUp } from '../../services/accounts/signup.js';
import { resendVerification, verifyEmail } from '../../services/accounts/verification.js';
import { textSchema, type FieldName } from '../../services/shared/fields.js';
import { operationRoute, type RouteOptions } from '../openapi.js';

/** The one body of sign-up, resend and forgot, whatever happened: it tells nothing. */
const ACCEPTED = { status: 'accepted' } as const;

export async function accountRoutes(app: FastifyInstance, { config }: RouteOptions): Promise<void> {
  const body = (fields: Record<string, FieldName>) =>
    ({
      type: 'object',
      required: Object.keys(fields),
      properties: Object.fromEntries(Object.entries(fields).map(([name, field]) => [name, textSchema(field, config)])),
    }) as const;

  app.post<{ Body: { tenant: string; email: string; password: string } }>(
    '/auth/signup',
    operationRoute(operations.signUp, { body: body({ tenant: 'tenant', email: 'email', password: 'newPassword' }) }),
    async (req, reply) => {
      await signUp(req.ctx.em, req.ctx.deps, req.body, req.ctx.client);
      return reply.status(202).send(ACCEPTED);
    },
  );

  app.post<{ Body: { token: string } }>('/auth/email/verify', operationRoute(operations.verifyEmail, { body: body({ token: 'mailedToken' }) }), async (req, reply) => {
    await verifyEmail(req.ctx.em, req.ctx.deps, req.body.token);
    return reply.status(204).send();
  });

  app.post<{ Body: { tenant: string; email: string } }>(
    '/auth/email/verify/resend',
    operationRoute(operations.resendVerification, { body: body({ tenant: 'tenant', email: 'email' }) }),
    async (req, reply) => {
      await resendVerification(req.ctx.em, req.ctx.deps, req.body, req.ctx.client);
      return reply.status(202).send(ACCEPTED);
    },
  );

  app.post<{ Body: { tenant: string; email: string } }>(
    '/auth/password/forgot',
    operationRoute(operations.forgotPassword, { body: body({ tenant: 'tenant', email: 'email' }) }),
    async (req, reply) => {
      await forgotPassword(req.ctx.em, req.ctx.deps, req.body, req.ctx.client);
      return reply.status(202).send(ACCEPTED);
    },
  );

  app.post<{ Body: { token: string; password: string } }>(
    '/auth/password/reset',
    operationRoute(operations.resetPassword, { body: body({ token: 'mailedToken', password: 'newPassword' }) }),
    async (req, reply) => {
      await resetPassword(req.ctx.em, req.ctx.deps, req.body);
      return reply.status(204).send();
    },
  );

  app.post<{ Body: { current_password: string; new_password: string } }>(
    '/auth/password/change',
    operationRoute(operations.changePassword, { body: body({ current_password: 'password', new_password: 'newPassword' }) }),
    async (req, reply) => {
      const { current_password, new_password } = req.body;
      await changePassword(req.ctx.em, req.ctx.deps, await req.ctx.viewer(), { currentPassword: current_password, newPassword: new_password }, req.ctx.client);
      return reply.status(204).send();
    },
  );
}
