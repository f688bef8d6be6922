// What an SSO connection may say (SPEC §11), checked the same for the import document and
// GraphQL: each refusal names its input and rule (SPEC §16), never the value.
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { DOMParser, type Element } from '@xmldom/xmldom';
import type { Config } from '../../config.js';
import type { SsoConnectionType } from '../../db/entities/sso.entity.js';
import { CONTROL_CHARACTERS } from '../shared/fields.js';
import { flag, isLoopbackHost, refuse, text, texts } from '../shared/input.js';
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
  /** SAML's name for role_claim (SPEC §11's import example); either may be given. */
  role_attribute?: string | null;
  role_map?: Record<string, unknown> | null;
  // OIDC
  issuer?: string | null;
  client_id?: string | null;
  client_secret?: string | null;
  scopes?: string[] | null;
  trust_email?: boolean | null;
  // SAML
  /** The IdP's metadata (an EntityDescriptor): its entity ID, HTTP-Redirect SSO URL and signing certificate, unless given apart. */
  idp_metadata?: string | null;
  idp_entity_id?: string | null;
  idp_sso_url?: string | null;
  idp_certificate?: string | null;
  allow_idp_initiated?: boolean | null;
  mfa_contexts?: string[] | null;
  /** Sign the AuthnRequest with a key the gateway keeps for the connection (its certificate is in the SP metadata). */
  sign_requests?: boolean | null;
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


/** A host name of at least two labels, lower-cased, whose last label starts with a letter (never an address). */
const DOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const normaliseDomain = (domain: string) => domain.trim().toLowerCase().replace(/\.$/, '');

/** The domain of an address, as sso_domains writes domains. */
export const domainOf = (email: string) => {
  const e = normaliseEmail(email);
  return normaliseDomain(e.slice(e.lastIndexOf('@') + 1));
};


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
function idpUrl(field: string, value: unknown, config: Pick<Config, 'env'>, query: boolean, named = field): string {
  const raw = text(named, value, 2048)!;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse(named, 'format');
  }
  const allowed = url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname) && config.env !== 'production');
  // Spaces and backslashes the parser would quietly fix mean the text says something else to another parser.
  const ambiguous = /[\s\\]/.test(raw) || !raw.toLowerCase().startsWith(`${url.protocol}//`);
  if (!allowed || ambiguous || url.username || url.password || url.hash || (!query && url.search)) return refuse(named, 'format');
  // An origin alone is written without the slash the parser adds; any other path as given.
  return url.pathname === '/' && !url.search ? url.origin : url.href;
}

/** Exactly one PEM certificate and nothing else (never a key), kept in its canonical form. */
function certificate(value: unknown, field = 'idp_certificate'): string {
  const pem = text(field, value, 16384, true, true)!.trim();
  if (!/^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----$/.test(pem)) return refuse(field, 'format');
  try {
    return new X509Certificate(pem).toString();
  } catch {
    return refuse(field, 'format');
  }
}

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const childrenOf = (e: Element, ns: string, name: string): Element[] =>
  Array.from(e.childNodes).filter((n): n is Element => n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === name);

/**
 * What an IdP's metadata says (one EntityDescriptor with one IDPSSODescriptor): its entity ID,
 * the HTTP-Redirect SingleSignOnService and the first signing certificate, written as the
 * explicit fields would be. A DOCTYPE is refused outright (no entities, internal or external).
 */
function idpMetadata(value: unknown): { idp_entity_id: string; idp_sso_url: string; idp_certificate: string } {
  const xml = text('idp_metadata', value, 262_144, true, true)!;
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return refuse('idp_metadata', 'format');
  let root: Element | null;
  try {
    root = new DOMParser({
      onError: (level, message) => {
        if (level !== 'warning') throw new Error(message);
      },
    }).parseFromString(xml, 'text/xml').documentElement;
  } catch {
    return refuse('idp_metadata', 'format');
  }
  if (!root || root.namespaceURI !== MD || root.localName !== 'EntityDescriptor') return refuse('idp_metadata', 'format');
  const [idp, ...more] = childrenOf(root, MD, 'IDPSSODescriptor');
  if (!idp || more.length) return refuse('idp_metadata', 'format');
  const sso = childrenOf(idp, MD, 'SingleSignOnService').find((s) => s.getAttribute('Binding') === REDIRECT_BINDING);
  const key = childrenOf(idp, MD, 'KeyDescriptor').find((k) => (k.getAttribute('use') ?? 'signing') === 'signing' || k.getAttribute('use') === '');
  const der = key?.getElementsByTagNameNS(DS, 'X509Certificate')[0]?.textContent?.replace(/\s+/g, '') ?? '';
  if (!sso || !/^[A-Za-z0-9+/]+={0,2}$/.test(der)) return refuse('idp_metadata', 'format');
  return {
    idp_entity_id: root.getAttribute('entityID') ?? '',
    idp_sso_url: sso.getAttribute('Location') ?? '',
    idp_certificate: `-----BEGIN CERTIFICATE-----\n${der.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----`,
  };
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
  // Metadata fills what is not given apart; each value meets the explicit field's rules (named after where it came from).
  const meta = input.idp_metadata === undefined || input.idp_metadata === null ? undefined : idpMetadata(input.idp_metadata);
  const from = (field: 'idp_entity_id' | 'idp_sso_url' | 'idp_certificate') => (input[field] ?? meta?.[field] ?? null) as unknown;
  const named = (field: 'idp_entity_id' | 'idp_sso_url' | 'idp_certificate') => (input[field] === undefined || input[field] === null) && meta ? 'idp_metadata' : field;
  if (input.role_attribute !== undefined && input.role_attribute !== null && input.role_claim !== undefined && input.role_claim !== null && input.role_attribute !== input.role_claim) {
    refuse('role_attribute', 'format');
  }
  return {
    ...common,
    roleClaim: text(input.role_attribute ? 'role_attribute' : 'role_claim', input.role_attribute ?? input.role_claim, 256, false),
    settings: {
      idp_entity_id: text(named('idp_entity_id'), from('idp_entity_id'), 1024)!,
      idp_sso_url: idpUrl('idp_sso_url', from('idp_sso_url'), config, true, named('idp_sso_url')),
      idp_certificate: certificate(from('idp_certificate'), named('idp_certificate')),
      allow_idp_initiated: flag('allow_idp_initiated', input.allow_idp_initiated),
      mfa_contexts: texts('mfa_contexts', input.mfa_contexts, 1024),
      sign_requests: flag('sign_requests', input.sign_requests),
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
