import { randomUUID } from 'node:crypto';
import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Tenant } from './tenant.entity.js';
import { User } from './user.entity.js';

export type EmailTokenKind = 'verify_email' | 'reset_password';

/** A mailed single-use token (e-mail verification, password reset), stored only as a keyed hash. */
@Entity({ tableName: 'email_tokens' })
@Index({ name: 'email_tokens_user_kind_idx', properties: ['user', 'kind'] })
@Index({ name: 'email_tokens_expires_idx', properties: ['expiresAt'] })
export class EmailToken {
  [OptionalProps]?: 'id' | 'createdAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Tenant, { deleteRule: 'cascade' })
  tenant!: Tenant;

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  user!: User;

  @Property({ type: 'text' })
  kind!: EmailTokenKind;

  @Property({ type: 'text', unique: 'email_tokens_hash_unique' })
  tokenHash!: string;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  expiresAt!: Date;
}
