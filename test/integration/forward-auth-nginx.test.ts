// deploy/nginx-forward-auth.conf in a real nginx (Debian's), in front of a real upstream in this
// process (SPEC §14): only the upstream addresses and the listen port are replaced. The upstream
// sees the gateway's identity for a valid token and API key, is never reached without one, and
// never sees a client-forged X-Auth-User-Id; the gateway's 503 becomes the mapped 503.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACME, ADA, bearer, requestJson, signIn, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { hasNginx, startNginx } from '../helpers/nginx.js';

let gw: TestGateway;
let app: Server;
let stopNginx: (() => void) | undefined;
let front: string;
const seen: IncomingHttpHeaders[] = [];

describe.runIf(hasNginx())("deploy/nginx-forward-auth.conf in front of an upstream", () => {
  beforeAll(async () => {
    gw = await startTestGateway({ proxy: true });
    await gw.seed(ACME);
    app = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('the upstream');
    });
    await new Promise<void>((ok) => app.listen(0, '127.0.0.1', ok));
    const conf = readFileSync('deploy/nginx-forward-auth.conf', 'utf8')
      .replace('server gateway:4000;', `server ${new URL(gw.url).host};`)
      .replace('server app:8080;', `server 127.0.0.1:${(app.address() as AddressInfo).port};`);
    ({ url: front, stop: stopNginx } = await startNginx(conf));
  }, 60_000);

  afterAll(async () => {
    stopNginx?.();
    app?.close();
    await gw?.close();
  });

  it('without a credential, or with a forged one, the upstream is never reached: 401', async () => {
    seen.length = 0;
    for (const headers of [{}, bearer('not-a-token'), { 'x-auth-user-id': '00000000-0000-4000-8000-000000000000' }]) {
      const res = await requestJson(`${front}/orders`, 'GET', undefined, headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      // The gateway's refusal as JSON with its code, never cached.
      expect([res.body?.detail?.code, res.headers.get('x-error-code'), res.headers.get('cache-control'), res.headers.get('www-authenticate')]).toEqual(['auth_unauthenticated', 'auth_unauthenticated', 'no-store', 'Bearer']);
    }
    expect(seen).toEqual([]);
  });

  it('a valid access token and API key reach the upstream with the gateway\'s identity; client-sent X-Auth-* headers are overwritten', async () => {
    const s = await signIn(gw, ADA);
    const key = (await gw.rest('POST', '/auth/api-key', { name: 'nginx', scopes: ['users:read'] }, bearer(s.access_token))).body.api_key as string;
    seen.length = 0;
    const forged = { 'x-auth-user-id': 'someone-else', 'x-auth-roles': 'root', 'x-auth-session-id': 'forged' };
    const one = await requestJson(`${front}/orders?id=1`, 'POST', '{}', { ...bearer(s.access_token), ...forged });
    const two = await requestJson(`${front}/reports`, 'GET', undefined, { 'x-api-key': key, ...forged });
    expect([one.status, two.status]).toEqual([200, 200]);
    expect(seen[0]['x-auth-user-id']).toBe(s.user.id);
    expect(seen[0]['x-auth-roles']).toBe('admin');
    expect(seen[0]['x-auth-token']).toBeTruthy();
    expect([seen[1]['x-auth-user-id'], seen[1]['x-auth-method'], seen[1]['x-auth-roles'] ?? '', seen[1]['x-auth-session-id'] ?? '']).toEqual([s.user.id, 'api_key', '', '']);
  });

  it("the gateway's 503 (database out, fail closed) becomes the mapped 503 for the client", async () => {
    const s = await signIn(gw, ADA);
    // The session cache serves a verdict at most SESSION_CACHE_TTL_MS: wait it out, then cut the database.
    await new Promise((r) => setTimeout(r, gw.config.sessionCacheTtlMs + 100));
    await gw.proxy!.refuse();
    try {
      const res = await requestJson(`${front}/orders`, 'GET', undefined, bearer(s.access_token));
      expect([res.status, res.body?.detail?.code, res.headers.get('retry-after')]).toEqual([503, 'auth_verify_db_error', '5']);
    } finally {
      gw.proxy!.restore();
    }
  });
});
