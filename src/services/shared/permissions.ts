// The permissions the gateway's own operations check. A role may hold others (an application's
// own, checked by its services); test/unit/permissions.test.ts fails when an operation checks
// one that is missing here.
export const GATEWAY_PERMISSIONS = ['users:read', 'users:manage', 'audit:read', 'api_keys:create', 'api_keys:manage', 'sso:manage', 'sso:bypass', 'clients:manage', 'webhooks:manage'] as const;

/** What a permission's name looks like (the import document's and the CLI's rule). */
export const PERMISSION = /^[a-z0-9_.-]+(?::[a-z0-9_.*-]+)*$/;
