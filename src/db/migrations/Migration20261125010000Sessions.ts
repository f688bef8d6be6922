import { Migration } from '@mikro-orm/migrations';

/** Refresh rotation: successor lookup by parent, and the audit table for security events. */
export class Migration20261125010000Sessions extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "audit_events" ("id" uuid not null, "tenant_id" uuid not null, "user_id" uuid null, "session_id" uuid null, "type" text not null, "details" jsonb not null, "created_at" timestamptz not null, constraint "audit_events_pkey" primary key ("id"));`);
    this.addSql(`create index "audit_events_tenant_created_idx" on "audit_events" ("tenant_id", "created_at");`);
    this.addSql(`create index "refresh_tokens_parent_idx" on "refresh_tokens" ("parent_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "refresh_tokens_parent_idx";`);
    this.addSql(`drop table if exists "audit_events" cascade;`);
  }
}
