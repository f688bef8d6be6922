// The error catalog is complete and consistent, the seed's codes are fixed, and everything derived from it agrees.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { catalog, errorCodes } from '../../src/errors/catalog.js';
import { operations, type OperationSpec } from '../../src/api/operations.js';
import { catalogDocument } from '../../src/api/error-reference.js';
import { renderErrorCodesDoc } from '../../src/api/error-reference.js';
import { gatewaySchema, printGatewaySchema } from '../../src/graphql/schema.js';
import type { GraphQLEnumType } from 'graphql';

// These codes, statuses and routes are fixed by the seed document and the contract (docs/error-codes.md).
const FIXED: Record<string, [number, string]> = {
  auth_login_db_error: [503, 'POST /auth/login'],
  auth_login_internal_error: [500, 'POST /auth/login'],
  auth_refresh_db_error: [503, 'POST /auth/refresh'],
  auth_webauthn_db_error: [503, 'POST /auth/webauthn/login/verify'],
  auth_webauthn_internal_error: [500, 'POST /auth/webauthn/login/verify'],
  auth_google_db_error: [503, 'POST /auth/login/google'],
  auth_google_internal_error: [500, 'POST /auth/login/google'],
  auth_api_key_internal_error: [500, 'POST /auth/api-key'],
  auth_request_invalid: [422, 'POST /auth/login'],
  auth_login_invalid_credentials: [401, 'POST /auth/login'],
  auth_login_account_disabled: [403, 'POST /auth/login'],
  auth_rate_limited: [429, 'POST /auth/login'],
  auth_refresh_invalid: [401, 'POST /auth/refresh'],
  auth_refresh_reused: [401, 'POST /auth/refresh'],
  auth_refresh_internal_error: [500, 'POST /auth/refresh'],
  auth_webauthn_challenge_invalid: [400, 'POST /auth/webauthn/login/verify'],
  auth_webauthn_verification_failed: [401, 'POST /auth/webauthn/login/verify'],
  auth_google_token_invalid: [401, 'POST /auth/login/google'],
  auth_google_email_unverified: [403, 'POST /auth/login/google'],
  auth_google_account_not_allowed: [403, 'POST /auth/login/google'],
  auth_unauthenticated: [401, 'GET /auth/me'],
  auth_api_key_invalid: [401, 'GET /auth/me'],
  auth_forbidden: [403, 'POST /auth/api-key'],
  auth_api_key_db_error: [503, 'POST /auth/api-key'],
  auth_session_db_error: [503, 'GET /auth/me'],
};

describe('catalog', () => {
  it('holds every fixed code with its fixed status and route', () => {
    const doc = catalogDocument();
    for (const [code, [status, route]] of Object.entries(FIXED)) {
      const entry = doc.codes.find((c) => c.code === code);
      expect(entry, code).toBeDefined();
      expect(entry!.status, code).toBe(status);
      expect(entry!.routes, code).toContain(route);
    }
  });

  it('gives every entry its fields, a lower snake case auth_ name and a class matching its status', () => {
    for (const code of errorCodes) {
      const e = catalog[code];
      expect(code).toMatch(/^auth(_[a-z0-9]+)+$/);
      for (const f of ['message', 'meaning', 'action', 'since'] as const) expect(e[f].length, `${code}.${f}`).toBeGreaterThan(0);
      // 503: the database; 502: an upstream (an identity provider); other 5xx: the gateway itself.
      expect(e.class).toBe(e.status === 503 || e.status === 502 ? 'dependency' : e.status >= 500 ? 'server' : 'client');
      expect(typeof e.retryable).toBe('boolean');
    }
  });

  it('is used: every code belongs to at least one operation', () => {
    for (const c of catalogDocument().codes) expect(c.routes.length + c.graphql_fields.length, c.code).toBeGreaterThan(0);
  });

  it('names every operation by its key, which is its GraphQL field (one without a GraphQL field has a REST route)', () => {
    for (const [key, op] of Object.entries(operations) as Array<[string, OperationSpec]>) {
      expect(op.name, key).toBe(key);
      if (op.graphql === null) expect(op.rest, key).not.toBeNull();
      else expect(op.graphql, key).toBe(key);
    }
  });

  it('gives every operation db and internal codes of the right classes, and auth_request_invalid', () => {
    for (const op of Object.values(operations) as OperationSpec[]) {
      expect(catalog[op.dbError].class, op.name).toBe('dependency');
      expect(catalog[op.internalError].class, op.name).toBe('server');
      expect(op.codes).toContain('auth_request_invalid');
    }
  });

  it('is published as the AuthErrorCode enum with exactly the catalog codes', async () => {
    const schema = await gatewaySchema();
    const values = (schema.getType('AuthErrorCode') as GraphQLEnumType).getValues().map((v) => v.value);
    expect(values.sort()).toEqual([...errorCodes].sort());
  });
});

describe('generated files', () => {
  it('schema.graphql is fresh (run npm run generate)', async () => {
    expect(readFileSync('schema.graphql', 'utf8')).toBe(await printGatewaySchema());
  });

  it('docs/error-codes.md is fresh (run npm run generate)', () => {
    expect(readFileSync('docs/error-codes.md', 'utf8')).toBe(renderErrorCodesDoc());
  });
});
