// A local SAML 2.0 identity provider for the tests and for trying SAML on `npm start`: its own
// RSA key and self-signed certificate, metadata, and an SSO endpoint that takes the gateway's
// HTTP-Redirect AuthnRequest and answers, as a real IdP's page does, with a form that posts a
// signed Response (xml-crypto, RSA-SHA256, exclusive C14N) to the ACS the request named.
// Responses can be bent for the tests (unsigned, another key, wrapped, other audience...).
// Development only: it signs in whoever the test names, or whoever its page is told (no password).
//
//   npm run saml-idp   # http://127.0.0.1:4002, for the gateway on PORT (4000); writes the import
//                      # document that connects it to the demo tenant
import 'reflect-metadata';
import { generateKeyPairSync, randomBytes, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import * as x509 from '@peculiar/x509';
import { SignedXml } from 'xml-crypto';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface SamlAccount {
  /** The NameID. */
  nameId: string;
  /** emailAddress (the NameID is the address) or persistent (the address is an `email` attribute). */
  format?: 'email' | 'persistent';
  email?: string;
  groups?: string[];
  /** The AuthnContextClassRef (default PasswordProtectedTransport). */
  authnContext?: string;
}

/** How a response is made, beyond who it names: the tests' bent responses. */
export interface ResponseOptions {
  /** What is signed (default the assertion). */
  sign?: 'assertion' | 'response' | 'both' | 'none';
  /** Sign with another key than the one in the metadata: everything, or only the Response's or the Assertion's signature. */
  otherKey?: boolean | 'response' | 'assertion';
  audience?: string;
  recipient?: string;
  destination?: string | null;
  issuer?: string;
  /** Shifts of the validity window, in ms from now. */
  notBefore?: number;
  notOnOrAfter?: number;
  /** The InResponseTo to name (null: none, an IdP-initiated response). */
  inResponseTo?: string | null;
  assertionId?: string;
  /** Signature wrapping: `second`: a second, unsigned assertion after the signed one; `moved`: the signed assertion hidden in an Extensions element and an unsigned one in its place. */
  wrap?: 'second' | 'moved';
  /** A status other than Success (the user refused, the IdP failed); with `keepAssertion`, beside an assertion all the same. */
  status?: string;
  keepAssertion?: boolean;
  /** Raw XML put in the Response's Extensions (unsigned), after the rest is made. */
  extensions?: string;
}

export interface AuthnRequestSeen {
  id: string;
  acs: string;
  issuer: string;
  relayState: string | null;
  signed: boolean;
}

const NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
};
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const newId = () => `_${randomBytes(16).toString('hex')}`;

export interface KeyPair {
  key: string;
  cert: string;
}

async function keyPair(name: string): Promise<KeyPair> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const keys = {
    privateKey: await webcrypto.subtle.importKey('pkcs8', privateKey.export({ format: 'der', type: 'pkcs8' }), alg, true, ['sign']),
    publicKey: await webcrypto.subtle.importKey('spki', publicKey.export({ format: 'der', type: 'spki' }), alg, true, ['verify']),
  };
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 3650 * 86_400_000),
    keys,
    signingAlgorithm: alg,
  });
  return { key: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, cert: cert.toString('pem') };
}

/** An enveloped RSA-SHA256 signature over the element `localName` of `xml` (the first), after its Issuer. */
function sign(xml: string, localName: 'Assertion' | 'Response', pair: KeyPair): string {
  const sig = new SignedXml({
    privateKey: pair.key,
    publicCert: pair.cert,
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  });
  const element = `//*[local-name(.)='${localName}']`;
  sig.addReference({
    xpath: element,
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
  });
  sig.computeSignature(xml, { location: { reference: `${element}/*[local-name(.)='Issuer']`, action: 'after' } });
  return sig.getSignedXml();
}

export class LocalSamlIdp {
  /** Who signs in at the next request, or 'refuse' (the IdP answers AuthnFailed); `ask`: its page asks for an address. */
  next: SamlAccount | 'refuse' | 'ask' = 'refuse';
  /** How the next responses are bent (the tests'). */
  options: ResponseOptions = {};
  /** The last AuthnRequest the IdP saw. */
  lastRequest?: AuthnRequestSeen;

  private constructor(
    readonly entityId: string,
    readonly ssoUrl: string,
    private readonly pair: KeyPair,
    private readonly other: KeyPair,
    private readonly server: http.Server,
  ) {}

  get certificate(): string {
    return this.pair.cert;
  }

  /** The key pair, to keep across restarts (the connection holds its certificate). */
  get keyPair(): KeyPair {
    return this.pair;
  }

  static async start(opts: { port?: number; host?: string; pair?: KeyPair } = {}): Promise<LocalSamlIdp> {
    const [pair, other] = await Promise.all([opts.pair ?? keyPair('local-saml-idp'), keyPair('somebody else')]);
    let idp: LocalSamlIdp | undefined;
    const server = http.createServer((req, res) => idp!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const base = `http://127.0.0.1:${port}`;
    idp = new LocalSamlIdp(`${base}/metadata`, `${base}/sso`, pair, other, server);
    return idp;
  }

  /** The IdP's metadata: entity ID, HTTP-Redirect SSO service, signing certificate. */
  metadata(): string {
    const der = this.pair.cert.replace(/-----[^-]+-----|\s/g, '');
    return `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${esc(this.entityId)}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${der}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${esc(this.ssoUrl)}/post"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${esc(this.ssoUrl)}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`;
  }

  /** Reads an HTTP-Redirect AuthnRequest URL (the gateway's ssoStart answer). */
  static readRequest(url: string): AuthnRequestSeen {
    const u = new URL(url);
    const xml = inflateRawSync(Buffer.from(u.searchParams.get('SAMLRequest') ?? '', 'base64')).toString('utf8');
    const attr = (name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(xml)?.[1] ?? '';
    return {
      id: attr('ID'),
      acs: attr('AssertionConsumerServiceURL'),
      issuer: /<(?:saml:)?Issuer[^>]*>([^<]*)</.exec(xml)?.[1] ?? '',
      relayState: u.searchParams.get('RelayState'),
      signed: u.searchParams.has('Signature'),
    };
  }

  /**
   * A Response for `account` to the request `to` (its ACS, audience = its issuer, InResponseTo =
   * its ID), base64 as the form posts it, bent by `options`.
   */
  response(account: SamlAccount | 'refuse', to: Pick<AuthnRequestSeen, 'id' | 'acs' | 'issuer'>, options: ResponseOptions = this.options): string {
    const now = Date.now();
    const issuer = options.issuer ?? this.entityId;
    const inResponseTo = options.inResponseTo === undefined ? to.id : options.inResponseTo;
    const irt = inResponseTo === null ? '' : ` InResponseTo="${esc(inResponseTo)}"`;
    const destination = options.destination === undefined ? to.acs : options.destination;
    const dest = destination === null ? '' : ` Destination="${esc(destination)}"`;
    const head = (status: string) =>
      `<samlp:Response xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ID="${newId()}" Version="2.0" IssueInstant="${iso(now)}"${dest}${irt}><saml:Issuer>${esc(issuer)}</saml:Issuer><samlp:Status><samlp:StatusCode Value="${status}"/></samlp:Status>`;
    if (account === 'refuse' || (options.status && !options.keepAssertion)) {
      const xml = `${head('urn:oasis:names:tc:SAML:2.0:status:Responder')}</samlp:Response>`.replace(
        '<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"/>',
        `<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="${options.status ?? 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed'}"/></samlp:StatusCode>`,
      );
      return Buffer.from(xml).toString('base64');
    }
    const assertion = (id: string, who: SamlAccount) => {
      const format = who.format === 'persistent' ? 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' : 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
      const notBefore = iso(now + (options.notBefore ?? -5_000));
      const notOnOrAfter = iso(now + (options.notOnOrAfter ?? 300_000));
      const attributes = [
        ...(who.email ? [`<saml:Attribute Name="email"><saml:AttributeValue>${esc(who.email)}</saml:AttributeValue></saml:Attribute>`] : []),
        ...(who.groups?.length ? [`<saml:Attribute Name="groups">${who.groups.map((g) => `<saml:AttributeValue>${esc(g)}</saml:AttributeValue>`).join('')}</saml:Attribute>`] : []),
      ];
      return (
        `<saml:Assertion xmlns:saml="${NS.saml}" ID="${esc(id)}" Version="2.0" IssueInstant="${iso(now)}"><saml:Issuer>${esc(issuer)}</saml:Issuer>` +
        `<saml:Subject><saml:NameID Format="${format}">${esc(who.nameId)}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
        `<saml:SubjectConfirmationData${irt} NotOnOrAfter="${notOnOrAfter}" Recipient="${esc(options.recipient ?? to.acs)}"/></saml:SubjectConfirmation></saml:Subject>` +
        `<saml:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}"><saml:AudienceRestriction><saml:Audience>${esc(options.audience ?? to.issuer)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
        `<saml:AuthnStatement AuthnInstant="${iso(now)}" SessionIndex="${newId()}"><saml:AuthnContext><saml:AuthnContextClassRef>${esc(who.authnContext ?? 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport')}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
        (attributes.length ? `<saml:AttributeStatement>${attributes.join('')}</saml:AttributeStatement>` : '') +
        `</saml:Assertion>`
      );
    };
    const pairFor = (part: 'response' | 'assertion') => (options.otherKey === true || options.otherKey === part ? this.other : this.pair);
    const how = options.sign ?? 'assertion';
    let signedAssertion = assertion(options.assertionId ?? newId(), account);
    if (how === 'assertion' || how === 'both') signedAssertion = sign(signedAssertion, 'Assertion', pairFor('assertion'));
    const evil = () => assertion(newId(), { ...account, nameId: 'mallory@evil.example', email: 'mallory@evil.example', groups: ['admins'] });
    let body: string;
    if (options.wrap === 'second') body = signedAssertion + evil();
    else if (options.wrap === 'moved') body = `<samlp:Extensions>${signedAssertion}</samlp:Extensions>${evil()}`;
    else body = signedAssertion;
    const extensions = options.extensions === undefined ? '' : `<samlp:Extensions>${options.extensions}</samlp:Extensions>`;
    let xml = `${head(options.status ?? 'urn:oasis:names:tc:SAML:2.0:status:Success')}${extensions}${body}</samlp:Response>`;
    if (how === 'response' || how === 'both') xml = sign(xml, 'Response', pairFor('response'));
    return Buffer.from(xml).toString('base64');
  }

  /**
   * GET /sso?SAMLRequest&RelayState: the page a browser gets, a form that posts the response to
   * the ACS at once; with `next` 'ask', first a form asking whom to sign in (POST /sso/login).
   */
  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.ssoUrl);
    if (url.pathname === '/metadata') {
      res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(this.metadata());
      return;
    }
    if (req.method === 'POST' && url.pathname === '/sso/login') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const email = (form.get('email') ?? '').trim().toLowerCase();
        this.answer(res, `${this.ssoUrl}?${new URLSearchParams(JSON.parse(form.get('request') ?? '{}'))}`, email ? { nameId: email } : 'refuse');
      });
      return;
    }
    if (url.pathname !== '/sso') {
      res.writeHead(404).end();
      return;
    }
    if (this.next === 'ask') {
      const request = esc(JSON.stringify(Object.fromEntries(url.searchParams)));
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html>
<html><head><meta charset="utf-8"><title>Local SAML IdP</title></head>
<body><h1>Local SAML IdP (development only)</h1><form method="post" action="/sso/login">
<label>Sign in as <input name="email" type="email" required autofocus></label><input type="hidden" name="request" value="${request}">
<button>Sign in</button></form></body></html>`);
      return;
    }
    this.answer(res, url.href, this.next);
  }

  /** The auto-posting form with the response to the request in `requestUrl`. */
  private answer(res: http.ServerResponse, requestUrl: string, who: SamlAccount | 'refuse'): void {
    let seen: AuthnRequestSeen;
    try {
      seen = LocalSamlIdp.readRequest(requestUrl);
    } catch {
      res.writeHead(400).end('no AuthnRequest');
      return;
    }
    this.lastRequest = seen;
    const response = this.response(who, seen);
    const relay = seen.relayState === null ? '' : `<input type="hidden" name="RelayState" value="${esc(seen.relayState)}">`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html>
<html><head><meta charset="utf-8"><title>Local SAML IdP</title></head>
<body onload="document.forms[0].submit()"><form method="post" action="${esc(seen.acs)}">
<input type="hidden" name="SAMLResponse" value="${response}">${relay}<noscript><button>Continue</button></noscript></form></body></html>`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The fields of the auto-posting form the IdP's page holds: where it posts and what. */
export function formOf(html: string): { action: string; fields: Record<string, string> } {
  const action = /<form[^>]*action="([^"]*)"/.exec(html)?.[1] ?? '';
  const fields = Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1], m[2].replace(/&quot;/g, '"').replace(/&gt;/g, '>').replace(/&lt;/g, '<').replace(/&amp;/g, '&')]));
  return { action: action.replace(/&amp;/g, '&'), fields };
}

// npm run saml-idp: its page asks whom to sign in. Its key is kept in DATA_DIR, so the imported
// connection keeps working when it restarts.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const gateway = process.env.GATEWAY_URL ?? `http://localhost:${process.env.PORT ?? 4000}`;
  const dir = path.resolve(process.env.DATA_DIR ?? '.data');
  mkdirSync(dir, { recursive: true });
  const keyFile = path.join(dir, 'local-saml-idp-key.json');
  const pair = existsSync(keyFile) ? (JSON.parse(readFileSync(keyFile, 'utf8')) as KeyPair) : undefined;
  const idp = await LocalSamlIdp.start({ port: Number(process.env.SAML_IDP_PORT ?? 4002), pair });
  idp.next = 'ask';
  writeFileSync(keyFile, JSON.stringify(idp.keyPair), { mode: 0o600 });
  const doc = {
    tenants: [
      {
        slug: 'demo',
        name: 'Demo',
        redirect_urls: [`${gateway}/demo`],
        sso_connections: [{ name: 'local-saml-idp', type: 'saml', domains: ['saml.test'], idp_metadata: idp.metadata(), jit: true, default_roles: ['viewer'] }],
      },
    ],
  };
  const file = path.join(dir, 'local-saml-idp.json');
  writeFileSync(file, JSON.stringify(doc, null, 2));
  console.log(`local SAML IdP at ${idp.ssoUrl} (signs in anyone; development only)`);
  console.log(`connect it to the demo tenant:  npm run admin -- import ${path.relative(process.cwd(), file)}`);
  console.log(`then on ${gateway}/demo: tenant demo, an e-mail at saml.test, "Sign in with your organisation (SSO)"`);
}
