import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyInstance } from 'fastify';
import { operations } from '../../api/operations.js';
import { registrationOptions, verifyRegistration } from '../../services/passkeys/registration.js';
import { loginOptions, verifyLogin } from '../../services/passkeys/login.js';
import { deletePasskey, listPasskeys, type PasskeyInfo } from '../../services/passkeys/manage.js';
import { textSchema } from '../schemas.js';
import { operationRoute, type RouteOptions } from '../openapi.js';
import { tokenBody } from '../serialize.js';

const ceremony = { type: 'object' } as const;

const passkeyBody = (p: PasskeyInfo) => ({
  id: p.id,
  name: p.name,
  created_at: p.createdAt,
  last_used_at: p.lastUsedAt,
  device_type: p.deviceType,
  backed_up: p.backedUp,
  transports: p.transports,
});

export async function passkeyRoutes(app: FastifyInstance, { config }: RouteOptions): Promise<void> {
  const tenant = textSchema('tenant', config);
  const idParams = { type: 'object', properties: { id: textSchema('id', config) } } as const;
  app.post(
    '/auth/webauthn/register/options',
    operationRoute(operations.webauthnRegisterOptions),
    async (req) => registrationOptions(req.ctx.em, req.ctx.deps, await req.ctx.viewer(), req.ctx.client),
  );

  app.post<{ Body: { response: RegistrationResponseJSON; name?: string } }>(
    '/auth/webauthn/register/verify',
    operationRoute(operations.webauthnRegisterVerify, {
      body: { type: 'object', required: ['response'], properties: { response: ceremony, name: textSchema('passkeyName', config) } },
    }),
    async (req, reply) => {
      const passkey = await verifyRegistration(req.ctx.em, req.ctx.deps, await req.ctx.viewer(), req.body.response, req.body.name, req.ctx.client);
      const { id, name, created_at } = passkeyBody(passkey);
      return reply.status(201).send({ id, name, created_at });
    },
  );

  app.post<{ Body: { tenant: string; email?: string } }>(
    '/auth/webauthn/login/options',
    operationRoute(operations.webauthnLoginOptions, { body: { type: 'object', required: ['tenant'], properties: { tenant, email: textSchema('email', config) } } }),
    async (req) => loginOptions(req.ctx.em, req.ctx.deps, req.body, req.ctx.client),
  );

  app.post<{ Body: { tenant: string; response: AuthenticationResponseJSON } }>(
    '/auth/webauthn/login/verify',
    operationRoute(operations.webauthnLoginVerify, {
      body: { type: 'object', required: ['tenant', 'response'], properties: { tenant, response: ceremony } },
    }),
    async (req) => tokenBody(await verifyLogin(req.ctx.em, req.ctx.deps, req.body, req.ctx.client)),
  );

  app.get('/auth/webauthn/credentials', operationRoute(operations.passkeys), async (req) => ({
    credentials: (await listPasskeys(req.ctx.em, await req.ctx.viewer())).map(passkeyBody),
  }));

  app.delete<{ Params: { id: string } }>(
    '/auth/webauthn/credentials/:id',
    operationRoute(operations.deletePasskey, { params: idParams }),
    async (req, reply) => {
      await deletePasskey(req.ctx.em, await req.ctx.viewer(), req.params.id, req.ctx.deps.now());
      return reply.status(204).send();
    },
  );
}
