// An upstream OpenID Provider in the test process: oidc-provider (OpenID Certified) on a
// loopback port, with test accounts and programmatic login: its interaction pages finish at
// once as the account the test chose (or refuse, as a user who says no). The gateway talks to
// it over real HTTP as to any IdP. A small browser (cookies per origin, manual redirects)
// walks the redirects between the app, the gateway and the IdP.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

export interface IdpAccount {
  sub: string;
  email: string;
  email_verified?: boolean;
  groups?: string[];
  /** The login's own methods (`['mfa']`: the IdP asserts multi-factor). */
  amr?: string[];
}

export class TestIdp {
  /** Who signs in at the next interaction; `refuse`: the user says no at the IdP. */
  next: IdpAccount | 'refuse' = 'refuse';
  private accounts = new Map<string, IdpAccount>();

  private constructor(
    readonly issuer: string,
    readonly clientId: string,
    readonly clientSecret: string,
    private server: http.Server,
  ) {}

  static async start(redirectUri: string): Promise<TestIdp> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const clientId = `gateway-${randomBytes(4).toString('hex')}`;
    const clientSecret = randomBytes(24).toString('base64url');
    const idp = new TestIdp(issuer, clientId, clientSecret, server);
    const provider = new Provider(issuer, {
      clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri], response_types: ['code'], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic' }],
      // amr with openid: the ID token carries the login's methods whenever they are set.
      claims: { openid: ['sub', 'amr'], email: ['email', 'email_verified'], profile: ['groups'] },
      findAccount: (_ctx, id) => {
        const account = idp.accounts.get(id);
        return account && { accountId: id, claims: () => ({ sub: id, email: account.email, email_verified: account.email_verified ?? true, groups: account.groups ?? [] }) };
      },
      features: { devInteractions: { enabled: false } },
      interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
      cookies: { keys: [randomBytes(16).toString('hex')] },
      // The claims go into the ID token itself, where the gateway reads them.
      conformIdTokenClaims: false,
    });
    provider.on('server_error', (_ctx, err) => console.error('test IdP:', err));
    const callback = provider.callback();
    server.on('request', async (req, res) => {
      if (!req.url?.startsWith('/interaction/')) return callback(req, res);
      try {
        const details = await provider.interactionDetails(req, res);
        if (idp.next === 'refuse') {
          return await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user refused' }, { mergeWithLastSubmission: false });
        }
        if (details.prompt.name === 'login') {
          const account = idp.next;
          idp.accounts.set(account.sub, account);
          return await provider.interactionFinished(req, res, { login: { accountId: account.sub, amr: account.amr } }, { mergeWithLastSubmission: false });
        }
        const grant = new provider.Grant({ accountId: details.session!.accountId, clientId: details.params.client_id as string });
        grant.addOIDCScope(String(details.params.scope));
        return await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
      } catch (e) {
        res.statusCode = 500;
        res.end(String(e));
      }
    });
    return idp;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** A browser in miniature: cookies per origin, redirects followed by hand until `stop` says so. */
export class MiniBrowser {
  private cookies = new Map<string, Map<string, string>>();

  /** GETs `url` and follows redirects; answers the first URL for which `stop` is true (not fetched), or the last response. */
  async follow(url: string, stop: (u: URL) => boolean, max = 20): Promise<{ url: URL; status?: number; body?: string }> {
    let next = new URL(url);
    for (let i = 0; i < max; i++) {
      if (stop(next)) return { url: next };
      const jar = this.cookies.get(next.origin) ?? new Map<string, string>();
      const res = await fetch(next, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '), accept: 'text/html' } });
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const eq = pair.indexOf('=');
        jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1));
      }
      this.cookies.set(next.origin, jar);
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return { url: next, status: res.status, body: await res.text() };
      await res.arrayBuffer();
      next = new URL(location, next);
    }
    throw new Error(`more than ${max} redirects`);
  }
}
