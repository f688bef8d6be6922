import { randomUUID } from 'node:crypto';
import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Tenant } from './tenant.entity.js';
import { User } from './user.entity.js';

/** A registered passkey. Looked up by (tenant, credential id): tenants never cross. */
@Entity({ tableName: 'webauthn_credentials' })
@Unique({ name: 'webauthn_credentials_tenant_credential_unique', properties: ['tenant', 'credentialId'] })
@Index({ name: 'webauthn_credentials_user_idx', properties: ['user'] })
export class Passkey {
  [OptionalProps]?: 'id' | 'createdAt' | 'lastUsedAt' | 'transports' | 'name';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Tenant, { deleteRule: 'cascade' })
  tenant!: Tenant;

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  user!: User;

  /** base64url credential id, as the authenticator reports it. */
  @Property({ type: 'text' })
  credentialId!: string;

  /** COSE public key. */
  @Property({ type: 'blob', columnType: 'bytea' })
  publicKey!: Buffer;

  @Property({ type: 'bigint', columnType: 'bigint' })
  counter!: string;

  @Property({ type: 'text[]', columnType: 'text[]' })
  transports: string[] = [];

  /** singleDevice or multiDevice. */
  @Property({ type: 'text' })
  deviceType!: string;

  @Property({ type: 'boolean' })
  backedUp!: boolean;

  /** base64url WebAuthn user handle the credential was registered under. */
  @Property({ type: 'text' })
  userHandle!: string;

  @Property({ type: 'text' })
  name: string = 'passkey';

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  lastUsedAt: Date | null = null;
}
