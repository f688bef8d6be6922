import { randomUUID } from 'node:crypto';
import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Role } from './role.entity.js';
import { Tenant } from './tenant.entity.js';
import { User } from './user.entity.js';

export type SsoConnectionType = 'oidc' | 'saml';

/**
 * A tenant's identity provider (SPEC §11). `settings` holds the type's own fields (OIDC:
 * issuer, client_id, scopes, trust_email; SAML: idp_entity_id, idp_sso_url, idp_certificate,
 * allow_idp_initiated, mfa_contexts); `clientSecret` is sealed, never returned.
 */
@Entity({ tableName: 'sso_connections' })
@Unique({ name: 'sso_connections_tenant_name_unique', properties: ['tenant', 'name'] })
export class SsoConnection {
  [OptionalProps]?: 'id' | 'enforce' | 'jit' | 'defaultRoles' | 'roleClaim' | 'roleMap' | 'settings' | 'clientSecret';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Tenant, { deleteRule: 'cascade' })
  tenant!: Tenant;

  @Property({ type: 'text' })
  name!: string;

  @Property({ type: 'text' })
  type!: SsoConnectionType;

  @Property({ type: 'boolean', default: false })
  enforce: boolean = false;

  @Property({ type: 'boolean', default: false })
  jit: boolean = false;

  @Property({ type: 'text[]', columnType: 'text[]', default: '{}' })
  defaultRoles: string[] = [];

  /** The OIDC claim or SAML attribute that role_map reads. */
  @Property({ type: 'text', nullable: true })
  roleClaim: string | null = null;

  @Property({ type: 'json', columnType: 'jsonb', default: '{}' })
  roleMap: Record<string, string[]> = {};

  @Property({ type: 'json', columnType: 'jsonb', default: '{}' })
  settings: Record<string, unknown> = {};

  @Property({ type: 'text', nullable: true })
  clientSecret: string | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt!: Date;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  updatedAt!: Date;
}

/** A domain routed to one connection of the whole gateway; it links users and enforces SSO only once verified. */
@Entity({ tableName: 'sso_domains' })
export class SsoDomain {
  [OptionalProps]?: 'verifiedAt';

  @PrimaryKey({ type: 'text' })
  domain!: string;

  @ManyToOne(() => SsoConnection, { deleteRule: 'cascade', index: 'sso_domains_connection_idx' })
  connection!: SsoConnection;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  verifiedAt: Date | null = null;
}

/**
 * A sign-in begun at ssoStart and not yet finished at the IdP's callback: bound to the browser
 * flow by `state` (kept as a keyed hash), with the nonce and the PKCE verifier towards the IdP
 * (sealed), the app's redirect and its code challenge. Single-use; 10 minutes.
 */
@Entity({ tableName: 'sso_flows' })
@Index({ name: 'sso_flows_expires_idx', properties: ['expiresAt'] })
export class SsoFlow {
  [OptionalProps]?: 'nonce' | 'pkceVerifier' | 'samlRequestId';

  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'text', unique: 'sso_flows_state_hash_unique' })
  stateHash!: string;

  @ManyToOne(() => SsoConnection, { deleteRule: 'cascade' })
  connection!: SsoConnection;

  @Property({ type: 'text' })
  redirectTo!: string;

  @Property({ type: 'text' })
  codeChallenge!: string;

  @Property({ type: 'text', nullable: true })
  nonce: string | null = null;

  @Property({ type: 'text', nullable: true })
  pkceVerifier: string | null = null;

  /** SAML: the ID of the AuthnRequest sent, which the response's InResponseTo must name. */
  @Property({ type: 'text', nullable: true, unique: 'sso_flows_saml_request_id_unique' })
  samlRequestId: string | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt!: Date;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  expiresAt!: Date;
}

/** The one-time code a finished flow hands the app (60 s, single use, bound to its code challenge). */
@Entity({ tableName: 'sso_codes' })
@Index({ name: 'sso_codes_expires_idx', properties: ['expiresAt'] })
export class SsoCode {
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'text', unique: 'sso_codes_code_hash_unique' })
  codeHash!: string;

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  user!: User;

  @ManyToOne(() => SsoConnection, { deleteRule: 'cascade' })
  connection!: SsoConnection;

  /** Null only for an IdP-initiated SAML response (the connection's opt-in): no app began it. */
  @Property({ type: 'text', nullable: true })
  codeChallenge: string | null = null;

  /** The session's amr: fed, and mfa when the IdP asserted it. */
  @Property({ type: 'text[]', columnType: 'text[]' })
  amr!: string[];

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt!: Date;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  expiresAt!: Date;
}

/** A role a connection's role_map granted a user (a role granted by hand has no such row, and stays). */
@Entity({ tableName: 'sso_role_grants' })
export class SsoRoleGrant {
  @ManyToOne(() => User, { primary: true, deleteRule: 'cascade' })
  user!: User;

  @ManyToOne(() => Role, { primary: true, deleteRule: 'cascade' })
  role!: Role;

  @ManyToOne(() => SsoConnection, { primary: true, deleteRule: 'cascade' })
  connection!: SsoConnection;
}

/** The link from an IdP account (its subject at one connection) to a user: after the first sign-in it alone decides who signs in. */
@Entity({ tableName: 'sso_identities' })
@Unique({ name: 'sso_identities_connection_subject_unique', properties: ['connection', 'subject'] })
@Index({ name: 'sso_identities_user_idx', properties: ['user'] })
export class SsoIdentity {
  [OptionalProps]?: 'lastUsedAt';

  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @ManyToOne(() => SsoConnection, { deleteRule: 'cascade' })
  connection!: SsoConnection;

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  user!: User;

  @Property({ type: 'text' })
  subject!: string;

  /** The IdP's e-mail when the link was made (for operators; never used to match again). */
  @Property({ type: 'text' })
  emailAtLink!: string;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt!: Date;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  lastUsedAt: Date | null = null;
}

/** An accepted SAML assertion's ID (hashed), kept until its NotOnOrAfter: each is accepted once. */
@Entity({ tableName: 'sso_assertions' })
@Unique({ name: 'sso_assertions_connection_assertion_unique', properties: ['connection', 'assertionHash'] })
@Index({ name: 'sso_assertions_expires_idx', properties: ['expiresAt'] })
export class SsoAssertion {
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @ManyToOne(() => SsoConnection, { deleteRule: 'cascade' })
  connection!: SsoConnection;

  @Property({ type: 'text' })
  assertionHash!: string;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  expiresAt!: Date;
}
