// REST bodies are snake_case (the FastAPI backend's shape); GraphQL has the camelCase twins.
import type { AuthPayload, Viewer } from '../services/sessions/principal.js';

export function userBody(v: Viewer) {
  return { id: v.id, email: v.email, tenant: v.tenant, roles: v.roles, permissions: v.permissions, auth_method: v.authMethod, mfa_required: v.mfaRequired };
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
