// @Authorized("perm") grants a field only when the caller's token carries every listed permission; otherwise auth_forbidden.
import { describe, expect, it } from 'vitest';
import type { RequestContext } from '../../src/context.js';
import { AuthError } from '../../src/errors/auth-error.js';
import { authChecker } from '../../src/graphql/auth-checker.js';
import type { Viewer } from '../../src/services/sessions/principal.js';

const viewer: Viewer = { id: 'u', email: 'a@b.c', tenant: 't', roles: ['admin'], permissions: ['api_keys:create', 'users:read'], authMethod: 'password' };
const context = (v: () => Promise<Viewer>) => ({ viewer: v }) as unknown as RequestContext;
const check = (perms: string[], v: () => Promise<Viewer> = async () => viewer) =>
  authChecker({ context: context(v), root: {}, args: {}, info: {} as never }, perms);

describe('authChecker', () => {
  it('allows an authenticated caller when no permission is named', async () => {
    await expect(check([])).resolves.toBe(true);
  });

  it('allows a caller holding every named permission', async () => {
    await expect(check(['api_keys:create', 'users:read'])).resolves.toBe(true);
  });

  it('refuses with auth_forbidden when one permission is missing', async () => {
    await expect(check(['api_keys:create', 'users:write'])).rejects.toMatchObject({ code: 'auth_forbidden', status: 403 });
  });

  it('passes on auth_unauthenticated when there is no caller', async () => {
    const none = async () => {
      throw new AuthError('auth_unauthenticated');
    };
    await expect(check(['users:read'], none)).rejects.toMatchObject({ code: 'auth_unauthenticated' });
  });
});
