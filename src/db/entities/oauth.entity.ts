import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Session } from './session.entity.js';
import { Tenant } from './tenant.entity.js';

/** A tenant's OAuth client of its OpenID Provider (SPEC §12); the secret is sealed, never returned. */
@Entity({ tableName: 'oauth_clients' })
@Unique({ name: 'oauth_clients_tenant_client_unique', properties: ['tenant', 'clientId'] })
export class OAuthClient {
  [OptionalProps]?: 'clientSecret' | 'redirectUris' | 'postLogoutRedirectUris' | 'grantTypes' | 'scopes' | 'resources' | 'public' | 'firstParty' | 'jwksUri' | 'tokenEndpointAuthMethod';

  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @ManyToOne(() => Tenant, { deleteRule: 'cascade' })
  tenant!: Tenant;

  @Property({ type: 'text' })
  clientId!: string;

  @Property({ type: 'text' })
  name!: string;

  @Property({ type: 'text', nullable: true })
  clientSecret: string | null = null;

  @Property({ type: 'text[]', columnType: 'text[]', default: '{}' })
  redirectUris: string[] = [];

  @Property({ type: 'text[]', columnType: 'text[]', default: '{}' })
  postLogoutRedirectUris: string[] = [];

  @Property({ type: 'text[]', columnType: 'text[]', default: '{}' })
  grantTypes: string[] = [];

  @Property({ type: 'text[]', columnType: 'text[]', default: '{}' })
  scopes: string[] = [];

  @Property({ type: 'text[]', columnType: 'text[]', default: '{}' })
  resources: string[] = [];

  @Property({ type: 'boolean', default: false })
  public: boolean = false;

  @Property({ type: 'boolean', default: false })
  firstParty: boolean = false;

  @Property({ type: 'text', nullable: true })
  jwksUri: string | null = null;

  /** client_secret_basic, client_secret_post or private_key_jwt; null: the default (basic, or private_key_jwt with a jwks_uri). */
  @Property({ type: 'text', nullable: true })
  tokenEndpointAuthMethod: string | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt!: Date;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  updatedAt!: Date;
}

/** One object of a tenant's OpenID Provider (a code, grant, session, token, interaction...), as the provider's adapter stores it. */
@Entity({ tableName: 'oidc_models' })
@Index({ name: 'oidc_models_grant_idx', properties: ['tenant', 'grantId'] })
@Index({ name: 'oidc_models_user_code_idx', properties: ['tenant', 'userCode'] })
@Index({ name: 'oidc_models_uid_idx', properties: ['tenant', 'uid'] })
@Index({ name: 'oidc_models_expires_idx', properties: ['expiresAt'] })
export class OidcModel {
  [OptionalProps]?: 'grantId' | 'userCode' | 'uid' | 'expiresAt' | 'consumedAt' | 'polledAt';

  @ManyToOne(() => Tenant, { deleteRule: 'cascade', primary: true })
  tenant!: Tenant;

  @PrimaryKey({ type: 'text' })
  model!: string;

  @PrimaryKey({ type: 'text' })
  id!: string;

  @Property({ type: 'json', columnType: 'jsonb' })
  payload!: Record<string, unknown>;

  @Property({ type: 'text', nullable: true })
  grantId: string | null = null;

  @Property({ type: 'text', nullable: true })
  userCode: string | null = null;

  @Property({ type: 'text', nullable: true })
  uid: string | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  expiresAt: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  consumedAt: Date | null = null;

  /** A pending device code: when its device last polled (slow_down before the interval). */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  polledAt: Date | null = null;
}

/** A provider session and the gateway session its sign-in made: when the latter ends, what the provider issued under the former stops working. */
@Entity({ tableName: 'oidc_session_links' })
export class OidcSessionLink {
  @ManyToOne(() => Tenant, { deleteRule: 'cascade', primary: true })
  tenant!: Tenant;

  @PrimaryKey({ type: 'text' })
  opSessionUid!: string;

  @ManyToOne(() => Session, { deleteRule: 'cascade', primary: true, index: 'oidc_session_links_gateway_idx' })
  gatewaySession!: Session;
}
