import { randomUUID } from 'node:crypto';
import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Session } from './session.entity.js';

/** A refresh token of a session, stored only as a keyed hash (HMAC-SHA256 with SECRET_KEY). */
@Entity({ tableName: 'refresh_tokens' })
@Index({ name: 'refresh_tokens_session_idx', properties: ['session'] })
@Index({ name: 'refresh_tokens_parent_idx', properties: ['parent'] })
export class RefreshToken {
  [OptionalProps]?: 'id' | 'createdAt' | 'rotatedAt' | 'parent';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Session, { deleteRule: 'cascade' })
  session!: Session;

  @Property({ type: 'text', unique: 'refresh_tokens_hash_unique' })
  tokenHash!: string;

  @ManyToOne(() => RefreshToken, { nullable: true, deleteRule: 'set null' })
  parent: RefreshToken | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  expiresAt!: Date;

  /** Set when this token was exchanged for its successor. */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  rotatedAt: Date | null = null;
}
