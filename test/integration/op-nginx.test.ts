// The OpenID Provider behind the compose file's nginx (SPEC §12: PUBLIC_URL, and the discovery
// document right behind the proxy): a real nginx runs deploy/nginx.conf with only its upstream
// pointed at this test's gateway (Docker's resolver and service name are not here) and its
// listen port chosen; openid-client discovers through it, and every endpoint it is told of is
// under PUBLIC_URL, reachable through nginx, never the gateway's own address.
import { readFileSync } from 'node:fs';
import * as oc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, requestJson, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { hasNginx, startNginx } from '../helpers/nginx.js';

const SECRET = 'nginx-client-secret-0123456789abcdefghij';

let gw: TestGateway;
let stopNginx: (() => void) | undefined;
let publicUrl: string;

describe.runIf(hasNginx())("the provider behind the compose file's nginx", () => {
  beforeAll(async () => {
    const [gatewayPort, proxyPort] = [await freePort(), await freePort()];
    publicUrl = `http://127.0.0.1:${proxyPort}`;
    gw = await startTestGateway({ port: gatewayPort, env: { PUBLIC_URL: publicUrl } });
    await gw.seed({
      tenants: [{ slug: 'acme', name: 'Acme', roles: [], users: [], oauth_clients: [{ client_id: 'svc', client_secret: SECRET, name: 'Service', grant_types: ['client_credentials'], scopes: ['openid'] }] }],
    } as never);
    const conf = readFileSync('deploy/nginx.conf', 'utf8')
      .replace(/^\s*resolver .*$/m, '')
      .replace(/server gateway:4000 resolve;/, `server 127.0.0.1:${gatewayPort};`);
    expect(conf).toContain(`server 127.0.0.1:${gatewayPort};`);
    ({ stop: stopNginx } = await startNginx(conf, proxyPort));
  }, 60_000);

  afterAll(async () => {
    stopNginx?.();
    await gw?.close();
  });

  it('names every endpoint under PUBLIC_URL, and a client discovers, authenticates and introspects through nginx', async () => {
    const issuer = `${publicUrl}/oidc/acme`;
    const doc = (await requestJson(`${issuer}/.well-known/openid-configuration`, 'GET')).body;
    expect(doc.issuer).toBe(issuer);
    const endpoints = Object.entries(doc).filter(([k, v]) => (k.endsWith('_endpoint') || k === 'jwks_uri') && typeof v === 'string') as Array<[string, string]>;
    expect(endpoints.length).toBeGreaterThanOrEqual(8);
    for (const [name, url] of endpoints) expect(url.startsWith(`${issuer}/`), `${name}: ${url}`).toBe(true);
    expect(JSON.stringify(doc)).not.toContain(`:${new URL(gw.url).port}`);
    const config = await oc.discovery(new URL(issuer), 'svc', SECRET, oc.ClientSecretBasic(SECRET), { execute: [oc.allowInsecureRequests] });
    const tokens = await oc.clientCredentialsGrant(config, { scope: 'openid' });
    expect(await oc.tokenIntrospection(config, tokens.access_token)).toMatchObject({ active: true, client_id: 'svc', iss: issuer });
    expect((await requestJson(doc.jwks_uri, 'GET')).body.keys.length).toBeGreaterThan(0);
  });
});
