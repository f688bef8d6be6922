// The PostgreSQL limit store's give-back rules, on a real database: a point goes back only to the
// window it was taken in; a cleared key is forgotten; a refused attempt keeps no point.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError } from '../../src/errors/auth-error.js';
import { createRateLimiter, type LimitKey, type RateLimiter, type Taken } from '../../src/services/rate-limits/limiter.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let limiter: RateLimiter;

beforeAll(async () => {
  gw = await startTestGateway({ env: { RATE_LIMIT_ADDRESS_FAILURES: '3', RATE_LIMIT_WINDOW_SECONDS: '900' } });
  limiter = createRateLimiter(gw.config, gw.orm);
});
afterAll(() => gw?.close());

/** The stored row of the only key an attempt took. */
const storedKey = (t: Taken) => [...t.windows!.keys()][0];
const row = async (key: string) => (await gw.sql<{ points: number; expire: string }>('select points, expire from rate_limits where key = $1', [key]))[0];
let client = 0;
const address = (): LimitKey => ['login_address', `203.0.113.${++client}`];

describe('PostgreSQL limit store', () => {
  it('gives a point back only to the window it was taken in', async () => {
    const key = address();
    const first = await limiter.consume([key]);
    const stored = storedKey(first);
    // The window ends, and the next attempt starts a new one.
    await gw.sql('update rate_limits set expire = $2 where key = $1', [stored, Date.now() - 1]);
    const second = await limiter.consume([key]);
    expect((await row(stored)).points).toBe(1);
    // The first attempt's point comes back late (a retried give-back): the new window keeps its count.
    await limiter.settle(first, []);
    expect((await row(stored)).points).toBe(1);
    await limiter.settle(second, []);
    expect((await row(stored)).points).toBe(0);
    // Never below zero, however often it is given back.
    await limiter.settle(second, []);
    expect((await row(stored)).points).toBe(0);
  });

  it('a cleared key is forgotten: its next attempt starts a new window', async () => {
    const key = address();
    const taken = await limiter.consume([key]);
    const stored = storedKey(taken);
    await limiter.consume([key]);
    await limiter.settle(taken, [key]);
    expect(await row(stored)).toBeUndefined();
    const next = await limiter.consume([key]);
    expect((await row(stored)).points).toBe(1);
    expect(next.windows!.get(stored)).toBeGreaterThanOrEqual(taken.windows!.get(stored)!);
  });

  it('a refused attempt gives back every point it took, its other keys\' too', async () => {
    const key = address();
    const other: LimitKey = ['login_account', `acme\u0000refused-${client}@acme.test`];
    const taken = await Promise.all([1, 2, 3].map(() => limiter.consume([key])));
    const refused = await limiter.consume([key, other]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AuthError);
    expect((refused as AuthError).code).toBe('auth_rate_limited');
    expect((await row(storedKey(taken[0]))).points).toBe(3);
    const others = await gw.sql<{ points: number }>("select points from rate_limits where key like 'login_account:%'");
    expect(others.map((r) => r.points)).toEqual([0]);
  });
});
