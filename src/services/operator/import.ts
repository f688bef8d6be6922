// The import document: declarative and idempotent. Tenants, roles (their permission sets)
// and users (their roles and disabled flag) are brought in line with the document in one
// transaction; importing it twice changes nothing (passwords are set only when a user is created).
import { User } from '../../db/entities/user.entity.js';
import { transactional, type EntityManager } from '../../db/orm.js';
import type { PasswordHasher } from '../passwords/hasher.js';
import { normaliseEmail } from '../shared/identifiers.js';
import { Role } from '../../db/entities/role.entity.js';
import { revokeSessions } from '../sessions/end.js';
import { SIGNUP_POLICIES, type SignupPolicy } from '../../db/entities/tenant.entity.js';
import { importSsoConnections, type SsoImportDeps } from '../sso/import.js';
import { isRedirectUrl, type ConnectionInput } from '../sso/rules.js';
import { importOAuthClients, type OAuthClientInput } from '../op/clients.js';
import { importWebhooks, type WebhookImportInput } from '../webhooks/import.js';
import { AdminError, check, checkAppUrl, EMAIL, generatePassword, PERMISSION, rolesByName, sameSet, SLUG, strings, upsertRole, upsertTenant, type ImportReport } from './records.js';
import { emitWebhook } from '../shared/webhook-events.js';

export type { ImportReport };

export interface ImportDocument {
  tenants: Array<{
    slug: string;
    name: string;
    google_domains?: string[];
    default_roles?: string[];
    signup?: SignupPolicy;
    signup_domains?: string[];
    app_url?: string | null;
    mfa_required_roles?: string[];
    /** Where a finished SSO flow may go back to (SPEC §11). */
    redirect_urls?: string[];
    /** The tenant's identity providers, by name (SPEC §11); their domains count as verified. */
    sso_connections?: ConnectionInput[];
    /** The clients of the tenant's OpenID Provider, by client_id (SPEC §12). */
    oauth_clients?: OAuthClientInput[];
    webhooks?: WebhookImportInput[];
    roles?: Array<{ name: string; permissions: string[] }>;
    users?: Array<{ email: string; password?: string; roles?: string[]; disabled?: boolean }>;
  }>;
}


/** Validate the shape of an import document (docs/operations.md, Admin CLI), with messages a person can act on. */
export function parseImportDocument(doc: unknown): ImportDocument {
  check(doc && typeof doc === 'object' && Array.isArray((doc as ImportDocument).tenants), 'the document must be {"tenants": [...]}');
  for (const [i, t] of (doc as ImportDocument).tenants.entries()) {
    const where = `tenants[${i}]`;
    check(t && typeof t === 'object', `${where} must be an object`);
    check(typeof t.slug === 'string' && SLUG.test(t.slug), `${where}.slug must be lower-case letters, digits and dashes`);
    check(typeof t.name === 'string' && t.name.trim() !== '', `${where}.name is required`);
    strings(t.google_domains, `${where}.google_domains`);
    strings(t.default_roles, `${where}.default_roles`);
    strings(t.signup_domains, `${where}.signup_domains`);
    strings(t.mfa_required_roles, `${where}.mfa_required_roles`);
    check(t.signup === undefined || SIGNUP_POLICIES.includes(t.signup), `${where}.signup must be one of ${SIGNUP_POLICIES.join(', ')}`);
    check(t.app_url === undefined || t.app_url === null || typeof t.app_url === 'string', `${where}.app_url must be a URL or null`);
    checkAppUrl(t.app_url, `${where}.app_url`);
    for (const [j, url] of strings(t.redirect_urls, `${where}.redirect_urls`).entries()) {
      check(isRedirectUrl(url), `${where}.redirect_urls[${j}] must be an https URL (http only on a loopback address) without user, query or fragment`);
    }
    check(t.sso_connections === undefined || Array.isArray(t.sso_connections), `${where}.sso_connections must be a list`);
    check(t.oauth_clients === undefined || Array.isArray(t.oauth_clients), `${where}.oauth_clients must be a list`);
    check(t.webhooks === undefined || Array.isArray(t.webhooks), `${where}.webhooks must be a list`);
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


/** `sso` (the configuration's environment and SECRET_KEY, a clock) is needed by a document with sso_connections. */
export async function importDocument(em: EntityManager, passwords: PasswordHasher, raw: unknown, sso?: SsoImportDeps): Promise<ImportReport> {
  const doc = parseImportDocument(raw);
  check(sso || doc.tenants.every((t) => !t.sso_connections?.length && !t.oauth_clients?.length && !t.webhooks?.length), 'sso_connections, oauth_clients and webhooks need the gateway configuration (SECRET_KEY)');
  const report: ImportReport = { created: 0, updated: 0, unchanged: 0 };
  const hashes = new Map<string, string>();
  await transactional(em, async (tx) => {
    for (const t of doc.tenants) {
      const tenant = await upsertTenant(
        tx,
        { slug: t.slug, name: t.name, googleDomains: t.google_domains, defaultRoles: t.default_roles, signup: t.signup, signupDomains: t.signup_domains, appUrl: t.app_url, mfaRequiredRoles: t.mfa_required_roles, redirectUrls: t.redirect_urls },
        report,
      );
      const roles = new Map<string, Role>();
      for (const r of t.roles ?? []) roles.set(r.name, await upsertRole(tx, tenant, r.name, r.permissions, report));
      if (t.sso_connections?.length) {
        await tx.flush();
        const counts = await importSsoConnections(tx, sso!, tenant.id, t.sso_connections, `tenants[${doc.tenants.indexOf(t)}]`, (m) => {
          throw new AdminError(m);
        });
        report.created += counts.created;
        report.updated += counts.updated;
      }
      for (const [list, write] of [
        [t.oauth_clients, importOAuthClients],
        [t.webhooks, importWebhooks],
      ] as const) {
        if (!list?.length) continue;
        await tx.flush();
        const counts = await (write as typeof importWebhooks)(tx, sso!, tenant.id, list as never, `tenants[${doc.tenants.indexOf(t)}]`, (m) => {
          throw new AdminError(m);
        });
        report.created += counts.created;
        report.updated += counts.updated;
        report.unchanged += 'unchanged' in counts ? (counts.unchanged as number) : 0;
      }
      await tx.flush();
      const hooked = ((await tx.execute('select 1 from webhook_endpoints where tenant_id = ? limit 1', [tenant.id])) as unknown[]).length > 0;
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
          // user.created (SPEC §13) where the tenant has endpoints: written first, the body reads the address.
          if (hooked) {
            await tx.flush();
            await emitWebhook(tx, new Date(), tenant.id, created.id, 'user.created', { via: 'import' });
          }
          report.created++;
          continue;
        }
        const disabled = u.disabled ?? false;
        const sameRoles = sameSet(user.roles.getItems().map((r) => r.name), wantedRoles);
        if (sameRoles && user.disabled === disabled) {
          report.unchanged++;
          continue;
        }
        if (!sameRoles) {
          user.roles.set(resolved);
          // Set by the operator: an SSO connection no longer removes them.
          await tx.execute('delete from sso_role_grants where user_id = ?', [user.id]);
          if (hooked) await emitWebhook(tx, new Date(), tenant.id, user.id, 'user.roles_changed', { roles: [...wantedRoles].sort(), via: 'import' });
        }
        if (disabled && !user.disabled) await revokeSessions(tx, { user: user.id }, 'user_disabled');
        if (hooked && disabled !== user.disabled) await emitWebhook(tx, new Date(), tenant.id, user.id, disabled ? 'user.disabled' : 'user.enabled', { via: 'import' });
        user.disabled = disabled;
        report.updated++;
      }
    }
  });
  return report;
}

