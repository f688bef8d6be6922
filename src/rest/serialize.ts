// REST bodies are snake_case (the FastAPI backend's shape); GraphQL has the camelCase twins.
import type { ApiKeyInfo } from '../services/api-keys/manage.js';
import type { LinkInfo } from '../services/links/inspect.js';
import type { RecoveryCodeSet } from '../services/mfa/factors.js';
import type { AuthPayload, Viewer } from '../services/sessions/principal.js';

/** The one body of sign-up, resend and forgot, whatever happened: it tells nothing. */
export const ACCEPTED = { status: 'accepted' } as const;

export function userBody(v: Viewer) {
  return { id: v.userId, email: v.email, tenant: v.tenantSlug, roles: v.roles, permissions: v.permissions, auth_method: v.authMethod, mfa_required: v.mfaRequired };
}

export function tokenBody(p: AuthPayload) {
  return {
    access_token: p.accessToken,
    token_type: p.tokenType,
    expires_in: p.expiresIn,
    refresh_token: p.refreshToken,
    refresh_expires_in: p.refreshExpiresIn,
    user: userBody(p.user),
  };
}

export function apiKeyBody(k: ApiKeyInfo) {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes,
    created_at: k.createdAt,
    expires_at: k.expiresAt,
    last_used_at: k.lastUsedAt,
    revoked_at: k.revokedAt,
  };
}

export function recoveryCodesBody(set: RecoveryCodeSet) {
  return { recovery_codes: set.recoveryCodes, api_keys_before_factor: set.apiKeysBeforeFactor.map(apiKeyBody) };
}

export function linkInfoBody(l: LinkInfo) {
  return { kind: l.kind, state: l.state, tenant: l.tenant, email: l.email, invited_by: l.invitedBy, roles: l.roles, expires_at: l.expiresAt };
}
