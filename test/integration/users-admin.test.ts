// Tenant administration over GraphQL: users pages (stable cursors, constant queries), one user, role changes without escalation, disabling, ending sessions, resetting MFA — permissions from the database, tenants apart, every change audited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectGqlError, signIn, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
const PASSWORD = 'admin test passphrase 1';
const ROLES = [
  { name: 'boss', permissions: ['users:read', 'users:manage', 'api_keys:create', 'audit:read'] },
  { name: 'manager', permissions: ['users:read', 'users:manage'] },
  { name: 'reader', permissions: ['users:read'] },
  { name: 'member', permissions: ['api_keys:create'] },
];

beforeAll(async () => {
  gw = await startTestGateway({ proxy: true });
  await gw.seed({
    tenants: [
      {
        slug: 'acme',
        name: 'Acme',
        roles: ROLES,
        users: [
          { email: 'boss@acme.test', password: PASSWORD, roles: ['boss'] },
          { email: 'manny@acme.test', password: PASSWORD, roles: ['manager'] },
          { email: 'rita@acme.test', password: PASSWORD, roles: ['reader'] },
          { email: 'mem@acme.test', password: PASSWORD, roles: ['member'] },
        ],
      },
      { slug: 'globex', name: 'Globex', roles: ROLES, users: [{ email: 'gina@globex.test', password: PASSWORD, roles: ['member'] }] },
    ],
  });
});
afterAll(() => gw?.close());

const at = async (email: string, tenant = 'acme') => (await signIn(gw, { tenant, email, password: PASSWORD })).access_token;
const idOf = async (email: string) => (await gw.sql('select id from users where email = $1', [email]))[0].id as string;
const USERS = `query($first: Int, $after: String, $filter: UserFilter) { users(first: $first, after: $after, filter: $filter) {
  edges { cursor node { id email roles disabled emailVerified mfaEnabled passkeyCount createdAt lastSignInAt } } pageInfo { hasNextPage endCursor } } }`;

describe('users', () => {
  it('pages through 250 users in 3 pages without duplicates or gaps while users are being added', async () => {
    await gw.sql(
      `insert into users (id, tenant_id, email, password_hash, disabled, email_verified, created_at, updated_at)
       select gen_random_uuid(), (select id from tenants where slug = 'acme'), 'bulk' || i || '@acme.test', null, false, true, now() - make_interval(secs => i), now()
         from generate_series(1, 246) as i`,
    );
    const token = await at('rita@acme.test');
    const [{ n: total }] = await gw.sql("select count(*)::int as n from users where tenant_id = (select id from tenants where slug = 'acme')");
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const res = await gw.gql(USERS, { first: 100, after }, bearer(token));
      expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
      const page = res.body.data.users;
      seen.push(...page.edges.map((e: { node: { id: string } }) => e.node.id));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      pages++;
      // Users added meanwhile are newer than every cursor: they never shift the pages.
      await gw.sql("insert into users (id, tenant_id, email, password_hash, disabled, email_verified, created_at, updated_at) select gen_random_uuid(), id, 'late' || floor(random() * 1e9) || '@acme.test', null, false, true, now(), now() from tenants where slug = 'acme'");
    } while (after);
    expect(pages).toBe(Math.ceil(total / 100));
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
  });

  it('a page of 100 users with their roles costs as many queries as a page of 10', async () => {
    const token = await at('rita@acme.test');
    const count = async (first: number) => {
      const before = gw.proxy!.queries;
      const res = await gw.gql(USERS, { first }, bearer(token));
      expect(res.body.data.users.edges).toHaveLength(first);
      return gw.proxy!.queries - before;
    };
    const ten = await count(10);
    expect(await count(100)).toBe(ten);
    expect(ten).toBeLessThanOrEqual(4);
  });

  it('filters by e-mail, role and disabled; shows one user; another tenant\'s id is not found', async () => {
    const token = await at('rita@acme.test');
    const byRole = (await gw.gql(USERS, { filter: { role: 'manager' } }, bearer(token))).body.data.users.edges.map((e: { node: { email: string } }) => e.node.email);
    expect(byRole).toEqual(['manny@acme.test']);
    const byEmail = (await gw.gql(USERS, { filter: { email: 'BOSS@' } }, bearer(token))).body.data.users.edges.map((e: { node: { email: string; roles: string[] } }) => e.node);
    expect(byEmail).toMatchObject([{ email: 'boss@acme.test', roles: ['boss'] }]);
    const one = await gw.gql('query($id: ID!) { user(id: $id) { email roles lastSignInAt } }', { id: await idOf('rita@acme.test') }, bearer(token));
    expect(one.body.data.user.email).toBe('rita@acme.test');
    expect(one.body.data.user.lastSignInAt).not.toBeNull();
    expectGqlError(await gw.gql('query($id: ID!) { user(id: $id) { email } }', { id: await idOf('gina@globex.test') }, bearer(token)), 'user', 'auth_user_not_found', 404);
    expectGqlError(await gw.gql(USERS, { after: 'not-a-cursor' }, bearer(token)), 'users', 'auth_request_invalid', 422);
  });

  it('needs users:read, read from the database (a removed role stops a live token)', async () => {
    expectGqlError(await gw.gql(USERS, {}, bearer(await at('mem@acme.test'))), 'users', 'auth_forbidden', 403);
    const token = await at('rita@acme.test');
    await gw.sql("delete from user_roles where user_id = (select id from users where email = 'rita@acme.test')");
    try {
      expectGqlError(await gw.gql(USERS, {}, bearer(token)), 'users', 'auth_forbidden', 403);
    } finally {
      await gw.seed({ tenants: [{ slug: 'acme', name: 'Acme', roles: ROLES, users: [{ email: 'rita@acme.test', password: PASSWORD, roles: ['reader'] }] }] });
    }
  });
});

describe('changes (users:manage)', () => {
  it('sets roles within the caller\'s own permissions, never escalating or removing their own users:manage; audited', async () => {
    const manny = await at('manny@acme.test');
    const rita = await idOf('rita@acme.test');
    const res = await gw.gql('mutation($id: ID!, $r: [String!]!) { setUserRoles(userId: $id, roles: $r) { roles } }', { id: rita, r: ['reader'] }, bearer(manny));
    expect(res.body.data.setUserRoles.roles).toEqual(['reader']);
    // boss grants permissions manny does not hold.
    expectGqlError(await gw.gql('mutation($id: ID!, $r: [String!]!) { setUserRoles(userId: $id, roles: $r) { roles } }', { id: rita, r: ['boss'] }, bearer(manny)), 'setUserRoles', 'auth_forbidden', 403);
    expectGqlError(
      await gw.gql('mutation($id: ID!, $r: [String!]!) { setUserRoles(userId: $id, roles: $r) { roles } }', { id: await idOf('manny@acme.test'), r: ['reader'] }, bearer(manny)),
      'setUserRoles',
      'auth_forbidden',
      403,
    );
    expectGqlError(await gw.gql('mutation($id: ID!, $r: [String!]!) { setUserRoles(userId: $id, roles: $r) { roles } }', { id: rita, r: ['reader'] }, bearer(await at('rita@acme.test'))), 'setUserRoles', 'auth_forbidden', 403);
    const [event] = await gw.sql("select details from audit_events where type = 'roles_changed' order by created_at desc limit 1");
    expect(event.details).toMatchObject({ subject: rita, roles: ['reader'] });
  });

  it('disables (ending sessions) and enables a user, ends sessions, resets MFA; not oneself; not another tenant\'s user', async () => {
    const boss = await at('boss@acme.test');
    const mem = await signIn(gw, { tenant: 'acme', email: 'mem@acme.test', password: PASSWORD });
    const id = await idOf('mem@acme.test');
    expect((await gw.gql('mutation($id: ID!) { disableUser(userId: $id) { disabled } }', { id }, bearer(boss))).body.data.disableUser.disabled).toBe(true);
    expect((await gw.rest('POST', '/auth/refresh', { refresh_token: mem.refresh_token })).status).toBe(401);
    expect((await gw.rest('POST', '/auth/login', { tenant: 'acme', email: 'mem@acme.test', password: PASSWORD })).status).toBe(403);
    expect((await gw.gql('mutation($id: ID!) { enableUser(userId: $id) { disabled } }', { id }, bearer(boss))).body.data.enableUser.disabled).toBe(false);
    const again = await signIn(gw, { tenant: 'acme', email: 'mem@acme.test', password: PASSWORD });
    expect((await gw.gql('mutation($id: ID!) { revokeUserSessions(userId: $id) }', { id }, bearer(boss))).body.data.revokeUserSessions).toBeGreaterThanOrEqual(1);
    expect((await gw.rest('GET', '/auth/me', undefined, bearer(again.access_token))).status).toBe(401);
    expect((await gw.gql('mutation($id: ID!) { resetUserMfa(userId: $id) { mfaEnabled } }', { id }, bearer(boss))).body.data.resetUserMfa.mfaEnabled).toBe(false);
    expectGqlError(await gw.gql('mutation($id: ID!) { disableUser(userId: $id) { disabled } }', { id: await idOf('boss@acme.test') }, bearer(boss)), 'disableUser', 'auth_forbidden', 403);
    expectGqlError(await gw.gql('mutation($id: ID!) { disableUser(userId: $id) { disabled } }', { id: await idOf('gina@globex.test') }, bearer(boss)), 'disableUser', 'auth_user_not_found', 404);
    const types = (await gw.sql("select type from audit_events where details->>'subject' = $1 order by created_at", [id])).map((r) => r.type);
    expect(types).toEqual(expect.arrayContaining(['user_disabled', 'user_enabled', 'sessions_revoked_by_admin', 'mfa_reset']));
  });

  it('nobody acts on a user whose permissions they do not all hold (SPEC §15): a manager cannot demote, strip, disable or sign out the boss', async () => {
    const manny = await at('manny@acme.test');
    const boss = await signIn(gw, { tenant: 'acme', email: 'boss@acme.test', password: PASSWORD });
    const id = await idOf('boss@acme.test');
    const calls: Array<[op: 'setUserRoles' | 'disableUser' | 'enableUser' | 'revokeUserSessions' | 'resetUserMfa', query: string, vars: Record<string, unknown>]> = [
      ['setUserRoles', 'mutation($id: ID!) { setUserRoles(userId: $id, roles: []) { id } }', { id }],
      ['setUserRoles', 'mutation($id: ID!) { setUserRoles(userId: $id, roles: ["manager"]) { id } }', { id }],
      ['resetUserMfa', 'mutation($id: ID!) { resetUserMfa(userId: $id) { id } }', { id }],
      ['revokeUserSessions', 'mutation($id: ID!) { revokeUserSessions(userId: $id) }', { id }],
      ['disableUser', 'mutation($id: ID!) { disableUser(userId: $id) { id } }', { id }],
      ['enableUser', 'mutation($id: ID!) { enableUser(userId: $id) { id } }', { id }],
    ];
    for (const [op, query, vars] of calls) expectGqlError(await gw.gql(query, vars, bearer(manny)), op, 'auth_forbidden', 403);
    // The boss is untouched: same roles, still signed in.
    expect((await gw.rest('GET', '/auth/me', undefined, bearer(boss.access_token))).body.roles).toEqual(['boss']);
    expect((await gw.rest('POST', '/auth/refresh', { refresh_token: boss.refresh_token })).status).toBe(200);
    // Covering is about the target's permissions, not its role name: a peer manager is fair game.
    const peer = await idOf('manny@acme.test');
    expect((await gw.gql('mutation($id: ID!) { revokeUserSessions(userId: $id) }', { id: peer }, bearer(await at('boss@acme.test')))).body.errors).toBeUndefined();
  });

  it('oneself is recognised by the row found, whatever the case of the id (SPEC §15)', async () => {
    const boss = await at('boss@acme.test');
    const own = (await idOf('boss@acme.test')).toUpperCase();
    expectGqlError(await gw.gql('mutation($id: ID!) { disableUser(userId: $id) { disabled } }', { id: own }, bearer(boss)), 'disableUser', 'auth_forbidden', 403);
    expectGqlError(await gw.gql('mutation($id: ID!) { setUserRoles(userId: $id, roles: ["reader"]) { roles } }', { id: own }, bearer(boss)), 'setUserRoles', 'auth_forbidden', 403);
    expect((await gw.rest('POST', '/auth/login', { tenant: 'acme', email: 'boss@acme.test', password: PASSWORD })).body.user.roles).toEqual(['boss']);
    // Another user's id in upper case is that user.
    const mem = (await idOf('mem@acme.test')).toUpperCase();
    expect((await gw.gql('query($id: ID!) { user(id: $id) { email } }', { id: mem }, bearer(boss))).body.data.user.email).toBe('mem@acme.test');
  });

  it('invitations: revoking or re-issuing one needs the caller to cover its roles (SPEC §15)', async () => {
    const boss = await at('boss@acme.test');
    const manny = await at('manny@acme.test');
    const email = `future-boss-${Date.now()}@acme.test`;
    const invited = await gw.gql('mutation($i: InviteUserInput!) { inviteUser(input: $i) { id } }', { i: { email, roles: ['boss'] } }, bearer(boss));
    expect(invited.body.errors).toBeUndefined();
    const id = invited.body.data.inviteUser.id;
    expectGqlError(await gw.gql('mutation($id: ID!) { revokeInvitation(id: $id) }', { id }, bearer(manny)), 'revokeInvitation', 'auth_forbidden', 403);
    expectGqlError(await gw.gql('mutation($i: InviteUserInput!) { inviteUser(input: $i) { id } }', { i: { email, roles: ['reader'] } }, bearer(manny)), 'inviteUser', 'auth_forbidden', 403);
    const [row] = await gw.sql('select revoked_at from invitations where id = $1', [id]);
    expect(row.revoked_at).toBeNull();
    // One the manager covers, the manager may revoke.
    const mine = (await gw.gql('mutation($i: InviteUserInput!) { inviteUser(input: $i) { id } }', { i: { email: `reader-${Date.now()}@acme.test`, roles: ['reader'] } }, bearer(boss))).body.data.inviteUser.id;
    expect((await gw.gql('mutation($id: ID!) { revokeInvitation(id: $id) }', { id: mine.toUpperCase() }, bearer(manny))).body.data.revokeInvitation).toBe(true);
  });

  it('refuses an API key for changes, even one scoped users:manage; lets a users:read key look', async () => {
    const boss = await at('boss@acme.test');
    const key = (await gw.rest('POST', '/auth/api-key', { name: 'k', scopes: ['users:read', 'users:manage'] }, bearer(boss))).body.api_key;
    expect((await gw.gql(USERS, { first: 1 }, { 'x-api-key': key })).body.data.users.edges).toHaveLength(1);
    expectGqlError(await gw.gql('mutation($id: ID!) { revokeUserSessions(userId: $id) }', { id: await idOf('mem@acme.test') }, { 'x-api-key': key }), 'revokeUserSessions', 'auth_forbidden', 403);
  });
});
