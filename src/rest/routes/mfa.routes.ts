import type { FastifyInstance } from 'fastify';
import { operations } from '../../api/operations.js';
import { activateTotp, disableTotp, enrollTotp, regenerateRecoveryCodes } from '../../services/mfa/factors.js';
import { verifyMfa } from '../../services/mfa/second-step.js';
import { textSchema } from '../schemas.js';
import { operationRoute, type RouteOptions } from '../openapi.js';
import { recoveryCodesBody, tokenBody } from '../serialize.js';

export async function mfaRoutes(app: FastifyInstance, { config }: RouteOptions): Promise<void> {
  const code = textSchema('mfaCode', config);
  const codeBody = { type: 'object', required: ['code'], properties: { code } } as const;

  app.post('/auth/mfa/totp/enroll', operationRoute(operations.mfaTotpEnroll), async (req) => {
    const { secret, otpauthUri } = await enrollTotp(req.ctx.em, req.ctx.deps, await req.ctx.viewer());
    return { secret, otpauth_uri: otpauthUri };
  });

  app.post<{ Body: { code: string } }>('/auth/mfa/totp/activate', operationRoute(operations.mfaTotpActivate, { body: codeBody }), async (req) =>
    recoveryCodesBody(await activateTotp(req.ctx.em, req.ctx.deps, await req.ctx.viewer(), req.body.code, req.ctx.client)),
  );

  app.post<{ Body: { mfa_token: string; code?: string; recovery_code?: string } }>(
    '/auth/mfa/verify',
    operationRoute(operations.verifyMfa, {
      body: {
        type: 'object',
        required: ['mfa_token'],
        properties: { mfa_token: textSchema('mailedToken', config), code, recovery_code: code },
        oneOf: [{ required: ['code'] }, { required: ['recovery_code'] }],
      },
    }),
    async (req) => {
      const { mfa_token, code: totp, recovery_code } = req.body;
      return tokenBody(await verifyMfa(req.ctx.em, req.ctx.deps, { mfaToken: mfa_token, code: totp, recoveryCode: recovery_code }, req.ctx.client));
    },
  );

  app.post('/auth/mfa/recovery-codes', operationRoute(operations.mfaRecoveryCodes), async (req) =>
    recoveryCodesBody(await regenerateRecoveryCodes(req.ctx.em, req.ctx.deps, await req.ctx.viewer())),
  );

  app.delete<{ Body: { code: string } }>('/auth/mfa/totp', operationRoute(operations.mfaTotpDisable, { body: codeBody }), async (req, reply) => {
    await disableTotp(req.ctx.em, req.ctx.deps, await req.ctx.viewer(), req.body.code, req.ctx.client);
    return reply.status(204).send();
  });
}
