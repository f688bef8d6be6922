// The admin CLI: tenants, roles and users from the command line, and an import that changes nothing the second time.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdmin } from '../../src/cli/admin.js';
import { AdminError } from '../../src/services/operator/records.js';
import { ACME, expectRestError, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-admin-'));

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw?.close());

async function admin(argv: string[], stdin = ''): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runAdmin(argv, gw.orm, gw.config, { out: (l) => (out += `${l}\n`), readStdin: async () => stdin });
  return { code, out };
}

const snapshot = () =>
  gw.sql(`select
    (select json_agg(t order by slug) from tenants t) as tenants,
    (select json_agg(r order by r.id) from roles r) as roles,
    (select json_agg(rp order by rp.role_id, rp.permission_id) from role_permissions rp) as role_permissions,
    (select json_agg(p order by name) from permissions p) as permissions,
    (select json_agg(u order by u.id) from users u) as users,
    (select json_agg(ur order by ur.user_id, ur.role_id) from user_roles ur) as user_roles`);

const login = (tenant: string, email: string, password: string) => gw.rest('POST', '/auth/login', { tenant, email, password });

describe('import', () => {
  const file = path.join(dir, 'acme.json');
  writeFileSync(file, JSON.stringify(ACME));

  it('creates the tenants, roles and users of the document', async () => {
    const first = await admin(['import', file]);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/\d+ created, 0 updated, 0 unchanged/);
    const ok = await login('acme', 'ada@acme.test', 'correct horse battery');
    expect(ok.status).toBe(200);
    expect(ok.body.user.permissions).toEqual(['api_keys:create', 'users:read']);
    expectRestError(await login('acme', 'bob@acme.test', 'hunter2 hunter2'), 'login', 'auth_login_account_disabled', 403);
    const [t] = await gw.sql("select google_domains from tenants where slug = 'acme'");
    expect(t.google_domains).toEqual(['acme.test']);
  });

  it('changes nothing when run twice', async () => {
    const before = await snapshot();
    const second = await admin(['import', file]);
    expect(second.code).toBe(0);
    expect(second.out).toMatch(/0 created, 0 updated, \d+ unchanged/);
    expect(await snapshot()).toEqual(before);
  });

  it('brings roles and users in line with an edited document, keeping passwords', async () => {
    const edited = structuredClone(ACME);
    edited.tenants[0].roles![1].permissions = ['users:read', 'reports:read'];
    edited.tenants[0].users![1].disabled = false;
    writeFileSync(path.join(dir, 'edited.json'), JSON.stringify(edited));
    const res = await admin(['import', path.join(dir, 'edited.json')]);
    expect(res.out).toMatch(/0 created, 2 updated/);
    const bob = await login('acme', 'bob@acme.test', 'hunter2 hunter2');
    expect(bob.status).toBe(200);
    expect(bob.body.user.permissions).toEqual(['reports:read', 'users:read']);
  });

  it('rejects an invalid document with a message and writes nothing', async () => {
    const before = await snapshot();
    writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ tenants: [{ slug: 'Bad Slug', name: 'x' }] }));
    await expect(admin(['import', path.join(dir, 'bad.json')])).rejects.toThrow(AdminError);
    writeFileSync(path.join(dir, 'bad2.json'), JSON.stringify({ tenants: [{ slug: 'ok', name: 'x', users: [{ email: 'a@b.c', roles: ['ghost'] }] }] }));
    await expect(admin(['import', path.join(dir, 'bad2.json')])).rejects.toThrow(/no role ghost/);
    expect(await snapshot()).toEqual(before);
  });
});

describe('commands', () => {
  it('creates a tenant, a role and a user whose password comes from standard input', async () => {
    expect((await admin(['tenant', 'create', 'initech', '--name', 'Initech', '--google-domains', 'initech.test'])).code).toBe(0);
    expect((await admin(['role', 'create', 'ops', '--tenant', 'initech', '--permissions', 'api_keys:create,users:read'])).code).toBe(0);
    const created = await admin(['user', 'create', 'Milton@Initech.test', '--tenant', 'initech', '--roles', 'ops', '--password-stdin'], 'red stapler 42\n');
    expect(created.out).not.toContain('red stapler');
    const res = await login('initech', 'milton@initech.test', 'red stapler 42');
    expect(res.status).toBe(200);
    expect(res.body.user.roles).toEqual(['ops']);
  });

  it('generates and prints a password when none is given', async () => {
    const created = await admin(['user', 'create', 'peter@initech.test', '--tenant', 'initech']);
    const password = /password: (\S+)/.exec(created.out)![1];
    expect(password.length).toBeGreaterThanOrEqual(20);
    expect((await login('initech', 'peter@initech.test', password)).status).toBe(200);
  });

  it('disables a user, ending their sessions, and enables them again', async () => {
    const session = await login('initech', 'milton@initech.test', 'red stapler 42');
    await admin(['user', 'disable', 'milton@initech.test', '--tenant', 'initech']);
    expectRestError(await login('initech', 'milton@initech.test', 'red stapler 42'), 'login', 'auth_login_account_disabled', 403);
    expectRestError(await gw.rest('GET', '/auth/me', undefined, { authorization: `Bearer ${session.body.access_token}` }), 'me', 'auth_unauthenticated', 401);
    await admin(['user', 'enable', 'milton@initech.test', '--tenant', 'initech']);
    expect((await login('initech', 'milton@initech.test', 'red stapler 42')).status).toBe(200);
  });

  it('sets a new password from standard input and ends the user\'s sessions', async () => {
    const before = await login('initech', 'milton@initech.test', 'red stapler 42');
    const res = await admin(['user', 'password', 'milton@initech.test', '--tenant', 'initech', '--password-stdin'], 'a new stapler 43\n');
    expect(res.code).toBe(0);
    expectRestError(await gw.rest('POST', '/auth/refresh', { refresh_token: before.body.refresh_token }), 'refresh', 'auth_refresh_invalid', 401);
    expectRestError(await login('initech', 'milton@initech.test', 'red stapler 42'), 'login', 'auth_login_invalid_credentials', 401);
    expect((await login('initech', 'milton@initech.test', 'a new stapler 43')).status).toBe(200);
  });

  it('a new password voids pending second steps, revokes keys, and is never the current one (SPEC §15)', async () => {
    const at = (await login('initech', 'milton@initech.test', 'a new stapler 43')).body.access_token;
    const auth = { authorization: `Bearer ${at}` };
    const { secret } = (await gw.rest('POST', '/auth/mfa/totp/enroll', {}, auth)).body;
    const totp = new TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secret) });
    expect((await gw.rest('POST', '/auth/mfa/totp/activate', { code: totp.generate() }, auth)).status).toBe(200);
    const first = await login('initech', 'milton@initech.test', 'a new stapler 43');
    expect(first.body.detail.code).toBe('auth_mfa_required');
    await expect(admin(['user', 'password', 'milton@initech.test', '--tenant', 'initech', '--password-stdin'], 'a new stapler 43\n')).rejects.toThrow(/is the current one/);
    expect((await admin(['user', 'password', 'milton@initech.test', '--tenant', 'initech', '--password-stdin'], 'a third stapler 44\n')).code).toBe(0);
    // The step after the old password is dead; the code would have been right.
    expectRestError(await gw.rest('POST', '/auth/mfa/verify', { mfa_token: first.body.detail.mfa_token, code: totp.generate({ timestamp: Date.now() + 30_000 }) }), 'verifyMfa', 'auth_mfa_token_invalid', 401);
    await expect(admin(['user', 'password', 'milton@initech.test', '--tenant', 'initech', '--password-stdin'], 'lone \ud800 surrogate\n')).rejects.toThrow(/surrogate/);
  });

  it('refuses a permission no operation checks and no role holds (a typo), naming the likely one; --force creates it, and later roles may use it', async () => {
    await expect(admin(['role', 'create', 'typo', '--tenant', 'initech', '--permissions', 'users:mange'])).rejects.toThrow(/users:mange .*did you mean users:manage\?.*--force/);
    await expect(admin(['role', 'create', 'typo', '--tenant', 'initech', '--permissions', 'audit:raed,users:read'])).rejects.toThrow(/audit:raed .*did you mean audit:read\?/);
    expect(await gw.sql("select count(*)::int as n from roles where name = 'typo'")).toEqual([{ n: 0 }]);
    // An application's own permission: the first role needs --force, later ones do not.
    await expect(admin(['role', 'create', 'reporter', '--tenant', 'initech', '--permissions', 'invoices:approve'])).rejects.toThrow(/invoices:approve is checked by no operation/);
    expect((await admin(['role', 'create', 'reporter', '--tenant', 'initech', '--permissions', 'invoices:approve', '--force'])).code).toBe(0);
    expect((await admin(['role', 'create', 'reader2', '--tenant', 'initech', '--permissions', 'invoices:approve,users:read'])).code).toBe(0);
  });

  it('refuses duplicates and unknown tenants, and prints usage for unknown commands', async () => {
    await expect(admin(['tenant', 'create', 'initech', '--name', 'again'])).rejects.toThrow(/already exists/);
    await expect(admin(['role', 'create', 'x', '--tenant', 'nowhere'])).rejects.toThrow(/does not exist/);
    const unknown = await admin(['frobnicate']);
    expect(unknown.code).toBe(64);
    expect(unknown.out).toContain('usage: npm run admin');
  });
});

describe('sso commands', () => {
  it('list a tenant\'s connections, verify a domain an editor added, and delete a connection; unknown ones are refused', async () => {
    await gw.seed({
      tenants: [
        {
          slug: 'ssocorp',
          name: 'SSO Corp',
          roles: [],
          users: [],
          sso_connections: [{ name: 'okta', type: 'oidc', domains: ['ssocorp.example'], issuer: 'https://ssocorp.okta.example', client_id: 'gw', client_secret: 'secret', enforce: true }],
        },
      ],
    } as never);
    // A domain added as an editor would (unverified).
    await gw.sql("insert into sso_domains (domain, connection_id) select 'labs.ssocorp.example', id from sso_connections where name = 'okta'");
    expect((await admin(['sso', 'list', '--tenant', 'ssocorp'])).out).toBe('okta\toidc\thttps://ssocorp.okta.example\tenforced\tlabs.ssocorp.example*,ssocorp.example\n');
    expect((await admin(['sso', 'verify', 'LABS.ssocorp.example.', '--tenant', 'ssocorp'])).out).toBe('domain LABS.ssocorp.example. verified\n');
    expect((await admin(['sso', 'list', '--tenant', 'ssocorp'])).out).toContain('\tlabs.ssocorp.example,ssocorp.example\n');
    await expect(admin(['sso', 'verify', 'other.example', '--tenant', 'ssocorp'])).rejects.toThrow(AdminError);
    await expect(admin(['sso', 'verify', 'ssocorp.example', '--tenant', 'acme'])).rejects.toThrow(AdminError);
    await expect(admin(['sso', 'delete', 'nope', '--tenant', 'ssocorp'])).rejects.toThrow(/no SSO connection "nope"/);
    expect((await admin(['sso', 'delete', 'okta', '--tenant', 'ssocorp'])).out).toBe('SSO connection okta deleted\n');
    expect((await admin(['sso', 'list', '--tenant', 'ssocorp'])).out).toBe('');
    expect(await gw.sql("select domain from sso_domains where domain like '%ssocorp.example'")).toEqual([]);
  });
});
