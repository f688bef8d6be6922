import { randomUUID } from 'node:crypto';
import { Collection, Entity, Index, ManyToMany, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Role } from './role.entity.js';
import { Tenant } from './tenant.entity.js';

@Entity({ tableName: 'users' })
@Unique({ name: 'users_tenant_email_unique', properties: ['tenant', 'email'] })
// The purge's: sign-ups never verified, by age (partial: verified users are not in it).
@Index({ name: 'users_unverified_created_idx', expression: 'create index "users_unverified_created_idx" on "users" ("created_at") where not "email_verified"' })
export class User {
  [OptionalProps]?: 'id' | 'passwordHash' | 'disabled' | 'createdAt' | 'updatedAt' | 'passwordChangedAt' | 'emailVerified' | 'signupContestedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Tenant, { deleteRule: 'cascade' })
  tenant!: Tenant;

  /** Stored lower-cased and trimmed. */
  @Property({ type: 'text' })
  email!: string;

  /** argon2id PHC string; null for users who sign in only with passkeys or Google. */
  @Property({ type: 'text', nullable: true, hidden: true })
  passwordHash: string | null = null;

  @Property({ type: 'boolean' })
  disabled: boolean = false;

  /** False only for a self-signed-up user until the mailed link is followed. */
  @Property({ type: 'boolean', default: true })
  emailVerified: boolean = true;

  @ManyToMany(() => Role, undefined, { pivotTable: 'user_roles', joinColumn: 'user_id', inverseJoinColumn: 'role_id' })
  roles = new Collection<Role>(this);

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  passwordChangedAt: Date | null = null;

  /** When a second sign-up met this one while it was pending (SPEC §15): resends mail the set-password link from then on. */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  signupContestedAt: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
