import type { AuthChecker } from 'type-graphql';
import type { RequestContext } from '../context.js';
import { AuthError } from '../errors/auth-error.js';
import { operationByGraphqlField } from '../api/operations.js';

/**
 * `@Authorized()` needs an authenticated caller; `@Authorized('perm', ...)` needs every listed
 * permission, read from the database (a token's claims may be minutes old). Which
 * credentials may call a field is the catalog's rule (`caller`): a `session` operation
 * refuses an API key with auth_forbidden, as its REST route does. Failures throw catalog
 * errors rather than type-graphql's own.
 */
export const authChecker: AuthChecker<RequestContext> = async ({ context, info }, permissions) => {
  const sessionOnly = operationByGraphqlField(info.fieldName)?.caller === 'session';
  await (sessionOnly ? context.sessionViewer() : context.viewer());
  if (permissions.length === 0) return true;
  const held = await context.permissions();
  const missing = permissions.filter((p) => !held.includes(p));
  if (missing.length === 0) return true;
  // The permissions the field needs that the caller lacks (SPEC §16): the schema says as much.
  throw new AuthError('auth_forbidden', { missing });
};
