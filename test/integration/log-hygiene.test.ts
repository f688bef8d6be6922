// A database error's 5xx log line names its SQLSTATE, driver error class and operation, never the SQL text or the values it ran with, through both doors.
import { randomBytes } from 'node:crypto';
import * as orm from '@mikro-orm/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalog } from '../../src/errors/catalog.js';
import { operations } from '../../src/api/operations.js';
import { ACME, LOGIN, startTestGateway, type HttpResult, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
// Distinctive and mixed-case: the gateway may normalise it, so both forms are looked for.
const who = { tenant: 'acme', email: `Log.Hygiene.${randomBytes(5).toString('hex')}@Hygiene-Check.example`, password: `pw-${randomBytes(8).toString('hex')}` };

beforeAll(async () => {
  gw = await startTestGateway({ proxy: true });
  await gw.seed(ACME);
});
afterAll(() => gw?.close());

const lines = () =>
  gw
    .logs()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

const lineOf = (res: HttpResult) => {
  const line = lines().find((l) => l.reqId === res.headers.get('x-request-id'));
  expect(line, `no log line for ${res.headers.get('x-request-id')}`).toBeDefined();
  return line;
};

/** Run `fn` while another session holds the users table past the gateway's statement timeout. */
async function withUsersLocked<T>(fn: () => Promise<T>): Promise<T> {
  const locker = new pg.Client({ connectionString: gw.databaseUrl });
  await locker.connect();
  try {
    await locker.query('begin');
    await locker.query('lock table users in access exclusive mode');
    return await fn();
  } finally {
    await locker.query('rollback').catch(() => {});
    await locker.end();
  }
}

/** What PostgreSQL itself answers a read of the locked users table under the gateway's statement timeout. */
async function sqlstateOfLockedRead(): Promise<string> {
  const c = new pg.Client({ connectionString: gw.databaseUrl });
  await c.connect();
  try {
    await c.query(`set statement_timeout = ${gw.config.db.statementTimeoutMs}`);
    await c.query('select 1 from users limit 1');
    throw new Error('the read of a locked table succeeded');
  } catch (e) {
    return (e as { code: string }).code;
  } finally {
    await c.end();
  }
}

/** Neither the whole log nor the error lines' `err` hold the e-mail, SQL, or the driver's value-carrying fields. */
function expectNoSqlOrValues(responses: HttpResult[]) {
  const text = gw.logs();
  expect(text).not.toContain(who.email);
  expect(text).not.toContain(who.email.toLowerCase());
  expect(text).not.toContain(who.email.split('@')[1].toLowerCase());
  expect(text).not.toMatch(/\bselect\s/i);
  expect(text).not.toMatch(/\bwhere\s/i);
  expect(text).not.toMatch(/\bfrom\s+"?users\b/i);
  for (const res of responses) {
    const { err } = lineOf(res);
    for (const field of ['sql', 'params', 'parameters', 'bindings', 'query', 'where', 'detail', 'internalQuery', 'hint', 'sqlMessage']) {
      expect(err, field).not.toHaveProperty(field);
    }
    // Frames stay, under a header that is not the driver's message.
    expect(err.stack).toMatch(/^\S+: .*\n\s+at /);
    expect(err.stack).not.toMatch(/\bselect\s|\bwhere\s|\bfrom\s/i);
  }
}

describe('a login that meets a lock on users past the statement timeout', () => {
  let rest: HttpResult;
  let gql: HttpResult;
  let expectedSqlstate: string;

  beforeAll(async () => {
    await withUsersLocked(async () => {
      expectedSqlstate = await sqlstateOfLockedRead();
      rest = await gw.rest('POST', '/auth/login', who);
      gql = await gw.gql(LOGIN, { input: who });
    });
  }, 30_000);

  it('fails as a database error on both doors', () => {
    expect(rest.status).toBe(catalog[operations.login.dbError].status);
    expect(rest.headers.get('x-error-code')).toBe(operations.login.dbError);
    expect(gql.body.errors?.[0]?.extensions?.code).toBe(operations.login.dbError);
    expect(expectedSqlstate).toMatch(/^[0-9A-Z]{5}$/);
  });

  it('writes error lines with the SQLSTATE as a string, the driver error class and the operation', () => {
    for (const [door, res] of [['rest', rest], ['graphql', gql]] as const) {
      const line = lineOf(res);
      expect(line, door).toMatchObject({ level: 50, transport: door, operation: operations.login.name, code: operations.login.dbError });
      expect(line.sqlstate, door).toBe(expectedSqlstate);
      expect(line.err.sqlstate, door).toBe(expectedSqlstate);
      // The class is the ORM's driver exception (or a subclass of it), named as such.
      const cls = (orm as unknown as Record<string, unknown>)[line.err.type];
      expect(typeof cls, `${door}: err.type ${line.err.type}`).toBe('function');
      expect(cls === orm.DriverException || (cls as { prototype: unknown }).prototype instanceof orm.DriverException, door).toBe(true);
    }
  });

  it('never writes the SQL, its parameter values or fields that carry them', () => {
    expectNoSqlOrValues([rest, gql]);
  });
});

describe('a login whose database connections are cut while it runs', () => {
  it('writes error lines with the driver error class and operation, never the SQL or values', async () => {
    gw.proxy!.cut();
    let rest!: HttpResult;
    let gql!: HttpResult;
    try {
      rest = await gw.rest('POST', '/auth/login', who);
      gql = await gw.gql(LOGIN, { input: who });
    } finally {
      await gw.proxy!.restore();
    }
    expect(rest.headers.get('x-error-code')).toBe(operations.login.dbError);
    expect(gql.body.errors?.[0]?.extensions?.code).toBe(operations.login.dbError);
    for (const [door, res] of [['rest', rest], ['graphql', gql]] as const) {
      const line = lineOf(res);
      expect(line, door).toMatchObject({ level: 50, transport: door, operation: operations.login.name, code: operations.login.dbError });
      expect(line.err.type, door).toMatch(/^\w+$/);
      expect(line.err.message, door).toBeTruthy();
    }
    expectNoSqlOrValues([rest, gql]);
  });
});
