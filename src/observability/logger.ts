// pino options for Fastify's logger: JSON lines, secrets redacted, query strings dropped
// from logged URLs (a misplaced token must not reach the log).
import type { FastifyLoggerOptions, RawServerDefault } from 'fastify';
import type { PinoLoggerOptions } from 'fastify/types/logger.js';
import type { Config } from '../config.js';

// Bodies are never logged (the request line is built field by field), so redaction only
// guards the places a credential could still reach a line: headers and top-level fields.
// Exact paths, no wildcards: wildcard redaction costs every line a walk of the object.
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'password',
  'refresh_token',
  'access_token',
  'id_token',
  'api_key',
];

export function loggerOptions(config: Pick<Config, 'logLevel'>): FastifyLoggerOptions<RawServerDefault> & PinoLoggerOptions {
  return {
    level: config.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      req(req) {
        return { method: req.method, url: req.url.split('?')[0], remoteAddress: req.ip };
      },
    },
  };
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Keep a sane incoming X-Request-Id, otherwise make one. */
export function requestId(header: string | string[] | undefined, fallback: () => string): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : fallback();
}
