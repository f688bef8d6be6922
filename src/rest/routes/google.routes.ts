import type { FastifyInstance } from 'fastify';
import { operations } from '../../api/operations.js';
import { linkGoogle, loginWithGoogle } from '../../services/google/login.js';
import { textSchema } from '../schemas.js';
import { operationRoute, type RouteOptions } from '../openapi.js';
import { tokenBody } from '../serialize.js';

export async function googleRoutes(app: FastifyInstance, { config }: RouteOptions): Promise<void> {
  const jwt = textSchema('idToken', config);
  // `credential` is the name Google Identity Services gives the ID token.
  const body = {
    type: 'object',
    required: ['tenant'],
    properties: { tenant: textSchema('tenant', config), id_token: jwt, credential: jwt },
    anyOf: [{ required: ['id_token'] }, { required: ['credential'] }],
  } as const;

  app.post<{ Body: { tenant: string; id_token?: string; credential?: string } }>(
    '/auth/login/google',
    operationRoute(operations.loginWithGoogle, { body }),
    async (req) => {
      const { tenant, id_token, credential } = req.body;
      return tokenBody(await loginWithGoogle(req.ctx.em, req.ctx.deps, { tenant, idToken: (id_token ?? credential)! }, req.ctx.client));
    },
  );

  app.post<{ Body: { id_token?: string; credential?: string } }>(
    '/auth/login/google/link',
    operationRoute(operations.linkGoogle, {
      body: { type: 'object', properties: { id_token: jwt, credential: jwt }, anyOf: [{ required: ['id_token'] }, { required: ['credential'] }] },
    }),
    async (req, reply) => {
      const { id_token, credential } = req.body;
      const link = await linkGoogle(req.ctx.em, req.ctx.deps, await req.ctx.viewer(), (id_token ?? credential)!, req.ctx.client);
      return reply.status(201).send({ id: link.id, provider: link.provider, subject: link.subject, email: link.email, created_at: link.createdAt });
    },
  );
}
