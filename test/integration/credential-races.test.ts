// Sign-ins racing the changes that end sessions: a password change, reset or disable that
// commits while a sign-in is between checking the credential and starting its session must win
// (the session is never started, or is ended with the others), and a rehash never undoes a
// new password. Deterministic: the test holds the user's row as the change does, lets the
// sign-in reach it, then commits the change. Also: a store failure while the limits are settled
// after a success never turns the success into an error, and the points come back later; a
// sign-in whose session statement (which settles its limits) fails gets them back.
import { Algorithm, hash } from '@node-rs/argon2';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACME, ADA, expectRestError, signIn, startTestGateway, type HttpResult, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ proxy: true, env: { PURGE_INTERVAL_SECONDS: '0' } });
  await gw.seed(ACME);
});
afterAll(() => gw?.close());

// ACME has an ada in two tenants: every statement here is about acme's.
const ADA_ROW = "(select u.id from users u join tenants t on t.id = u.tenant_id where t.slug = 'acme' and u.email = 'ada@acme.test')";
const liveSessions = async () => (await gw.sql(`select count(*)::int as n from sessions where user_id = ${ADA_ROW} and revoked_at is null`))[0].n as number;
const storedHash = async () => (await gw.sql(`select password_hash from users where id = ${ADA_ROW}`))[0].password_hash as string;
const setHash = async (value: string) => gw.sql(`update users set password_hash = $1 where id = ${ADA_ROW}`, [value]);

/**
 * Holds ada's row as a password change or a disable does, starts a sign-in, waits until the
 * sign-in waits on the row, runs `change` in the holding transaction and commits.
 */
async function raceSignIn(password: string, change: (c: pg.Client) => Promise<unknown>): Promise<HttpResult> {
  const holder = new pg.Client({ connectionString: gw.databaseUrl });
  await holder.connect();
  try {
    await holder.query('begin');
    await holder.query(`select id from users where id = ${ADA_ROW} for update`);
    const signIn = gw.rest('POST', '/auth/login', { ...ADA, password });
    await expect.poll(async () => (await gw.sql("select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%for share%'"))[0].n).toBe(1);
    await change(holder);
    await holder.query('commit');
    return await signIn;
  } finally {
    await holder.end();
  }
}

describe('a sign-in racing a change of the credential', () => {
  it('a password changed meanwhile: no session, invalid credentials; the new password stands', async () => {
    const before = await liveSessions();
    const newHash = await gw.gateway.deps.passwords.hash('brand new passphrase 1');
    const res = await raceSignIn(ADA.password, (c) => c.query(`update users set password_hash = $1 where id = ${ADA_ROW}`, [newHash]));
    expectRestError(res, 'login', 'auth_login_invalid_credentials', 401);
    expect(await liveSessions()).toBe(before);
    expect((await gw.rest('POST', '/auth/login', { ...ADA, password: 'brand new passphrase 1' })).status).toBe(200);
    expect((await gw.rest('POST', '/auth/login', ADA)).status).toBe(401);
    await setHash(await gw.gateway.deps.passwords.hash(ADA.password));
  });

  it('a rehash on sign-in never undoes a password changed meanwhile', async () => {
    // A stored hash with other parameters than the configured ones: the sign-in rehashes it.
    const old = await hash(ADA.password, { algorithm: Algorithm.Argon2id, memoryCost: 1024, timeCost: 3, parallelism: 1 });
    await setHash(old);
    const newHash = await gw.gateway.deps.passwords.hash('another new passphrase 2');
    const res = await raceSignIn(ADA.password, (c) => c.query(`update users set password_hash = $1 where id = ${ADA_ROW}`, [newHash]));
    expectRestError(res, 'login', 'auth_login_invalid_credentials', 401);
    expect(await storedHash()).toBe(newHash);
    // Without a race the rehash happens, conditional on the hash it verified.
    await setHash(old);
    expect((await gw.rest('POST', '/auth/login', ADA)).status).toBe(200);
    const stored = await storedHash();
    expect(stored).not.toBe(old);
    expect(stored.startsWith('$argon2id$v=19$m=1024,t=3,')).toBe(false);
  });

  it('another sign-in\'s rehash of the same password meanwhile (two tabs after the parameters changed): this sign-in succeeds too', async () => {
    const before = await liveSessions();
    const old = await hash(ADA.password, { algorithm: Algorithm.Argon2id, memoryCost: 1024, timeCost: 3, parallelism: 1 });
    await setHash(old);
    const rehashed = await gw.gateway.deps.passwords.hash(ADA.password);
    const res = await raceSignIn(ADA.password, (c) => c.query(`update users set password_hash = $1 where id = ${ADA_ROW}`, [rehashed]));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(await liveSessions()).toBe(before + 1);
    // Started under the hash it checked last, which stays.
    expect(await storedHash()).toBe(rehashed);
  });

  it('a disable meanwhile: no session, the account is disabled', async () => {
    const before = await liveSessions();
    const res = await raceSignIn(ADA.password, (c) => c.query(`update users set disabled = true where id = ${ADA_ROW}`));
    expectRestError(res, 'login', 'auth_login_account_disabled', 403);
    expect(await liveSessions()).toBe(before);
    await gw.sql(`update users set disabled = false where id = ${ADA_ROW}`);
  });
});

describe('settling the limits after a success', () => {
  const points = async (limit: string) => (await gw.sql('select coalesce(sum(points), 0)::int as n from rate_limits where key like $1', [`${limit}:%`]))[0].n as number;

  it('a store failure then is not the answer; the points come back once the store is back (an API key checked)', async () => {
    // A password sign-in settles inside its session's statement; an API key check settles apart.
    const { access_token } = await signIn(gw);
    const created = await gw.rest('POST', '/auth/api-key', { name: 'settle' }, { authorization: `Bearer ${access_token}` });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const baseline = await points('api_key_auth_address');
    // The store refuses to give a point back or to forget a key, as a failing database would.
    await gw.sql("create function refuse_settle() returns trigger language plpgsql as $$ begin raise exception 'settle refused by the test'; end $$");
    await gw.sql('create trigger refuse_refund before update on rate_limits for each row when (new.points < old.points) execute function refuse_settle()');
    await gw.sql('create trigger refuse_clear before delete on rate_limits for each row execute function refuse_settle()');
    try {
      const res = await gw.rest('GET', '/auth/me', undefined, { 'x-api-key': created.body.api_key });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(await points('api_key_auth_address')).toBe(baseline + 1);
    } finally {
      await gw.sql('drop trigger refuse_refund on rate_limits');
      await gw.sql('drop trigger refuse_clear on rate_limits');
      await gw.sql('drop function refuse_settle()');
    }
    await expect.poll(() => points('api_key_auth_address'), { timeout: 10_000, interval: 200 }).toBe(baseline);
  });

  it('a failed refresh whose count fails still answers auth_refresh_invalid; the point is counted once the store is back', async () => {
    const baseline = await points('refresh_address');
    // An unknown token is: its statement, the spent check, the count. The count fails.
    gw.proxy!.armResetAtQuery(3);
    const res = await gw.rest('POST', '/auth/refresh', { refresh_token: 'G'.repeat(43) });
    gw.proxy!.restore();
    expectRestError(res, 'refresh', 'auth_refresh_invalid', 401);
    await expect.poll(() => points('refresh_address'), { timeout: 5000, interval: 200 }).toBe(baseline + 1);
  });

  it('a sign-in whose session statement fails gets its points back', async () => {
    expect((await gw.rest('POST', '/auth/login', ADA)).status).toBe(200);
    const before = { account: await points('login_account'), address: await points('login_address') };
    // A sign-in is: the limits taken with the user, then the session with the limits settled. The second query fails.
    gw.proxy!.armResetAtQuery(2);
    const res = await gw.rest('POST', '/auth/login', ADA);
    gw.proxy!.restore();
    expectRestError(res, 'login', 'auth_login_db_error', 503);
    await expect.poll(async () => ({ account: await points('login_account'), address: await points('login_address') }), { timeout: 5000, interval: 200 }).toEqual(before);
    // And a success clears the account's count and gives the address's point back.
    expect((await gw.rest('POST', '/auth/login', ADA)).status).toBe(200);
    expect({ account: await points('login_account'), address: await points('login_address') }).toEqual(before);
  });
});
