import type { FastifyInstance } from 'fastify';
import { operations } from '../../errors/catalog.js';
import { passwordLogin } from '../../services/login.service.js';
import { tokenBody, userBody } from '../serialize.js';
import { FORM, JSON_TYPE } from '../content-types.js';

const text = { type: 'string', minLength: 1, maxLength: 1024 } as const;

// OAuth2 password-grant clients send username (the e-mail) as a form; JSON clients send email.
const loginBody = {
  type: 'object',
  required: ['tenant', 'password'],
  properties: { tenant: text, email: text, username: text, password: text },
  anyOf: [{ required: ['email'] }, { required: ['username'] }],
} as const;

interface LoginBody {
  tenant: string;
  email?: string;
  username?: string;
  password: string;
}

export async function authRoutes(app: FastifyInstance): Promise<void> {
  app.post<{ Body: LoginBody }>(
    '/auth/login',
    { schema: { body: loginBody }, config: { operation: operations.login, contentTypes: [JSON_TYPE, FORM] } },
    async (req) => {
      const { tenant, email, username, password } = req.body;
      return tokenBody(await passwordLogin(req.ctx.em, req.ctx.deps, { tenant, email: (email ?? username)!, password }));
    },
  );

  app.get('/auth/me', { config: { operation: operations.me } }, async (req) => userBody(await req.ctx.viewer()));
}
