// A first look at a raw SAML response before the library parses it (saml.ts): bounds no real
// response comes near (the parsers' cost grows faster than the document), and the parts of the
// Response the library does not judge (its Destination, its status, which signatures it carries).
import { DOMParser, type Element } from '@xmldom/xmldom';
import { AuthError } from '../../errors/auth-error.js';
import { idpFailure } from './oidc.js';

const failed = (reason: string, message: string) => new AuthError('auth_sso_failed', { cause: idpFailure(`${reason}: ${message}`) });

export const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
/** Bounds no SAML response comes near (a few hundred elements, ten deep), checked before any parser: the library's parsing and queries grow faster than the document. */
const MAX_ELEMENTS = 1000;
const MAX_ATTRIBUTES = 2000;
const MAX_DEPTH = 32;
/** Every piece of markup (tags, comments, processing instructions, CDATA) costs the parsers alike. */
const MAX_MARKUP = 2500;
const PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';

/**
 * A first look at the raw response, before the library parses it: refused outright when it
 * carries a DOCTYPE (SAML messages have no DTD) or more markup, elements, attributes or nesting than any response
 * has; else its Destination, its top-level status code, and which of the Response and its
 * Assertion carry a signature (each one present must verify). Nothing read here is trusted:
 * it can only make the checks stricter.
 */
export function responseShape(xml: string): { destination?: string; status?: string; signed: { response: boolean; assertion: boolean } } {
  if (/<!DOCTYPE/i.test(xml)) throw failed('signature', 'a DOCTYPE in the response');
  if (xml.split('<').length - 1 > MAX_MARKUP) throw failed('other', 'limits: more markup than a SAML response has');
  let elements = 0;
  let attributes = 0;
  let depth = 0;
  // One linear pass over the tags: opening ones deepen, closing ones and self-closed ones do not.
  for (const [tag] of xml.matchAll(/<[^>]*>/g)) {
    if (tag.startsWith('<?') || tag.startsWith('<!')) continue;
    if (tag.startsWith('</')) {
      depth--;
      continue;
    }
    elements++;
    attributes += tag.match(/=\s*["']/g)?.length ?? 0;
    if (!tag.endsWith('/>')) depth++;
    if (elements > MAX_ELEMENTS || attributes > MAX_ATTRIBUTES || depth > MAX_DEPTH) throw failed('other', 'limits: more elements, attributes or nesting than a SAML response has');
  }
  let root: Element | null | undefined;
  try {
    root = new DOMParser({ onError: () => {} }).parseFromString(xml, 'text/xml').documentElement;
  } catch {
    root = undefined;
  }
  const children = (e: Element | null | undefined, name: string, ns?: string) =>
    e ? Array.from(e.childNodes).filter((n): n is Element => n.nodeType === 1 && (n as Element).localName === name && (ns === undefined || (n as Element).namespaceURI === ns)) : [];
  // Exactly one Status with exactly one top-level StatusCode, both of the protocol's namespace.
  const statuses = children(root, 'Status');
  const codes = statuses.length === 1 ? children(statuses[0], 'StatusCode') : [];
  const status = statuses.length === 1 && statuses[0].namespaceURI === PROTOCOL && codes.length === 1 && codes[0].namespaceURI === PROTOCOL ? (codes[0].getAttribute('Value') ?? undefined) : undefined;
  const assertions = children(root, 'Assertion');
  return {
    destination: root?.getAttribute('Destination') ?? undefined,
    status,
    signed: { response: children(root, 'Signature', DSIG).length > 0, assertion: assertions.some((a) => children(a, 'Signature', DSIG).length > 0) },
  };
}
