import { randomUUID } from 'node:crypto';
import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Tenant } from './tenant.entity.js';
import { User } from './user.entity.js';

/** A user's TOTP factor: pending until its first valid code, then active. The secret is sealed. */
@Entity({ tableName: 'mfa_factors' })
export class MfaFactor {
  [OptionalProps]?: 'id' | 'kind' | 'status' | 'lastStep' | 'createdAt' | 'activatedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Tenant, { deleteRule: 'cascade' })
  tenant!: Tenant;

  @ManyToOne(() => User, { deleteRule: 'cascade', unique: 'mfa_factors_user_unique' })
  user!: User;

  @Property({ type: 'text', default: 'totp' })
  kind: string = 'totp';

  @Property({ type: 'text' })
  secret!: string;

  @Property({ type: 'text', default: 'pending' })
  status: 'pending' | 'active' = 'pending';

  /** The last accepted RFC 6238 time step: a code is accepted once (compare-and-set). */
  @Property({ type: 'bigint', nullable: true })
  lastStep: string | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  activatedAt: Date | null = null;
}

/** A single-use recovery code, stored as a keyed hash. */
@Entity({ tableName: 'mfa_recovery_codes' })
@Index({ name: 'mfa_recovery_codes_user_idx', properties: ['user'] })
export class MfaRecoveryCode {
  [OptionalProps]?: 'id' | 'createdAt' | 'usedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  user!: User;

  @Property({ type: 'text', unique: 'mfa_recovery_codes_hash_unique' })
  codeHash!: string;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  usedAt: Date | null = null;
}

/** The second step of a sign-in: an opaque single-use mfa token (keyed hash), 300 s, 5 tries. */
@Entity({ tableName: 'mfa_challenges' })
@Index({ name: 'mfa_challenges_expires_idx', properties: ['expiresAt'] })
export class MfaChallenge {
  [OptionalProps]?: 'id' | 'attempts' | 'createdAt' | 'amr';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  user!: User;

  @Property({ type: 'text', unique: 'mfa_challenges_hash_unique' })
  tokenHash!: string;

  /** The first factor's session method (password, google). */
  @Property({ type: 'text' })
  method!: string;

  @Property({ type: 'array', columnType: 'text[]', default: '{}' })
  amr: string[] = [];

  @Property({ type: 'integer', default: 0 })
  attempts: number = 0;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  expiresAt!: Date;
}
