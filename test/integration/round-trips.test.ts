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

/** The least over a few tries of what `count` reads grow by in one call. */
async function leastOf(count: () => number, call: () => Promise<unknown>, tries: number): Promise<number> {
  let least = Infinity;
  for (let i = 0; i < tries; i++) {
    const before = count();
    await call();
    least = Math.min(least, count() - before);
  }
  return least;
}

const roundTrips = (call: () => Promise<unknown>, tries = 5) => leastOf(() => gw.proxy!.queries, call, tries);
/** Statement texts sent for PostgreSQL to parse: none for a prepared statement its connection already holds. */
const parses = (call: () => Promise<unknown>) => leastOf(() => gw.proxy!.parses, call, 8);

describe('round trips per operation', () => {
  it('login: the limits taken with the user, hash and grants; the session with the limits settled', async () => {
    expect(await roundTrips(async () => expect((await gw.rest('POST', '/auth/login', ADA)).status).toBe(200))).toBe(2);
    expect(await roundTrips(async () => expect((await gw.gql('mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { i: ADA })).body.data.login.accessToken).toBeTruthy())).toBe(2);
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

  it('sign-in and refresh send no statement text to parse once their connection prepared it', async () => {
    const login = async () => expect((await gw.rest('POST', '/auth/login', ADA)).status).toBe(200);
    let token = (await signIn(gw)).refresh_token;
    const refresh = async () => {
      const res = await gw.rest('POST', '/auth/refresh', { refresh_token: token });
      expect(res.status).toBe(200);
      token = res.body.refresh_token;
    };
    // (The first calls on each pooled connection parse; the least of a few tries is after them.)
    expect(await parses(login)).toBe(0);
    expect(await parses(refresh)).toBe(0);
    expect(await parses(async () => expect((await gw.gql('mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { i: ADA })).body.data.login.accessToken).toBeTruthy())).toBe(0);
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
