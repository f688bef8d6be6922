// @Authorized() needs a caller, a session-only field a session; @Authorized('perm') judges the caller's permissions as the database has them now, never the token's claims.
import { describe, expect, it } from 'vitest';
import type { RequestContext } from '../../src/context.js';
import { AuthError } from '../../src/errors/auth-error.js';
import { authChecker } from '../../src/graphql/auth-checker.js';
import type { Viewer } from '../../src/services/sessions/principal.js';

const viewer: Viewer = { userId: 'u', email: 'a@b.c', tenantSlug: 't', roles: ['admin'], permissions: ['api_keys:create'], authMethod: 'password', authTime: 0, amr: ['pwd'], mfaRequired: false };
const calls: string[] = [];
// The database's view: the token still claims api_keys:create, the database no longer has it.
const held = ['users:read'];
const context = (fail?: AuthError) =>
  ({
    viewer: async () => {
      calls.push('viewer');
      if (fail) throw fail;
      return viewer;
    },
    permissions: async () => {
      calls.push('permissions');
      return held;
    },
    sessionViewer: async () => {
      calls.push('sessionViewer');
      if (fail) throw fail;
      return viewer;
    },
  }) as unknown as RequestContext;
const check = (field: string, perms: string[] = [], fail?: AuthError) => authChecker({ context: context(fail), root: {}, args: {}, info: { fieldName: field } as never }, perms);

describe('authChecker', () => {
  it('allows an authenticated caller', async () => {
    await expect(check('me')).resolves.toBe(true);
  });

  it('asks a session-only field (the catalog\'s caller) for a session, and any other for any credential', async () => {
    calls.length = 0;
    await check('createApiKey');
    await check('apiKeys');
    expect(calls).toEqual(['sessionViewer', 'viewer']);
  });

  it('passes on the caller check\'s refusal', async () => {
    await expect(check('createApiKey', [], new AuthError('auth_forbidden'))).rejects.toMatchObject({ code: 'auth_forbidden', status: 403 });
    await expect(check('me', [], new AuthError('auth_unauthenticated'))).rejects.toMatchObject({ code: 'auth_unauthenticated' });
  });

  it('allows a caller whose current permissions hold every named one', async () => {
    await expect(check('me', ['users:read'])).resolves.toBe(true);
  });

  it('refuses with auth_forbidden on a permission the token claims but the database no longer grants', async () => {
    expect(viewer.permissions).toContain('api_keys:create');
    await expect(check('me', ['api_keys:create'])).rejects.toMatchObject({ code: 'auth_forbidden', status: 403 });
  });
});
