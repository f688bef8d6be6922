// An unexpected failure becomes the operation's *_internal_error through both doors, with no internal text in the response.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenService } from '../../src/services/token.service.js';
import { ACME, expectGqlError, expectRestError, LOGIN, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const SECRET_DETAIL = 'signer exploded at /srv/keys/prod.pem with key material 0xdeadbeef';
let gw: TestGateway;

beforeAll(async () => {
  // A signer that fails the way a broken key or HSM would: the collaborator is real, only its failure is forced.
  const brokenTokens: Partial<TokenService> = {
    sign: async () => {
      throw new TypeError(SECRET_DETAIL);
    },
  };
  gw = await startTestGateway();
  await gw.seed(ACME);
  const real = gw.gateway.deps.tokens;
  Object.assign(gw.gateway.deps, { tokens: { ...real, ...brokenTokens } });
});
afterAll(() => gw?.close());

const ada = { tenant: 'acme', email: 'ada@acme.test', password: 'correct horse battery' };

describe('unexpected errors', () => {
  it('login answers auth_login_internal_error (500) on REST, masked', async () => {
    const res = await gw.rest('POST', '/auth/login', ada);
    expectRestError(res, 'login', 'auth_login_internal_error', 500);
    expect(JSON.stringify(res.body)).not.toContain('exploded');
    expect(JSON.stringify(res.body)).not.toMatch(/TypeError|stack|at \//);
  });

  it('mutation login answers the same code, masked, without a stack trace', async () => {
    const res = await gw.gql(LOGIN, { input: ada });
    expectGqlError(res, 'login', 'auth_login_internal_error', 500);
    expect(JSON.stringify(res.body)).not.toContain('exploded');
    expect(res.body.data).toBeNull();
  });

  it('keeps the cause and stack for the log only, with the code', () => {
    const lines = gw.logs().split('\n').filter((l) => l.includes('auth_login_internal_error')).map((l) => JSON.parse(l));
    expect(lines.map((l) => l.transport).sort()).toEqual(['graphql', 'rest']);
    for (const line of lines) {
      expect(line.level).toBe(50);
      expect(line.err.message).toBe(SECRET_DETAIL);
      expect(line.err.stack).toContain('TypeError');
    }
  });

  it('writes nothing when signing fails: no session without a token', async () => {
    const [{ n }] = await gw.sql('select count(*)::int as n from sessions');
    expect(n).toBe(0);
  });
});
