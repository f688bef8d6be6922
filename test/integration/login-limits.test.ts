// Brute-force limits are taken before the password is checked, in PostgreSQL and Redis, and given back when an attempt does not count.
import { describe, expect, it } from 'vitest';
import { addressKey } from '../../src/services/rate-limits/limiter.js';
import { ACME, startTestGateway } from '../helpers/gateway.js';

describe('brute-force limits are taken before the password is checked', () => {
  const racing = (env: Record<string, string>) => async () => {
    const limited = await startTestGateway({ env: { RATE_LIMIT_ACCOUNT_FAILURES: '10', RATE_LIMIT_ADDRESS_FAILURES: '1000', ...env } });
    try {
      await limited.seed(ACME);
      const wrong = { tenant: 'acme', email: 'ada@acme.test', password: 'wrong password' };
      const query = 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }';
      const answers = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          i % 2 ? limited.rest('POST', '/auth/login', wrong).then((r) => r.headers.get('x-error-code')) : limited.gql(query, { i: wrong }).then((r) => r.body.errors?.[0]?.extensions?.code),
        ),
      );
      const verdicts = answers.filter((c) => c === 'auth_login_invalid_credentials').length;
      expect(verdicts).toBeLessThanOrEqual(10);
      expect(verdicts).toBeGreaterThan(0);
      expect(answers.filter((c) => c === 'auth_rate_limited')).toHaveLength(60 - verdicts);
      // Spent: even the right password is refused until the window passes.
      expect((await limited.rest('POST', '/auth/login', { ...wrong, password: 'correct horse battery' })).status).toBe(429);
    } finally {
      await limited.close();
    }
  };
  it('60 concurrent wrong passwords for one account, through both doors: at most 10 verdicts (PostgreSQL)', racing({}));
  it('the same in Redis', racing({ REDIS_URL: 'redis://127.0.0.1:6379' }));

  const burst = (env: Record<string, string>) => async () => {
    const limited = await startTestGateway({ env: { RATE_LIMIT_ACCOUNT_FAILURES: '1000', RATE_LIMIT_ADDRESS_FAILURES: '3', ...env } });
    try {
      await limited.seed(ACME);
      const right = { tenant: 'acme', email: 'ada@acme.test', password: 'correct horse battery' };
      const statuses = await Promise.all(Array.from({ length: 30 }, () => limited.rest('POST', '/auth/login', right).then((r) => r.status)));
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s !== 429 && s !== 200)).toEqual([]);
      // Successes gave their points back, and the refused attempts kept none: the address is not spent.
      expect((await limited.rest('POST', '/auth/login', right)).status).toBe(200);
    } finally {
      await limited.close();
    }
  };
  it('a refused attempt keeps no point: after a burst of right passwords over the address limit, the next one succeeds (PostgreSQL)', burst({}));
  it('the same in Redis', burst({ REDIS_URL: 'redis://127.0.0.1:6379' }));

  it('a success gives its point back: more successful logins than the address limit all succeed', async () => {
    const limited = await startTestGateway({ env: { RATE_LIMIT_ACCOUNT_FAILURES: '3', RATE_LIMIT_ADDRESS_FAILURES: '3' } });
    try {
      await limited.seed(ACME);
      for (let i = 0; i < 6; i++) {
        expect((await limited.rest('POST', '/auth/login', { tenant: 'acme', email: 'ada@acme.test', password: 'correct horse battery' })).status).toBe(200);
      }
    } finally {
      await limited.close();
    }
  });

  it('a success clears its account\'s failures (settled in the session\'s statement); a sign-in whose user was disabled meanwhile keeps no point', async () => {
    const limited = await startTestGateway({ env: { RATE_LIMIT_ACCOUNT_FAILURES: '3', RATE_LIMIT_ADDRESS_FAILURES: '1000' } });
    try {
      await limited.seed(ACME);
      const right = { tenant: 'acme', email: 'ada@acme.test', password: 'correct horse battery' };
      const wrong = { ...right, password: 'wrong password' };
      const login = async (body: typeof right) => (await limited.rest('POST', '/auth/login', body)).status;
      expect([await login(wrong), await login(wrong), await login(right)]).toEqual([401, 401, 200]);
      // Cleared: three more failures get their verdicts, the fourth is refused.
      expect([await login(wrong), await login(wrong), await login(wrong), await login(wrong)]).toEqual([401, 401, 401, 429]);
      const points = async () => (await limited.sql('select coalesce(sum(points), 0)::int as n from rate_limits'))[0].n as number;
      // A user disabled between the password check and the session: no session, and the attempt
      // gives its points back (it is not a wrong password), as a settle of its own.
      await limited.sql("insert into users (id, tenant_id, email, password_hash, disabled, email_verified, created_at, updated_at) select gen_random_uuid(), tenant_id, 'bea@acme.test', password_hash, false, true, now(), now() from users where email = 'ada@acme.test'");
      const before = await points();
      const trigger = "create function disable_on_session() returns trigger language plpgsql as $$ begin update users set disabled = true where email = 'bea@acme.test'; return null; end $$";
      await limited.sql(trigger);
      await limited.sql('create trigger disable_bea before insert on rate_limits for each statement execute function disable_on_session()');
      const res = await limited.rest('POST', '/auth/login', { ...right, email: 'bea@acme.test' });
      await limited.sql('drop trigger disable_bea on rate_limits');
      expect(res.headers.get('x-error-code')).toBe('auth_login_account_disabled');
      expect(await limited.sql("select count(*)::int as n from sessions s join users u on u.id = s.user_id where u.email = 'bea@acme.test'")).toEqual([{ n: 0 }]);
      expect(await points()).toBe(before);
    } finally {
      await limited.close();
    }
  });

  it('counts IPv6 clients by /64, IPv4-mapped addresses as IPv4', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe(addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    expect(addressKey('2001:db8:1:2::1')).not.toBe(addressKey('2001:db8:1:3::1'));
    expect(addressKey('2001:0db8:0001:0002:0:0:0:1')).toBe(addressKey('2001:db8:1:2::9'));
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    // Every spelling of an IPv4-mapped address is its IPv4 client, never the /64 of ::1.
    for (const mapped of ['::ffff:c000:207', '0:0:0:0:0:ffff:192.0.2.7', '0000:0000:0000:0000:0000:FFFF:C000:0207', '::FFFF:192.0.2.7']) expect(addressKey(mapped)).toBe('192.0.2.7');
    expect(addressKey('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(addressKey('::ffff:7f00:1')).not.toBe(addressKey('::1'));
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    // The zero /64 is no subscriber's: its addresses (loopback, IPv4 embedded otherwise) count alone.
    expect(addressKey('::1')).not.toBe(addressKey('::2'));
    expect(addressKey('::ffff:0:1.2.3.4')).not.toBe(addressKey('::ffff:0:1.2.3.5'));
    expect(addressKey('::127.0.0.1')).not.toBe(addressKey('::1'));
  });
});
