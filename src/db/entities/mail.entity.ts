import { randomUUID } from 'node:crypto';
import { Entity, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

export type MailStatus = 'pending' | 'sent' | 'abandoned';

/**
 * A mail of the outbox, written in the same transaction as the token it carries. `payload`
 * (recipient, subject, bodies) is encrypted at rest and dropped once the mail is sent or
 * abandoned; the rest is what operators need to count and retry.
 */
@Entity({ tableName: 'mail_outbox' })
@Index({ name: 'mail_outbox_due_idx', properties: ['status', 'nextAttemptAt'] })
@Index({ name: 'mail_outbox_created_idx', properties: ['createdAt'] })
export class Mail {
  [OptionalProps]?: 'id' | 'status' | 'attempts' | 'createdAt' | 'sentAt' | 'lastError';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid', nullable: true })
  tenantId!: string | null;

  /** What the mail is for (verify_email, reset_password, ...): a metric label. */
  @Property({ type: 'text' })
  kind!: string;

  @Property({ type: 'text', default: 'pending' })
  status: MailStatus = 'pending';

  @Property({ type: 'text', nullable: true })
  payload!: string | null;

  @Property({ type: 'integer', default: 0 })
  attempts: number = 0;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  nextAttemptAt!: Date;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  sentAt: Date | null = null;

  /** The last delivery failure's class and SMTP code, never the content. */
  @Property({ type: 'text', nullable: true })
  lastError: string | null = null;
}
