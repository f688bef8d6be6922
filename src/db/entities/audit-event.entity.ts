import { randomUUID } from 'node:crypto';
import { Entity, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/** Security events (refresh-token reuse, ...), kept for investigation. Never holds secrets. */
@Entity({ tableName: 'audit_events' })
@Index({ name: 'audit_events_tenant_created_idx', properties: ['tenantId', 'createdAt'] })
// Retention: the purge deletes events older than AUDIT_RETENTION_DAYS by this one.
@Index({ name: 'audit_events_created_idx', properties: ['createdAt'] })
export class AuditEvent {
  [OptionalProps]?: 'id' | 'createdAt' | 'userId' | 'sessionId' | 'details' | 'subjectId' | 'ip' | 'userAgent';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid' })
  tenantId!: string;

  @Property({ type: 'uuid', nullable: true })
  userId: string | null = null;

  /** Whom the event concerns (the actor, user_id, for one's own changes). */
  @Property({ type: 'uuid', nullable: true })
  subjectId: string | null = null;

  @Property({ type: 'uuid', nullable: true })
  sessionId: string | null = null;

  @Property({ type: 'text', nullable: true })
  ip: string | null = null;

  @Property({ type: 'text', nullable: true })
  userAgent: string | null = null;

  /** A catalog code, e.g. auth_refresh_reused. */
  @Property({ type: 'text' })
  type!: string;

  @Property({ type: 'json', columnType: 'jsonb' })
  details: Record<string, unknown> = {};

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();
}
