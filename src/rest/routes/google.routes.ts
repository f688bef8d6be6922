import type { FastifyInstance } from 'fastify';
import { operations } from '../../errors/catalog.js';
import { loginWithGoogle } from '../../services/google.service.js';
import { nonEmptyText, operationRoute } from '../openapi.js';
import { tokenBody } from '../serialize.js';

const jwt = { type: 'string', minLength: 1, maxLength: 8192 } as const;

// `credential` is the name Google Identity Services gives the ID token.
const body = {
  type: 'object',
  required: ['tenant'],
  properties: { tenant: nonEmptyText, id_token: jwt, credential: jwt },
  anyOf: [{ required: ['id_token'] }, { required: ['credential'] }],
} as const;

export async function googleRoutes(app: FastifyInstance): Promise<void> {
  app.post<{ Body: { tenant: string; id_token?: string; credential?: string } }>(
    '/auth/login/google',
    operationRoute(operations.loginWithGoogle, { body }),
    async (req) => {
      const { tenant, id_token, credential } = req.body;
      return tokenBody(await loginWithGoogle(req.ctx.em, req.ctx.deps, { tenant, idToken: (id_token ?? credential)! }, req.ctx.client));
    },
  );
}
