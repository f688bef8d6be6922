import type { AuthChecker } from 'type-graphql';
import type { RequestContext } from '../context.js';
import { AuthError } from '../errors/auth-error.js';

/**
 * `@Authorized()` needs an authenticated caller; `@Authorized('perm', ...)` needs every
 * listed permission. Failures throw catalog errors rather than type-graphql's own.
 */
export const authChecker: AuthChecker<RequestContext> = async ({ context }, permissions) => {
  const viewer = await context.viewer();
  if (permissions.every((p) => viewer.permissions.includes(p))) return true;
  throw new AuthError('auth_forbidden');
};
