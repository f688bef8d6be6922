// Administration: tenants, roles, users. Used by the admin CLI and the embedded seed.
// The import is declarative and idempotent: importing the same document twice changes
// nothing (passwords are set only when a user is created).
import { randomBytes } from 'node:crypto';
import { ApiKey } from '../../db/entities/api-key.entity.js';
import { transactional, type EntityManager } from '../../db/orm.js';
import { Permission } from '../../db/entities/permission.entity.js';
import { Role } from '../../db/entities/role.entity.js';
import { Tenant } from '../../db/entities/tenant.entity.js';
import { User } from '../../db/entities/user.entity.js';
import { normaliseEmail } from '../shared/identifiers.js';
import type { PasswordHasher } from '../passwords/hasher.js';
import { revokeSessions } from '../sessions/start.js';

export class AdminError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminError';
  }
}

export interface ImportDocument {
  tenants: Array<{
    slug: string;
    name: string;
    google_domains?: string[];
    default_roles?: string[];
    roles?: Array<{ name: string; permissions: string[] }>;
    users?: Array<{ email: string; password?: string; roles?: string[]; disabled?: boolean }>;
  }>;
}

export interface ImportReport {
  created: number;
  updated: number;
  unchanged: number;
}

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;
const PERMISSION = /^[a-z0-9_.-]+(?::[a-z0-9_.*-]+)*$/;

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

export const generatePassword = () => randomBytes(18).toString('base64url');

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AdminError(message);
}

function strings(value: unknown, what: string): string[] {
  check(value === undefined || (Array.isArray(value) && value.every((v) => typeof v === 'string')), `${what} must be a list of strings`);
  return (value as string[] | undefined) ?? [];
}

/** Validate the shape of an import document (SPEC §5), with messages a person can act on. */
export function parseImportDocument(doc: unknown): ImportDocument {
  check(doc && typeof doc === 'object' && Array.isArray((doc as ImportDocument).tenants), 'the document must be {"tenants": [...]}');
  for (const [i, t] of (doc as ImportDocument).tenants.entries()) {
    const where = `tenants[${i}]`;
    check(t && typeof t === 'object', `${where} must be an object`);
    check(typeof t.slug === 'string' && SLUG.test(t.slug), `${where}.slug must be lower-case letters, digits and dashes`);
    check(typeof t.name === 'string' && t.name.trim() !== '', `${where}.name is required`);
    strings(t.google_domains, `${where}.google_domains`);
    strings(t.default_roles, `${where}.default_roles`);
    for (const [j, r] of (t.roles ?? []).entries()) {
      check(typeof r?.name === 'string' && r.name.trim() !== '', `${where}.roles[${j}].name is required`);
      for (const p of strings(r.permissions, `${where}.roles[${j}].permissions`)) check(PERMISSION.test(p), `invalid permission name ${JSON.stringify(p)}`);
    }
    for (const [j, u] of (t.users ?? []).entries()) {
      check(typeof u?.email === 'string' && EMAIL.test(u.email.trim()), `${where}.users[${j}].email is not an e-mail address`);
      check(u.password === undefined || (typeof u.password === 'string' && u.password.length >= 8), `${where}.users[${j}].password must have at least 8 characters`);
      check(u.disabled === undefined || typeof u.disabled === 'boolean', `${where}.users[${j}].disabled must be true or false`);
      strings(u.roles, `${where}.users[${j}].roles`);
    }
  }
  return doc as ImportDocument;
}

async function permissionsByName(em: EntityManager, names: string[]): Promise<Permission[]> {
  for (const n of names) check(PERMISSION.test(n), `invalid permission name ${JSON.stringify(n)}`);
  const existing = await em.find(Permission, { name: { $in: names } });
  return names.map((name) => existing.find((p) => p.name === name) ?? em.create(Permission, { name }));
}

async function tenantBySlug(em: EntityManager, slug: string): Promise<Tenant> {
  const tenant = await em.findOne(Tenant, { slug });
  if (!tenant) throw new AdminError(`tenant ${slug} does not exist`);
  return tenant;
}

async function rolesByName(em: EntityManager, tenant: Tenant, names: string[]): Promise<Role[]> {
  const roles = names.length ? await em.find(Role, { tenant, name: { $in: names } }) : [];
  const missing = names.filter((n) => !roles.some((r) => r.name === n));
  if (missing.length) throw new AdminError(`tenant ${tenant.slug} has no role ${missing.join(', ')}`);
  return roles;
}

export interface TenantInput {
  slug: string;
  name: string;
  googleDomains?: string[];
  defaultRoles?: string[];
}

/** Create a tenant, or bring an existing one in line with the input. */
async function upsertTenant(em: EntityManager, input: TenantInput, report: ImportReport): Promise<Tenant> {
  check(SLUG.test(input.slug), 'the tenant slug must be lower-case letters, digits and dashes');
  const domains = (input.googleDomains ?? []).map((d) => d.trim().toLowerCase());
  const defaults = input.defaultRoles ?? [];
  const tenant = await em.findOne(Tenant, { slug: input.slug });
  if (!tenant) {
    report.created++;
    return em.create(Tenant, { slug: input.slug, name: input.name, googleDomains: domains, defaultRoles: defaults });
  }
  if (tenant.name === input.name && sameSet(tenant.googleDomains, domains) && sameSet(tenant.defaultRoles, defaults)) {
    report.unchanged++;
  } else {
    Object.assign(tenant, { name: input.name, googleDomains: domains, defaultRoles: defaults });
    report.updated++;
  }
  return tenant;
}

async function upsertRole(em: EntityManager, tenant: Tenant, name: string, permissions: string[], report: ImportReport): Promise<Role> {
  const wanted = [...new Set(permissions)];
  const role = (await em.findOne(Role, { tenant, name }, { populate: ['permissions'] })) ?? null;
  const perms = await permissionsByName(em, wanted);
  if (!role) {
    const created = em.create(Role, { tenant, name });
    created.permissions.set(perms);
    report.created++;
    return created;
  }
  if (sameSet(role.permissions.getItems().map((p) => p.name), wanted)) {
    report.unchanged++;
  } else {
    role.permissions.set(perms);
    report.updated++;
  }
  return role;
}

export async function createTenant(em: EntityManager, input: TenantInput): Promise<Tenant> {
  return transactional(em, async (tx) => {
    check(!(await tx.findOne(Tenant, { slug: input.slug })), `tenant ${input.slug} already exists`);
    return upsertTenant(tx, input, { created: 0, updated: 0, unchanged: 0 });
  });
}

export async function createRole(em: EntityManager, tenantSlug: string, name: string, permissions: string[]): Promise<Role> {
  return transactional(em, async (tx) => {
    const tenant = await tenantBySlug(tx, tenantSlug);
    check(name.trim() !== '', 'the role name is required');
    check(!(await tx.findOne(Role, { tenant, name })), `tenant ${tenantSlug} already has a role ${name}`);
    return upsertRole(tx, tenant, name, permissions, { created: 0, updated: 0, unchanged: 0 });
  });
}

export async function createUser(
  em: EntityManager,
  passwords: PasswordHasher,
  input: { tenant: string; email: string; password: string; roles?: string[]; disabled?: boolean },
): Promise<User> {
  const email = normaliseEmail(input.email);
  check(EMAIL.test(email), 'not an e-mail address');
  check(input.password.length >= 8, 'the password must have at least 8 characters');
  const passwordHash = await passwords.hash(input.password);
  return transactional(em, async (tx) => {
    const tenant = await tenantBySlug(tx, input.tenant);
    check(!(await tx.findOne(User, { tenant, email })), `tenant ${input.tenant} already has a user ${email}`);
    const user = tx.create(User, { tenant, email, passwordHash, disabled: input.disabled ?? false });
    user.roles.set(await rolesByName(tx, tenant, input.roles ?? []));
    return user;
  });
}

export async function setUserDisabled(em: EntityManager, tenantSlug: string, email: string, disabled: boolean): Promise<void> {
  await transactional(em, async (tx) => {
    const tenant = await tenantBySlug(tx, tenantSlug);
    const user = await tx.findOne(User, { tenant, email: normaliseEmail(email) });
    if (!user) throw new AdminError(`tenant ${tenantSlug} has no user ${normaliseEmail(email)}`);
    user.disabled = disabled;
    if (disabled) await revokeSessions(tx, { user: user.id }, 'user_disabled');
  });
}

/** Sets a new password; every session of the user ends (SPEC §4). */
export async function setUserPassword(em: EntityManager, passwords: PasswordHasher, tenantSlug: string, email: string, password: string): Promise<void> {
  check(password.length >= 8, 'the password must have at least 8 characters');
  const passwordHash = await passwords.hash(password);
  await transactional(em, async (tx) => {
    const tenant = await tenantBySlug(tx, tenantSlug);
    const user = await tx.findOne(User, { tenant, email: normaliseEmail(email) });
    if (!user) throw new AdminError(`tenant ${tenantSlug} has no user ${normaliseEmail(email)}`);
    user.passwordHash = passwordHash;
    user.passwordChangedAt = new Date();
    await revokeSessions(tx, { user: user.id }, 'password_changed');
    // A password change answers a suspected compromise: the keys minted with the old
    // password go too (other instances drop them within API_KEY_CACHE_TTL_MS).
    await tx.nativeUpdate(ApiKey, { user: user.id, revokedAt: null }, { revokedAt: new Date() });
  });
}

export async function importDocument(em: EntityManager, passwords: PasswordHasher, raw: unknown): Promise<ImportReport> {
  const doc = parseImportDocument(raw);
  const report: ImportReport = { created: 0, updated: 0, unchanged: 0 };
  const hashes = new Map<string, string>();
  await transactional(em, async (tx) => {
    for (const t of doc.tenants) {
      const tenant = await upsertTenant(tx, { slug: t.slug, name: t.name, googleDomains: t.google_domains, defaultRoles: t.default_roles }, report);
      const roles = new Map<string, Role>();
      for (const r of t.roles ?? []) roles.set(r.name, await upsertRole(tx, tenant, r.name, r.permissions, report));
      for (const u of t.users ?? []) {
        const email = normaliseEmail(u.email);
        const wantedRoles = u.roles ?? [];
        const resolved = await Promise.all(
          wantedRoles.map(async (name) => roles.get(name) ?? (await rolesByName(tx, tenant, [name]))[0]),
        );
        const user = await tx.findOne(User, { tenant, email }, { populate: ['roles'] });
        if (!user) {
          const password = u.password ?? generatePassword();
          const key = `${t.slug}/${email}`;
          if (!hashes.has(key)) hashes.set(key, await passwords.hash(password));
          const created = tx.create(User, { tenant, email, passwordHash: hashes.get(key)!, disabled: u.disabled ?? false });
          created.roles.set(resolved);
          report.created++;
          continue;
        }
        const disabled = u.disabled ?? false;
        const sameRoles = sameSet(user.roles.getItems().map((r) => r.name), wantedRoles);
        if (sameRoles && user.disabled === disabled) {
          report.unchanged++;
          continue;
        }
        if (!sameRoles) user.roles.set(resolved);
        if (disabled && !user.disabled) await revokeSessions(tx, { user: user.id }, 'user_disabled');
        user.disabled = disabled;
        report.updated++;
      }
    }
  });
  return report;
}

export const DEMO_TENANT = 'demo';
export const DEMO_ADMIN_EMAIL = 'admin@demo.test';
export const DEMO_PERMISSIONS = ['api_keys:create', 'api_keys:manage', 'users:read'];

/**
 * Seed the embedded database's `demo` tenant with an `admin` role and an admin user.
 * Answers the generated password when it created the user (to be printed once), or null.
 */
export async function ensureDemoTenant(em: EntityManager, passwords: PasswordHasher): Promise<string | null> {
  if (await em.findOne(Tenant, { slug: DEMO_TENANT })) return null;
  const password = generatePassword();
  await importDocument(em, passwords, {
    tenants: [
      {
        slug: DEMO_TENANT,
        name: 'Demo',
        roles: [{ name: 'admin', permissions: DEMO_PERMISSIONS }],
        users: [{ email: DEMO_ADMIN_EMAIL, password, roles: ['admin'] }],
      },
    ],
  });
  return password;
}
