import { randomUUID } from 'node:crypto';
import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Tenant } from './tenant.entity.js';
import { User } from './user.entity.js';

/** How a caller authenticated: the one list of methods (the GraphQL AuthMethod enum is built from it). */
export const AUTH_METHODS = ['password', 'webauthn', 'google', 'sso', 'api_key'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

/** One signed-in session: the `sid` of its access tokens and the family of its refresh tokens. */
@Entity({ tableName: 'sessions' })
@Index({ name: 'sessions_user_idx', properties: ['user'] })
// The purge finds dead sessions by each way they die (src/services/purge.service.ts).
@Index({ name: 'sessions_expires_idx', properties: ['expiresAt'] })
@Index({ name: 'sessions_revoked_idx', properties: ['revokedAt'] })
@Index({ name: 'sessions_last_used_idx', properties: ['lastUsedAt'] })
export class Session {
  [OptionalProps]?: 'id' | 'createdAt' | 'lastUsedAt' | 'revokedAt' | 'revokedReason' | 'authTime' | 'amr' | 'ip' | 'userAgent';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Tenant, { deleteRule: 'cascade' })
  tenant!: Tenant;

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  user!: User;

  @Property({ type: 'text' })
  authMethod!: AuthMethod;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  lastUsedAt: Date = new Date();

  /** When the user last proved a credential in this session (the access tokens' auth_time; a refresh keeps it). */
  @Property({ type: 'datetime', columnType: 'timestamptz' })
  authTime: Date = new Date();

  /** RFC 8176 authentication method references of that proof (the access tokens' amr). */
  @Property({ type: 'array', columnType: 'text[]', default: '{}' })
  amr: string[] = [];

  /** Absolute lifetime: no refresh extends a session past this. */
  @Property({ type: 'datetime', columnType: 'timestamptz' })
  expiresAt!: Date;

  /** The client address and user agent the session was started, then last refreshed, from. */
  @Property({ type: 'text', nullable: true })
  ip: string | null = null;

  @Property({ type: 'text', nullable: true })
  userAgent: string | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  revokedAt: Date | null = null;

  @Property({ type: 'text', nullable: true })
  revokedReason: string | null = null;
}
