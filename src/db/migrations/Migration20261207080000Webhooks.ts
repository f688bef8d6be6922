import { Migration } from '@mikro-orm/migrations';

/**
 * SPEC §13: a tenant's webhook endpoints (the secret sealed; the previous one kept for 24 h after
 * a rotation), the messages written in the same transaction as the change they report (one per
 * endpoint, its id the webhook-id of every attempt), and each attempt's outcome.
 */
export class Migration20261207080000Webhooks extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table if not exists "webhook_endpoints" ("id" uuid not null, "tenant_id" uuid not null, "url" text not null, "events" text[] not null default '{}', "description" text null, "secret" text not null, "previous_secret" text null, "previous_secret_until" timestamptz null, "failing_since" timestamptz null, "disabled_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "webhook_endpoints_pkey" primary key ("id"));`);
    this.addSql(`create index "webhook_endpoints_tenant_idx" on "webhook_endpoints" ("tenant_id");`);
    this.addSql(`alter table "webhook_endpoints" add constraint "webhook_endpoints_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
    this.addSql(`create table if not exists "webhook_messages" ("id" text not null, "tenant_id" uuid not null, "endpoint_id" uuid not null, "type" text not null, "payload" text not null, "status" text not null default 'pending', "attempts" int not null default 0, "next_attempt_at" timestamptz not null, "created_at" timestamptz not null, "finished_at" timestamptz null, "last_error" text null, constraint "webhook_messages_pkey" primary key ("id"));`);
    this.addSql(`create index "webhook_messages_due_idx" on "webhook_messages" ("status", "next_attempt_at");`);
    this.addSql(`create index "webhook_messages_endpoint_idx" on "webhook_messages" ("endpoint_id");`);
    this.addSql(`alter table "webhook_messages" add constraint "webhook_messages_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "webhook_messages" add constraint "webhook_messages_endpoint_id_foreign" foreign key ("endpoint_id") references "webhook_endpoints" ("id") on update cascade on delete cascade;`);
    this.addSql(`create table if not exists "webhook_attempts" ("id" uuid not null, "message_id" text not null, "endpoint_id" uuid not null, "attempted_at" timestamptz not null, "status_code" int null, "duration_ms" int not null, "error" text null, constraint "webhook_attempts_pkey" primary key ("id"));`);
    this.addSql(`create index "webhook_attempts_endpoint_idx" on "webhook_attempts" ("endpoint_id", "attempted_at");`);
    this.addSql(`alter table "webhook_attempts" add constraint "webhook_attempts_message_id_foreign" foreign key ("message_id") references "webhook_messages" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "webhook_attempts" add constraint "webhook_attempts_endpoint_id_foreign" foreign key ("endpoint_id") references "webhook_endpoints" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "webhook_attempts";`);
    this.addSql(`drop table if exists "webhook_messages";`);
    this.addSql(`drop table if exists "webhook_endpoints";`);
  }
}
