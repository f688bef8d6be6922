import type { FastifyInstance } from 'fastify';
import { operations } from '../../api/operations.js';
import { operationRoute } from '../openapi.js';
import { createApiKey, listApiKeys, revokeApiKey, revokeApiKeys, REVOKE_MANY_MAX } from '../../services/api-keys/manage.js';
import { apiKeyBody } from '../serialize.js';
import { textSchema } from '../schemas.js';
import type { RouteOptions } from '../openapi.js';

export async function apiKeyRoutes(app: FastifyInstance, { config }: RouteOptions): Promise<void> {
  const createBody = {
    type: 'object',
    required: ['name'],
    properties: {
      name: textSchema('apiKeyName', config),
      scopes: { type: 'array', items: textSchema('scope', config), maxItems: 100 },
      expires_in_days: { type: 'integer', minimum: 1, maximum: 3650 },
    },
  } as const;
  const idParams = { type: 'object', properties: { id: textSchema('id', config) } } as const;

  app.post<{ Body: { name: string; scopes?: string[]; expires_in_days?: number } }>(
    '/auth/api-key',
    operationRoute(operations.createApiKey, { body: createBody }),
    async (req, reply) => {
      const { name, scopes, expires_in_days } = req.body;
      const k = await createApiKey(req.ctx.em, req.ctx.deps, await req.ctx.viewer(), { name, scopes, expiresInDays: expires_in_days });
      return reply.status(201).send({
        id: k.id,
        name: k.name,
        api_key: k.apiKey,
        prefix: k.prefix,
        scopes: k.scopes,
        expires_at: k.expiresAt,
        created_at: k.createdAt,
      });
    },
  );

  app.get('/auth/api-keys', operationRoute(operations.apiKeys), async (req) => ({
    api_keys: (await listApiKeys(req.ctx.em, await req.ctx.viewer())).map(apiKeyBody),
  }));

  app.delete<{ Params: { id: string } }>('/auth/api-key/:id', operationRoute(operations.revokeApiKey, { params: idParams }), async (req, reply) => {
    await revokeApiKey(req.ctx.em, req.ctx.deps, await req.ctx.viewer(), req.params.id);
    return reply.status(204).send();
  });

  const revokeManyBody = {
    type: 'object',
    required: ['ids'],
    properties: { ids: { type: 'array', items: textSchema('id', config), minItems: 1, maxItems: REVOKE_MANY_MAX } },
  } as const;
  app.post<{ Body: { ids: string[] } }>('/auth/api-keys/revoke', operationRoute(operations.revokeApiKeys, { body: revokeManyBody }), async (req) => ({
    revoked: await revokeApiKeys(req.ctx.em, req.ctx.deps, await req.ctx.viewer(), req.body.ids),
  }));
}
