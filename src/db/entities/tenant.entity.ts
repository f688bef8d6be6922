import { randomUUID } from 'node:crypto';
import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

export const SIGNUP_POLICIES = ['closed', 'open', 'domains'] as const;
export type SignupPolicy = (typeof SIGNUP_POLICIES)[number];

@Entity({ tableName: 'tenants' })
export class Tenant {
  [OptionalProps]?: 'id' | 'googleDomains' | 'defaultRoles' | 'createdAt' | 'signup' | 'signupDomains' | 'appUrl' | 'mfaRequiredRoles' | 'redirectUrls';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'text', unique: 'tenants_slug_unique' })
  slug!: string;

  @Property({ type: 'text' })
  name!: string;

  /** E-mail domains (Google `hd`) whose accounts the tenant admits on first Google sign-in. */
  @Property({ type: 'text[]', columnType: 'text[]' })
  googleDomains: string[] = [];

  /** Where a finished SSO flow may send the browser back (SPEC §11): exact scheme, host, port and path. */
  @Property({ type: 'text[]', columnType: 'text[]', default: '{}' })
  redirectUrls: string[] = [];

  /** Role names given to users created on first Google sign-in. */
  @Property({ type: 'text[]', columnType: 'text[]' })
  defaultRoles: string[] = [];

  /** Who may sign up with a password: nobody, anybody, or addresses of `signupDomains`. */
  @Property({ type: 'text', default: 'closed' })
  signup: SignupPolicy = 'closed';

  @Property({ type: 'text[]', columnType: 'text[]', default: '{}' })
  signupDomains: string[] = [];

  /** Holders of these roles without a second factor get tokens that can only enrol one. */
  @Property({ type: 'text[]', columnType: 'text[]', default: '{}' })
  mfaRequiredRoles: string[] = [];

  /** The base of the links in mails (never taken from a request's Host header). */
  @Property({ type: 'text', nullable: true })
  appUrl: string | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();
}
