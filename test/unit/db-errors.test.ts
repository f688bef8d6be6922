// Which failures are the database's: recognised by driver class, SQLSTATE class or socket error, never by message text.
import { DriverException } from '@mikro-orm/core';
import { knex } from '@mikro-orm/postgresql';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { isDatabaseError, StoreError } from '../../src/db/errors.js';
import { AuthError } from '../../src/errors/auth-error.js';

const withCode = (code: string, extra: object = {}) => Object.assign(new Error('x'), { code, ...extra });
const pgError = (code: string) => Object.assign(new pg.DatabaseError('x', 1, 'error'), { code });

const cases: Array<[string, unknown, boolean]> = [
  ['the ORM\'s DriverException', new DriverException(new Error('x')), true],
  ['knex\'s pool timeout', new knex.KnexTimeoutError('Knex: Timeout acquiring a connection'), true],
  ['a pg DatabaseError, even of a client-looking class', pgError('23505'), true],
  ['a Redis limit store failure', new StoreError('redis', new Error('ECONNREFUSED')), true],
  ['SQLSTATE 08006 connection failure', withCode('08006'), true],
  ['SQLSTATE 53300 too many connections', withCode('53300'), true],
  ['SQLSTATE 57014 statement timeout', withCode('57014'), true],
  ['SQLSTATE 57P01 admin shutdown', withCode('57P01'), true],
  ['SQLSTATE 40001 serialization failure', withCode('40001'), true],
  ['SQLSTATE 40P01 deadlock', withCode('40P01'), true],
  ['SQLSTATE 55P03 lock not available', withCode('55P03'), true],
  ['SQLSTATE XX000 internal error', withCode('XX000'), true],
  ['ECONNREFUSED from a socket', withCode('ECONNREFUSED', { syscall: 'connect' }), true],
  ['ECONNRESET from a socket', withCode('ECONNRESET', { syscall: 'read' }), true],
  ['a database error as the cause of another', new Error('wrapped', { cause: withCode('57014') }), true],
  ['SQLSTATE 23505 on a plain error (a constraint, the request\'s doing)', withCode('23505'), false],
  ['SQLSTATE 22P02 on a plain error (bad input)', withCode('22P02'), false],
  ['ECONNREFUSED without a syscall (not a socket)', withCode('ECONNREFUSED'), false],
  ['a message that only mentions a database', new Error('database connection refused'), false],
  ['a catalog error', new AuthError('auth_login_db_error'), false],
  ['a plain Error', new Error('boom'), false],
  ['a thrown string', 'ECONNREFUSED', false],
  ['null', null, false],
];

describe('isDatabaseError', () => {
  for (const [what, err, expected] of cases) {
    it(`${what}: ${expected ? 'the database\'s' : 'not the database\'s'}`, () => {
      expect(isDatabaseError(err)).toBe(expected);
    });
  }

  it('does not loop on a cause cycle', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(isDatabaseError(a)).toBe(false);
  });
});
