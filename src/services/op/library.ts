// oidc-provider (with Koa and its other dependencies, about 24 MB of a process at rest) is
// loaded when a tenant's provider is first made, not at start: a gateway nobody uses as an
// OpenID Provider never pays for it. The code that runs inside a provider's callbacks reads it
// with oidcProvider(), which it always finds loaded.
import type * as Library from 'oidc-provider';
import { lazy } from '../shared/lazy.js';

let loaded: typeof Library | undefined;

/** Loads oidc-provider once. */
export const loadOidcProvider = lazy(async () => (loaded = await import('oidc-provider')));

/** oidc-provider, loaded by loadOidcProvider() before any provider existed to call this. */
export function oidcProvider(): typeof Library {
  if (!loaded) throw new Error('oidc-provider is used before a provider was made');
  return loaded;
}
