// The gateway of the security review's tests: acme with a key manager, an admin, a Gmail and two
// viewers, and a tenant that admits no Google domain; and the helpers they share. Each test file
// that imports it calls useReviewGateway() once; gw and google are live bindings.
import { afterAll, beforeAll, expect } from 'vitest';
import { keyedHash } from '../../src/services/shared/secrets.js';
import { CLIENT_ID, FakeGoogle } from './fake-google.js';
import { ACME, bearer, startTestGateway, type TestGateway } from './gateway.js';

export let gw: TestGateway;
export let google: FakeGoogle;
const DOC = structuredClone(ACME);
DOC.tenants[0].roles!.push({ name: 'keymaster', permissions: ['api_keys:create', 'api_keys:manage', 'users:read'] });
DOC.tenants[0].users!.push(
  { email: 'kim@acme.test', password: 'kim password 123', roles: ['keymaster'] },
  { email: 'pat@acme.test', password: 'pat password 123', roles: ['admin'] },
  { email: 'gus@gmail.com', password: 'gus password 123', roles: ['viewer'] },
  { email: 'wes@acme.test', password: 'wes password 123', roles: ['viewer'] },
);
// A tenant that admits no Google domain: only links decide there.
DOC.tenants.push({
  slug: 'open',
  name: 'Open',
  roles: [{ name: 'member', permissions: ['api_keys:create'] }],
  users: [
    { email: 'vic@example.org', password: 'vic password 123', roles: ['member'] },
    { email: 'gil@gmail.com', password: 'gil password 123', roles: ['member'] },
    { email: 'hal@hosted.example', password: 'hal password 123', roles: ['member'] },
  ],
});

export function useReviewGateway(): void {
  beforeAll(async () => {
    google = await FakeGoogle.start();
    gw = await startTestGateway({ proxy: true, env: { GOOGLE_CLIENT_IDS: CLIENT_ID, GOOGLE_CERTS_URL: google.url, API_KEY_CACHE_TTL_MS: '300' } });
    await gw.seed(DOC);
  });
  afterAll(async () => {
    await gw?.close();
    await google?.close();
  });
}

export type Session = { access_token: string; refresh_token: string };
export async function signIn(tenant: string, email: string, password: string): Promise<Session> {
  const res = await gw.rest('POST', '/auth/login', { tenant, email, password });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}
export const ada = () => signIn('acme', 'ada@acme.test', 'correct horse battery');
export async function apiKey(s: Session, scopes?: string[]): Promise<string> {
  const res = await gw.rest('POST', '/auth/api-key', { name: 'k', ...(scopes ? { scopes } : {}) }, bearer(s.access_token));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.api_key;
}
/** The session's proof of a credential moved into the past; the next refresh carries it. */
export async function staleAccessToken(s: Session, secondsAgo = 3600): Promise<string> {
  await gw.sql('update sessions set auth_time = now() - make_interval(secs => $1) where id = (select session_id from refresh_tokens where token_hash = $2)', [
    secondsAgo,
    keyedHash(gw.config.secretKey, s.refresh_token),
  ]);
  const res = await gw.rest('POST', '/auth/refresh', { refresh_token: s.refresh_token });
  expect(res.status).toBe(200);
  return res.body.access_token;
}

