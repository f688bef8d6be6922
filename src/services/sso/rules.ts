// What an SSO connection may say (SPEC §11), checked the same for the import document and
// GraphQL: each refusal names its input and rule (SPEC §16), never the value.
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { Config } from '../../config.js';
import type { SsoConnectionType } from '../../db/entities/sso.entity.js';
import { AuthError, type FieldRule } from '../../errors/auth-error.js';
import { CONTROL_CHARACTERS, LONE_SURROGATE } from '../shared/fields.js';
import { normaliseEmail } from '../shared/identifiers.js';

/** A connection as written by an operator or an editor (REST/import names). */
export interface ConnectionInput {
  name: string;
  type: SsoConnectionType;
  domains?: string[] | null;
  enforce?: boolean | null;
  jit?: boolean | null;
  default_roles?: string[] | null;
  role_claim?: string | null;
  role_map?: Record<string, unknown> | null;
  // OIDC
  issuer?: string | null;
  client_id?: string | null;
  client_secret?: string | null;
  scopes?: string[] | null;
  trust_email?: boolean | null;
  // SAML
  idp_entity_id?: string | null;
  idp_sso_url?: string | null;
  idp_certificate?: string | null;
  allow_idp_initiated?: boolean | null;
  mfa_contexts?: string[] | null;
}

/** What is stored: the settings of the connection's type, the rest in columns. */
export interface CheckedConnection {
  name: string;
  type: SsoConnectionType;
  domains: string[];
  enforce: boolean;
  jit: boolean;
  defaultRoles: string[];
  roleClaim: string | null;
  roleMap: Record<string, string[]>;
  settings: Record<string, unknown>;
  /** Plain; sealed by the caller. Undefined: keep the stored one (an update without it). */
  clientSecret: string | undefined;
}

const refuse = (field: string, rule: FieldRule): never => {
  throw new AuthError('auth_request_invalid', { fields: [{ field, rule }] });
};

/** C1 controls and the bidirectional and invisible formatting characters that make a name read as another. */
const FORMATTING = /[\u0080-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/;

/** A text of 1..max characters without control or formatting characters (a multi-line one may hold line breaks). */
function text(field: string, value: unknown, max: number, required = true, multiline = false): string | null {
  if (value === undefined || value === null) return required ? refuse(field, 'required') : null;
  if (typeof value !== 'string') return refuse(field, 'type');
  if (value.length === 0) return refuse(field, 'too_short');
  if (value.length > max) return refuse(field, 'too_long');
  if (CONTROL_CHARACTERS.test(multiline ? value.replace(/\r?\n/g, '') : value) || LONE_SURROGATE.test(value) || FORMATTING.test(value)) return refuse(field, 'control_characters');
  return value;
}

function texts(field: string, value: unknown, max: number, maxItems = 50): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return refuse(field, 'type');
  if (value.length > maxItems) return refuse(field, 'too_long');
  return [...new Set(value.map((v) => text(field, v, max)!))];
}

const flag = (field: string, value: unknown): boolean => (value === undefined || value === null ? false : typeof value === 'boolean' ? value : refuse(field, 'type'));

/** A host name of at least two labels, lower-cased, whose last label starts with a letter (never an address). */
const DOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const normaliseDomain = (domain: string) => domain.trim().toLowerCase().replace(/\.$/, '');

/** The domain of an address, as sso_domains writes domains. */
export const domainOf = (email: string) => {
  const e = normaliseEmail(email);
  return normaliseDomain(e.slice(e.lastIndexOf('@') + 1));
};

/** A URL host on this machine: plain http to it is allowed outside production (a local IdP or app). */
const isLoopbackHost = (hostname: string) => ['localhost', '127.0.0.1', '[::1]'].includes(hostname);

function domains(value: unknown): string[] {
  return texts('domains', value, 253, 100).map((d) => {
    const domain = normaliseDomain(d);
    return DOMAIN.test(domain) && !isIP(domain) ? domain : refuse('domains', 'format');
  });
}

/**
 * An identity provider's URL: https; outside production also http on a loopback address (a
 * local IdP, SPEC §11); no user information, fragment, or (for an issuer) query. Kept as the
 * URL parser wrote it back, so what is stored is what is called. Public-address checks of §13
 * apply when the gateway calls it.
 */
function idpUrl(field: string, value: unknown, config: Pick<Config, 'env'>, query: boolean): string {
  const raw = text(field, value, 2048)!;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse(field, 'format');
  }
  const allowed = url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname) && config.env !== 'production');
  // Spaces and backslashes the parser would quietly fix mean the text says something else to another parser.
  const ambiguous = /[\s\\]/.test(raw) || !raw.toLowerCase().startsWith(`${url.protocol}//`);
  if (!allowed || ambiguous || url.username || url.password || url.hash || (!query && url.search)) return refuse(field, 'format');
  // An origin alone is written without the slash the parser adds; any other path as given.
  return url.pathname === '/' && !url.search ? url.origin : url.href;
}

/** Exactly one PEM certificate and nothing else (never a key), kept in its canonical form. */
function certificate(value: unknown): string {
  const pem = text('idp_certificate', value, 16384, true, true)!.trim();
  if (!/^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----$/.test(pem)) return refuse('idp_certificate', 'format');
  try {
    return new X509Certificate(pem).toString();
  } catch {
    return refuse('idp_certificate', 'format');
  }
}

function roleMap(value: unknown): Record<string, string[]> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) return refuse('role_map', 'type');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 100) return refuse('role_map', 'too_long');
  return Object.fromEntries(entries.map(([group, roles]) => [text('role_map', group, 256)!, texts('role_map', roles, 100)]));
}

/** An OIDC connection that is new, or pointed at another IdP, brings its own client secret (the stored one never goes to another IdP). */
export function requireClientSecret(c: Pick<CheckedConnection, 'type' | 'clientSecret'>): void {
  if (c.type === 'oidc' && c.clientSecret === undefined) refuse('client_secret', 'required');
}

/** Every role name the connection can grant: its default roles and its role map's. */
export const rolesNamed = (c: Pick<CheckedConnection, 'defaultRoles' | 'roleMap'>) => [...new Set([...c.defaultRoles, ...Object.values(c.roleMap).flat()])];

/** Checks and normalises a whole connection (whether it needs a new client secret is requireClientSecret's). */
export function checkConnection(input: ConnectionInput, config: Pick<Config, 'env'>): CheckedConnection {
  const name = text('name', input.name, 100)!;
  if (input.type !== 'oidc' && input.type !== 'saml') return refuse('type', input.type === undefined ? 'required' : 'format');
  const common = {
    name,
    type: input.type,
    domains: domains(input.domains),
    enforce: flag('enforce', input.enforce),
    jit: flag('jit', input.jit),
    defaultRoles: texts('default_roles', input.default_roles, 100),
    roleClaim: text('role_claim', input.role_claim, 256, false),
    roleMap: roleMap(input.role_map),
  };
  if (input.type === 'oidc') {
    const scopes = input.scopes === undefined || input.scopes === null ? ['openid', 'email', 'profile'] : texts('scopes', input.scopes, 100);
    if (!scopes.includes('openid')) refuse('scopes', 'format');
    const secret = text('client_secret', input.client_secret, 1024, false);
    return {
      ...common,
      settings: { issuer: idpUrl('issuer', input.issuer, config, false), client_id: text('client_id', input.client_id, 256)!, scopes, trust_email: flag('trust_email', input.trust_email) },
      clientSecret: secret ?? undefined,
    };
  }
  return {
    ...common,
    settings: {
      idp_entity_id: text('idp_entity_id', input.idp_entity_id, 1024)!,
      idp_sso_url: idpUrl('idp_sso_url', input.idp_sso_url, config, true),
      idp_certificate: certificate(input.idp_certificate),
      allow_idp_initiated: flag('allow_idp_initiated', input.allow_idp_initiated),
      mfa_contexts: texts('mfa_contexts', input.mfa_contexts, 1024),
    },
    clientSecret: undefined,
  };
}

/**
 * A tenant's redirect URL (where a finished SSO flow sends the browser): https, or http on a
 * loopback address (an app in development); no user information, query or fragment.
 */
export function isRedirectUrl(value: unknown): boolean {
  if (typeof value !== 'string' || value.length > 2048 || /[\s\\]/.test(value) || CONTROL_CHARACTERS.test(value)) return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname))) && !url.username && !url.password && !url.search && !url.hash;
  } catch {
    return false;
  }
}
