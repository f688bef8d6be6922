import { ApiKey } from './api-key.entity.js';
import { AuditEvent } from './audit-event.entity.js';
import { ExternalIdentity } from './external-identity.entity.js';
import { Permission } from './permission.entity.js';
import { RefreshToken } from './refresh-token.entity.js';
import { Role } from './role.entity.js';
import { Session } from './session.entity.js';
import { Tenant } from './tenant.entity.js';
import { User } from './user.entity.js';
import { WebauthnChallenge } from './webauthn-challenge.entity.js';
import { Passkey } from './passkey.entity.js';
import { EmailToken } from './email-token.entity.js';
import { Mail } from './mail.entity.js';
import { Invitation } from './invitation.entity.js';
import { MfaChallenge, MfaFactor, MfaRecoveryCode } from './mfa.entity.js';
import { SsoAssertion, SsoCode, SsoConnection, SsoDomain, SsoFlow, SsoIdentity, SsoRoleGrant } from './sso.entity.js';

export { ApiKey, AuditEvent, ExternalIdentity, Permission, RefreshToken, Role, Session, Tenant, User, WebauthnChallenge, Passkey, EmailToken, Mail, MfaFactor, MfaRecoveryCode, MfaChallenge, Invitation, SsoConnection, SsoDomain, SsoFlow, SsoCode, SsoRoleGrant, SsoIdentity, SsoAssertion };
export const entities = [Tenant, Permission, Role, User, Session, RefreshToken, AuditEvent, Passkey, WebauthnChallenge, ExternalIdentity, ApiKey, EmailToken, Mail, MfaFactor, MfaRecoveryCode, MfaChallenge, Invitation, SsoConnection, SsoDomain, SsoFlow, SsoCode, SsoRoleGrant, SsoIdentity, SsoAssertion];
