// The embedded default's demo tenant, seeded once with an admin whose password is printed once.
import { Tenant } from '../../db/entities/tenant.entity.js';
import type { EntityManager } from '../../db/orm.js';
import type { PasswordHasher } from '../passwords/hasher.js';
import { GATEWAY_PERMISSIONS } from '../shared/permissions.js';
import { importDocument } from './import.js';
import { generatePassword } from './records.js';

export const DEMO_TENANT = 'demo';
export const DEMO_ADMIN_EMAIL = 'admin@demo.test';
/** Every permission the README's examples use (SPEC §16): the demo admin can run them all. */
export const DEMO_PERMISSIONS = [...GATEWAY_PERMISSIONS];

/**
 * Seed the embedded database's `demo` tenant with an `admin` role and an admin user.
 * Answers the generated password when it created the user (to be printed once), or null.
 */
export async function ensureDemoTenant(em: EntityManager, passwords: PasswordHasher, appUrl?: string): Promise<string | null> {
  if (await em.findOne(Tenant, { slug: DEMO_TENANT })) return null;
  const password = generatePassword();
  await importDocument(em, passwords, {
    tenants: [
      {
        slug: DEMO_TENANT,
        name: 'Demo',
        // Anyone may sign up on the demo page, whose pages follow the mailed links.
        signup: 'open',
        app_url: appUrl ?? null,
        // The demo page signs in through SSO and comes back to itself.
        ...(appUrl ? { redirect_urls: [appUrl] } : {}),
        // `viewer`: a role to invite a colleague with, as docs/management.md does.
        roles: [
          { name: 'admin', permissions: DEMO_PERMISSIONS },
          { name: 'viewer', permissions: ['users:read'] },
        ],
        users: [{ email: DEMO_ADMIN_EMAIL, password, roles: ['admin'] }],
      },
    ],
  });
  return password;
}

