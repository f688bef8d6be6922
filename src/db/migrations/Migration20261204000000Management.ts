import { Migration } from '@mikro-orm/migrations';

/** Sessions remember the client they were started and last refreshed from (own session lists). */
export class Migration20261204000000Management extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "sessions" add column "ip" text null, add column "user_agent" text null;`);
    // Audit events say whom they concern (the actor is user_id) and where the request came from.
    this.addSql(`alter table "audit_events" add column "subject_id" uuid null, add column "ip" text null, add column "user_agent" text null;`);
    this.addSql(`update "audit_events" set "subject_id" = "user_id";`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "sessions" drop column "ip", drop column "user_agent";`);
    this.addSql(`alter table "audit_events" drop column "subject_id", drop column "ip", drop column "user_agent";`);
  }
}
