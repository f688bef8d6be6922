import { randomUUID } from 'node:crypto';
import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Tenant } from './tenant.entity.js';
import { User } from './user.entity.js';

/** An API key, stored only as a keyed hash; `prefix` is its first characters, for lists. */
@Entity({ tableName: 'api_keys' })
@Index({ name: 'api_keys_tenant_idx', properties: ['tenant'] })
@Index({ name: 'api_keys_expires_idx', properties: ['expiresAt'] })
@Index({ name: 'api_keys_revoked_idx', properties: ['revokedAt'] })
@Index({ name: 'api_keys_user_idx', properties: ['user'] })
export class ApiKey {
  [OptionalProps]?: 'id' | 'createdAt' | 'expiresAt' | 'lastUsedAt' | 'revokedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Tenant, { deleteRule: 'cascade' })
  tenant!: Tenant;

  /** The user who created it; the key acts as this user, limited to its scopes. */
  @ManyToOne(() => User, { deleteRule: 'cascade' })
  user!: User;

  @Property({ type: 'text' })
  name!: string;

  @Property({ type: 'text' })
  prefix!: string;

  @Property({ type: 'text', unique: 'api_keys_hash_unique' })
  keyHash!: string;

  @Property({ type: 'text[]', columnType: 'text[]' })
  scopes!: string[];

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  expiresAt: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  lastUsedAt: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  revokedAt: Date | null = null;
}
