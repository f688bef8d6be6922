// pino options for Fastify's logger: JSON lines, secrets redacted, query strings dropped
// from logged URLs (a misplaced token must not reach the log), and errors written by
// serializeError (error-log.ts): a database error as its class, SQLSTATE and stack frames,
// never its message, which embeds the SQL with its parameter values (e-mails, hashes).
// Where the lines go (stdout, batched, out within 250 ms) is log-destination.ts.
import type { FastifyLoggerOptions, RawServerDefault } from 'fastify';
import type { PinoLoggerOptions } from 'fastify/types/logger.js';
import type { Config } from '../config.js';
import { serializeError } from './error-log.js';

// Bodies are never logged (the request line is built field by field), so redaction only
// guards the places a credential could still reach a line: headers and top-level fields.
// Error text is not redacted but rebuilt: see serializeError.
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
      // Every `err` field: the 5xx request line's cause, the readiness and background warnings.
      err: serializeError,
    },
  };
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Keep a sane incoming X-Request-Id, otherwise make one. */
export function requestId(header: string | string[] | undefined, fallback: () => string): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : fallback();
}
