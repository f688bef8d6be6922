import { randomUUID } from 'node:crypto';
import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Tenant } from './tenant.entity.js';
import { User } from './user.entity.js';

/**
 * A link from an external account (issuer + subject, e.g. a Google account) to a user of a
 * tenant. After the first sign-in this link alone decides who signs in: an e-mail change
 * at the provider does not re-link.
 */
@Entity({ tableName: 'external_identities' })
@Unique({ name: 'external_identities_tenant_issuer_subject_unique', properties: ['tenant', 'issuer', 'subject'] })
@Index({ name: 'external_identities_user_idx', properties: ['user'] })
export class ExternalIdentity {
  [OptionalProps]?: 'id' | 'createdAt' | 'lastUsedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Tenant, { deleteRule: 'cascade' })
  tenant!: Tenant;

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  user!: User;

  @Property({ type: 'text' })
  issuer!: string;

  @Property({ type: 'text' })
  subject!: string;

  /** The provider's e-mail when the link was made (for operators; never used to match). */
  @Property({ type: 'text' })
  emailAtLink!: string;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  lastUsedAt: Date | null = null;
}
