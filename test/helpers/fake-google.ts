// Google's certificate endpoint on loopback: RSA keys of the test's own, served as PEM the
// way https://www.googleapis.com/oauth2/v1/certs does, so the real verification path runs. And
// its authorization endpoint's ID-token flow (response_type=id_token): the account in `next`
// "signs in" at once and the browser is sent to redirect_uri with the token in the fragment.
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';

export const CLIENT_ID = 'gateway-test.apps.googleusercontent.com';

export class FakeGoogle {
  readonly keys = new Map<string, { privateKey: KeyObject; publicPem: string }>();
  requests = 0;
  /** Who signs in at the authorization endpoint next (claims of the ID token). */
  next: Record<string, unknown> = {};
  private server?: http.Server;
  url = '';
  authorizationUrl = '';

  static async start(): Promise<FakeGoogle> {
    const g = new FakeGoogle();
    g.addKey('google-key-1');
    g.addKey('google-key-2');
    await g.listen();
    return g;
  }

  addKey(kid: string) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.keys.set(kid, { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() });
  }

  private async listen(): Promise<void> {
    this.server = http.createServer(async (req, res) => {
      const url = new URL(req.url ?? '/', this.url || 'http://127.0.0.1');
      if (url.pathname === '/o/oauth2/v2/auth') {
        const p = url.searchParams;
        const token = await this.idToken({ aud: p.get('client_id'), azp: p.get('client_id'), nonce: p.get('nonce'), ...this.next });
        const back = new URLSearchParams({ id_token: token, state: p.get('state') ?? '' });
        res.writeHead(302, { location: `${p.get('redirect_uri')}#${back}` });
        return res.end();
      }
      this.requests++;
      const body = Object.fromEntries([...this.keys].map(([kid, k]) => [kid, k.publicPem]));
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=300, must-revalidate' });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/oauth2/v1/certs`;
    this.authorizationUrl = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/o/oauth2/v2/auth`;
  }

  /** An ID token as Google issues them; `claims` override the defaults. */
  async idToken(claims: Record<string, unknown> = {}, opts: { kid?: string; signWith?: KeyObject } = {}): Promise<string> {
    const kid = opts.kid ?? 'google-key-1';
    const key = opts.signWith ?? this.keys.get(kid)!.privateKey;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iss: 'https://accounts.google.com',
      aud: CLIENT_ID,
      azp: CLIENT_ID,
      sub: `1${Math.floor(Math.random() * 1e15)}`,
      email: 'someone@acme.test',
      email_verified: true,
      hd: 'acme.test',
      iat: now,
      exp: now + 3600,
      jti: randomUUID(),
      ...claims,
    })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .sign(key);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
