import { randomUUID } from 'node:crypto';
import { Entity, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Tenant } from './tenant.entity.js';

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
