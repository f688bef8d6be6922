// Round trips to PostgreSQL per hot operation (docs/performance.md), counted at the wire by the
// fault proxy: each Sync or simple Query is one. Background work (the mail sender, the purge)
// only adds, so each operation's count is the least of a few tries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACME, ADA, bearer, signIn, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;

beforeAll(async () => {
  // The session-state cache at its default (the test helper turns it off).
  gw = await startTestGateway({ proxy: true, env: { PURGE_INTERVAL_SECONDS: '0', SESSION_CACHE_TTL_MS: '2000' } });
  await gw.seed(ACME);
});
afterAll(() => gw?.close());

async function roundTrips(call: () => Promise<unknown>, tries = 5): Promise<number> {
  let least = Infinity;
  for (let i = 0; i < tries; i++) {
    const before = gw.proxy!.queries;
    await call();
    least = Math.min(least, gw.proxy!.queries - before);
  }
  return least;
}

describe('round trips per operation', () => {
  it('login: the limits taken with the user, hash and grants; the session; the limits settled', async () => {
    expect(await roundTrips(async () => expect((await gw.rest('POST', '/auth/login', ADA)).status).toBe(200))).toBe(3);
    expect(await roundTrips(async () => expect((await gw.gql('mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { i: ADA })).body.data.login.accessToken).toBeTruthy())).toBe(3);
  });

  it('a wrong password: the limits taken with the user; the point is kept', async () => {
    expect(await roundTrips(async () => expect((await gw.rest('POST', '/auth/login', { ...ADA, password: 'wrong password' })).status).toBe(401))).toBe(1);
  });

  it('refresh: the address\'s spent check and the rotation in one statement; a failure counts after the fact', async () => {
    let token = (await signIn(gw)).refresh_token;
    expect(
      await roundTrips(async () => {
        const res = await gw.rest('POST', '/auth/refresh', { refresh_token: token });
        expect(res.status).toBe(200);
        token = res.body.refresh_token;
      }),
    ).toBe(1);
    // An unknown token: its statement, the spent check again (no row came back), the point counted.
    expect(await roundTrips(async () => expect((await gw.rest('POST', '/auth/refresh', { refresh_token: 'F'.repeat(43) })).status).toBe(401))).toBe(3);
  });

  it('me: one to load the session state, none while it is cached', async () => {
    const { access_token } = await signIn(gw);
    expect(await roundTrips(async () => expect((await gw.rest('GET', '/auth/me', undefined, bearer(access_token))).status).toBe(200), 1)).toBe(1);
    expect(await roundTrips(async () => expect((await gw.rest('GET', '/auth/me', undefined, bearer(access_token))).status).toBe(200))).toBe(0);
  });

  it('inspectLink: one statement over both homes of mailed tokens, whatever the token', async () => {
    const token = 'C'.repeat(43);
    expect(await roundTrips(async () => expect((await gw.rest('POST', '/auth/links/inspect', { token })).body.state).toBe('unknown'))).toBe(1);
    const query = 'query($i: TokenInput!) { inspectLink(input: $i) { state } }';
    expect(await roundTrips(async () => expect((await gw.gql(query, { i: { token } })).body.data.inspectLink.state).toBe('UNKNOWN'))).toBe(1);
  });
});
