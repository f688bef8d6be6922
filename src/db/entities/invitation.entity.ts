import { randomUUID } from 'node:crypto';
import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Tenant } from './tenant.entity.js';

/**
 * An invitation to a tenant: an address, the roles it will hold, and a mailed single-use token
 * (stored only as a keyed hash). Its status follows from the timestamps: revoked, accepted,
 * expired, or pending.
 */
@Entity({ tableName: 'invitations' })
@Index({ name: 'invitations_tenant_created_idx', properties: ['tenant', 'createdAt'] })
@Index({ name: 'invitations_invited_by_idx', properties: ['invitedBy', 'createdAt'] })
@Index({ name: 'invitations_expires_idx', properties: ['expiresAt'] })
export class Invitation {
  [OptionalProps]?: 'id' | 'createdAt' | 'acceptedAt' | 'acceptedBy' | 'revokedAt' | 'roles';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Tenant, { deleteRule: 'cascade' })
  tenant!: Tenant;

  /** Normalised, as users.email. */
  @Property({ type: 'text' })
  email!: string;

  /** Role names of the tenant, granted on acceptance (those that still exist then). */
  @Property({ type: 'text[]', columnType: 'text[]', default: '{}' })
  roles: string[] = [];

  @Property({ type: 'text', unique: 'invitations_token_hash_unique' })
  tokenHash!: string;

  /** The inviting user (a plain id: the invitation outlives nothing, but never blocks deleting a user). */
  @Property({ type: 'uuid' })
  invitedBy!: string;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  expiresAt!: Date;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  acceptedAt: Date | null = null;

  @Property({ type: 'uuid', nullable: true })
  acceptedBy: string | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  revokedAt: Date | null = null;
}
