import type { FastifyInstance } from 'fastify';
import { operations } from '../../errors/catalog.js';
import { passwordLogin } from '../../services/passwords/login.js';
import { refreshSession } from '../../services/sessions/refresh.js';
import { logoutAllSessions, logoutSession } from '../../services/sessions/start.js';
import { tokenBody, userBody } from '../serialize.js';
import { FORM, JSON_TYPE } from '../content-types.js';
import { operationRoute, type RouteOptions } from '../openapi.js';
import { textSchema } from '../../services/shared/fields.js';
import type { Config } from '../../config.js';

// OAuth2 password-grant clients send username (the e-mail) as a form; JSON clients send email.
const loginBody = (config: Config) =>
  ({
    type: 'object',
    required: ['tenant', 'password'],
    properties: { tenant: textSchema('tenant', config), email: textSchema('email', config), username: textSchema('email', config), password: textSchema('password', config) },
    anyOf: [{ required: ['email'] }, { required: ['username'] }],
  }) as const;

const refreshBody = (config: Config) =>
  ({
    type: 'object',
    required: ['refresh_token'],
    properties: { refresh_token: textSchema('refreshToken', config) },
  }) as const;

interface RefreshBody {
  refresh_token: string;
}

interface LoginBody {
  tenant: string;
  email?: string;
  username?: string;
  password: string;
}

export async function authRoutes(app: FastifyInstance, { config }: RouteOptions): Promise<void> {
  app.post<{ Body: LoginBody }>(
    '/auth/login',
    operationRoute(operations.login, { body: loginBody(config) }, { contentTypes: [JSON_TYPE, FORM] }),
    async (req) => {
      const { tenant, email, username, password } = req.body;
      return tokenBody(await passwordLogin(req.ctx.em, req.ctx.deps, { tenant, email: (email ?? username)!, password }, req.ctx.client));
    },
  );

  app.post<{ Body: RefreshBody }>(
    '/auth/refresh',
    operationRoute(operations.refresh, { body: refreshBody(config) }),
    async (req) => tokenBody(await refreshSession(req.ctx.em, req.ctx.deps, req.body.refresh_token, req.ctx.client)),
  );

  app.post<{ Body: RefreshBody }>(
    '/auth/logout',
    operationRoute(operations.logout, { body: refreshBody(config) }),
    async (req, reply) => {
      await logoutSession(req.ctx.em, req.ctx.deps, req.body.refresh_token);
      return reply.status(204).send();
    },
  );

  app.post('/auth/logout/all', operationRoute(operations.logoutAll), async (req, reply) => {
    await logoutAllSessions(req.ctx.em, req.ctx.deps, await req.ctx.viewer());
    return reply.status(204).send();
  });

  app.get('/auth/me', operationRoute(operations.me), async (req) => userBody(await req.ctx.viewer()));
}
