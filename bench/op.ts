// npm run bench -- --op: the OpenID Provider's token endpoint (SPEC §12) under the bench's load,
// beside the gateway's own refresh in the same run (issue #32): the code exchange
// (authorization_code with PKCE, a confidential first-party client) and the refresh grant (the
// refresh token rotates at every use). Codes and refresh tokens are single-use and a code lives
// 60 s, so they are made right before each scenario by the real flow: a browser signs in once at
// the hosted page, then each authorization request comes back with a code at once (the
// provider's session and the first-party grant); the refresh tokens come from exchanging codes.
import { randomUUID } from 'node:crypto';
import * as oc from 'openid-client';
import { checkClient, writeClient } from '../src/services/op/clients.js';
import type { Db, EntityManager } from '../src/db/orm.js';
import { MiniBrowser } from '../scripts/mini-browser.js';
import { CONNECTIONS, eachOnce, freePort, made, MEASURED_HEAD, measuredRow, startGateway } from './harness.js';
import type { BenchSeed } from './seed.js';

const CLIENT = 'bench-app';
const SECRET = 'bench-app-secret-0123456789abcdefghijkl';
const REDIRECT = 'https://app.bench.example/callback';
// Each scenario sends each credential once: a code lives 60 s, and the flow makes about 400 a
// second here, so the codes of a scenario are made in well under a minute.
const CODES = 12_000;
const REFRESH_TOKENS = 8_000;

// The provider's table grew from nothing while the credentials were made: analyzed, as
// PostgreSQL's autovacuum does after a table has grown (the bench's server may run without it).
// Without statistics the plans cached for the prepared statements stay those of an empty table.
const analyzed = (em: EntityManager) => em.execute('analyze oidc_models');

export async function opBench(o: { url: string; orm: Db; secretKey: string; signingKey: unknown; seed: BenchSeed; log: (msg: string) => void }): Promise<string[]> {
  const { log } = o;
  const em = o.orm.em.fork();
  await writeClient(
    em,
    { config: { secretKey: o.secretKey }, now: () => new Date() },
    o.seed.tenantId,
    checkClient({ client_id: CLIENT, client_secret: SECRET, name: 'Bench app', redirect_uris: [REDIRECT], first_party: true }, { env: 'production' }),
  );
  // The issuer must be the address the bench reaches the gateway at.
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const gw = await startGateway(o.url, o.secretKey, o.signingKey, { PORT: String(port), PUBLIC_URL: base });
  try {
    const config = await oc.discovery(new URL(`${base}/oidc/bench`), CLIENT, SECRET, oc.ClientSecretBasic(SECRET), { execute: [oc.allowInsecureRequests] });
    const tokenEndpoint = config.serverMetadata().token_endpoint!;
    const verifier = oc.randomPKCECodeVerifier();
    const challenge = await oc.calculatePKCECodeChallenge(verifier);
    const atApp = (u: URL) => u.href.startsWith(REDIRECT);
    const codeOf = (at: { url: URL }) => {
      const code = at.url.searchParams.get('code');
      if (!code) throw new Error(`no code at ${at.url.href}`);
      return code;
    };
    // A browser signed in at the hosted page once; after that each authorization request
    // answers a code at once. A fresh one per scenario: a code presented twice revokes its grant.
    const signedIn = async () => {
      const browser = new MiniBrowser();
      const authorize = () => browser.follow(oc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid email', code_challenge: challenge, code_challenge_method: 'S256', state: randomUUID() }).href, atApp);
      const page = await authorize();
      const action = /<form method="post" action="([^"]+)"/.exec(page.body ?? '')?.[1];
      if (!action) throw new Error('no sign-in form at the provider');
      codeOf(await browser.submit(new URL(action, base).href, { email: 'user0@bench.test', password: 'password-0' }, atApp));
      return async () => codeOf(await authorize());
    };
    const exchangeBody = (c: string) => new URLSearchParams({ grant_type: 'authorization_code', code: c, redirect_uri: REDIRECT, code_verifier: verifier }).toString();
    const refreshBody = (t: string) => new URLSearchParams({ grant_type: 'refresh_token', refresh_token: t }).toString();
    const headers = { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${CLIENT}:${SECRET}`).toString('base64')}` };
    const exchanged = async (code: string) => {
      const res = await fetch(tokenEndpoint, { method: 'POST', headers, body: exchangeBody(code) });
      const answer = (await res.json()) as { refresh_token?: string; error?: string };
      if (!res.ok || !answer.refresh_token) throw new Error(`token endpoint: ${res.status} ${answer.error}`);
      return answer.refresh_token;
    };
    const scenario = (url: string, h: Record<string, string>, bodies: string[]) => eachOnce(gw.pid, url, h, bodies);

    const code = await signedIn();
    log(`op: making ${CODES} authorization codes...`);
    const codes = await made(CODES, code);
    await analyzed(em);
    log(`op: ${CODES} codes (${Math.round(codes.perSecond)}/s); the code exchange...`);
    const exchange = await scenario(tokenEndpoint, headers, codes.items.map(exchangeBody));

    const nextCode = await signedIn();
    log(`op: making ${REFRESH_TOKENS} refresh tokens (a code exchanged for each)...`);
    const tokens = await made(REFRESH_TOKENS, async () => exchanged(await nextCode()));
    await analyzed(em);
    log('op: the refresh grant...');
    const refresh = await scenario(tokenEndpoint, headers, tokens.items.map(refreshBody));

    log("op: the gateway's own refresh, for comparison...");
    const own = o.seed.refreshTokens.slice(0, REFRESH_TOKENS).map((t) => JSON.stringify({ refresh_token: t }));
    const ownRefresh = await scenario(`${base}/auth/refresh`, { 'content-type': 'application/json' }, own);
    const memory = await gw.memory();

    return [
      `The OpenID Provider's token endpoint (tenant bench, a confidential first-party client, client_secret_basic; ${CODES} codes made by the flow at ${Math.round(codes.perSecond)}/s, ${REFRESH_TOKENS} refresh tokens), each credential sent once at ${CONNECTIONS} connections after a tenth as warm-up, beside the gateway's own refresh (REST, ${REFRESH_TOKENS} seeded tokens) in the same run:`,
      '',
      ...MEASURED_HEAD,
      measuredRow('code exchange (authorization_code + PKCE)', exchange, (exchange.requestsPerSecond / ownRefresh.requestsPerSecond).toFixed(2)),
      measuredRow('refresh grant (rotation)', refresh, (refresh.requestsPerSecond / ownRefresh.requestsPerSecond).toFixed(2)),
      measuredRow('own refresh (`/auth/refresh`)', ownRefresh, '1.00'),
      '',
      `Gateway peak RSS ${Math.round(memory.peak)} MB (heap in use ${Math.round(memory.heap)} MB at the end).`,
    ];
  } finally {
    await gw.stop();
  }
}
