import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { catalogDocument } from '../../api/error-reference.js';
import type { TokenService } from '../../services/sessions/access-tokens.js';

export interface MetaDeps {
  tokens: TokenService;
  /** Resolves when the database answers; rejects otherwise. */
  ping(): Promise<void>;
  /** False once shutdown has begun. */
  accepting(): boolean;
  metrics: Registry;
}

export async function metaRoutes(app: FastifyInstance, deps: MetaDeps): Promise<void> {
  const errorCodes = catalogDocument();
  app.get('/.well-known/jwks.json', async (_req, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return deps.tokens.jwks();
  });
  app.get('/auth/error-codes', async () => errorCodes);
  app.get('/healthz', async () => ({ status: 'ok', uptime_seconds: Math.round(process.uptime()) }));
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.metrics.contentType);
    return deps.metrics.metrics();
  });
  app.get('/readyz', async (req, reply) => {
    if (!deps.accepting()) return reply.status(503).send({ status: 'shutting_down' });
    try {
      await deps.ping();
      return { status: 'ok' };
    } catch (err) {
      req.log.warn({ err }, 'readiness check: database unreachable');
      return reply.status(503).send({ status: 'database_unavailable' });
    }
  });
}
