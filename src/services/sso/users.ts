// Who an IdP's answer signs in (SPEC §11): the (connection, subject) link decides alone; the
// first sign-in links an existing user only for an address in one of the connection's verified
// domains (the connection is authoritative for them, so an unverified account is taken clean);
// else `jit` creates a verified user with the default roles; else auth_sso_user_not_provisioned.
// At every sign-in the role map's roles are granted, and those the connection granted before
// and no longer yields are removed; a role also granted by hand stays.
import { randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { pgTextArray, transactional, type EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import { recordAudit } from '../shared/audit.js';
import { normaliseEmail } from '../shared/identifiers.js';
import { dropUnprovenCredentials } from '../users/claim.js';
import { domainOf } from './rules.js';

// The user's links through other connections that have not verified the address's domain.
const NOT_AUTHORITATIVE_LINKS = `delete from sso_identities i where i.user_id = ? and i.connection_id <> ?
  and not exists(select 1 from sso_domains d where d.connection_id = i.connection_id and d.domain = ? and d.verified_at is not null) returning i.id`;

export interface Asserted {
  subject: string;
  email: string;
  /** Values of the connection's role claim or attribute. */
  groups: string[];
}

export interface SsoUserConnection {
  id: string;
  tenantId: string;
  jit: boolean;
  defaultRoles: string[];
  roleMap: Record<string, string[]>;
}

/** The role names a connection's map yields for the asserted values. */
export const mappedRoles = (c: Pick<SsoUserConnection, 'roleMap'>, groups: string[]) => [
  ...new Set(groups.flatMap((g) => (Object.prototype.hasOwnProperty.call(c.roleMap, g) ? c.roleMap[g] : []))),
];

/**
 * The user the assertion signs in, linked and with the connection's roles, in one transaction.
 * Answers whether an unverified account was taken clean (its caches are the caller's to forget).
 */
export async function resolveSsoUser(em: EntityManager, now: Date, c: SsoUserConnection, a: Asserted): Promise<{ userId: string; claimed: boolean }> {
  try {
    return await resolveOnce(em, now, c, a);
  } catch (e) {
    // Two first sign-ins of one identity at once (two tabs, a double click): the one that lost
    // the race to provision or link (a unique violation, or the user the other one provisioned
    // seen only as "the address has a user") finds, on its second try, the link the other made.
    const lostTheRace = e instanceof UniqueConstraintViolationException || (e instanceof AuthError && e.code === 'auth_sso_user_not_provisioned');
    if (!lostTheRace) throw e;
    return resolveOnce(em, now, c, a);
  }
}

function resolveOnce(em: EntityManager, now: Date, c: SsoUserConnection, a: Asserted): Promise<{ userId: string; claimed: boolean }> {
  return transactional(em, async (tx) => {
    const email = normaliseEmail(a.email);
    let claimed = false;
    const [linked] = (await tx.execute('update sso_identities set last_used_at = ? where connection_id = ? and subject = ? returning user_id', [now, c.id, a.subject])) as Array<{ user_id: string }>;
    let userId = linked?.user_id;
    if (!userId) {
      const domain = domainOf(email);
      const [existing] = (await tx.execute(
        `select u.id, u.email_verified from users u
          where u.tenant_id = ? and u.email = ?
            and exists(select 1 from sso_domains d where d.domain = ? and d.connection_id = ? and d.verified_at is not null)
          for update`,
        [c.tenantId, email, domain, c.id],
      )) as Array<{ id: string; email_verified: boolean }>;
      const identityId = randomUUID();
      if (existing) {
        userId = existing.id;
        if (!existing.email_verified) {
          // The connection proves the address as a mailed link would: what a squatter set goes.
          await tx.execute('update users set email_verified = true, password_hash = null, updated_at = ? where id = ?', [now, userId]);
          await dropUnprovenCredentials(tx, now, userId, 'sso', identityId);
          claimed = true;
        } else {
          // Links of connections that are not authoritative for the address were never proof of it: they go.
          const dropped = (await tx.execute(NOT_AUTHORITATIVE_LINKS, [userId, c.id, domain])) as unknown[];
          if (dropped.length) await recordAudit(tx, now, { tenantId: c.tenantId, userId, type: 'sso_links_dropped', details: { connection: c.id, count: dropped.length } });
          claimed = dropped.length > 0;
        }
      } else {
        const [taken] = (await tx.execute(
          `select exists(select 1 from users where tenant_id = ? and email = ?) as user,
                  exists(select 1 from sso_domains where domain = ? and verified_at is not null and connection_id <> ?) as elsewhere,
                  exists(select 1 from sso_domains where domain = ? and verified_at is not null and connection_id = ?) as ours`,
          [c.tenantId, email, domain, c.id, domain, c.id],
        )) as Array<{ user: boolean; elsewhere: boolean; ours: boolean }>;
        // An address that already has a user is linked only by its own domain's connection (above);
        // an address of a domain another connection has verified is that connection's to admit.
        if (taken.user || taken.elsewhere || !c.jit) throw new AuthError('auth_sso_user_not_provisioned');
        userId = randomUUID();
        // Verified only where this connection is authoritative: elsewhere the owner can still
        // take the account clean by proving the address (a mailed link, the domain's connection).
        await tx.execute('insert into users (id, tenant_id, email, password_hash, email_verified, disabled, created_at, updated_at) values (?, ?, ?, null, ?, false, ?, ?)', [
          userId,
          c.tenantId,
          email,
          taken.ours,
          now,
          now,
        ]);
        await grantRoles(tx, c, userId, c.defaultRoles, false);
        await recordAudit(tx, now, { tenantId: c.tenantId, userId, type: 'sso_user_provisioned', details: { connection: c.id } });
      }
      await tx.execute('insert into sso_identities (id, connection_id, user_id, subject, email_at_link, created_at, last_used_at) values (?, ?, ?, ?, ?, ?, ?)', [
        identityId,
        c.id,
        userId,
        a.subject,
        email,
        now,
        now,
      ]);
      await recordAudit(tx, now, { tenantId: c.tenantId, userId, type: 'sso_linked', details: { connection: c.id, how: existing ? 'verified_domain' : 'jit' } });
    }
    await applyRoleMap(tx, c, userId, a.groups);
    return { userId, claimed };
  });
}

/** Grants roles of the tenant by name (names that are not roles are left out); `tracked`: as the connection's own. */
async function grantRoles(tx: EntityManager, c: SsoUserConnection, userId: string, names: string[], tracked: boolean): Promise<void> {
  if (!names.length) return;
  const granted = (await tx.execute(
    `insert into user_roles (user_id, role_id) select ?, r.id from roles r where r.tenant_id = ? and r.name = any(?::text[]) on conflict do nothing returning role_id`,
    [userId, c.tenantId, pgTextArray(names)],
  )) as Array<{ role_id: string }>;
  // Only a role this grant added is the connection's: one held already was granted by hand.
  if (tracked && granted.length) {
    await tx.execute(`insert into sso_role_grants (user_id, role_id, connection_id) select ?, unnest(?::uuid[]), ? on conflict do nothing`, [
      userId,
      `{${granted.map((g) => g.role_id).join(',')}}`,
      c.id,
    ]);
  }
}

async function applyRoleMap(tx: EntityManager, c: SsoUserConnection, userId: string, groups: string[]): Promise<void> {
  const wanted = mappedRoles(c, groups);
  // What the connection granted before and no longer yields goes (its own grants only).
  await tx.execute(
    `with gone as (delete from sso_role_grants g using roles r where g.role_id = r.id and g.user_id = ? and g.connection_id = ? and r.name <> all(?::text[]) returning g.role_id)
     delete from user_roles ur using gone where ur.user_id = ? and ur.role_id = gone.role_id
       and not exists(select 1 from sso_role_grants o where o.user_id = ur.user_id and o.role_id = ur.role_id and o.connection_id <> ?)`,
    [userId, c.id, pgTextArray(wanted), userId, c.id],
  );
  await grantRoles(tx, c, userId, wanted, true);
}
