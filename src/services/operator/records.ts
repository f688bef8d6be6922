// The building blocks of administration, shared by the single commands and the import:
// validation with messages a person can act on, and upserts of tenants and roles.
import { randomBytes } from 'node:crypto';
import { Permission } from '../../db/entities/permission.entity.js';
import { Role } from '../../db/entities/role.entity.js';
import { SIGNUP_POLICIES, Tenant, type SignupPolicy } from '../../db/entities/tenant.entity.js';
import type { EntityManager } from '../../db/orm.js';
import { sameSet } from '../shared/input.js';
import { PERMISSION } from '../shared/permissions.js';

export class AdminError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminError';
  }
}

export interface ImportReport {
  created: number;
  updated: number;
  unchanged: number;
}

export const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
export { EMAIL_SHAPE as EMAIL } from '../shared/identifiers.js';
export { PERMISSION, sameSet };

export const generatePassword = () => randomBytes(18).toString('base64url');

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AdminError(message);
}

export function strings(value: unknown, what: string): string[] {
  check(value === undefined || (Array.isArray(value) && value.every((v) => typeof v === 'string')), `${what} must be a list of strings`);
  return (value as string[] | undefined) ?? [];
}

export async function permissionsByName(em: EntityManager, names: string[]): Promise<Permission[]> {
  for (const n of names) check(PERMISSION.test(n), `invalid permission name ${JSON.stringify(n)}`);
  const existing = await em.find(Permission, { name: { $in: names } });
  return names.map((name) => existing.find((p) => p.name === name) ?? em.create(Permission, { name }));
}

export async function tenantBySlug(em: EntityManager, slug: string): Promise<Tenant> {
  const tenant = await em.findOne(Tenant, { slug });
  if (!tenant) throw new AdminError(`tenant ${slug} does not exist`);
  return tenant;
}

export async function rolesByName(em: EntityManager, tenant: Tenant, names: string[]): Promise<Role[]> {
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
  /** The sign-up settings; left as they are when not given. */
  signup?: SignupPolicy;
  signupDomains?: string[];
  appUrl?: string | null;
  mfaRequiredRoles?: string[];
  redirectUrls?: string[];
}

const lowerAll = (xs: string[]) => xs.map((d) => d.trim().toLowerCase());

/** A URL mailed links can be built on: http(s), no query or fragment. */
export function checkAppUrl(value: string | null | undefined, what = 'app_url'): void {
  if (value === null || value === undefined) return;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    /* checked below */
  }
  check(url && ['http:', 'https:'].includes(url.protocol) && !url.search && !url.hash, `${what} must be an http(s) URL without query or fragment`);
}

/** Create a tenant, or bring an existing one in line with the input. */
export async function upsertTenant(em: EntityManager, input: TenantInput, report: ImportReport): Promise<Tenant> {
  check(SLUG.test(input.slug), 'the tenant slug must be lower-case letters, digits and dashes');
  check(input.signup === undefined || SIGNUP_POLICIES.includes(input.signup), `signup must be one of ${SIGNUP_POLICIES.join(', ')}`);
  checkAppUrl(input.appUrl);
  const domains = lowerAll(input.googleDomains ?? []);
  const defaults = input.defaultRoles ?? [];
  const tenant = await em.findOne(Tenant, { slug: input.slug });
  const settings = {
    ...(input.signup !== undefined ? { signup: input.signup } : {}),
    ...(input.signupDomains !== undefined ? { signupDomains: lowerAll(input.signupDomains) } : {}),
    ...(input.appUrl !== undefined ? { appUrl: input.appUrl } : {}),
    ...(input.mfaRequiredRoles !== undefined ? { mfaRequiredRoles: input.mfaRequiredRoles } : {}),
    ...(input.redirectUrls !== undefined ? { redirectUrls: input.redirectUrls } : {}),
  };
  if (!tenant) {
    report.created++;
    return em.create(Tenant, { slug: input.slug, name: input.name, googleDomains: domains, defaultRoles: defaults, ...settings });
  }
  const same =
    tenant.name === input.name &&
    sameSet(tenant.googleDomains, domains) &&
    sameSet(tenant.defaultRoles, defaults) &&
    (settings.signup === undefined || settings.signup === tenant.signup) &&
    (settings.signupDomains === undefined || sameSet(settings.signupDomains, tenant.signupDomains)) &&
    (settings.appUrl === undefined || settings.appUrl === tenant.appUrl) &&
    (settings.mfaRequiredRoles === undefined || sameSet(settings.mfaRequiredRoles, tenant.mfaRequiredRoles)) &&
    (settings.redirectUrls === undefined || sameSet(settings.redirectUrls, tenant.redirectUrls));
  if (same) {
    report.unchanged++;
  } else {
    Object.assign(tenant, { name: input.name, googleDomains: domains, defaultRoles: defaults, ...settings });
    report.updated++;
  }
  return tenant;
}

export async function upsertRole(em: EntityManager, tenant: Tenant, name: string, permissions: string[], report: ImportReport): Promise<Role> {
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

