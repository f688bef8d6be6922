// npm run bench -- --sso: the SSO code exchange (SPEC §11) under the bench's load: the app's
// `POST /auth/sso/token` with the one-time code and its PKCE verifier, the gateway's own hot path
// of an SSO sign-in (issue #32), beside the gateway's own refresh in the same run. The codes are made by the whole flow: ssoStart, a tenant's OpenID
// Connect connection to an upstream provider in this process (scripts/local-idp.ts, oidc-provider,
// over https with a certificate made for the run: a production gateway takes https IdPs only),
// the gateway's callback exchanging the IdP's code and checking its ID token, then the redirect to
// the app with the one-time code. A code lives 60 s and is single-use: each is sent once.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import type { Db } from '../src/db/orm.js';
import { importSsoConnections, type SsoImportDeps } from '../src/services/sso/import.js';
import { MiniBrowser } from '../scripts/mini-browser.js';
import { startLocalIdp } from '../scripts/local-idp.js';
import { CONNECTIONS, eachOnce, freePort, made, MEASURED_HEAD, measuredRow, startGateway, type LoadResult } from './harness.js';
import type { BenchSeed } from './seed.js';

const APP = 'https://app.bench.example/sso/done';
const CODES = 2_500;
const REFRESH_TOKENS = 8_000;

/** A key and a self-signed certificate for 127.0.0.1 (openssl), valid for the run, in `dir` (cert.pem for NODE_EXTRA_CA_CERTS). */
function localCertificate(dir: string): { key: string; cert: string } {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  return { key: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
}

export async function ssoBench(o: { url: string; orm: Db; secretKey: string; signingKey: unknown; seed: BenchSeed; log: (msg: string) => void }): Promise<string[]> {
  const { log } = o;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-idp-'));
  const tls = localCertificate(dir);
  // Everyone who signs in at the IdP is user1 of the bench tenant (linked by the verified domain).
  const idp = await startLocalIdp({ redirectUri: `${base}/auth/sso/oidc/callback`, tls, signIn: () => ({ sub: 'bench-sso-user', email: 'user1@bench.test' }) });
  // What the import reads of the gateway's configuration: the production gateway's, as started below.
  const config = { env: 'production', production: true, secretKey: o.secretKey, outbound: { allowPrivate: true, maxBytes: 1_048_576 } } as SsoImportDeps['config'];
  const em = o.orm.em.fork();
  await em.execute('update tenants set redirect_urls = ?::text[] where id = ?', [`{${APP}}`, o.seed.tenantId]);
  await importSsoConnections(em, { config, now: () => new Date() }, o.seed.tenantId, [{ name: 'bench-idp', type: 'oidc', domains: ['bench.test'], issuer: idp.issuer, client_id: idp.clientId, client_secret: idp.clientSecret, jit: true }] as never, 'bench', (m) => {
    throw new Error(m);
  });
  // The gateway trusts the run's certificate and may call an IdP on loopback; one address starts every flow.
  const gw = await startGateway(o.url, o.secretKey, o.signingKey, { PORT: String(port), PUBLIC_URL: base, WEBHOOK_ALLOW_PRIVATE: 'true', NODE_EXTRA_CA_CERTS: path.join(dir, 'cert.pem'), RATE_LIMIT_OPTIONS_PER_ADDRESS: '1000000000' });
  try {
    const trusting = new Agent({ connect: { ca: tls.cert } });
    const browser = new MiniBrowser(((url: string, init?: object) => undiciFetch(url, { ...init, dispatcher: trusting })) as unknown as typeof fetch);
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const code = async () => {
      const started = await fetch(`${base}/auth/sso/start`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tenant: 'bench', connection: 'bench-idp', redirect_to: APP, code_challenge: challenge, code_challenge_method: 'S256' }),
      });
      const { url } = (await started.json()) as { url?: string };
      if (!url) throw new Error(`ssoStart: ${started.status}`);
      const at = await browser.follow(url, (u) => u.href.startsWith(APP));
      const c = at.url.searchParams.get('code');
      if (!c) throw new Error(`no code at ${at.url.href}: ${at.status} ${at.body?.slice(0, 200)}`);
      return c;
    };
    log(`sso: making ${CODES} one-time codes by the whole flow...`);
    const codes = await made(CODES, code);
    log(`sso: ${CODES} codes (${Math.round(codes.perSecond)}/s); the code exchange...`);
    const json = { 'content-type': 'application/json' };
    const scenario = (url: string, bodies: string[]) => eachOnce(gw.pid, url, json, bodies);
    const exchange = await scenario(`${base}/auth/sso/token`, codes.items.map((c) => JSON.stringify({ code: c, code_verifier: verifier })));
    log("sso: the gateway's own refresh, for comparison...");
    const own = await scenario(`${base}/auth/refresh`, o.seed.refreshTokens.slice(-REFRESH_TOKENS).map((t) => JSON.stringify({ refresh_token: t })));
    const ratio = (r: LoadResult) => (r.requestsPerSecond / own.requestsPerSecond).toFixed(2);
    return [
      `The SSO code exchange (\`POST /auth/sso/token\`, tenant bench, an OpenID Connect connection to a local oidc-provider over https; ${CODES} one-time codes made by the whole flow at ${Math.round(codes.perSecond)}/s), each code sent once at ${CONNECTIONS} connections after a tenth as warm-up, beside the gateway's own refresh (REST, ${REFRESH_TOKENS} seeded tokens) in the same run:`,
      '',
      ...MEASURED_HEAD,
      measuredRow('SSO code exchange', exchange, ratio(exchange)),
      measuredRow('own refresh (`/auth/refresh`)', own, '1.00'),
    ];
  } finally {
    await gw.stop();
    await idp.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
