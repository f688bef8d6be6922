// SAML 2.0 towards a tenant's IdP (SPEC §11), with @node-saml/node-saml (the maintained
// successor of passport-saml; its 5.x validates the signed part it returns, after the
// CVE-2025-54419 fix): the HTTP-Redirect AuthnRequest, and the HTTP-POST response's signature,
// audience, time window and InResponseTo. The library is told to accept either a signed Response
// or a signed Assertion (SPEC §11), and its InResponseTo cache is the flow row in PostgreSQL.
// What it does not check is checked here, on the signed assertion it returned (never on a
// re-parse of the raw response): the Issuer, the bearer SubjectConfirmation's Recipient,
// InResponseTo and NotOnOrAfter, and the Response's Destination; the assertion ID's single use
// is the caller's (a row of sso_assertions).
import type { CacheProvider, Profile, SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import type { Config } from '../../config.js';
import { AuthError } from '../../errors/auth-error.js';
import { idpFailure } from './oidc.js';
import { openSpKey } from './sp-key.js';
import { responseShape, SUCCESS } from './saml-shape.js';
import { lazy } from '../shared/lazy.js';

/** @node-saml/node-saml and its XML signature stack, loaded by the first SAML flow. */
const samlLibrary = lazy(() => import('@node-saml/node-saml'));
/** The library's InResponseTo modes (its enum's values). */
const ALWAYS = 'always' as ValidateInResponseTo;
const NEVER = 'never' as ValidateInResponseTo;

/** The clock skew SPEC §11 allows on NotBefore / NotOnOrAfter. */
export const SAML_SKEW_MS = 60_000;
/** How long a request may wait for its response (the flow's life). */
const REQUEST_TTL_MS = 10 * 60_000;

export interface SamlSettings {
  idp_entity_id: string;
  idp_sso_url: string;
  idp_certificate: string;
  allow_idp_initiated: boolean;
  mfa_contexts: string[];
  sign_requests?: boolean;
  sp_certificate?: string;
}

export interface SamlConnection {
  id: string;
  settings: SamlSettings;
  /** The sealed SP key when the connection signs its requests. */
  spKey: string | null;
}

/** The gateway's ACS URL (the Recipient and Destination every response must name). */
export const samlAcsUrl = (config: Pick<Config, 'publicUrl'>) => `${config.publicUrl}/auth/sso/saml/acs`;
/** The SP entity ID of a connection (its metadata's URL): the Audience its assertions must name. */
export const samlEntityId = (config: Pick<Config, 'publicUrl'>, connectionId: string) => `${config.publicUrl}/auth/sso/saml/metadata/${connectionId}`;

const NO_CACHE: CacheProvider = {
  saveAsync: async () => null,
  getAsync: async () => null,
  removeAsync: async () => null,
};

async function samlOf(
  config: Pick<Config, 'publicUrl' | 'secretKey'>,
  c: SamlConnection,
  cache: CacheProvider,
  validateInResponseTo: ValidateInResponseTo,
  signed: { response: boolean; assertion: boolean } = { response: false, assertion: false },
): Promise<SAML> {
  const { SAML } = await samlLibrary();
  return new SAML({
    callbackUrl: samlAcsUrl(config),
    entryPoint: c.settings.idp_sso_url,
    issuer: samlEntityId(config, c.id),
    audience: samlEntityId(config, c.id),
    idpCert: c.settings.idp_certificate,
    // Either the Response or the Assertion signed is enough (SPEC §11; unsigned is refused by the
    // library either way), but a signature that is there must verify.
    wantAuthnResponseSigned: signed.response,
    wantAssertionsSigned: signed.assertion,
    acceptedClockSkewMs: SAML_SKEW_MS,
    validateInResponseTo,
    requestIdExpirationPeriodMs: REQUEST_TTL_MS,
    cacheProvider: cache,
    // No NameIDPolicy format and no RequestedAuthnContext: the IdP answers with what it is set up to send.
    identifierFormat: null,
    disableRequestedAuthnContext: true,
    ...(c.settings.sign_requests && c.spKey ? { privateKey: openSpKey(config, c.spKey), signatureAlgorithm: 'sha256' as const } : {}),
  });
}

/** The IdP's URL with a new AuthnRequest (HTTP-Redirect, signed when the connection says so) and the request's ID. */
export async function samlAuthorizeRequest(config: Pick<Config, 'publicUrl' | 'secretKey'>, c: SamlConnection, relayState: string): Promise<{ url: string; requestId: string }> {
  let requestId = '';
  const capture: CacheProvider = {
    ...NO_CACHE,
    saveAsync: async (key, value) => {
      requestId = key;
      return { value, createdAt: Date.now() };
    },
  };
  const url = await (await samlOf(config, c, capture, ALWAYS)).getAuthorizeUrlAsync(relayState, undefined, {});
  if (!requestId) throw new Error('the SAML library made no request ID');
  return { url, requestId };
}

/** The SP metadata of a connection: its entity ID, the ACS URL and, when it signs requests, its certificate. */
export async function samlMetadata(config: Pick<Config, 'publicUrl' | 'secretKey'>, c: SamlConnection): Promise<string> {
  const saml = await samlOf(config, c, NO_CACHE, ALWAYS);
  return saml.generateServiceProviderMetadata(null, c.settings.sign_requests && c.settings.sp_certificate ? c.settings.sp_certificate : null);
}

export interface SamlClaims {
  /** The assertion's ID (single use: the caller keeps it until `expiresAt`). */
  assertionId: string;
  /** When the assertion stops being acceptable: its latest NotOnOrAfter, plus the skew. */
  expiresAt: Date;
  subject: string;
  email: string | null;
  groups: string[];
  /** The IdP's AuthnContextClassRef, if any. */
  authnContext: string | null;
}

/** A refusal of the response, with the check that failed as the first word of its cause (the metric's reason). */
const failed = (reason: string, message: string, cause?: unknown) => new AuthError('auth_sso_failed', { cause: idpFailure(`${reason}: ${message}`, cause) });

/** The library's refusal, by the check that failed. */
function libraryFailure(e: unknown, SamlStatusError: typeof import('@node-saml/node-saml').SamlStatusError): AuthError {
  if (e instanceof AuthError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof SamlStatusError) return failed('claims', `the IdP answered ${message}`, e);
  const reason = /InResponseTo/i.test(message)
    ? 'state'
    : /audience/i.test(message)
      ? 'audience'
      : /expired|not yet valid|too old|subject confirmation/i.test(message)
        ? 'time'
        : /signature|assertion|transform|reference/i.test(message)
          ? 'signature'
          : 'other';
  return failed(reason, message, e);
}

const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
/** Attribute names an address is read from, in order. */
const EMAIL_ATTRIBUTES = ['email', 'mail', 'urn:oid:0.9.2342.19200300.100.1.3', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress'];

type X = { _?: string; $?: Record<string, string> } & Record<string, unknown>;
const first = (v: unknown): X | undefined => (Array.isArray(v) ? (v[0] as X) : undefined);
const textOf = (v: unknown): string | undefined => {
  const x = first(v);
  return typeof x === 'string' ? x : x?._;
};
const timeOf = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? Number.NaN : t;
};

/**
 * Validates a SAMLResponse (base64, as posted) for connection `c`: `requestId` is the pending
 * AuthnRequest's ID it must answer, or null for an IdP-initiated response (then it must answer
 * none). Answers what the signed assertion says.
 */
export async function validateSamlResponse(
  config: Pick<Config, 'publicUrl' | 'secretKey'>,
  c: SamlConnection,
  samlResponse: string,
  pending: { requestId: string; createdAt: Date } | null,
  now: Date,
  roleAttribute: string | null,
): Promise<SamlClaims> {
  // The library's InResponseTo cache: the one request this flow sent, already taken from sso_flows.
  const cache: CacheProvider = {
    ...NO_CACHE,
    getAsync: async (key) => (pending && key === pending.requestId ? pending.createdAt.toISOString() : null),
  };
  const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
  const shape = responseShape(xml);
  const { SamlStatusError } = await samlLibrary();
  let profile: Profile | null;
  try {
    // A signature that is there must verify: the library is told to want the ones the document carries.
    const saml = await samlOf(config, c, cache, pending ? ALWAYS : NEVER, shape.signed);
    ({ profile } = await saml.validatePostResponseAsync({ SAMLResponse: samlResponse }));
  } catch (e) {
    throw libraryFailure(e, SamlStatusError);
  }
  if (!profile) throw failed('claims', 'no assertion (a logout or passive answer)');
  const assertion = (profile.getAssertion?.() as { Assertion?: X }).Assertion;
  if (!assertion) throw failed('signature', 'no signed assertion');
  const acs = samlAcsUrl(config);

  if (textOf(assertion.Issuer) !== c.settings.idp_entity_id) throw failed('claims', 'the assertion names another issuer');
  if (shape.destination !== acs) throw failed('recipient', 'the response names another destination, or none');
  if (shape.status !== SUCCESS) throw failed('claims', 'the response status is not Success');

  // The bearer confirmation this SP can use: its Recipient is our ACS, it answers our request (or none), and it is still valid.
  const nowMs = now.getTime();
  const confirmations = ((assertion.Subject as X[] | undefined)?.[0]?.SubjectConfirmation as X[] | undefined) ?? [];
  const usable = confirmations
    .filter((sc) => sc.$?.Method === BEARER)
    .map((sc) => first(sc.SubjectConfirmationData)?.$ ?? {})
    .filter((d) => d.Recipient === acs);
  if (!usable.length) throw failed('recipient', 'no bearer confirmation names this ACS');
  const answering = usable.filter((d) => (pending ? d.InResponseTo === pending.requestId : d.InResponseTo === undefined));
  if (!answering.length) throw failed('state', pending ? 'the confirmation answers another request' : 'an IdP-initiated response answers a request');
  const live = answering.filter((d) => {
    const notOnOrAfter = timeOf(d.NotOnOrAfter);
    const notBefore = timeOf(d.NotBefore);
    return notOnOrAfter !== undefined && nowMs - SAML_SKEW_MS < notOnOrAfter && !(notBefore !== undefined && (Number.isNaN(notBefore) || nowMs + SAML_SKEW_MS < notBefore));
  });
  if (!live.length) throw failed('time', 'the bearer confirmation is expired, not yet valid or unbounded');

  const assertionId = assertion.$?.ID;
  if (!assertionId || assertionId.length > 1024) throw failed('claims', 'the assertion has no usable ID');
  const conditionsEnd = timeOf(first(assertion.Conditions)?.$?.NotOnOrAfter);
  const ends = [...live.map((d) => timeOf(d.NotOnOrAfter)!), ...(conditionsEnd !== undefined && !Number.isNaN(conditionsEnd) ? [conditionsEnd] : [])];

  const subject = profile.nameID;
  if (typeof subject !== 'string' || subject.length < 1 || subject.length > 255) throw failed('claims', 'no usable NameID');
  const attributes = (profile.attributes ?? {}) as Record<string, unknown>;
  const attributeEmail = EMAIL_ATTRIBUTES.map((n) => attributes[n]).find((v) => typeof v === 'string') as string | undefined;
  const email = profile.nameIDFormat === EMAIL_FORMAT ? subject : (attributeEmail ?? null);
  const raw = roleAttribute ? attributes[roleAttribute] : undefined;
  const groups = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter((g): g is string => typeof g === 'string' && g.length <= 256).slice(0, 200);
  const authnContext = textOf(first(first(assertion.AuthnStatement)?.AuthnContext)?.AuthnContextClassRef) ?? null;
  return { assertionId, expiresAt: new Date(Math.max(...ends) + SAML_SKEW_MS), subject, email, groups, authnContext };
}
