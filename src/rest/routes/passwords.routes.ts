import type { FastifyInstance } from 'fastify';
import { operations } from '../../api/operations.js';
import type { Config } from '../../config.js';
import { passwordLogin } from '../../services/passwords/login.js';
import { changePassword, forgotPassword, resetPassword } from '../../services/passwords/new-password.js';
import { FORM, JSON_TYPE } from '../content-types.js';
import { operationRoute, type RouteOptions } from '../openapi.js';
import { textObject, textSchema } from '../schemas.js';
import { ACCEPTED, tokenBody } from '../serialize.js';

// OAuth2 password-grant clients send username (the e-mail) as a form; JSON clients send email.
const loginBody = (config: Config) =>
  ({
    type: 'object',
    required: ['tenant', 'password'],
    properties: {
      tenant: textSchema('tenant', config),
      email: textSchema('email', config),
      username: textSchema('email', config),
      password: textSchema('password', config),
      // SPEC §11: where SSO is enforced, a holder of sso:bypass signs in with the password this way.
      break_glass: { type: 'boolean' },
    },
    anyOf: [{ required: ['email'] }, { required: ['username'] }],
  }) as const;

interface LoginBody {
  tenant: string;
  email?: string;
  username?: string;
  password: string;
  break_glass?: boolean;
}

export async function passwordRoutes(app: FastifyInstance, { config }: RouteOptions): Promise<void> {
  app.post<{ Body: LoginBody }>(
    '/auth/login',
    operationRoute(operations.login, { body: loginBody(config) }, { contentTypes: [JSON_TYPE, FORM] }),
    async (req) => {
      const { tenant, email, username, password, break_glass: breakGlass } = req.body;
      return tokenBody(await passwordLogin(req.ctx.em, req.ctx.deps, { tenant, email: (email ?? username)!, password, breakGlass }, req.ctx.client));
    },
  );

  app.post<{ Body: { tenant: string; email: string } }>(
    '/auth/password/forgot',
    operationRoute(operations.forgotPassword, { body: textObject({ tenant: 'tenant', email: 'email' }, config) }),
    async (req, reply) => {
      await forgotPassword(req.ctx.em, req.ctx.deps, req.body, req.ctx.client);
      return reply.status(202).send(ACCEPTED);
    },
  );

  app.post<{ Body: { token: string; password: string } }>(
    '/auth/password/reset',
    operationRoute(operations.resetPassword, { body: textObject({ token: 'mailedToken', password: 'newPassword' }, config) }),
    async (req, reply) => {
      await resetPassword(req.ctx.em, req.ctx.deps, req.body);
      return reply.status(204).send();
    },
  );

  app.post<{ Body: { current_password: string; new_password: string } }>(
    '/auth/password/change',
    operationRoute(operations.changePassword, { body: textObject({ current_password: 'password', new_password: 'newPassword' }, config) }),
    async (req, reply) => {
      const { current_password, new_password } = req.body;
      await changePassword(req.ctx.em, req.ctx.deps, await req.ctx.viewer(), { currentPassword: current_password, newPassword: new_password }, req.ctx.client);
      return reply.status(204).send();
    },
  );
}
