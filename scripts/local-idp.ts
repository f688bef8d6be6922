// A local OpenID Provider (oidc-provider, OpenID Certified) for trying SSO on `npm start` and
// for the tests: one client, accounts made up on the fly, programmatic login. Each
// interaction finishes at once as whoever `signIn` names for it, or refuses as a user who
// says no. Development only: it signs anybody in.
//
//   npm run idp      # http://127.0.0.1:4001, for the gateway on PORT (4000), and prints the
//                    # import document that connects it to the demo tenant
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Provider from 'oidc-provider';

export interface IdpAccount {
  sub: string;
  email: string;
  email_verified?: boolean;
  groups?: string[];
  /** The login's own methods (`['mfa']`: the IdP asserts multi-factor). */
  amr?: string[];
}

export interface LocalIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
}

export interface LocalIdpOptions {
  redirectUri: string;
  port?: number;
  host?: string;
  clientId?: string;
  clientSecret?: string;
  /** Who signs in at an interaction (its login_hint given), or 'refuse'. */
  signIn(loginHint: string | undefined): IdpAccount | 'refuse';
  /** Serve https with this key and certificate (the bench: a production gateway takes https IdPs only). */
  tls?: { key: string; cert: string };
}

export async function startLocalIdp(o: LocalIdpOptions): Promise<LocalIdp> {
  const server = o.tls ? https.createServer(o.tls) : http.createServer();
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, '127.0.0.1', resolve));
  const issuer = `${o.tls ? 'https' : 'http'}://${o.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;
  const clientId = o.clientId ?? `gateway-${randomBytes(4).toString('hex')}`;
  const clientSecret = o.clientSecret ?? randomBytes(24).toString('base64url');
  const accounts = new Map<string, IdpAccount>();
  const provider = new Provider(issuer, {
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [o.redirectUri], response_types: ['code'], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic' }],
    // amr with openid: the ID token carries the login's methods whenever they are set.
    claims: { openid: ['sub', 'amr'], email: ['email', 'email_verified'], profile: ['groups'] },
    findAccount: (_ctx, id) => {
      const account = accounts.get(id);
      return account && { accountId: id, claims: () => ({ sub: id, email: account.email, email_verified: account.email_verified ?? true, groups: account.groups ?? [] }) };
    },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    conformIdTokenClaims: false,
  });
  provider.on('server_error', (_ctx, err) => console.error('local IdP:', err));
  const callback = provider.callback();
  server.on('request', async (req, res) => {
    if (!req.url?.startsWith('/interaction/')) return callback(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      const who = o.signIn(typeof details.params.login_hint === 'string' ? details.params.login_hint : undefined);
      if (who === 'refuse') return await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user refused' }, { mergeWithLastSubmission: false });
      if (details.prompt.name === 'login') {
        accounts.set(who.sub, who);
        return await provider.interactionFinished(req, res, { login: { accountId: who.sub, amr: who.amr } }, { mergeWithLastSubmission: false });
      }
      const grant = new provider.Grant({ accountId: details.session!.accountId, clientId: details.params.client_id as string });
      grant.addOIDCScope(String(details.params.scope));
      return await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
    } catch (e) {
      res.statusCode = 500;
      res.end(String(e));
    }
  });
  return {
    issuer,
    clientId,
    clientSecret,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// npm run idp: signs in whoever the demo page names (its e-mail is the login hint).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const gateway = process.env.GATEWAY_URL ?? `http://localhost:${process.env.PORT ?? 4000}`;
  const idp = await startLocalIdp({
    port: Number(process.env.IDP_PORT ?? 4001),
    clientId: 'auth-gateway-demo',
    // Fixed, so the imported connection keeps working when the IdP restarts: it signs anybody in anyway.
    clientSecret: 'local-idp-development-only',
    redirectUri: `${gateway}/auth/sso/oidc/callback`,
    signIn: (hint) => (hint ? { sub: hint.toLowerCase(), email: hint.toLowerCase() } : 'refuse'),
  });
  const doc = {
    tenants: [
      {
        slug: 'demo',
        name: 'Demo',
        redirect_urls: [`${gateway}/demo`],
        sso_connections: [{ name: 'local-idp', type: 'oidc', domains: ['example.test'], issuer: idp.issuer, client_id: idp.clientId, client_secret: idp.clientSecret, jit: true, default_roles: ['viewer'] }],
      },
    ],
  };
  const file = path.resolve(process.env.DATA_DIR ?? '.data', 'local-idp.json');
  writeFileSync(file, JSON.stringify(doc, null, 2));
  console.log(`local IdP at ${idp.issuer} (signs in anyone; development only)`);
  console.log(`connect it to the demo tenant:  npm run admin -- import ${path.relative(process.cwd(), file)}`);
  console.log(`then on ${gateway}/demo: tenant demo, an e-mail at example.test, "Sign in with your organisation (SSO)"`);
}
