import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Tenant } from './tenant.entity.js';

/** A tenant's webhook endpoint (SPEC §13); its secrets are sealed, never returned after they are made. */
@Entity({ tableName: 'webhook_endpoints' })
export class WebhookEndpoint {
  [OptionalProps]?: 'events' | 'description' | 'previousSecret' | 'previousSecretUntil' | 'failingSince' | 'disabledAt';

  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @ManyToOne(() => Tenant, { deleteRule: 'cascade', index: 'webhook_endpoints_tenant_idx' })
  tenant!: Tenant;

  @Property({ type: 'text' })
  url!: string;

  @Property({ type: 'text[]', columnType: 'text[]', default: '{}' })
  events: string[] = [];

  @Property({ type: 'text', nullable: true })
  description: string | null = null;

  @Property({ type: 'text' })
  secret!: string;

  @Property({ type: 'text', nullable: true })
  previousSecret: string | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  previousSecretUntil: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  failingSince: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  disabledAt: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt!: Date;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  updatedAt!: Date;
}

/** One event for one endpoint, written with the change it reports; its id is every attempt's webhook-id. */
@Entity({ tableName: 'webhook_messages' })
@Index({ name: 'webhook_messages_due_idx', properties: ['status', 'nextAttemptAt'] })
export class WebhookMessage {
  [OptionalProps]?: 'status' | 'attempts' | 'finishedAt' | 'lastError';

  @PrimaryKey({ type: 'text' })
  id!: string;

  @ManyToOne(() => Tenant, { deleteRule: 'cascade' })
  tenant!: Tenant;

  @ManyToOne(() => WebhookEndpoint, { deleteRule: 'cascade', index: 'webhook_messages_endpoint_idx' })
  endpoint!: WebhookEndpoint;

  @Property({ type: 'text' })
  type!: string;

  /** The body, exactly as it is signed and sent. */
  @Property({ type: 'text' })
  payload!: string;

  @Property({ type: 'text', default: 'pending' })
  status: string = 'pending';

  @Property({ type: 'integer', default: 0 })
  attempts: number = 0;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  nextAttemptAt!: Date;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt!: Date;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  finishedAt: Date | null = null;

  @Property({ type: 'text', nullable: true })
  lastError: string | null = null;
}

/** One delivery attempt: when, the HTTP status (none when no answer came), how long, what failed. */
@Entity({ tableName: 'webhook_attempts' })
@Index({ name: 'webhook_attempts_endpoint_idx', properties: ['endpoint', 'attemptedAt'] })
export class WebhookAttempt {
  [OptionalProps]?: 'statusCode' | 'error';

  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @ManyToOne(() => WebhookMessage, { deleteRule: 'cascade' })
  message!: WebhookMessage;

  @ManyToOne(() => WebhookEndpoint, { deleteRule: 'cascade' })
  endpoint!: WebhookEndpoint;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  attemptedAt!: Date;

  @Property({ type: 'integer', nullable: true })
  statusCode: number | null = null;

  @Property({ type: 'integer' })
  durationMs!: number;

  @Property({ type: 'text', nullable: true })
  error: string | null = null;
}
